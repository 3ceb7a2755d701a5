//! Small helpers over `rsip` messages: SDP bodies, URIs, and the headers the
//! switch adds. Header lookup and body replacement are the sip crate's
//! ([`first_value`], [`set_body`]), so both crates read headers alike.
//!
//! Header values come from the network: nothing here indexes into text.

use std::net::SocketAddr;
use switchd_sip::Transport;
use switchd_sip::rsip::{self, Header};
use switchd_sip::sdp::SessionDescription;

pub(crate) use switchd_sip::dialog::set_body;
use switchd_sip::dialog::{HeaderKind, first_value};

/// The MIME type of SDP bodies.
pub(crate) const SDP: &str = "application/sdp";

/// Adds a header by name (as `Header::Other`, printed verbatim).
pub(crate) fn push_header(headers: &mut rsip::Headers, name: &str, value: impl Into<String>) {
    headers.push(Header::Other(name.to_owned(), value.into()));
}

/// What a message's body says about SDP.
#[derive(Debug)]
pub(crate) enum SdpBody {
    /// No body (or an empty one).
    None,
    /// An SDP body that parsed.
    Sdp(Box<SessionDescription>),
    /// A body of another type.
    NotSdp,
    /// An SDP body that does not parse.
    Malformed,
}

/// Reads the SDP of a message body.
pub(crate) fn sdp_of(headers: &rsip::Headers, body: &[u8]) -> SdpBody {
    if body.iter().all(u8::is_ascii_whitespace) {
        return SdpBody::None;
    }
    let is_sdp = first_value(headers, HeaderKind::ContentType).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(SDP))
    });
    if !is_sdp {
        return SdpBody::NotSdp;
    }
    match SessionDescription::parse(body) {
        Ok(sdp) => SdpBody::Sdp(Box::new(sdp)),
        Err(_) => SdpBody::Malformed,
    }
}

/// Our Contact URI for a peer reached over `transport` at our address `local`.
pub(crate) fn contact_uri(
    user: Option<&str>,
    local: SocketAddr,
    transport: Transport,
) -> rsip::Uri {
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    let params = if transport == Transport::Tcp {
        ";transport=tcp"
    } else {
        ""
    };
    let text = format!("sip:{user}{local}{params}");
    switchd_sip::dialog::parse_uri(&text).unwrap_or_else(|_| fallback_uri(local))
}

fn fallback_uri(local: SocketAddr) -> rsip::Uri {
    rsip::Uri {
        scheme: Some(rsip::Scheme::Sip),
        auth: None,
        host_with_port: rsip::HostWithPort {
            host: rsip::Host::IpAddr(local.ip()),
            port: Some(local.port().into()),
        },
        params: Vec::new(),
        headers: Vec::new(),
    }
}

/// The transport a URI asks for (`;transport=tcp`), if any.
pub(crate) fn uri_transport(uri: &rsip::Uri) -> Option<Transport> {
    uri.params.iter().find_map(|p| match p {
        rsip::Param::Transport(t) => match t {
            rsip::Transport::Tcp => Some(Transport::Tcp),
            rsip::Transport::Udp => Some(Transport::Udp),
            _ => None,
        },
        rsip::Param::Other(name, Some(value))
            if name.to_string().eq_ignore_ascii_case("transport") =>
        {
            let value = value.to_string();
            if value.eq_ignore_ascii_case("tcp") {
                Some(Transport::Tcp)
            } else if value.eq_ignore_ascii_case("udp") {
                Some(Transport::Udp)
            } else {
                None
            }
        }
        _ => None,
    })
}

/// The host of a URI as text (IPv6 references keep their brackets).
pub(crate) fn uri_host(uri: &rsip::Uri) -> String {
    uri.host_with_port.host.to_string()
}

/// The port of a URI, or the default for its scheme.
pub(crate) fn uri_port(uri: &rsip::Uri) -> u16 {
    match &uri.host_with_port.port {
        Some(port) => u16::from(*port),
        None if uri.scheme == Some(rsip::Scheme::Sips) => 5061,
        None => 5060,
    }
}

/// The user part of a URI, or empty.
pub(crate) fn uri_user(uri: &rsip::Uri) -> &str {
    uri.auth.as_ref().map_or("", |a| a.user.as_str())
}

/// The status code of a response as a number.
pub(crate) fn status(response: &rsip::Response) -> u16 {
    response.status_code.code()
}

/// The CSeq number of a message, if it has a readable one.
pub(crate) fn cseq_number(headers: &rsip::Headers) -> Option<u32> {
    first_value(headers, HeaderKind::CSeq)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The value of Expires, or of the `expires` parameter of the Contact
/// matching nothing in particular (registrars answer with ours).
pub(crate) fn granted_expires(headers: &rsip::Headers) -> Option<u32> {
    let from_contact = first_value(headers, HeaderKind::Contact).and_then(|c| {
        c.split(';').find_map(|p| {
            let (n, v) = p.split_once('=')?;
            n.trim()
                .eq_ignore_ascii_case("expires")
                .then(|| v.trim().parse().ok())?
        })
    });
    from_contact.or_else(|| first_value(headers, HeaderKind::Expires)?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_contact_keeps_its_transport() {
        let uri = contact_uri(
            Some("sw"),
            "127.0.0.1:5060".parse().unwrap(),
            Transport::Tcp,
        );
        assert_eq!(
            uri.to_string().to_ascii_lowercase(),
            "sip:sw@127.0.0.1:5060;transport=tcp"
        );
        assert_eq!(uri_transport(&uri), Some(Transport::Tcp));
    }
}
