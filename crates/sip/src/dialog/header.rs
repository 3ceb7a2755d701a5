//! Lenient header-value helpers used by dialogs and digest auth.
//!
//! rsip's typed From/To/Contact/Route fail on IPv6 hosts (`[2001:db8::1]`)
//! and miss compact header names, so the dialog layer reads the untyped
//! values itself. Everything here works on `&str` with `split_once`/iterators
//! only: header values come from the network and must never panic.

pub(crate) use crate::message::address::closing_quote;

use crate::error::Error;
use crate::message::address::{split_address, split_top_level};
use rsip::{Header, Headers};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// Which header a lookup is about; matches the typed rsip variant and, as a
/// fallback, `Header::Other` with the full or compact name (RFC 3261 §7.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    /// Via (`v`).
    Via,
    /// From (`f`).
    From,
    /// To (`t`).
    To,
    /// Call-ID (`i`).
    CallId,
    /// CSeq.
    CSeq,
    /// Contact (`m`).
    Contact,
    /// Record-Route.
    RecordRoute,
    /// WWW-Authenticate.
    WwwAuthenticate,
    /// Proxy-Authenticate.
    ProxyAuthenticate,
    /// Authorization.
    Authorization,
    /// Proxy-Authorization.
    ProxyAuthorization,
    /// Content-Type (`c`).
    ContentType,
    /// Content-Length (`l`).
    ContentLength,
    /// Expires.
    Expires,
}

impl HeaderKind {
    fn names(self) -> (&'static str, Option<&'static str>) {
        match self {
            HeaderKind::Via => ("via", Some("v")),
            HeaderKind::From => ("from", Some("f")),
            HeaderKind::To => ("to", Some("t")),
            HeaderKind::CallId => ("call-id", Some("i")),
            HeaderKind::CSeq => ("cseq", None),
            HeaderKind::Contact => ("contact", Some("m")),
            HeaderKind::RecordRoute => ("record-route", None),
            HeaderKind::WwwAuthenticate => ("www-authenticate", None),
            HeaderKind::ProxyAuthenticate => ("proxy-authenticate", None),
            HeaderKind::Authorization => ("authorization", None),
            HeaderKind::ProxyAuthorization => ("proxy-authorization", None),
            HeaderKind::ContentType => ("content-type", Some("c")),
            HeaderKind::ContentLength => ("content-length", Some("l")),
            HeaderKind::Expires => ("expires", None),
        }
    }

    /// The header's value, trimmed, if `header` is of this kind.
    pub fn value_of(self, header: &Header) -> Option<&str> {
        use rsip::headers::UntypedHeader;
        let value = match (self, header) {
            (HeaderKind::Via, Header::Via(h)) => h.value(),
            (HeaderKind::From, Header::From(h)) => h.value(),
            (HeaderKind::To, Header::To(h)) => h.value(),
            (HeaderKind::CallId, Header::CallId(h)) => h.value(),
            (HeaderKind::CSeq, Header::CSeq(h)) => h.value(),
            (HeaderKind::Contact, Header::Contact(h)) => h.value(),
            (HeaderKind::RecordRoute, Header::RecordRoute(h)) => h.value(),
            (HeaderKind::WwwAuthenticate, Header::WwwAuthenticate(h)) => h.value(),
            (HeaderKind::ProxyAuthenticate, Header::ProxyAuthenticate(h)) => h.value(),
            (HeaderKind::Authorization, Header::Authorization(h)) => h.value(),
            (HeaderKind::ProxyAuthorization, Header::ProxyAuthorization(h)) => h.value(),
            (HeaderKind::ContentType, Header::ContentType(h)) => h.value(),
            (HeaderKind::ContentLength, Header::ContentLength(h)) => h.value(),
            (HeaderKind::Expires, Header::Expires(h)) => h.value(),
            (_, Header::Other(name, value)) => {
                let (full, compact) = self.names();
                let name = name.trim();
                if name.eq_ignore_ascii_case(full)
                    || compact.is_some_and(|c| name.eq_ignore_ascii_case(c))
                {
                    value.as_str()
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        Some(value.trim())
    }
}

/// All values of headers of `kind`, in order.
pub(crate) fn values(headers: &Headers, kind: HeaderKind) -> impl Iterator<Item = &str> {
    headers.iter().filter_map(move |h| kind.value_of(h))
}

/// The first value of a header of `kind`, trimmed.
pub fn first_value(headers: &Headers, kind: HeaderKind) -> Option<&str> {
    values(headers, kind).next()
}

/// Like [`first_value`], but a missing header is an error naming it.
pub(crate) fn required(
    headers: &Headers,
    kind: HeaderKind,
    name: &'static str,
) -> Result<String, Error> {
    first_value(headers, kind)
        .map(str::to_owned)
        .ok_or(Error::MissingHeader { name })
}

/// CSeq number and method token.
pub(crate) fn cseq(headers: &Headers) -> Result<(u32, String), Error> {
    let value =
        first_value(headers, HeaderKind::CSeq).ok_or(Error::MissingHeader { name: "CSeq" })?;
    let mut parts = value.split_whitespace();
    let seq = parts.next().and_then(|n| n.parse::<u32>().ok());
    match (seq, parts.next(), parts.next()) {
        (Some(seq), Some(method), None) => Ok((seq, method.to_owned())),
        _ => Err(Error::MalformedHeader {
            name: "CSeq",
            detail: value.to_owned(),
        }),
    }
}

/// Replaces a message's body: drops every Content-Type and Content-Length
/// (compact forms included), then adds the Content-Type of `content`, if
/// any, and a Content-Length that matches what is now in `body`.
pub fn set_body<T: Into<String>>(
    headers: &mut Headers,
    body: &mut Vec<u8>,
    content: Option<(T, Vec<u8>)>,
) {
    use rsip::headers::UntypedHeader;
    headers.retain(|h| {
        HeaderKind::ContentType.value_of(h).is_none()
            && HeaderKind::ContentLength.value_of(h).is_none()
    });
    *body = match content {
        Some((content_type, bytes)) => {
            headers.push(Header::ContentType(rsip::headers::ContentType::new(
                content_type,
            )));
            bytes
        }
        None => Vec::new(),
    };
    headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
        body.len().to_string(),
    )));
}

/// Splits a comma-separated header value (Route, Contact, auth params)
/// at commas outside quoted strings and angle brackets; items trimmed,
/// empty ones dropped.
pub(crate) fn split_list(value: &str) -> Vec<&str> {
    split_top_level(value)
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// A `name-addr` or `addr-spec` with header parameters (From, To, Contact,
/// Route entries), kept as text so that printing it gives back what came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, as written (quotes included), if any.
    pub display_name: Option<String>,
    /// The URI text, without angle brackets.
    pub uri: String,
    /// Header parameters after the URI (`tag`, `expires`, …), in order.
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    /// Parses a single `name-addr` / `addr-spec` header value.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let bad = |detail: &str| Error::MalformedHeader {
            name: "name-addr",
            detail: detail.to_owned(),
        };
        let parts = split_address(value).map_err(bad)?;
        let display_name = parts.display_name.map(str::to_owned);
        let (uri, params) = (parts.uri, parts.params);
        let uri = uri.trim();
        if !uri.contains(':') || uri.contains(char::is_whitespace) {
            return Err(bad("bad uri"));
        }
        let params = params
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((n, v)) => (n.trim().to_owned(), Some(v.trim().to_owned())),
                None => (p.to_owned(), None),
            })
            .collect();
        Ok(Self {
            display_name,
            uri: uri.to_owned(),
            params,
        })
    }

    /// The value of header parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").filter(|t| !t.is_empty())
    }

    /// Sets (or replaces) the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.retain(|(n, _)| !n.eq_ignore_ascii_case("tag"));
        self.params.push(("tag".to_owned(), Some(tag.to_owned())));
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.display_name {
            write!(f, "{name} ")?;
        }
        write!(f, "<{}>", self.uri)?;
        for (name, value) in &self.params {
            match value {
                Some(v) => write!(f, ";{name}={v}")?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

/// Parses a SIP or SIPS URI into an `rsip::Uri`, accepting IPv6 references.
///
/// An IPv6 host is stored as `Host::Domain("[v6]")`: rsip prints
/// `Host::IpAddr(V6)` without brackets, which would be unparseable with a
/// port. Use [`uri_ip`] to get the address back.
pub fn parse_uri(text: &str) -> Result<rsip::Uri, Error> {
    let bad = |reason: &'static str| Error::InvalidUri {
        reason,
        uri: text.chars().take(256).collect(),
    };
    let text = text.trim();
    if text.contains(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
    {
        return Err(bad("forbidden character"));
    }
    let (scheme, rest) = text.split_once(':').ok_or_else(|| bad("no scheme"))?;
    let scheme = if scheme.eq_ignore_ascii_case("sip") {
        rsip::Scheme::Sip
    } else if scheme.eq_ignore_ascii_case("sips") {
        rsip::Scheme::Sips
    } else {
        return Err(bad("not a sip or sips uri"));
    };
    // URI headers (`?…`) are dropped: rsip cannot carry them.
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (auth, host_part) = match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let auth = match userinfo.split_once(':') {
                Some((user, password)) => rsip::Auth {
                    user: user.to_owned(),
                    password: Some(password.to_owned()),
                },
                None => rsip::Auth {
                    user: userinfo.to_owned(),
                    password: None,
                },
            };
            (Some(auth), host)
        }
        None => (None, rest),
    };
    let (hostport, params) = host_part.split_once(';').unwrap_or((host_part, ""));
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unterminated ipv6 reference"))?;
        addr.parse::<Ipv6Addr>()
            .map_err(|_| bad("bad ipv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("junk after ipv6 reference"))?,
            ),
        };
        (rsip::Host::Domain(format!("[{addr}]").into()), port)
    } else {
        let (host, port) = match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        (rsip::Host::from(host), port)
    };
    if hostport.is_empty() {
        return Err(bad("bad host"));
    }
    let port = port
        .map(|p| p.parse::<u16>().map_err(|_| bad("bad port")))
        .transpose()?;
    let params = params
        .split(';')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            };
            rsip::Param::try_from((name, value))
                .unwrap_or_else(|_| rsip::Param::Other(name.into(), value.map(Into::into)))
        })
        .collect();
    Ok(rsip::Uri {
        scheme: Some(scheme),
        auth,
        host_with_port: rsip::HostWithPort {
            host,
            port: port.map(Into::into),
        },
        params,
        headers: Vec::new(),
    })
}

/// The IP address of a URI's host, whether rsip typed it as an address or
/// it is a bracketed IPv6 reference (see [`parse_uri`]); `None` for names.
pub fn uri_ip(uri: &rsip::Uri) -> Option<IpAddr> {
    match &uri.host_with_port.host {
        rsip::Host::IpAddr(ip) => Some(*ip),
        rsip::Host::Domain(domain) => {
            let text = domain.to_string();
            let inner = text
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .unwrap_or(&text);
            inner.parse().ok()
        }
    }
}

/// Whether the URI has the `lr` parameter (a loose router, RFC 3261 §16.12).
pub fn is_loose_router(uri: &rsip::Uri) -> bool {
    uri.params.iter().any(|p| match p {
        rsip::Param::Lr => true,
        rsip::Param::Other(name, _) => name.to_string().eq_ignore_ascii_case("lr"),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_body_replaces_content_headers_in_any_form() {
        let mut headers: Headers = vec![
            Header::Other("l".into(), "99".into()),
            Header::Other("C".into(), "text/plain".into()),
            Header::ContentLength("7".into()),
            Header::Expires(" 60 ".into()),
        ]
        .into();
        let mut body = b"old".to_vec();
        set_body(
            &mut headers,
            &mut body,
            Some(("application/sdp", b"v=0\r\n".to_vec())),
        );
        assert_eq!(body, b"v=0\r\n");
        assert_eq!(
            values(&headers, HeaderKind::ContentLength).collect::<Vec<_>>(),
            ["5"]
        );
        assert_eq!(
            first_value(&headers, HeaderKind::ContentType),
            Some("application/sdp")
        );
        assert_eq!(first_value(&headers, HeaderKind::Expires), Some("60"));
        set_body(&mut headers, &mut body, None::<(&str, Vec<u8>)>);
        assert!(body.is_empty());
        assert_eq!(first_value(&headers, HeaderKind::ContentType), None);
        assert_eq!(first_value(&headers, HeaderKind::ContentLength), Some("0"));
    }
}
