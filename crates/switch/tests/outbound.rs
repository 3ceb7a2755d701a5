//! Outbound calls: originate, responses and their causes, CANCEL, digest,
//! idempotent ids, command errors.
// Helpers outside #[test] fns panic on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::time::Duration;
use switchd_control::command::Originate;
use switchd_control::{Command, ErrorCode, EventKind, HangupCause, LegState, ReplyBody};
use switchd_sip::rsip::Method;

/// Places a call to the peer and returns the INVITE the switch sent.
fn place(h: &mut Harness, leg: &str) -> Sent {
    let info = leg_info(h.command(originate(&format!("sip:bob@{PEER}"), leg)));
    assert_eq!(info.state, LegState::New);
    let invite = h.expect_request(Method::Invite);
    assert_eq!(invite.peer.remote, addr(PEER));
    invite
}

/// A BYE from the peer in the dialog of `invite`.
fn peer_bye(h: &mut Harness, invite: &Sent) {
    let r = invite.request();
    let from = header(&r.headers, "from").unwrap();
    let to = header(&r.headers, "to").unwrap();
    let call_id = header(&r.headers, "call-id").unwrap();
    let contact = angle_uri(&header(&r.headers, "contact").unwrap());
    let branch = h.new_branch();
    let text = format!(
        "BYE {contact} SIP/2.0\r\nVia: SIP/2.0/UDP {PEER};branch={branch}\r\nMax-Forwards: 70\r\nFrom: {to};tag=bobtag\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
    );
    h.deliver(&text);
}

#[test]
fn answered_call_then_bye_from_the_peer() {
    let mut h = Harness::new();
    let invite = place(&mut h, "a1");
    assert!(String::from_utf8_lossy(invite.body()).contains("m=audio 2000"));
    assert!(invite.tag_of_from().is_some());
    let text = response_text(&invite, 100, "Trying", None, &[], None);
    h.deliver(&text);
    let text = response_text(&invite, 180, "Ringing", Some("bobtag"), &[], None);
    h.deliver(&text);
    h.advance(Duration::from_secs(4));
    let ack = answer(&mut h, &invite);
    assert_eq!(ack.peer.remote, addr(PEER));
    assert_eq!(ack.to_tag().as_deref(), Some("bobtag"));
    let events = h.take_events();
    assert!(
        matches!(
            &events[..],
            [
                EventKind::Trying { .. },
                EventKind::Ringing { .. },
                EventKind::Answered { .. }
            ]
        ),
        "{events:?}"
    );
    let info = leg_info(h.command(Command::Leg { leg: "a1".into() }));
    assert_eq!(info.state, LegState::Answered);
    assert_eq!(info.codec.as_deref(), Some("PCMU"));

    h.advance(Duration::from_secs(2));
    peer_bye(&mut h, &invite);
    h.expect_response(200);
    let events = h.take_events();
    assert_eq!(
        hungup(&events),
        vec![("a1".to_owned(), HangupCause::NormalClearing, Some(200))]
    );
    match &events[0] {
        EventKind::Hungup {
            ring_ms, talk_ms, ..
        } => {
            assert_eq!(*ring_ms, 4000);
            assert_eq!(*talk_ms, 2000);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn answered_call_then_our_bye() {
    let mut h = Harness::new();
    let invite = place(&mut h, "a2");
    answer(&mut h, &invite);
    h.take_events();
    h.command(Command::Hangup {
        leg: "a2".into(),
        cause: None,
    })
    .unwrap();
    let bye = h.expect_request(Method::Bye);
    assert_eq!(bye.request().uri.to_string(), format!("sip:bob@{PEER}"));
    ok_to(&mut h, &bye);
    assert_eq!(
        hungup(&h.take_events()),
        vec![("a2".to_owned(), HangupCause::NormalClearing, Some(200))]
    );
    assert_eq!(h.switch.stats().rtp_ports_in_use, 0);
}

#[test]
fn busy_is_user_busy() {
    let mut h = Harness::new();
    let invite = place(&mut h, "b1");
    let text = response_text(&invite, 486, "Busy Here", Some("bobtag"), &[], None);
    h.deliver(&text);
    // The transaction layer ACKs the 486.
    h.expect_request(Method::Ack);
    assert_eq!(
        hungup(&h.take_events()),
        vec![("b1".to_owned(), HangupCause::UserBusy, Some(486))]
    );
}

#[test]
fn ring_timeout_cancels_with_no_answer() {
    let mut h = Harness::new();
    let command = Command::Originate(Originate {
        to: format!("sip:bob@{PEER}"),
        leg: Some("n1".into()),
        ring_timeout: Some(5.0),
        ..Originate::default()
    });
    h.command(command).unwrap();
    let invite = h.expect_request(Method::Invite);
    let text = response_text(&invite, 180, "Ringing", Some("bobtag"), &[], None);
    h.deliver(&text);
    h.advance(Duration::from_secs(5));
    let cancel = h.take_request(Method::Cancel).expect("CANCEL");
    ok_to(&mut h, &cancel);
    let text = response_text(
        &invite,
        487,
        "Request Terminated",
        Some("bobtag"),
        &[],
        None,
    );
    h.deliver(&text);
    assert_eq!(
        hungup(&h.take_events()),
        vec![("n1".to_owned(), HangupCause::NoAnswer, Some(487))]
    );
}

#[test]
fn hangup_while_ringing_then_200_crosses_the_cancel() {
    let mut h = Harness::new();
    let invite = place(&mut h, "x1");
    let text = response_text(&invite, 180, "Ringing", Some("bobtag"), &[], None);
    h.deliver(&text);
    h.take_events();
    let info = leg_info(h.command(Command::Hangup {
        leg: "x1".into(),
        cause: None,
    }));
    assert_eq!(info.state, LegState::Ending);
    h.expect_request(Method::Cancel);
    // The callee answered before the CANCEL arrived: ACK, then BYE.
    deliver_200(&mut h, &invite, "bobtag", OFFER);
    let sent = h.take_sent();
    assert!(sent.iter().any(|s| s.method() == Some(Method::Ack)));
    let bye = find_request(&sent, Method::Bye).expect("BYE");
    ok_to(&mut h, bye);
    let events = h.take_events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, EventKind::Answered { .. }))
    );
    assert_eq!(
        hungup(&events),
        vec![("x1".to_owned(), HangupCause::OriginatorCancel, Some(200))]
    );
}

#[test]
fn originate_with_an_existing_id_places_no_call() {
    let mut h = Harness::new();
    place(&mut h, "same");
    match h
        .command(originate(&format!("sip:bob@{PEER}"), "same"))
        .unwrap()
    {
        ReplyBody::Leg { leg, existing } => {
            assert!(existing);
            assert_eq!(leg.id, "same");
        }
        other => panic!("{other:?}"),
    }
    assert!(h.take_sent().is_empty());
    assert_eq!(h.switch.stats().calls_outbound, 1);
}

#[test]
fn command_errors() {
    let mut h = Harness::new();
    let code = |r: Result<ReplyBody, switchd_control::ReplyError>| r.unwrap_err().code;
    assert_eq!(
        code(h.command(Command::Answer { leg: "nope".into() })),
        ErrorCode::UnknownLeg
    );
    assert_eq!(
        code(h.command(Command::Hangup {
            leg: "nope".into(),
            cause: None
        })),
        ErrorCode::UnknownLeg
    );
    place(&mut h, "o1");
    assert_eq!(
        code(h.command(Command::Answer { leg: "o1".into() })),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(h.command(Command::Ring {
            leg: "o1".into(),
            status: None
        })),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(h.command(Command::Reject {
            leg: "o1".into(),
            status: Some(200)
        })),
        ErrorCode::InvalidArgument
    );
    // A number needs a trunk.
    assert_eq!(
        code(h.command(originate("1000", "o2"))),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(h.command(originate("not a uri", "o3"))),
        ErrorCode::InvalidArgument
    );
    let mut headers = BTreeMap::new();
    headers.insert("Call-ID".to_owned(), "mine".to_owned());
    let command = Command::Originate(Originate {
        to: format!("sip:bob@{PEER}"),
        headers,
        ..Originate::default()
    });
    assert_eq!(code(h.command(command)), ErrorCode::InvalidArgument);
    let command = Command::Originate(Originate {
        to: "1".into(),
        trunk: Some("none".into()),
        ..Originate::default()
    });
    assert_eq!(code(h.command(command)), ErrorCode::UnknownTrunk);
    assert_eq!(
        code(h.command(Command::TrunkRemove {
            name: "none".into()
        })),
        ErrorCode::UnknownTrunk
    );
    assert_eq!(
        code(h.command(Command::Unsubscribe)),
        ErrorCode::InvalidState
    );
    match h.command(Command::Ping).unwrap() {
        ReplyBody::Pong { version } => assert_eq!(version, env!("CARGO_PKG_VERSION")),
        other => panic!("{other:?}"),
    }
    let stats = match h.command(Command::Stats).unwrap() {
        ReplyBody::Stats { stats } => stats,
        other => panic!("{other:?}"),
    };
    assert_eq!(stats.get("command_errors.unknown_leg"), Some(&2));
    assert_eq!(stats.get("legs_active"), Some(&1));
}

#[test]
fn privacy_and_extra_headers() {
    let mut h = Harness::new();
    let mut headers = BTreeMap::new();
    headers.insert("X-Campaign".to_owned(), "42".to_owned());
    let command = Command::Originate(Originate {
        to: format!("sip:bob@{PEER}"),
        from: Some("+15550100".into()),
        display_name: Some("Ann \"A\"".into()),
        privacy: true,
        headers,
        ..Originate::default()
    });
    h.command(command).unwrap();
    let invite = h.expect_request(Method::Invite);
    let from = invite.header("from").unwrap();
    assert!(
        from.starts_with("\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag="),
        "{from}"
    );
    assert_eq!(invite.header("privacy").as_deref(), Some("id"));
    let pai = invite.header("p-asserted-identity").unwrap();
    assert_eq!(pai, "\"Ann \\\"A\\\"\" <sip:+15550100@127.0.0.1>");
    assert_eq!(invite.header("x-campaign").as_deref(), Some("42"));
}

#[test]
fn name_targets_are_resolved_first() {
    let mut h = Harness::new();
    h.command(originate("sip:bob@pbx.example.test:5070", "r1"))
        .unwrap();
    assert!(h.take_sent().is_empty());
    let resolve = h.switch.poll_resolve().expect("a resolve request");
    assert_eq!(resolve.host, "pbx.example.test");
    assert_eq!(resolve.port, 5070);
    h.resolved(resolve.token, vec![addr(PEER)]);
    let invite = h.expect_request(Method::Invite);
    assert_eq!(invite.peer.remote, addr(PEER));
    assert_eq!(
        invite.request().uri.to_string(),
        "sip:bob@pbx.example.test:5070"
    );

    h.command(originate("sip:bob@nowhere.example.test", "r2"))
        .unwrap();
    let resolve = h.switch.poll_resolve().unwrap();
    h.resolved(resolve.token, Vec::new());
    assert_eq!(
        hungup(&h.take_events()),
        vec![("r2".to_owned(), HangupCause::NormalTemporaryFailure, None)]
    );
}

#[test]
fn max_duration_ends_with_allotted_timeout() {
    let mut h = Harness::new();
    let command = Command::Originate(Originate {
        to: format!("sip:bob@{PEER}"),
        leg: Some("m1".into()),
        max_duration: Some(30.0),
        ..Originate::default()
    });
    h.command(command).unwrap();
    let invite = h.expect_request(Method::Invite);
    answer(&mut h, &invite);
    h.advance(Duration::from_secs(30));
    let bye = h.take_request(Method::Bye).expect("BYE");
    ok_to(&mut h, &bye);
    let ended = hungup(&h.take_events());
    assert_eq!(
        ended,
        vec![("m1".to_owned(), HangupCause::AllottedTimeout, Some(200))]
    );
}

#[test]
fn no_response_at_all_is_recovery_on_timer_expire() {
    let mut h = Harness::new();
    let command = Command::Originate(Originate {
        to: format!("sip:bob@{PEER}"),
        leg: Some("q1".into()),
        ring_timeout: Some(60.0),
        ..Originate::default()
    });
    h.command(command).unwrap();
    // Timer B (64*T1) ends the INVITE before the ring timeout.
    h.advance(Duration::from_secs(33));
    let ended = hungup(&h.take_events());
    assert_eq!(
        ended,
        vec![("q1".to_owned(), HangupCause::RecoveryOnTimerExpire, None)]
    );
}
