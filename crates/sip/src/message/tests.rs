//! Whole-message tests of `parse` and the encoders.

use super::*;
use rsip::headers::UntypedHeader;

const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: Alice <sip:alice@example.org>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.1\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@192.0.2.1>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

fn request(text: &str) -> rsip::Request {
    match parse(text.as_bytes(), ParseLimits::default()) {
        Ok(Parsed::Request(request)) => request,
        other => panic!("not a request: {other:?}"),
    }
}

/// The status line of the answer to `text`.
fn answer(text: &str) -> (String, Option<String>) {
    match parse(text.as_bytes(), ParseLimits::default()) {
        Err(Rejection { reason, response }) => (
            reason.to_owned(),
            response.map(|r| {
                String::from_utf8_lossy(&r)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            }),
        ),
        Ok(parsed) => panic!("accepted: {parsed:?}"),
    }
}

fn with(line_from: &str, line_to: &str) -> String {
    assert!(INVITE.contains(line_from), "{line_from}");
    INVITE.replacen(line_from, line_to, 1)
}

#[test]
fn parses_and_round_trips_a_plain_invite() {
    let invite = request(INVITE);
    assert_eq!(max_forwards(&invite), 70);
    let zero = request(&with("Max-Forwards: 70", "Max-Forwards: 0"));
    assert_eq!(max_forwards(&zero), 0);
    let absent = request(&with("Max-Forwards: 70\r\n", ""));
    assert_eq!(max_forwards(&absent), DEFAULT_MAX_FORWARDS);
    assert_eq!(invite.method, rsip::Method::Invite);
    assert_eq!(invite.body, b"v=0\n");
    let printed = encode_request(&invite);
    let again = request(std::str::from_utf8(&printed).expect("utf8"));
    assert_eq!(again, invite);
}

#[test]
fn folding_compact_forms_and_space_before_colon_reach_rsip_typed() {
    let text = with(
        "Call-ID: a84b4c76e66710@192.0.2.1\r\n",
        "i  : a84b4c76e66710@192.0.2.1\r\n",
    )
    .replace(
        "To: Bob <sip:bob@example.com>\r\n",
        "t: Bob\r\n <sip:bob@example.com>\r\n",
    );
    let invite = request(&text);
    use rsip::prelude::HeadersExt;
    assert_eq!(
        invite.call_id_header().map(|c| c.to_string()).ok(),
        Some("Call-ID: a84b4c76e66710@192.0.2.1".into())
    );
    assert_eq!(
        invite.to_header().map(|c| c.to_string()).ok(),
        Some("To: Bob <sip:bob@example.com>".into())
    );
}

#[test]
fn udp_body_is_cut_to_content_length_and_longer_length_is_400() {
    let invite = request(&with("v=0\n", "v=0\nTRAILING"));
    assert_eq!(invite.body, b"v=0\n");
    let (reason, status) = answer(&with("Content-Length: 4", "Content-Length: 40"));
    assert_eq!(
        (reason.as_str(), status.as_deref()),
        (
            "content_length",
            Some("SIP/2.0 400 Content-Length Larger Than Body")
        )
    );
    let (reason, _) = answer(&with("Content-Length: 4", "Content-Length: -4"));
    assert_eq!(reason, "content_length");
}

#[test]
fn each_rejection_status() {
    let cases: [(&str, &str, &str, &str); 8] = [
        (
            "SIP/2.0\r\nVia",
            "SIP/7.0\r\nVia",
            "bad_version",
            "SIP/2.0 505",
        ),
        (
            "INVITE sip:bob@example.com",
            "INVITE nobodyknowsthisscheme:x",
            "unsupported_scheme",
            "SIP/2.0 416",
        ),
        (
            "INVITE sip:bob@example.com",
            "FOO sip:bob@example.com",
            "cseq_mismatch",
            "SIP/2.0 400",
        ),
        (
            "CSeq: 314159 INVITE",
            "CSeq: 314159 OPTIONS",
            "cseq_mismatch",
            "SIP/2.0 400",
        ),
        (
            "Max-Forwards: 70",
            "Max-Forwards: 300",
            "bad_max_forwards",
            "SIP/2.0 400",
        ),
        (
            "Call-ID: a84b4c76e66710@192.0.2.1\r\n",
            "",
            "missing_header",
            "SIP/2.0 400",
        ),
        (
            "Max-Forwards: 70\r\n",
            "Max-Forwards: 70\r\nMax-Forwards: 69\r\n",
            "duplicate_header",
            "SIP/2.0 400",
        ),
        (
            "INVITE sip:bob@example.com",
            "INVITE  sip:bob@example.com",
            "bad_start_line",
            "SIP/2.0 400",
        ),
    ];
    for (from, to, reason, status) in cases {
        let (got_reason, got_status) = answer(&with(from, to));
        assert_eq!(got_reason, reason, "{to}");
        assert!(
            got_status.as_deref().is_some_and(|s| s.starts_with(status)),
            "{to}: {got_status:?}"
        );
    }
}

#[test]
fn unknown_method_gets_501_with_allow() {
    let text = with("INVITE sip:bob@example.com", "FOO sip:bob@example.com")
        .replace("314159 INVITE", "314159 FOO");
    let Err(Rejection {
        reason,
        response: Some(response),
    }) = parse(text.as_bytes(), ParseLimits::default())
    else {
        panic!("not answered")
    };
    assert_eq!(reason, "unknown_method");
    let response = String::from_utf8_lossy(&response).into_owned();
    assert!(response.starts_with("SIP/2.0 501 Not Implemented\r\n"));
    assert!(response.contains(&format!("Allow: {ALLOW}\r\n")));
    assert!(response.contains("CSeq: 314159 FOO\r\n"));
    assert!(response.contains("To: Bob <sip:bob@example.com>;tag="));
    // Lower-case methods are other methods (RFC 3261 §7.1).
    let text = with("INVITE sip:bob@example.com", "invite sip:bob@example.com")
        .replace("314159 INVITE", "314159 invite");
    assert_eq!(answer(&text).0, "unknown_method");
}

#[test]
fn acks_responses_and_unanswerable_requests_are_dropped() {
    let ack = with("INVITE sip:bob@example.com", "ACK sip:bob@example.com")
        .replace("314159 INVITE", "314159 ACK");
    assert!(request(&ack).method == rsip::Method::Ack);
    assert_eq!(
        answer(&ack.replace("Max-Forwards: 70", "Max-Forwards: x")),
        ("bad_max_forwards".into(), None)
    );
    let no_via = with(
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n",
        "",
    );
    assert_eq!(answer(&no_via), ("missing_header".into(), None));
    let response = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 9\r\n\r\n";
    assert_eq!(answer(response), ("content_length".into(), None));
    let bad_status = response
        .replace("200 OK", "2000 OK")
        .replace("Length: 9", "Length: 0");
    assert_eq!(answer(&bad_status), ("bad_start_line".into(), None));
    assert!(matches!(
        parse(
            bad_status.replace("2000", "200").as_bytes(),
            ParseLimits::default()
        ),
        Ok(Parsed::Response(_))
    ));
}

#[test]
fn limits_on_size_and_header_count() {
    let limits = ParseLimits {
        max_message: 100,
        max_headers: 256,
    };
    let Err(Rejection { reason, response }) = parse(INVITE.as_bytes(), limits) else {
        panic!("accepted")
    };
    assert_eq!(reason, "too_large");
    assert!(response.is_some_and(|r| r.starts_with(b"SIP/2.0 513 ")));
    let limits = ParseLimits {
        max_message: 65536,
        max_headers: 3,
    };
    assert_eq!(
        parse(INVITE.as_bytes(), limits).err().map(|r| r.reason),
        Some("too_many_headers")
    );
}

#[test]
fn responses_keep_unknown_reason_and_binary_body() {
    let mut text = b"SIP/2.0 299 Odd But Fine\r\nVia: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nl: 3\r\n\r\n".to_vec();
    text.extend_from_slice(&[0xff, 0x00, 0xfe]);
    let Ok(Parsed::Response(response)) = parse(&text, ParseLimits::default()) else {
        panic!("refused")
    };
    assert_eq!(response.body, [0xff, 0x00, 0xfe]);
    let printed = encode_response(&response);
    assert!(printed.starts_with(b"SIP/2.0 299 Odd But Fine\r\n"));
    assert!(printed.ends_with(b"Content-Length: 3\r\n\r\n\xff\x00\xfe"));
    assert_eq!(
        top_via(&response.headers).ok().and_then(|v| v.host_ip()),
        "2001:db8::1".parse().ok()
    );
}

#[test]
fn ipv6_request_uri_parses_and_prints_back() {
    let text = with(
        "INVITE sip:bob@example.com SIP",
        "INVITE sip:[2001:db8::10]:5070 SIP",
    );
    let invite = request(&text);
    assert!(encode_request(&invite).starts_with(b"INVITE sip:[2001:db8::10]:5070 SIP/2.0\r\n"));
    let (reason, status) = answer(&with(
        "INVITE sip:bob@example.com SIP",
        "INVITE sip:2001:db8::10 SIP",
    ));
    assert_eq!(
        (
            reason.as_str(),
            status.is_some_and(|s| s.starts_with("SIP/2.0 400"))
        ),
        ("bad_uri", true)
    );
}

#[test]
fn reject_response_for_endpoint_policies() {
    let invite = request(INVITE);
    let extra = [rsip::Header::Unsupported(rsip::headers::Unsupported::new(
        "foo",
    ))];
    let answer = reject_response(&invite, 420, "Bad Extension", &extra).expect("answered");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with(
        "SIP/2.0 420 Bad Extension\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"
    ));
    assert!(text.contains("Unsupported: foo\r\n"));
    assert!(text.contains("CSeq: 314159 INVITE\r\n"));
    assert!(matches!(
        parse(&answer, ParseLimits::default()),
        Ok(Parsed::Response(_))
    ));
}
