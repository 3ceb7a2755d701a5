//! One call through the public dialog, digest and SDP API, as the switch
//! drives it: answer an incoming INVITE, place an authenticated outgoing
//! one, and tear both down.

use std::collections::HashMap;
use switchd_sip::auth::{Credentials, DigestClient};
use switchd_sip::dialog::{self, Dialog, DialogState};
use switchd_sip::rsip::{self, headers::UntypedHeader};
use switchd_sip::sdp::{Codec, Direction, LocalMedia, SdpSession, SessionDescription};

const INCOMING_INVITE: &str = "INVITE sip:100@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.2:5062;branch=z9hG4bKin\r\n\
Record-Route: <sip:127.0.0.3;lr>\r\n\
From: <sip:alice@127.0.0.2>;tag=al\r\n\
To: <sip:100@127.0.0.1>\r\n\
Call-ID: in-1@127.0.0.2\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@127.0.0.2:5062>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 129\r\n\r\n\
v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
m=audio 30000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

fn local_media(port: u16) -> LocalMedia {
    LocalMedia {
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        port,
        codecs: vec![Codec::Pcmu, Codec::Pcma, Codec::TelephoneEvent],
        direction: Direction::SendRecv,
        ptime_ms: 20,
    }
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .split("\r\n")
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

#[test]
fn incoming_call_answered_and_ended_by_the_caller() {
    let invite = rsip::Request::try_from(INCOMING_INVITE).unwrap();
    let contact = dialog::parse_uri("sip:switch@127.0.0.1:5060").unwrap();
    let tag = dialog::new_tag();
    let mut call = Dialog::new_uas(&invite, &tag, &contact).unwrap();
    let offer = SessionDescription::parse(&invite.body).unwrap();
    let mut sdp = SdpSession::new(1);
    let (answer, media) = sdp.answer(&offer, &local_media(40000)).unwrap();
    assert_eq!(
        (media.codec, media.payload_type, media.telephone_event),
        (Codec::Pcma, 8, Some(101))
    );
    assert_eq!(media.remote_rtp, Some("127.0.0.2:30000".parse().unwrap()));

    let mut ok = dialog::response_to(&invite, 200, Some(&tag));
    let body = answer.to_bytes();
    ok.headers
        .retain(|h| !matches!(h, rsip::Header::ContentLength(_)));
    ok.headers
        .push(rsip::Header::Contact(rsip::headers::Contact::new(format!(
            "<{contact}>"
        ))));
    ok.headers.push(rsip::Header::ContentLength(
        rsip::headers::ContentLength::new(body.len().to_string()),
    ));
    ok.body = body;
    call.confirm();
    let printed = ok.to_string();
    assert_eq!(
        header(&printed, "To"),
        Some(format!("<sip:100@127.0.0.1>;tag={tag}").as_str())
    );
    assert_eq!(header(&printed, "Record-Route"), Some("<sip:127.0.0.3;lr>"));

    let mut dialogs = HashMap::new();
    dialogs.insert(call.id().clone(), call);
    let bye = format!(
        "BYE sip:switch@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5062;branch=z9hG4bKbye\r\n\
Route: <sip:127.0.0.3;lr>\r\nFrom: <sip:alice@127.0.0.2>;tag=al\r\nTo: <sip:100@127.0.0.1>;tag={tag}\r\n\
Call-ID: in-1@127.0.0.2\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    );
    let bye = rsip::Request::try_from(bye.as_str()).unwrap();
    let id = dialog::dialog_id_of_request(&bye).unwrap();
    let call = dialogs.get_mut(&id).expect("BYE matches the dialog");
    call.handle_remote_request(&bye).unwrap();
    assert_eq!(call.state(), DialogState::Confirmed);
}

#[test]
fn outgoing_call_through_an_authenticating_proxy() {
    let mut sdp = SdpSession::new(2);
    let offer = sdp.create_offer(&local_media(40002));
    let body = offer.to_bytes();
    let from_tag = dialog::new_tag();
    let call_id = dialog::new_call_id("127.0.0.1");
    let invite = format!(
        "INVITE sip:bob@127.0.0.4 SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:100@127.0.0.1>;tag={from_tag}\r\n\
To: <sip:bob@127.0.0.4>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:switch@127.0.0.1:5060>\r\n\
Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        String::from_utf8(body).unwrap()
    );
    let invite = rsip::Request::try_from(invite.as_str()).unwrap();
    let challenge = format!(
        "SIP/2.0 407 Proxy Authentication Required\r\nFrom: <sip:100@127.0.0.1>;tag={from_tag}\r\n\
To: <sip:bob@127.0.0.4>;tag=px\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
Proxy-Authenticate: Digest realm=\"pbx\", nonce=\"abc\", qop=\"auth\", algorithm=SHA-256\r\nContent-Length: 0\r\n\r\n"
    );
    let challenge = rsip::Response::try_from(challenge.as_str()).unwrap();
    let credentials = Credentials {
        username: "100".into(),
        password: "pw".into(),
    };
    let invite = DigestClient::new()
        .authorize(&invite, &challenge, &credentials)
        .unwrap();
    let printed = invite.to_string();
    assert_eq!(header(&printed, "CSeq"), Some("2 INVITE"));
    assert!(
        header(&printed, "Proxy-Authorization")
            .unwrap()
            .contains("algorithm=SHA-256")
    );

    let ok = format!(
        "SIP/2.0 200 OK\r\nFrom: <sip:100@127.0.0.1>;tag={from_tag}\r\nTo: <sip:bob@127.0.0.4>;tag=bob\r\n\
Call-ID: {call_id}\r\nCSeq: 2 INVITE\r\nContact: <sip:bob@127.0.0.4:5070>\r\nContent-Type: application/sdp\r\nContent-Length: 88\r\n\r\n\
v=0\r\no=- 9 9 IN IP4 127.0.0.4\r\ns=-\r\nc=IN IP4 127.0.0.4\r\nt=0 0\r\nm=audio 31000 RTP/AVP 0\r\n"
    );
    let ok = rsip::Response::try_from(ok.as_str()).unwrap();
    let mut call = Dialog::new_uac(&invite, &ok).unwrap();
    let media = sdp
        .accept_answer(&SessionDescription::parse(&ok.body).unwrap())
        .unwrap();
    assert_eq!((media.codec, media.telephone_event), (Codec::Pcmu, None));
    let (ack, destination) = call.make_ack(2);
    assert_eq!(destination.to_string(), "sip:bob@127.0.0.4:5070");
    assert_eq!(header(&ack.to_string(), "CSeq"), Some("2 ACK"));
    let (bye, _) = call.make_request(rsip::Method::Bye, None);
    assert_eq!(header(&bye.to_string(), "CSeq"), Some("3 BYE"));
    assert_eq!(
        dialog::dialog_id_of_response(&dialog::response_to(&bye, 200, None)).as_ref(),
        Some(call.id())
    );
}
