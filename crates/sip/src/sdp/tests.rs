//! SDP parsing, printing and offer/answer tests.

use super::*;
use std::net::{Ipv4Addr, SocketAddr};

/// What a typical desk phone offers.
const PHONE_OFFER: &str = "v=0\r\n\
o=- 3912345678 3912345678 IN IP4 192.0.2.50\r\n\
s=SIP Call\r\n\
c=IN IP4 192.0.2.50\r\n\
t=0 0\r\n\
m=audio 16384 RTP/AVP 0 8 18 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:30\r\n\
a=sendrecv\r\n";

/// A WebRTC-ish Opus-only offer with rtcp-mux, a video line and no session c=.
const OPUS_OFFER: &str = "v=0\n\
o=user 123456789012345678901234567890 2 IN IP6 2001:db8::7\n\
s=-\n\
t=0 0\n\
m=video 5004 RTP/AVP 96\n\
c=IN IP6 2001:db8::7\n\
a=rtpmap:96 VP8/90000\n\
m=audio 5006 RTP/AVP 109 9\n\
c=IN IP6 2001:db8::7\n\
a=rtpmap:109 opus/48000/2\n\
a=fmtp:109 useinbandfec=1\n\
a=rtpmap:9 G722/8000\n\
a=rtcp-mux\n\
junk line without equals\n\
x=unknown type\n";

fn local(codecs: Vec<Codec>) -> LocalMedia {
    LocalMedia {
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        port: 40000,
        codecs,
        direction: Direction::SendRecv,
        ptime_ms: 20,
    }
}

fn all_codecs() -> Vec<Codec> {
    vec![Codec::Opus, Codec::Pcma, Codec::Pcmu, Codec::TelephoneEvent]
}

fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(text.as_bytes()).unwrap()
}

fn addr(s: &str) -> Option<SocketAddr> {
    Some(s.parse().unwrap())
}

#[test]
fn parses_a_phone_offer() {
    let sdp = parse(PHONE_OFFER);
    assert_eq!(sdp.origin.session_id, "3912345678");
    assert_eq!(sdp.session_name, "SIP Call");
    assert_eq!(
        sdp.connection.as_ref().and_then(Connection::ip),
        Some("192.0.2.50".parse().unwrap())
    );
    let m = &sdp.media[0];
    assert_eq!(
        (m.media.as_str(), m.port, m.protocol.as_str()),
        ("audio", 16384, "RTP/AVP")
    );
    assert_eq!(m.formats, ["0", "8", "18", "101"]);
    assert_eq!(m.codec_of(0), Some(Codec::Pcmu));
    assert_eq!(m.codec_of(18), None);
    assert_eq!(m.codec_of(101), Some(Codec::TelephoneEvent));
    assert_eq!(m.fmtp(101), Some("0-15"));
    assert_eq!(sdp.ptime_of(m), Some(30));
    assert_eq!(sdp.direction_of(m), Direction::SendRecv);
}

#[test]
fn answers_phone_offer_in_offerer_order_with_telephone_event() {
    let mut session = SdpSession::new(42);
    // We prefer PCMA, but the offer lists PCMU first: the offerer's order wins.
    let (answer, negotiated) = session
        .answer(&parse(PHONE_OFFER), &local(all_codecs()))
        .unwrap();
    assert_eq!(negotiated.codec, Codec::Pcmu);
    assert_eq!(negotiated.payload_type, 0);
    assert_eq!(negotiated.telephone_event, Some(101));
    assert_eq!(negotiated.remote_rtp, addr("192.0.2.50:16384"));
    assert_eq!(negotiated.remote_rtcp, addr("192.0.2.50:16385"));
    assert_eq!(negotiated.direction, Direction::SendRecv);
    assert!(!negotiated.rtcp_mux);
    assert_eq!(negotiated.ptime_ms, 30, "the peer asked for 30 ms");
    let text = String::from_utf8(answer.to_bytes()).unwrap();
    assert!(
        text.starts_with(
            "v=0\r\no=- 42 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        ),
        "{text}"
    );
    assert!(text.contains("m=audio 40000 RTP/AVP 0 101\r\n"), "{text}");
    assert!(
        text.contains("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"),
        "{text}"
    );
    assert!(text.contains("a=sendrecv\r\n"));
    assert!(!text.contains("rtcp-mux"));
    // Without telephone-event on our side, none is answered.
    let (_, plain) = SdpSession::new(1)
        .answer(&parse(PHONE_OFFER), &local(vec![Codec::Pcma]))
        .unwrap();
    assert_eq!((plain.codec, plain.telephone_event), (Codec::Pcma, None));
}

#[test]
fn answers_opus_only_offer_over_ipv6_rejecting_video() {
    let offer = parse(OPUS_OFFER);
    assert_eq!(offer.origin.session_id, "123456789012345678901234567890");
    let mut ours = local(all_codecs());
    ours.address = "2001:db8::1".parse().unwrap();
    let (answer, negotiated) = SdpSession::new(7).answer(&offer, &ours).unwrap();
    assert_eq!(
        (negotiated.codec, negotiated.payload_type),
        (Codec::Opus, 109)
    );
    assert_eq!(negotiated.telephone_event, None);
    assert!(negotiated.rtcp_mux);
    assert_eq!(negotiated.remote_rtp, addr("[2001:db8::7]:5006"));
    assert_eq!(negotiated.remote_rtcp, negotiated.remote_rtp);
    assert_eq!(answer.media.len(), 2);
    assert_eq!(
        (answer.media[0].media.as_str(), answer.media[0].port),
        ("video", 0)
    );
    assert_eq!(answer.media[0].formats, ["96"]);
    assert!(answer.media[1].has_attribute("rtcp-mux"));
    let text = String::from_utf8(answer.to_bytes()).unwrap();
    assert!(text.contains("c=IN IP6 2001:db8::1\r\n"), "{text}");
    assert!(
        text.contains(
            "m=video 0 RTP/AVP 96\r\nm=audio 40000 RTP/AVP 109\r\na=rtpmap:109 opus/48000/2\r\n"
        ),
        "{text}"
    );
}

#[test]
fn unknown_codecs_only_is_no_common_codec() {
    let offer = parse(&PHONE_OFFER.replace(
        "m=audio 16384 RTP/AVP 0 8 18 101",
        "m=audio 16384 RTP/AVP 18 101",
    ));
    let mut session = SdpSession::new(1);
    assert!(matches!(
        session.answer(&offer, &local(all_codecs())),
        Err(Error::NoCommonCodec)
    ));
    let srtp = parse(&PHONE_OFFER.replace("RTP/AVP", "RTP/SAVP"));
    assert!(matches!(
        session.answer(&srtp, &local(all_codecs())),
        Err(Error::NoCommonCodec)
    ));
    let no_audio = parse(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n",
    );
    assert!(matches!(
        session.answer(&no_audio, &local(all_codecs())),
        Err(Error::NoCommonCodec)
    ));
    assert!(session.last_local().is_none(), "nothing was answered");
}

#[test]
fn hold_and_unhold_by_the_peer() {
    let mut session = SdpSession::new(5);
    let ours = local(all_codecs());
    let (first, _) = session.answer(&parse(PHONE_OFFER), &ours).unwrap();
    let hold = parse(&PHONE_OFFER.replace("a=sendrecv", "a=sendonly"));
    let (held, negotiated) = session.answer(&hold, &ours).unwrap();
    assert_eq!(negotiated.direction, Direction::RecvOnly);
    assert!(held.media[0].has_attribute("recvonly"));
    assert_eq!(
        held.origin.session_version, "2",
        "changed answer bumps the version"
    );
    let inactive = parse(&PHONE_OFFER.replace("a=sendrecv", "a=inactive"));
    assert_eq!(
        session.answer(&inactive, &ours).unwrap().1.direction,
        Direction::Inactive
    );
    // Legacy hold: c=0.0.0.0 with no direction attribute.
    let legacy = parse(
        &PHONE_OFFER
            .replace("c=IN IP4 192.0.2.50", "c=IN IP4 0.0.0.0")
            .replace("a=sendrecv\r\n", ""),
    );
    let (_, negotiated) = session.answer(&legacy, &ours).unwrap();
    assert_eq!(negotiated.remote_rtp, None);
    assert_eq!(negotiated.remote_rtcp, None);
    assert_eq!(negotiated.direction, Direction::RecvOnly);
    let (unheld, negotiated) = session.answer(&parse(PHONE_OFFER), &ours).unwrap();
    assert_eq!(negotiated.direction, Direction::SendRecv);
    assert_eq!(unheld.media, first.media);
    assert_eq!(unheld.origin.session_version, "5");
    let (same, _) = session.answer(&parse(PHONE_OFFER), &ours).unwrap();
    assert_eq!(
        same.origin.session_version, "5",
        "unchanged answer keeps the version"
    );
}

#[test]
fn our_hold_offer_and_answers() {
    let mut session = SdpSession::new(9);
    let mut ours = local(vec![Codec::Pcmu, Codec::TelephoneEvent]);
    let offer = session.create_offer(&ours);
    assert!(session.has_pending_offer());
    let text = String::from_utf8(offer.to_bytes()).unwrap();
    assert!(text.contains("m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"), "{text}");
    let answer = "v=0\r\no=- 1 1 IN IP4 192.0.2.60\r\ns=-\r\nc=IN IP4 192.0.2.60\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:20011 IN IP4 192.0.2.61\r\n";
    let negotiated = session.accept_answer(&parse(answer)).unwrap();
    assert_eq!(
        (
            negotiated.codec,
            negotiated.payload_type,
            negotiated.telephone_event
        ),
        (Codec::Pcmu, 0, Some(101))
    );
    assert_eq!(negotiated.remote_rtp, addr("192.0.2.60:20000"));
    assert_eq!(negotiated.remote_rtcp, addr("192.0.2.61:20011"));
    assert_eq!(negotiated.ptime_ms, 20);
    assert!(matches!(
        session.accept_answer(&parse(answer)),
        Err(Error::NoPendingOffer)
    ));

    ours.direction = Direction::SendOnly;
    let hold = session.create_offer(&ours);
    assert_eq!(hold.origin.session_version, "2");
    assert!(hold.media[0].has_attribute("sendonly"));
    let held = session
        .accept_answer(&parse(&answer.replace("a=rtcp:", "a=recvonly\r\na=rtcp:")))
        .unwrap();
    assert_eq!(held.direction, Direction::SendOnly);

    // An answer that rejects the stream or changes codec to one we did not offer.
    session.create_offer(&ours);
    let rejected = answer.replace("m=audio 20000", "m=audio 0");
    assert!(matches!(
        session.accept_answer(&parse(&rejected)),
        Err(Error::NoCommonCodec)
    ));
    session.create_offer(&ours);
    let foreign = answer.replace("RTP/AVP 0 101", "RTP/AVP 8");
    assert!(matches!(
        session.accept_answer(&parse(&foreign)),
        Err(Error::NoCommonCodec)
    ));
    session.create_offer(&ours);
    session.abandon_offer();
    assert!(!session.has_pending_offer());
}

#[test]
fn print_parse_round_trip() {
    let mut session = SdpSession::new(77);
    let mut ours = local(all_codecs());
    ours.address = "::1".parse().unwrap();
    let offer = session.create_offer(&ours);
    let reparsed = SessionDescription::parse(&offer.to_bytes()).unwrap();
    assert_eq!(reparsed, offer);
    let (answer, _) = SdpSession::new(3)
        .answer(&parse(OPUS_OFFER), &local(all_codecs()))
        .unwrap();
    assert_eq!(
        SessionDescription::parse(&answer.to_bytes()).unwrap(),
        answer
    );
    // Our offer, answered by another of our sessions, negotiates Opus end to end.
    let mut peer = SdpSession::new(4);
    let (peer_answer, peer_view) = peer
        .answer(
            &reparsed,
            &local(vec![Codec::Pcmu, Codec::Opus, Codec::TelephoneEvent]),
        )
        .unwrap();
    assert_eq!(
        (
            peer_view.codec,
            peer_view.payload_type,
            peer_view.telephone_event
        ),
        (Codec::Opus, 111, Some(101))
    );
    let ours_view = session.accept_answer(&peer_answer).unwrap();
    assert_eq!(
        (ours_view.codec, ours_view.payload_type),
        (Codec::Opus, 111)
    );
    assert_eq!(ours_view.remote_rtp, addr("192.0.2.1:40000"));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let bad: &[&[u8]] = &[
        b"",
        b"\r\n\r\n",
        b"hello",
        b"v=1\r\no=- 1 1 IN IP4 1.2.3.4\r\n",
        b"v=0\r\n",
        b"v=0\r\no=- 1\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IPX 1.2.3.4\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 5000/x RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 5000\r\n",
        b"\xff\xfe\x00v=0",
    ];
    for body in bad {
        assert!(
            SessionDescription::parse(body).is_err(),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    let base = PHONE_OFFER.as_bytes();
    for cut in 0..base.len() {
        if let Ok(sdp) = SessionDescription::parse(&base[..cut]) {
            let _ = SdpSession::new(1).answer(&sdp, &local(all_codecs()));
        }
    }
    let mut flipped = base.to_vec();
    for i in 0..flipped.len() {
        let saved = flipped[i];
        for b in [b'=', b' ', b':', b'/', 0xff, b'\n'] {
            flipped[i] = b;
            if let Ok(sdp) = SessionDescription::parse(&flipped) {
                let _ = SdpSession::new(1).answer(&sdp, &local(all_codecs()));
            }
        }
        flipped[i] = saved;
    }
}

#[test]
fn limits_are_enforced() {
    let head = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n";
    let many_media = format!("{head}{}", "m=audio 0 RTP/AVP 0\r\n".repeat(MAX_MEDIA + 1));
    assert!(matches!(
        SessionDescription::parse(many_media.as_bytes()),
        Err(Error::SdpTooLarge { what: "media", .. })
    ));
    let formats = (0..=MAX_FORMATS)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let many_formats = format!("{head}m=audio 5000 RTP/AVP {formats}\r\n");
    assert!(matches!(
        SessionDescription::parse(many_formats.as_bytes()),
        Err(Error::SdpTooLarge {
            what: "formats",
            ..
        })
    ));
    let many_attributes = format!(
        "{head}m=audio 5000 RTP/AVP 0\r\n{}",
        "a=x\r\n".repeat(MAX_ATTRIBUTES + 1)
    );
    assert!(matches!(
        SessionDescription::parse(many_attributes.as_bytes()),
        Err(Error::SdpTooLarge {
            what: "attributes",
            ..
        })
    ));
    let many_lines = format!("{head}{}", "x=y\r\n".repeat(MAX_LINES + 1));
    assert!(matches!(
        SessionDescription::parse(many_lines.as_bytes()),
        Err(Error::SdpTooLarge { what: "lines", .. })
    ));
    let huge = vec![b'a'; MAX_SDP_BYTES + 1];
    assert!(matches!(
        SessionDescription::parse(&huge),
        Err(Error::SdpTooLarge { what: "bytes", .. })
    ));
}

#[test]
fn codec_tables() {
    assert_eq!(Codec::from_rtpmap("OPUS/48000"), Some(Codec::Opus));
    assert_eq!(Codec::from_rtpmap("opus/48000/1"), None);
    assert_eq!(Codec::from_rtpmap("telephone-event/48000"), None);
    assert_eq!(Codec::from_rtpmap("pcmu/8000/1"), Some(Codec::Pcmu));
    assert_eq!(Codec::from_rtpmap("PCMU"), None);
    for codec in [Codec::Pcmu, Codec::Pcma, Codec::Opus, Codec::TelephoneEvent] {
        assert_eq!(Codec::from_rtpmap(codec.rtpmap()), Some(codec));
    }
    assert_eq!(Direction::from_flags(true, false), Direction::SendOnly);
    assert!(Direction::RecvOnly.receives() && !Direction::RecvOnly.sends());
}
