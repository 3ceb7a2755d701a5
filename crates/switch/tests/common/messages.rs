//! SIP text between the fake peer and the switch: what the switch sent,
//! parsed, and the requests and responses the peer sends back.

use super::{Harness, PEER, SWITCH};
use switchd_sip::message::Parsed;
use switchd_sip::rsip;
use switchd_sip::{Peer, rsip::Method};

/// One message the switch sent, parsed.
#[derive(Debug, Clone)]
pub struct Sent {
    pub peer: Peer,
    pub message: Parsed,
    pub text: String,
}

impl Sent {
    pub fn request(&self) -> &rsip::Request {
        match &self.message {
            Parsed::Request(r) => r,
            Parsed::Response(r) => panic!("expected a request, got {}", r.status_code),
        }
    }
    pub fn response(&self) -> &rsip::Response {
        match &self.message {
            Parsed::Response(r) => r,
            Parsed::Request(r) => panic!("expected a response, got {}", r.method),
        }
    }
    pub fn status(&self) -> Option<u16> {
        match &self.message {
            Parsed::Response(r) => Some(r.status_code.code()),
            Parsed::Request(_) => None,
        }
    }
    pub fn method(&self) -> Option<rsip::Method> {
        match &self.message {
            Parsed::Request(r) => Some(r.method),
            Parsed::Response(_) => None,
        }
    }
    pub fn header(&self, name: &str) -> Option<String> {
        let headers = match &self.message {
            Parsed::Request(r) => &r.headers,
            Parsed::Response(r) => &r.headers,
        };
        header(headers, name)
    }
    pub fn body(&self) -> &[u8] {
        match &self.message {
            Parsed::Request(r) => &r.body,
            Parsed::Response(r) => &r.body,
        }
    }
    /// The To tag (of responses we got from the switch, or requests it sent).
    pub fn to_tag(&self) -> Option<String> {
        tag(&self.header("to")?)
    }
    pub fn tag_of_from(&self) -> Option<String> {
        tag(&self.header("from")?)
    }
}

/// The first request with `method` among `sent` (which may hold
/// retransmissions and other messages as well).
pub fn find_request(sent: &[Sent], method: Method) -> Option<&Sent> {
    sent.iter().find(|s| s.method() == Some(method))
}

pub fn header(headers: &rsip::Headers, name: &str) -> Option<String> {
    headers.iter().find_map(|h| {
        let text = h.to_string();
        let (n, v) = text.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

pub fn tag(value: &str) -> Option<String> {
    value
        .split(';')
        .find_map(|p| p.trim().strip_prefix("tag=").map(str::to_owned))
}

/// The URI inside `<…>` of a header value.
pub fn angle_uri(value: &str) -> String {
    let start = value.find('<').map_or(0, |i| i + 1);
    let end = value[start..].find('>').map_or(value.len(), |i| start + i);
    value[start..end].to_owned()
}

/// A call the peer started with an INVITE, and what it knows of the dialog.
pub struct Call {
    pub call_id: String,
    pub from_tag: String,
    pub branch: String,
    pub ruri: String,
    pub to_tag: Option<String>,
    pub remote_target: Option<String>,
    pub cseq: u32,
}

pub fn invite(h: &mut Harness, user: &str, sdp: Option<&str>) -> (Call, String) {
    let branch = h.new_branch();
    let call = Call {
        call_id: format!("call-{branch}@127.0.0.1"),
        from_tag: format!("ft{branch}"),
        branch: branch.clone(),
        ruri: format!("sip:{user}@{SWITCH}"),
        to_tag: None,
        remote_target: None,
        cseq: 1,
    };
    let text = request_text(
        "INVITE",
        &call.ruri,
        &branch,
        &call,
        1,
        &[("Contact", format!("<sip:alice@{PEER}>"))],
        sdp,
    );
    (call, text)
}

/// A request from the peer inside or about `call`.
pub fn request_text(
    method: &str,
    ruri: &str,
    branch: &str,
    call: &Call,
    cseq: u32,
    extra: &[(&str, String)],
    sdp: Option<&str>,
) -> String {
    let to_tag = call
        .to_tag
        .as_ref()
        .map(|t| format!(";tag={t}"))
        .unwrap_or_default();
    let to_user = call.ruri.trim_start_matches("sip:");
    let mut text = format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {PEER};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@{PEER}>;tag={}\r\nTo: <sip:{to_user}>{to_tag}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n",
        call.from_tag, call.call_id
    );
    push_extra_and_body(&mut text, extra, sdp);
    text
}

/// The peer's response to a request the switch sent.
pub fn response_text(
    request: &Sent,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
    extra: &[(&str, String)],
    sdp: Option<&str>,
) -> String {
    let r = request.request();
    let mut text = format!("SIP/2.0 {status} {reason}\r\n");
    for h in r.headers.iter() {
        let line = h.to_string();
        let name = line
            .split_once(':')
            .map(|(n, _)| n.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match name.as_str() {
            "via" | "from" | "call-id" | "cseq" => text.push_str(&format!("{line}\r\n")),
            "to" => {
                let tag = match to_tag {
                    Some(t) if !line.contains(";tag=") => format!(";tag={t}"),
                    _ => String::new(),
                };
                text.push_str(&format!("{line}{tag}\r\n"));
            }
            _ => {}
        }
    }
    push_extra_and_body(&mut text, extra, sdp);
    text
}

/// Ends a message from the peer: the `extra` headers, then the SDP body
/// (with its Content-Type) or an empty one.
fn push_extra_and_body(text: &mut String, extra: &[(&str, String)], sdp: Option<&str>) {
    for (name, value) in extra {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    match sdp {
        Some(body) => text.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => text.push_str("Content-Length: 0\r\n\r\n"),
    }
}
