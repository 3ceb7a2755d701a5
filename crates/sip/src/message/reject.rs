//! Answers to requests we refuse, built from their raw header values so that
//! even a request `rsip` cannot read can be answered (RFC 3261 §8.2).

use bytes::Bytes;

use super::raw::RawHeader;

/// Headers copied from the request into the answer (§8.2.6.2).
const COPIED: [&str; 5] = ["Via", "From", "To", "Call-ID", "CSeq"];

/// A To-tag that is the same for every retransmission of the request, so the
/// answer to a retransmission is the same answer (no clock, no randomness).
fn derived_tag(headers: &[RawHeader]) -> String {
    // FNV-1a over the headers identifying the request.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for header in headers
        .iter()
        .filter(|h| h.is("Call-ID") || h.is("CSeq") || h.is("From"))
    {
        for byte in header.value.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("sd{hash:016x}")
}

fn has_tag(to: &str) -> bool {
    // Parameters of the header follow the closing `>` (or the whole value
    // when there is no name-addr).
    let params = to.rsplit_once('>').map_or(to, |(_, p)| p);
    params.split(';').skip(1).any(|p| {
        p.split_once('=')
            .map_or(p, |(n, _)| n)
            .trim()
            .eq_ignore_ascii_case("tag")
    })
}

/// Builds the answer; `None` when the request cannot be answered (no Via,
/// or an ACK, which is never answered).
pub(crate) fn build(
    method: Option<&str>,
    headers: &[RawHeader],
    status: u16,
    reason: &str,
    extra: &[String],
) -> Option<Bytes> {
    let cseq_method = headers
        .iter()
        .find(|h| h.is("CSeq"))
        .and_then(|h| h.value.split_whitespace().nth(1));
    if method == Some("ACK") || cseq_method == Some("ACK") {
        return None;
    }
    if !headers.iter().any(|h| h.is("Via")) {
        return None;
    }
    let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
    let mut out = format!("SIP/2.0 {status} {reason}\r\n");
    for header in headers
        .iter()
        .filter(|h| COPIED.iter().any(|name| h.is(name)))
    {
        out.push_str(&header.name);
        out.push_str(": ");
        out.push_str(&header.value);
        if header.is("To") && !has_tag(&header.value) {
            out.push_str(";tag=");
            out.push_str(&derived_tag(headers));
        }
        out.push_str("\r\n");
    }
    for line in extra {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(Bytes::from(out))
}

/// Builds the answer to a request the endpoint refuses after parsing (420,
/// 415, 483…): Via, From, To (with a To-tag added if missing), Call-ID and
/// CSeq copied, `extra` headers (such as Unsupported or Accept) appended,
/// `Content-Length: 0`. `None` for an ACK, which is never answered.
pub fn reject_response(
    request: &rsip::Request,
    status: u16,
    reason: &str,
    extra: &[rsip::Header],
) -> Option<Bytes> {
    let headers: Vec<RawHeader> = request
        .headers
        .iter()
        .filter_map(|h| {
            let text = h.to_string();
            let (name, value) = text.split_once(':')?;
            Some(RawHeader {
                name: name.trim().to_owned(),
                value: value.trim().to_owned(),
            })
        })
        .collect();
    let extra: Vec<String> = extra.iter().map(ToString::to_string).collect();
    build(
        Some(&request.method.to_string()),
        &headers,
        status,
        reason,
        &extra,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> RawHeader {
        RawHeader {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn copies_identifying_headers_and_tags_to() {
        let headers = [
            header("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"),
            header("Via", "SIP/2.0/UDP b;branch=z9hG4bK2"),
            header("From", "<sip:a@b>;tag=1"),
            header("To", "<sip:c@d>"),
            header("Call-ID", "x"),
            header("CSeq", "1 INVITE"),
            header("Subject", "not copied"),
        ];
        let answer = build(
            Some("INVITE"),
            &headers,
            400,
            "Bad Request",
            &["Warning: 399 x \"y\"".into()],
        )
        .expect("answered");
        let text = std::str::from_utf8(&answer).expect("utf8");
        assert!(text.starts_with(
            "SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b"
        ));
        assert!(text.contains("To: <sip:c@d>;tag=sd"));
        assert!(text.contains("Warning: 399 x \"y\"\r\n"));
        assert!(!text.contains("Subject"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
        // Deterministic: a retransmission gets the same answer.
        assert_eq!(
            Some(answer),
            build(
                Some("INVITE"),
                &headers,
                400,
                "Bad Request",
                &["Warning: 399 x \"y\"".into()]
            )
        );
    }

    #[test]
    fn never_answers_ack_or_without_via() {
        let headers = [header("Via", "SIP/2.0/UDP a"), header("CSeq", "1 ACK")];
        assert_eq!(build(Some("ACK"), &headers, 400, "Bad", &[]), None);
        assert_eq!(build(None, &headers, 400, "Bad", &[]), None);
        assert_eq!(
            build(
                Some("INVITE"),
                &[header("CSeq", "1 INVITE")],
                400,
                "Bad",
                &[]
            ),
            None
        );
        assert!(!has_tag("<sip:a@b;tag=x>"));
        assert!(has_tag("<sip:a@b>;tag=x"));
    }
}
