//! Inbound calls: routes, park, CANCEL, in-dialog requests, limits.
// Helpers outside #[test] fns panic on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::time::Duration;
use switchd_control::{Command, ErrorCode, EventKind, HangupCause, LegState, ReplyBody};
use switchd_sip::rsip::Method;

#[test]
fn answer_route_answers_then_bye_clears() {
    let mut h = Harness::new();
    let (mut call, ok) = call_in(&mut h, "answer1", Some(OFFER), 200);
    assert_eq!(
        ok.header("content-type").as_deref(),
        Some("application/sdp")
    );
    let body = String::from_utf8_lossy(ok.body()).into_owned();
    assert!(
        body.contains("m=audio 2000"),
        "answer uses a pool port: {body}"
    );
    assert!(body.contains("c=IN IP4 127.0.0.1"), "{body}");
    assert!(ok.to_tag().is_some());
    assert!(ok.header("contact").is_some());
    assert!(h.take_events().is_empty(), "answered only once ACKed");

    ack(&mut h, &mut call, &ok, None);
    let events = h.take_events();
    assert!(
        matches!(&events[..], [EventKind::Answered { .. }]),
        "{events:?}"
    );
    let stats = h.switch.stats();
    assert_eq!(stats.legs_active, 1);
    assert_eq!(stats.rtp_ports_in_use, 1);

    h.advance(Duration::from_secs(3));
    bye(&mut h, &mut call);
    h.expect_response(200);
    let events = h.take_events();
    let ended = hungup(&events);
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].1, HangupCause::NormalClearing);
    assert_eq!(ended[0].2, Some(200));
    match &events[0] {
        EventKind::Hungup { talk_ms, .. } => assert_eq!(*talk_ms, 3000),
        other => panic!("{other:?}"),
    }
    let stats = h.switch.stats();
    assert_eq!(stats.legs_active, 0);
    assert_eq!(stats.dialogs, 0);
    assert_eq!(stats.rtp_ports_in_use, 0);
    assert_eq!(stats.hangups.get("normal_clearing"), Some(&1));
}

#[test]
fn reject_route_and_no_route() {
    let mut h = Harness::new();
    call_in(&mut h, "busy", Some(OFFER), 486);
    call_in(&mut h, "nobody", Some(OFFER), 404);
    assert!(h.take_events().is_empty());
    assert_eq!(h.switch.stats().inbound_refused, 2);
}

#[test]
fn parked_call_rings_and_is_answered_by_command() {
    let mut h = Harness::new();
    let (mut call, leg) = parked(&mut h, "park1");
    h.advance(Duration::from_millis(300));
    h.expect_response(100);

    let info = leg_info(h.command(Command::Ring {
        leg: leg.clone(),
        status: None,
    }));
    assert_eq!(info.state, LegState::Ringing);
    h.expect_response(180);
    assert!(matches!(&h.take_events()[..], [EventKind::Ringing { .. }]));

    h.advance(Duration::from_secs(2));
    let info = leg_info(h.command(Command::Answer { leg: leg.clone() }));
    assert_eq!(info.state, LegState::Answered);
    assert_eq!(info.codec.as_deref(), Some("PCMU"));
    let ok = h.expect_response(200);
    ack(&mut h, &mut call, &ok, None);
    let events = h.take_events();
    assert!(
        matches!(&events[..], [EventKind::Answered { .. }]),
        "{events:?}"
    );

    // The park timeout no longer applies.
    h.advance(Duration::from_secs(20));
    assert!(h.take_events().is_empty());

    // Answering twice is refused.
    let err = h.command(Command::Answer { leg: leg.clone() }).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidState);

    // Our hangup: BYE, then the peer's 200 ends the leg.
    let info = leg_info(h.command(Command::Hangup {
        leg: leg.clone(),
        cause: None,
    }));
    assert_eq!(info.state, LegState::Ending);
    let bye = h.expect_request(Method::Bye);
    assert_eq!(bye.peer.remote, addr(PEER));
    ok_to(&mut h, &bye);
    let events = h.take_events();
    let ended = hungup(&events);
    assert_eq!(
        ended,
        vec![(leg.clone(), HangupCause::NormalClearing, Some(200))]
    );
    match &events[0] {
        EventKind::Hungup {
            ring_ms, talk_ms, ..
        } => {
            assert_eq!(*ring_ms, 2000, "from our 180 to our 200");
            assert_eq!(*talk_ms, 20_000);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn park_timeout_answers_480() {
    let mut h = Harness::new();
    let (_, leg) = parked(&mut h, "park2");
    h.advance(Duration::from_secs(11));
    let sent = h.take_sent();
    assert!(sent.iter().any(|s| s.status() == Some(480)), "{sent:?}");
    assert_eq!(
        hungup(&h.take_events()),
        vec![(leg, HangupCause::ParkTimeout, Some(480))]
    );
}

#[test]
fn cancel_of_parked_call() {
    let mut h = Harness::new();
    let (call, leg) = parked(&mut h, "park3");
    let cancel = request_text("CANCEL", &call.ruri, &call.branch, &call, 1, &[], None);
    h.deliver(&cancel);
    let sent = h.take_sent();
    let statuses: Vec<u16> = sent.iter().filter_map(Sent::status).collect();
    assert!(
        statuses.contains(&200) && statuses.contains(&487),
        "{statuses:?}"
    );
    assert_eq!(
        hungup(&h.take_events()),
        vec![(leg.clone(), HangupCause::OriginatorCancel, Some(487))]
    );
    // Commands on it now see an ended leg.
    let err = h.command(Command::Answer { leg }).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidState);
}

#[test]
fn reject_and_hangup_of_parked_calls() {
    let mut h = Harness::new();
    let (_, leg) = parked(&mut h, "park4");
    let info = leg_info(h.command(Command::Reject {
        leg: leg.clone(),
        status: Some(486),
    }));
    assert_eq!(info.state, LegState::Ended);
    h.expect_response(486);
    assert_eq!(
        hungup(&h.take_events()),
        vec![(leg, HangupCause::CallRejected, Some(486))]
    );

    let (_, leg) = parked(&mut h, "park5");
    h.command(Command::Hangup {
        leg: leg.clone(),
        cause: None,
    })
    .unwrap();
    h.expect_response(480);
    assert_eq!(
        hungup(&h.take_events()),
        vec![(leg, HangupCause::CallRejected, Some(480))]
    );
}

#[test]
fn no_common_codec_is_488() {
    let mut h = Harness::new();
    call_in(&mut h, "answer2", Some(G729_ONLY), 488);
    let ended = hungup(&h.take_events());
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].1, HangupCause::IncompatibleDestination);
    assert_eq!(h.switch.stats().rtp_ports_in_use, 0);
}

#[test]
fn invite_without_sdp_gets_an_offer_and_the_answer_comes_in_the_ack() {
    let mut h = Harness::new();
    let (mut call, ok) = call_in(&mut h, "answer3", None, 200);
    let offer = String::from_utf8_lossy(ok.body()).into_owned();
    assert!(offer.contains("m=audio"), "{offer}");
    ack(&mut h, &mut call, &ok, Some(OFFER));
    assert!(matches!(&h.take_events()[..], [EventKind::Answered { .. }]));
    let legs = match h.command(Command::Legs).unwrap() {
        ReplyBody::Legs { legs } => legs,
        other => panic!("{other:?}"),
    };
    assert_eq!(legs.len(), 1);
    assert_eq!(legs[0].codec.as_deref(), Some("PCMU"));
}

#[test]
fn full_switch_answers_503_with_retry_after() {
    let mut config = config();
    config.max_legs = 1;
    let mut h = Harness::with(config);
    let (_, text) = invite(&mut h, "park6", Some(OFFER));
    h.deliver(&text);
    let (_, busy) = call_in(&mut h, "park7", Some(OFFER), 503);
    assert!(busy.header("retry-after").is_some());
    assert_eq!(h.switch.stats().limit_rejections, 1);
}

#[test]
fn out_of_dialog_requests() {
    let mut h = Harness::new();
    let (mut call, _) = invite(&mut h, "answer4", None);
    let branch = h.new_branch();
    let options = request_text("OPTIONS", &call.ruri, &branch, &call, 1, &[], None);
    h.deliver(&options);
    let ok = h.expect_response(200);
    assert!(ok.header("allow").unwrap().contains("INVITE"));
    assert_eq!(ok.header("accept").as_deref(), Some("application/sdp"));

    let branch = h.new_branch();
    let message = request_text("MESSAGE", &call.ruri, &branch, &call, 2, &[], None);
    h.deliver(&message);
    let refused = h.expect_response(405);
    assert!(refused.header("allow").is_some());

    call.to_tag = Some("nosuchdialog".into());
    let branch = h.new_branch();
    let bye = request_text("BYE", &call.ruri, &branch, &call, 3, &[], None);
    h.deliver(&bye);
    h.expect_response(481);
}

#[test]
fn in_dialog_options_info_and_hold() {
    let mut h = Harness::new();
    let (mut call, ok) = call_in(&mut h, "answer5", Some(OFFER), 200);
    ack(&mut h, &mut call, &ok, None);
    h.take_events();
    let target = call.remote_target.clone().unwrap();
    for method in ["OPTIONS", "INFO"] {
        let text = in_dialog_text(&mut h, &mut call, method, &[], None);
        h.deliver(&text);
        h.expect_response(200);
    }
    // Hold: a re-INVITE offering sendonly is answered recvonly.
    let hold = OFFER.replace("a=sendrecv", "a=sendonly");
    let contact = [("Contact", format!("<sip:alice@{PEER}>"))];
    let text = in_dialog_text(&mut h, &mut call, "INVITE", &contact, Some(&hold));
    h.deliver(&text);
    let ok = h.expect_response(200);
    let answer = String::from_utf8_lossy(ok.body()).into_owned();
    assert!(answer.contains("a=recvonly"), "{answer}");
    let ack_branch = h.new_branch();
    let ack = request_text("ACK", &target, &ack_branch, &call, call.cseq, &[], None);
    h.deliver(&ack);
    // An old CSeq is refused with 500.
    let branch = h.new_branch();
    let stale = request_text("INFO", &target, &branch, &call, 1, &[], None);
    h.deliver(&stale);
    h.expect_response(500);
    assert!(h.take_events().is_empty());
}

#[test]
fn missing_ack_ends_the_call() {
    let mut h = Harness::new();
    call_in(&mut h, "answer6", Some(OFFER), 200);
    h.advance(Duration::from_secs(40));
    let bye = h
        .take_request(Method::Bye)
        .expect("BYE after the ACK timeout");
    ok_to(&mut h, &bye);
    let ended = hungup(&h.take_events());
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].1, HangupCause::RecoveryOnTimerExpire);
}

#[test]
fn ended_legs_are_forgotten_after_the_retention() {
    let mut h = Harness::new();
    let (_, leg) = parked(&mut h, "park8");
    h.command(Command::Reject {
        leg: leg.clone(),
        status: None,
    })
    .unwrap();
    h.expect_response(603);
    assert_eq!(
        leg_info(h.command(Command::Leg { leg: leg.clone() })).state,
        LegState::Ended
    );
    h.advance(Duration::from_secs(61));
    let err = h.command(Command::Leg { leg }).unwrap_err();
    assert_eq!(err.code, ErrorCode::UnknownLeg);
    assert_eq!(h.switch.stats().legs_retained, 0);
}

/// RFC 3261 §15: a leg hung up while our 2xx waits for its ACK sends its
/// BYE only once the ACK arrives, or once the ACK is given up on.
#[test]
fn hangup_before_the_ack_waits_for_it() {
    for ack_arrives in [true, false] {
        let mut h = Harness::new();
        let (mut call, leg) = parked(&mut h, "park1");
        leg_info(h.command(Command::Answer { leg: leg.clone() }));
        let ok = h.expect_response(200);

        let info = leg_info(h.command(Command::Hangup {
            leg: leg.clone(),
            cause: None,
        }));
        assert_eq!(info.state, LegState::Ending);
        let early = h.take_requests(Method::Bye);
        assert!(early.is_empty(), "BYE sent before the ACK");

        if ack_arrives {
            ack(&mut h, &mut call, &ok, None);
        } else {
            // 64*T1 without an ACK (the 2xx is retransmitted meanwhile, and
            // so is the BYE once it is out).
            h.advance(Duration::from_secs(40));
        }
        let bye = h
            .take_request(Method::Bye)
            .expect("BYE once the ACK came or was given up on");
        ok_to(&mut h, &bye);
        let ended = hungup(&h.take_events());
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(ended[0].0, leg);
    }
}
