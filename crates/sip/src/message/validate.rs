//! Checks on the raw message that `rsip` does not make (RFC 3261 §7, §8.2.2,
//! §18.3, §25), each mapped to the status that answers it.

use super::address::{split_address, split_top_level};
use super::framer::parse_length;
use super::raw::{RawMessage, is_token};
use super::via::parse_via_value;

/// A failed check: the status to answer a request with, its reason phrase,
/// and the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail {
    pub status: u16,
    pub phrase: &'static str,
    pub label: &'static str,
}

pub(crate) const fn bad(phrase: &'static str, label: &'static str) -> Fail {
    Fail {
        status: 400,
        phrase,
        label,
    }
}

/// Methods `rsip` can type; anything else is answered 501 (RFC 3261 §8.2.1).
/// SIP methods are case-sensitive, `rsip` is not, hence our own list.
pub(crate) const KNOWN_METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "INFO",
    "MESSAGE",
    "NOTIFY",
    "PRACK",
    "PUBLISH",
    "REFER",
    "SUBSCRIBE",
    "UPDATE",
];

/// Header fields that may appear at most once (RFC 3261 §7.3.1, §20).
const SINGLE: [&str; 6] = [
    "Call-ID",
    "CSeq",
    "From",
    "To",
    "Content-Length",
    "Max-Forwards",
];

/// Header fields every request and response carries (§8.1.1; Max-Forwards
/// is tolerated missing and read as 70).
const MANDATORY: [&str; 5] = ["Via", "From", "To", "Call-ID", "CSeq"];

/// Splits the Request-Line; a version that is well-formed but not 2.0 gives
/// 505 (§8.2.2... and RFC 4475 badvers).
pub(crate) fn request_line(line: &str) -> Result<(&str, &str), Fail> {
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("Bad Request-Line", "bad_start_line"));
    };
    if !is_token(method) || uri.is_empty() || uri.contains('\t') {
        return Err(bad("Bad Request-Line", "bad_start_line"));
    }
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok((method, uri));
    }
    let well_formed = version
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        && version
            .get(4..)
            .and_then(|v| v.split_once('.'))
            .is_some_and(|(major, minor)| {
                [major, minor]
                    .iter()
                    .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            });
    if well_formed {
        Err(Fail {
            status: 505,
            phrase: "Version Not Supported",
            label: "bad_version",
        })
    } else {
        Err(bad("Bad Request-Line", "bad_start_line"))
    }
}

/// Splits the Status-Line into code and reason phrase.
pub(crate) fn status_line(line: &str) -> Option<(u16, &str)> {
    let (version, rest) = line.split_once(' ')?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if !version.eq_ignore_ascii_case("SIP/2.0")
        || code.len() != 3
        || !code.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let code: u16 = code.parse().ok()?;
    (100..=699).contains(&code).then_some((code, reason))
}

/// Parses a CSeq value into number and method.
pub(crate) fn cseq(value: &str) -> Result<(u32, &str), Fail> {
    let fail = bad("Bad CSeq", "bad_cseq");
    let mut parts = value.split_whitespace();
    let (Some(number), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(fail);
    };
    // §8.1.1.5: the number is a 32-bit unsigned integer below 2**31.
    let number: u32 = number.parse().map_err(|_| fail)?;
    if number >= 1 << 31
        || !is_token(method)
        || !value
            .bytes()
            .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
    {
        return Err(fail);
    }
    Ok((number, method))
}

/// Checks one `name-addr` or `addr-spec` with its parameters (§20.10, §25.1):
/// balanced quotes, a token-only display name, no LWS inside `<>`, and no
/// `?`/`,` in an unbracketed addr-spec.
fn address_ok(value: &str) -> bool {
    let Ok(parts) = split_address(value) else {
        return false;
    };
    if !parts.bracketed {
        // addr-spec: parameters follow a `;`; no headers, no LWS.
        let spec = parts.uri.trim();
        return spec.contains(':') && !spec.contains(['?', ' ', '\t', '"', '<', '>']);
    }
    let tokens_only = parts.quoted_name()
        || parts
            .display_name
            .is_none_or(|name| name.split_whitespace().all(is_token));
    let params = parts.params.trim();
    tokens_only
        && !parts.uri.is_empty()
        && parts.uri.contains(':')
        && !parts.uri.contains([' ', '\t', '<', '"'])
        && (params.is_empty() || params.starts_with(';'))
}

/// Header-level checks shared by requests and responses. Returns the
/// Content-Length if present.
pub(crate) fn headers(raw: &RawMessage<'_>) -> Result<Option<usize>, Fail> {
    if !raw.utf8 {
        return Err(bad("Bad Header Encoding", "bad_encoding"));
    }
    for name in MANDATORY {
        if raw.first(name).is_none() {
            return Err(bad("Missing Mandatory Header", "missing_header"));
        }
    }
    for name in SINGLE {
        if raw.all(name).nth(1).is_some() {
            return Err(bad("Duplicate Single-Value Header", "duplicate_header"));
        }
    }
    for via in raw.all("Via") {
        let mut rest = via.value.as_str();
        loop {
            let (_, used) = parse_via_value(rest).map_err(|_| bad("Bad Via", "bad_via"))?;
            match rest.get(used..).and_then(|r| r.strip_prefix(',')) {
                Some(next) => rest = next,
                None => break,
            }
        }
    }
    for name in ["From", "To"] {
        if !raw.first(name).is_some_and(address_ok) {
            return Err(bad("Bad From or To", "bad_address"));
        }
    }
    for contact in raw.all("Contact") {
        if contact.value.trim() != "*"
            && !split_top_level(&contact.value).into_iter().all(address_ok)
        {
            return Err(bad("Bad Contact", "bad_address"));
        }
    }
    if !raw
        .first("Call-ID")
        .is_some_and(|c| !c.is_empty() && !c.contains([' ', '\t']))
    {
        return Err(bad("Bad Call-ID", "bad_call_id"));
    }
    // Max-Forwards is 1*DIGIT and means at most 255 hops (§20.22).
    let max_forwards_ok =
        |max: &str| max.bytes().all(|b| b.is_ascii_digit()) && max.parse::<u8>().is_ok();
    if !raw.first("Max-Forwards").is_none_or(max_forwards_ok) {
        return Err(bad("Bad Max-Forwards", "bad_max_forwards"));
    }
    match raw.first("Content-Length") {
        Some(value) => parse_length(value)
            .map(Some)
            .ok_or(bad("Bad Content-Length", "content_length")),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_statuses() {
        assert_eq!(
            request_line("INVITE sip:a@b SIP/2.0"),
            Ok(("INVITE", "sip:a@b"))
        );
        assert_eq!(
            request_line("OPTIONS sip:a@b SIP/7.0").map_err(|f| f.status),
            Err(505)
        );
        for line in [
            "INVITE  sip:a@b SIP/2.0",
            "INVITE sip:a@b SIP/2.0 ",
            "INVITE sip:a@b; lr SIP/2.0",
            "INVITE sip:a@b HTTP",
        ] {
            assert_eq!(request_line(line).map_err(|f| f.status), Err(400), "{line}");
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_line("SIP/2.0 100 "), Some((100, "")));
        assert_eq!(status_line("SIP/2.0 200"), Some((200, "")));
        assert_eq!(
            status_line("SIP/2.0 4294967301 better not break the receiver"),
            None
        );
        assert_eq!(status_line("SIP/2.0 099 Low"), None);
        assert_eq!(status_line("SIP/1.0 200 OK"), None);
    }

    #[test]
    fn cseq_values() {
        assert_eq!(cseq("1 INVITE"), Ok((1, "INVITE")));
        assert!(cseq("36893488147419103232 REGISTER").is_err());
        assert!(cseq("2147483648 INVITE").is_err());
        assert!(cseq("1").is_err());
    }

    #[test]
    fn addresses() {
        for good in [
            "\"Quoted \\\"x\\\"\" <sip:a@b>;tag=1",
            "caller<sip:caller@example.com>;tag=323",
            "sip:a@b;tag=1",
            "isbn:2983792873",
            "J Rosenberg <sip:a@b> ; tag = 1",
        ] {
            assert!(address_ok(good), "{good}");
        }
        for bad in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<>",
        ] {
            assert!(!address_ok(bad), "{bad}");
        }
        assert_eq!(split_top_level("<sip:a,b>, \"x,y\" <sip:c>").len(), 2);
    }
}
