//! Transaction matching keys (RFC 3261 §17.1.3, §17.2.3) and the raw header
//! reads they need.

use crate::dialog::{HeaderKind, first_value};
use crate::message::ViaInfo;
use crate::message::address::split_address;

/// The RFC 3261 magic cookie that starts every compliant branch.
pub(crate) const MAGIC_COOKIE: &str = "z9hG4bK";

/// Whether the top Via's branch carries the magic cookie (§17.2.3).
fn is_rfc3261(via: &ViaInfo) -> bool {
    via.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
}

/// sent-by as a matching key: host lower-cased, IPv6 without brackets, port
/// defaulted to 5060, so that equivalent spellings match.
fn sent_by_key(via: &ViaInfo) -> String {
    let host = via
        .host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&via.host);
    format!("{}:{}", host.to_ascii_lowercase(), via.port.unwrap_or(5060))
}

/// The method as a static token (matching key and metric label).
pub(crate) fn method_name(method: &rsip::Method) -> &'static str {
    use rsip::Method::*;
    match method {
        Ack => "ACK",
        Bye => "BYE",
        Cancel => "CANCEL",
        Info => "INFO",
        Invite => "INVITE",
        Message => "MESSAGE",
        Notify => "NOTIFY",
        Options => "OPTIONS",
        PRack => "PRACK",
        Publish => "PUBLISH",
        Refer => "REFER",
        Register => "REGISTER",
        Subscribe => "SUBSCRIBE",
        Update => "UPDATE",
    }
}

/// Call-ID value.
pub(crate) fn call_id(headers: &rsip::Headers) -> Option<&str> {
    first_value(headers, HeaderKind::CallId)
}

/// CSeq number and method token.
pub(crate) fn cseq(headers: &rsip::Headers) -> Option<(u32, &str)> {
    let value = first_value(headers, HeaderKind::CSeq)?;
    let (num, method) = value.split_once(|c: char| c.is_ascii_whitespace())?;
    Some((num.parse().ok()?, method.trim()))
}

/// The `tag` parameter of a From or To header value.
pub(crate) fn tag_param(value: &str) -> Option<&str> {
    // Only header parameters count: a `tag` inside `<uri>` is the URI's.
    let params = split_address(value).ok()?.params;
    params.split(';').find_map(|p| {
        let (name, v) = p.split_once('=')?;
        name.trim().eq_ignore_ascii_case("tag").then(|| v.trim())
    })
}

/// The From tag.
pub(crate) fn from_tag(headers: &rsip::Headers) -> Option<&str> {
    first_value(headers, HeaderKind::From).and_then(tag_param)
}

/// The To tag.
pub(crate) fn to_tag(headers: &rsip::Headers) -> Option<&str> {
    first_value(headers, HeaderKind::To).and_then(tag_param)
}

/// Client transaction key: top-Via branch and CSeq method (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    pub branch: String,
    pub method: String,
}

/// Server transaction key (§17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ServerKey {
    /// Branch with the magic cookie: branch, sent-by and method (ACK folded
    /// into INVITE).
    Rfc3261 {
        branch: String,
        sent_by: String,
        method: String,
    },
    /// RFC 2543 fallback for branch-less requests. The To tag is left out so
    /// that an ACK (whose To carries our tag) still finds its INVITE.
    Rfc2543 {
        request_uri: String,
        from_tag: String,
        call_id: String,
        cseq: u32,
        top_via: String,
        method: String,
    },
}

impl ServerKey {
    /// The key of a received request, with ACK matched as INVITE; `None`
    /// when a header needed for matching is missing.
    pub(crate) fn of_request(request: &rsip::Request, via: &ViaInfo) -> Option<ServerKey> {
        Self::with_method(request, via, match_method(&request.method))
    }

    /// The same request's key under another method (CANCEL looking for its INVITE).
    pub(crate) fn with_method(
        request: &rsip::Request,
        via: &ViaInfo,
        method: &str,
    ) -> Option<ServerKey> {
        if is_rfc3261(via) {
            return Some(ServerKey::Rfc3261 {
                branch: via.branch()?.to_owned(),
                sent_by: sent_by_key(via),
                method: method.to_owned(),
            });
        }
        let (cseq, _) = cseq(&request.headers)?;
        Some(ServerKey::Rfc2543 {
            request_uri: request.uri.to_string(),
            from_tag: from_tag(&request.headers).unwrap_or("").to_owned(),
            call_id: call_id(&request.headers)?.to_owned(),
            cseq,
            top_via: format!(
                "SIP/2.0/{}|{}|{}",
                via.transport,
                sent_by_key(via),
                via.branch().unwrap_or("")
            ),
            method: method.to_owned(),
        })
    }
}

/// ACK matches its INVITE transaction.
fn match_method(method: &rsip::Method) -> &'static str {
    match method {
        rsip::Method::Ack => "INVITE",
        other => method_name(other),
    }
}

/// Identifies the INVITE whose 2xx an ACK (with its own branch) acknowledges:
/// Call-ID, CSeq number and From tag (RFC 3261 §13.2.2.4, §12.2.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AckKey {
    pub call_id: String,
    pub cseq: u32,
    pub from_tag: String,
}

impl AckKey {
    /// The key of an INVITE or an ACK.
    pub(crate) fn of(headers: &rsip::Headers) -> Option<AckKey> {
        Some(AckKey {
            call_id: call_id(headers)?.to_owned(),
            cseq: cseq(headers)?.0,
            from_tag: from_tag(headers).unwrap_or("").to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tags_and_cseq() {
        assert_eq!(tag_param("\"A\" <sip:a@b;tag=uri>;tag=abc"), Some("abc"));
        assert_eq!(tag_param("sip:a@b;tag=x1"), Some("x1"));
        assert_eq!(tag_param("<sip:a@b>"), None);
        let headers: rsip::Headers = vec![rsip::Header::CSeq("  12   INVITE ".into())].into();
        assert_eq!(cseq(&headers), Some((12, "INVITE")));
        let bad: rsip::Headers = vec![rsip::Header::CSeq("x INVITE".into())].into();
        assert_eq!(cseq(&bad), None);
    }

    #[test]
    fn sent_by_keys_fold_case_brackets_and_default_port() {
        let via = |text: &str| crate::message::parse_via_value(text).expect("parses").0;
        let v4 = via("SIP/2.0/UDP Host.Example:5070;branch=z9hG4bKabc;rport");
        assert_eq!(sent_by_key(&v4), "host.example:5070");
        assert!(is_rfc3261(&v4));
        let v6 = via("SIP / 2.0 / tcp [2001:DB8::1]:5061 ;branch=x, SIP/2.0/UDP b");
        assert_eq!(v6.transport, "TCP");
        assert_eq!(sent_by_key(&v6), "2001:db8::1:5061");
        assert!(!is_rfc3261(&v6));
        assert_eq!(sent_by_key(&via("SIP/2.0/UDP h")), "h:5060");
    }
}
