//! Dialog unit tests.

use super::*;
use rsip::headers::UntypedHeader;

const INVITE: &str = "INVITE sip:switch@192.0.2.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKa\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKb\r\n\
Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
Record-Route: <sip:[2001:db8::3]:5080;lr>\r\n\
From: \"Alice, A.\" <sip:alice@example.com>;tag=alice1\r\n\
To: <sip:switch@192.0.2.1>\r\n\
Call-ID: call-1@example.com\r\n\
CSeq: 10 INVITE\r\n\
Contact: <sip:alice@[2001:db8::5]:5070;transport=udp>\r\n\
Max-Forwards: 69\r\n\
Content-Length: 0\r\n\r\n";

fn request(text: &str) -> rsip::Request {
    rsip::Request::try_from(text).unwrap()
}

fn response(text: &str) -> rsip::Response {
    rsip::Response::try_from(text).unwrap()
}

fn header_values(req: &rsip::Request, kind: HeaderKind) -> Vec<String> {
    super::header_values(&req.headers, kind)
        .map(str::to_owned)
        .collect()
}

fn route_values(req: &rsip::Request) -> Vec<String> {
    req.headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::Route(r) => Some(r.value().to_owned()),
            _ => None,
        })
        .collect()
}

fn our_contact() -> rsip::Uri {
    parse_uri("sip:switch@192.0.2.1:5060").unwrap()
}

fn uas_dialog() -> Dialog {
    Dialog::new_uas(&request(INVITE), "sw1", &our_contact()).unwrap()
}

#[test]
fn uas_dialog_takes_ids_routes_and_target_from_invite() {
    let dialog = uas_dialog();
    assert_eq!(
        dialog.id(),
        &DialogId {
            call_id: "call-1@example.com".into(),
            local_tag: "sw1".into(),
            remote_tag: "alice1".into()
        }
    );
    assert_eq!(dialog.state(), DialogState::Early);
    let routes: Vec<String> = dialog.route_set().iter().map(ToString::to_string).collect();
    assert_eq!(
        routes,
        [
            "sip:p1.example.com;lr",
            "sip:p2.example.com;lr",
            "sip:[2001:db8::3]:5080;lr"
        ]
    );
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:alice@[2001:db8::5]:5070;transport=UDP"
    );
    assert_eq!(
        uri_ip(dialog.remote_target()),
        Some("2001:db8::5".parse().unwrap())
    );
    assert_eq!(dialog.remote_cseq(), Some(10));
}

#[test]
fn uas_bye_uses_loose_routes_tags_and_next_cseq() {
    let mut dialog = uas_dialog();
    dialog.confirm();
    let (bye, destination) = dialog.make_request(rsip::Method::Bye, None);
    assert_eq!(
        bye.uri.to_string(),
        "sip:alice@[2001:db8::5]:5070;transport=UDP"
    );
    assert_eq!(destination.to_string(), "sip:p1.example.com;lr");
    assert_eq!(
        route_values(&bye),
        [
            "<sip:p1.example.com;lr>",
            "<sip:p2.example.com;lr>",
            "<sip:[2001:db8::3]:5080;lr>"
        ]
    );
    assert_eq!(
        header_values(&bye, HeaderKind::From),
        ["<sip:switch@192.0.2.1>;tag=sw1"]
    );
    assert_eq!(
        header_values(&bye, HeaderKind::To),
        ["\"Alice, A.\" <sip:alice@example.com>;tag=alice1"]
    );
    assert_eq!(header_values(&bye, HeaderKind::CSeq), ["1 BYE"]);
    assert!(
        header_values(&bye, HeaderKind::Contact).is_empty(),
        "BYE is no target refresh"
    );
    let (second, _) = dialog.make_request(
        rsip::Method::Info,
        Some(("application/dtmf-relay".into(), b"Signal=5".to_vec())),
    );
    assert_eq!(header_values(&second, HeaderKind::CSeq), ["2 INFO"]);
    assert_eq!(second.body, b"Signal=5");
    assert!(second.to_string().contains("Content-Length: 8\r\n"));
    assert!(
        second
            .to_string()
            .contains("Content-Type: application/dtmf-relay\r\n")
    );
    // What we print, the peer (and rsip) can read back.
    let reparsed = rsip::Request::try_from(bye.to_string().replace("[2001:db8::5]", "h6")).unwrap();
    assert_eq!(
        dialog_id_of_response(&response_to(&reparsed, 200, None)).unwrap(),
        *dialog.id()
    );
}

#[test]
fn reinvite_carries_our_contact() {
    let mut dialog = uas_dialog();
    let (reinvite, _) = dialog.make_request(
        rsip::Method::Invite,
        Some(("application/sdp".into(), b"v=0\r\n".to_vec())),
    );
    assert_eq!(
        header_values(&reinvite, HeaderKind::Contact),
        ["<sip:switch@192.0.2.1:5060>"]
    );
    assert_eq!(header_values(&reinvite, HeaderKind::CSeq), ["1 INVITE"]);
    let (ack, destination) = dialog.make_ack(1);
    assert_eq!(ack.method, rsip::Method::Ack);
    assert_eq!(header_values(&ack, HeaderKind::CSeq), ["1 ACK"]);
    assert_eq!(destination.to_string(), "sip:p1.example.com;lr");
    assert_eq!(dialog.local_cseq(), 1, "ACK does not advance the CSeq");
}

const OUR_INVITE: &str = "INVITE sip:bob@192.0.2.30 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKc\r\n\
From: <sip:switch@192.0.2.1>;tag=sw2\r\n\
To: Bob <sip:bob@192.0.2.30>\r\n\
Call-ID: call-2@192.0.2.1\r\n\
CSeq: 4711 INVITE\r\n\
Contact: <sip:switch@192.0.2.1:5060>\r\n\
Content-Length: 0\r\n\r\n";

fn answer_to_our_invite(
    status: &str,
    tag: &str,
    record_route: &str,
    contact: &str,
) -> rsip::Response {
    response(&format!(
        "SIP/2.0 {status}\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKc\r\n\
{record_route}\
From: <sip:switch@192.0.2.1>;tag=sw2\r\n\
To: Bob <sip:bob@192.0.2.30>;tag={tag}\r\n\
Call-ID: call-2@192.0.2.1\r\n\
CSeq: 4711 INVITE\r\n\
{contact}\
Content-Length: 0\r\n\r\n"
    ))
}

#[test]
fn uac_dialog_reverses_record_route_and_counts_from_invite_cseq() {
    let ok = answer_to_our_invite(
        "200 OK",
        "bob9",
        "Record-Route: <sip:p2.example.com;lr>\r\nRecord-Route: <sip:p1.example.com;lr>\r\n",
        "Contact: <sip:bob@192.0.2.31:5062>\r\n",
    );
    let mut dialog = Dialog::new_uac(&request(OUR_INVITE), &ok).unwrap();
    assert_eq!(dialog.state(), DialogState::Confirmed);
    assert_eq!(dialog.id().local_tag, "sw2");
    assert_eq!(dialog.id().remote_tag, "bob9");
    assert_eq!(dialog_id_of_response(&ok).as_ref(), Some(dialog.id()));
    let routes: Vec<String> = dialog.route_set().iter().map(ToString::to_string).collect();
    assert_eq!(routes, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
    let (ack, _) = dialog.make_ack(4711);
    assert_eq!(ack.uri.to_string(), "sip:bob@192.0.2.31:5062");
    assert_eq!(header_values(&ack, HeaderKind::CSeq), ["4711 ACK"]);
    assert_eq!(
        header_values(&ack, HeaderKind::To),
        ["Bob <sip:bob@192.0.2.30>;tag=bob9"]
    );
    let (bye, _) = dialog.make_request(rsip::Method::Bye, None);
    assert_eq!(header_values(&bye, HeaderKind::CSeq), ["4712 BYE"]);
}

#[test]
fn early_dialog_is_confirmed_by_2xx_with_recomputed_route_set() {
    let ringing = answer_to_our_invite(
        "180 Ringing",
        "bob9",
        "Record-Route: <sip:old.example.com;lr>\r\n",
        "",
    );
    let mut dialog = Dialog::new_uac(&request(OUR_INVITE), &ringing).unwrap();
    assert_eq!(dialog.state(), DialogState::Early);
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:bob@192.0.2.30",
        "Request-URI until a Contact arrives"
    );
    let ok = answer_to_our_invite(
        "200 OK",
        "bob9",
        "Record-Route: <sip:new.example.com;lr>\r\n",
        "Contact: <sip:bob@192.0.2.33>\r\n",
    );
    dialog.handle_remote_response(&ok);
    assert_eq!(dialog.state(), DialogState::Confirmed);
    assert_eq!(dialog.route_set()[0].to_string(), "sip:new.example.com;lr");
    assert_eq!(dialog.remote_target().to_string(), "sip:bob@192.0.2.33");
}

#[test]
fn strict_router_becomes_request_uri() {
    let ok = answer_to_our_invite(
        "200 OK",
        "bob9",
        "Record-Route: <sip:loose.example.com;lr>\r\nRecord-Route: <sip:strict.example.com;method=INVITE;transport=tcp>\r\n",
        "Contact: <sip:bob@192.0.2.31>\r\n",
    );
    let mut dialog = Dialog::new_uac(&request(OUR_INVITE), &ok).unwrap();
    let (bye, destination) = dialog.make_request(rsip::Method::Bye, None);
    assert_eq!(bye.uri.to_string(), "sip:strict.example.com;transport=TCP");
    assert_eq!(
        destination.to_string(),
        "sip:strict.example.com;method=INVITE;transport=TCP"
    );
    assert_eq!(
        route_values(&bye),
        ["<sip:loose.example.com;lr>", "<sip:bob@192.0.2.31>"]
    );
}

fn in_dialog_request(method: &str, cseq: u32, contact: Option<&str>) -> rsip::Request {
    let contact = contact
        .map(|c| format!("Contact: <{c}>\r\n"))
        .unwrap_or_default();
    request(&format!(
        "{method} sip:switch@192.0.2.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx{cseq}\r\n\
From: <sip:alice@example.com>;tag=alice1\r\n\
To: <sip:switch@192.0.2.1>;tag=sw1\r\n\
Call-ID: call-1@example.com\r\n\
CSeq: {cseq} {method}\r\n\
{contact}\
Content-Length: 0\r\n\r\n"
    ))
}

#[test]
fn remote_requests_check_cseq_and_refresh_target() {
    let mut dialog = uas_dialog();
    let bye = in_dialog_request("BYE", 12, None);
    assert_eq!(dialog_id_of_request(&bye).as_ref(), Some(dialog.id()));
    let reinvite = in_dialog_request("INVITE", 11, Some("sip:alice@192.0.2.99:5099"));
    dialog.handle_remote_request(&reinvite).unwrap();
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:alice@192.0.2.99:5099"
    );
    assert_eq!(dialog.remote_cseq(), Some(11));
    dialog
        .handle_remote_request(&in_dialog_request("ACK", 11, None))
        .unwrap();
    let info = in_dialog_request("INFO", 12, Some("sip:ignored@192.0.2.98"));
    dialog.handle_remote_request(&info).unwrap();
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:alice@192.0.2.99:5099",
        "INFO does not refresh"
    );
    let stale = in_dialog_request("UPDATE", 5, Some("sip:alice@192.0.2.97"));
    match dialog.handle_remote_request(&stale) {
        Err(Error::CSeqOutOfOrder {
            received: 5,
            last: 12,
        }) => {}
        other => panic!("expected CSeqOutOfOrder, got {other:?}"),
    }
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:alice@192.0.2.99:5099",
        "rejected request changes nothing"
    );
}

#[test]
fn target_refresh_response_updates_target() {
    let mut dialog = uas_dialog();
    let (reinvite, _) = dialog.make_request(rsip::Method::Invite, None);
    let mut ok = response_to(&reinvite, 200, None);
    ok.headers
        .push(rsip::Header::Contact(rsip::headers::Contact::new(
            "<sip:alice@192.0.2.77>",
        )));
    dialog.handle_remote_response(&ok);
    assert_eq!(dialog.remote_target().to_string(), "sip:alice@192.0.2.77");
    let mut not_ok = response_to(&reinvite, 488, None);
    not_ok
        .headers
        .push(rsip::Header::Contact(rsip::headers::Contact::new(
            "<sip:alice@192.0.2.78>",
        )));
    dialog.handle_remote_response(&not_ok);
    assert_eq!(dialog.remote_target().to_string(), "sip:alice@192.0.2.77");
}

#[test]
fn response_to_copies_headers_and_adds_tag_once() {
    let invite = request(INVITE);
    let ringing = response_to(&invite, 180, Some("sw1"));
    assert_eq!(ringing.status_code.code(), 180);
    let text = ringing.to_string();
    let via_a = text.find("branch=z9hG4bKa").unwrap();
    let via_b = text.find("branch=z9hG4bKb").unwrap();
    assert!(via_a < via_b, "Via order kept");
    assert!(text.contains("To: <sip:switch@192.0.2.1>;tag=sw1\r\n"));
    assert!(text.contains("CSeq: 10 INVITE\r\n"));
    assert!(text.contains("Call-ID: call-1@example.com\r\n"));
    assert!(text.contains("Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"));
    assert!(text.contains("Content-Length: 0\r\n"));
    assert!(!text.contains("Contact:"));
    assert!(!text.contains("Max-Forwards"));
    let busy = response_to(&invite, 486, Some("sw1"));
    assert!(
        !busy.to_string().contains("Record-Route"),
        "final non-2xx creates no dialog"
    );
    let bye = in_dialog_request("BYE", 12, None);
    let ok = response_to(&bye, 200, Some("other"));
    assert!(
        ok.to_string()
            .contains("To: <sip:switch@192.0.2.1>;tag=sw1\r\n"),
        "existing tag kept"
    );
    assert_eq!(
        dialog_id_of_request(&invite),
        None,
        "initial INVITE has no To-tag"
    );
}

#[test]
fn dialog_creation_errors() {
    let no_tag = INVITE.replace(";tag=alice1", "");
    assert!(matches!(
        Dialog::new_uas(&request(&no_tag), "t", &our_contact()),
        Err(Error::MissingTag { header: "From" })
    ));
    let no_contact = INVITE.replace(
        "Contact: <sip:alice@[2001:db8::5]:5070;transport=udp>\r\n",
        "",
    );
    assert!(matches!(
        Dialog::new_uas(&request(&no_contact), "t", &our_contact()),
        Err(Error::MissingHeader { name: "Contact" })
    ));
    let bad_contact = INVITE.replace("[2001:db8::5]", "[2001:zz8::5]");
    assert!(matches!(
        Dialog::new_uas(&request(&bad_contact), "t", &our_contact()),
        Err(Error::InvalidUri { .. })
    ));
    let many = format!(
        "Record-Route: {}\r\n",
        vec!["<sip:p.example.com;lr>"; MAX_ROUTE_SET + 1].join(", ")
    );
    let too_many = INVITE.replace("Max-Forwards: 69\r\n", &many);
    assert!(matches!(
        Dialog::new_uas(&request(&too_many), "t", &our_contact()),
        Err(Error::TooManyRoutes { .. })
    ));
    let no_to_tag = answer_to_our_invite("200 OK", "", "", "Contact: <sip:bob@192.0.2.31>\r\n");
    assert!(matches!(
        Dialog::new_uac(&request(OUR_INVITE), &no_to_tag),
        Err(Error::MissingTag { header: "To" })
    ));
}

#[test]
fn name_addr_and_uri_parsing() {
    let n = NameAddr::parse("\"A \\\"q\\\" <x>\" <sip:a@b.c;lr>;tag=1;x").unwrap();
    assert_eq!(n.display_name.as_deref(), Some("\"A \\\"q\\\" <x>\""));
    assert_eq!(n.uri, "sip:a@b.c;lr");
    assert_eq!(n.tag(), Some("1"));
    let plain = NameAddr::parse("sip:bob@host;tag=9").unwrap();
    assert_eq!(
        (plain.uri.as_str(), plain.tag()),
        ("sip:bob@host", Some("9"))
    );
    let uri = parse_uri("sips:+1;phone-context=x@[::1]:5061;transport=tls?subject=hi").unwrap();
    assert_eq!(
        uri.to_string(),
        "sips:+1;phone-context=x@[::1]:5061;transport=TLS"
    );
    assert_eq!(uri_ip(&uri), Some("::1".parse().unwrap()));
    assert!(is_loose_router(&parse_uri("sip:p;lr").unwrap()));
    assert!(!is_loose_router(&parse_uri("sip:p;lrx").unwrap()));
    assert_eq!(
        split_list("<sip:a,b>, \"x,y\" <sip:c>,,d"),
        ["<sip:a,b>", "\"x,y\" <sip:c>", "d"]
    );
}

#[test]
fn junk_header_values_are_errors_not_panics() {
    let junk = [
        "",
        "<",
        ">",
        "\"",
        "\"unterminated <sip:a@b>",
        "Bob",
        "<>",
        "<sip:a@b",
        "sip:",
        "sip:a@",
        "sip:[::1",
        "sip:[::1]x",
        "sip:[zz]",
        "sip:host:99999",
        "sip:host:-1",
        "tel:+123",
        "\u{feff}<sip:ü@ß>;tag=ä",
        "<sip:a@b>;;;tag",
        "sip:a b@c",
    ];
    for value in junk {
        let _ = NameAddr::parse(value).map(|n| parse_uri(&n.uri));
        let _ = parse_uri(value);
        let _ = split_list(value);
    }
    for bad in ["<", "<sip:a@b", "\"x\"", "Bob"] {
        assert!(NameAddr::parse(bad).is_err(), "{bad:?}");
    }
    for bad in [
        "sip:",
        "sip:[::1",
        "sip:[zz]",
        "sip:host:99999",
        "tel:+123",
        "sip:a b@c",
    ] {
        assert!(parse_uri(bad).is_err(), "{bad:?}");
    }
    // Every prefix of a valid value, cut on char boundaries, parses or fails cleanly.
    let full = "\"Ä\" <sips:u:p@[2001:db8::1]:5061;transport=tls;lr>;tag=x;expires=3";
    for (i, _) in full.char_indices() {
        let _ = NameAddr::parse(&full[..i]).map(|n| parse_uri(&n.uri));
    }
}

#[test]
fn tags_and_call_ids_are_random() {
    let (a, b) = (new_tag(), new_tag());
    assert_ne!(a, b);
    assert_eq!(a.len(), 16);
    let id = new_call_id("[2001:db8::1]");
    assert!(id.ends_with("@[2001:db8::1]"));
    assert_ne!(id, new_call_id("[2001:db8::1]"));
}
