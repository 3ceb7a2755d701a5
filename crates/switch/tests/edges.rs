//! Early media, UPDATE, TCP, forks, limits and cancelling before any answer.

// Helpers outside #[test] fns panic on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::time::Duration;
use switchd_control::{Command, ErrorCode, EventKind, HangupCause, LegState};
use switchd_sip::rsip::Method;
use switchd_sip::{Peer, Transport};

#[test]
fn outbound_early_media_then_answer() {
    let mut h = Harness::new();
    let invite = call_peer(&mut h, "e1");
    let text = response_text(
        &invite,
        183,
        "Session Progress",
        Some("bobtag"),
        &[],
        Some(OFFER),
    );
    h.deliver(&text);
    assert!(matches!(
        &h.take_events()[..],
        [EventKind::EarlyMedia { .. }]
    ));
    assert_eq!(
        leg_info(h.command(Command::Leg { leg: "e1".into() })).state,
        LegState::Early
    );
    answer(&mut h, &invite);
    assert!(matches!(&h.take_events()[..], [EventKind::Answered { .. }]));
}

#[test]
fn inbound_early_media_reuses_the_answer() {
    let mut h = Harness::new();
    let (_, text) = invite(&mut h, "park1", Some(OFFER));
    h.deliver(&text);
    let leg = match &h.take_events()[..] {
        [EventKind::Incoming { leg }] => leg.id.clone(),
        other => panic!("{other:?}"),
    };
    let info = leg_info(h.command(Command::Ring {
        leg: leg.clone(),
        status: Some(183),
    }));
    assert_eq!(info.state, LegState::Early);
    let progress = h.expect_response(183);
    assert!(!progress.body().is_empty());
    assert!(matches!(
        &h.take_events()[..],
        [EventKind::EarlyMedia { .. }]
    ));
    h.command(Command::Answer { leg }).unwrap();
    let ok = h.expect_response(200);
    assert_eq!(ok.body(), progress.body(), "one offer, one answer");
    let err = h
        .command(Command::Ring {
            leg: "nope".into(),
            status: Some(181),
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
}

#[test]
fn update_with_sdp_is_answered() {
    let mut h = Harness::new();
    let (mut call, ok) = call_in(&mut h, "answer1", Some(OFFER), 200);
    call.to_tag = ok.to_tag();
    let target = angle_uri(&ok.header("contact").unwrap());
    let branch = h.new_branch();
    let update = request_text("UPDATE", &target, &branch, &call, 2, &[], Some(OFFER));
    h.deliver(&update);
    let answer = h.expect_response(200);
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("application/sdp")
    );
    let branch = h.new_branch();
    let update = request_text("UPDATE", &target, &branch, &call, 3, &[], None);
    h.deliver(&update);
    assert!(h.expect_response(200).body().is_empty());
}

#[test]
fn tcp_is_respected_both_ways() {
    let mut h = Harness::new();
    h.command(originate(&format!("sip:bob@{PEER};transport=tcp"), "tcp1"))
        .unwrap();
    let invite = h.expect_request(Method::Invite);
    assert_eq!(invite.peer.transport, Transport::Tcp);
    assert!(invite.header("via").unwrap().starts_with("SIP/2.0/TCP"));
    assert!(
        invite
            .header("contact")
            .unwrap()
            .to_ascii_lowercase()
            .contains("transport=tcp")
    );

    let (_, text) = invite_text(&mut h);
    let peer = Peer {
        transport: Transport::Tcp,
        remote: addr(PEER),
        local: Some(addr(SWITCH)),
    };
    h.switch.handle_stream_message(h.now, peer, text.as_bytes());
    h.advance(Duration::ZERO);
    let ok = h.expect_response(200);
    assert_eq!(ok.peer.transport, Transport::Tcp);
}

fn invite_text(h: &mut Harness) -> (Call, String) {
    let (call, text) = invite(h, "answer2", Some(OFFER));
    (call, text.replace("SIP/2.0/UDP", "SIP/2.0/TCP"))
}

#[test]
fn a_second_fork_answering_is_acked_and_hung_up() {
    let mut h = Harness::new();
    let invite = call_peer(&mut h, "f1");
    deliver_200(&mut h, &invite, "fork1", OFFER);
    h.expect_request(Method::Ack);
    deliver_200(&mut h, &invite, "fork2", OFFER);
    let sent = h.take_sent();
    let ack = find_request(&sent, Method::Ack).expect("ACK of fork 2");
    assert_eq!(ack.to_tag().as_deref(), Some("fork2"));
    let bye = find_request(&sent, Method::Bye).expect("BYE of fork 2");
    assert_eq!(bye.to_tag().as_deref(), Some("fork2"));
    let info = leg_info(h.command(Command::Leg { leg: "f1".into() }));
    assert_eq!(info.state, LegState::Answered);
}

#[test]
fn hangup_before_any_response_ends_after_the_cancel_window() {
    let mut h = Harness::new();
    call_peer(&mut h, "c1");
    let info = leg_info(h.command(Command::Hangup {
        leg: "c1".into(),
        cause: None,
    }));
    assert_eq!(info.state, LegState::Ending);
    // No CANCEL before a provisional response (RFC 3261 §9.1).
    assert!(h.take_requests(Method::Cancel).is_empty());
    h.switch.start_drain(h.now, Duration::from_secs(100));
    h.advance(Duration::from_secs(40));
    assert_eq!(
        hungup(&h.take_events()),
        vec![("c1".to_owned(), HangupCause::OriginatorCancel, None)]
    );
    assert!(h.switch.is_drained(), "nothing left behind");
}

#[test]
fn rtp_port_exhaustion_is_a_limit() {
    let mut config = config();
    config.rtp_ports = 20000..=20003;
    config.max_legs = 10;
    let mut h = Harness::with(config);
    h.command(originate(&format!("sip:bob@{PEER}"), "p1"))
        .unwrap();
    h.command(originate(&format!("sip:bob@{PEER}"), "p2"))
        .unwrap();
    let err = h
        .command(originate(&format!("sip:bob@{PEER}"), "p3"))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::LimitReached);
    h.take_sent();
    call_in(&mut h, "answer3", Some(OFFER), 503);
    h.command(Command::Hangup {
        leg: "p1".into(),
        cause: None,
    })
    .unwrap();
    h.advance(Duration::from_secs(40));
    h.command(originate(&format!("sip:bob@{PEER}"), "p3"))
        .unwrap();
}

#[test]
fn poll_timeout_tracks_the_earliest_deadline() {
    let mut h = Harness::new();
    assert_eq!(h.switch.poll_timeout(), None, "idle switch sleeps");
    let (_, text) = invite(&mut h, "park2", Some(OFFER));
    h.deliver(&text);
    // The endpoint's 100 Trying timer comes first, the park timeout later.
    let first = h.switch.poll_timeout().unwrap();
    assert!(first <= h.now + Duration::from_millis(200));
    h.advance(Duration::from_millis(200));
    h.take_sent();
    let next = h.switch.poll_timeout().unwrap();
    assert!(next <= h.t0 + Duration::from_secs(10));
}

#[test]
fn a_late_answer_to_an_abandoned_invite_is_acked() {
    let mut config = config();
    // Room for the INVITE only: its CANCEL cannot be sent.
    config.endpoint.max_transactions = 1;
    let mut h = Harness::with(config);
    let invite = call_peer(&mut h, "late");
    let text = response_text(&invite, 180, "Ringing", Some("bobtag"), &[], None);
    h.deliver(&text);
    let info = leg_info(h.command(Command::Hangup {
        leg: "late".into(),
        cause: None,
    }));
    assert_eq!(info.state, LegState::Ended);
    assert_eq!(
        hungup(&h.take_events()),
        vec![("late".to_owned(), HangupCause::OriginatorCancel, None)]
    );
    deliver_200(&mut h, &invite, "bobtag", OFFER);
    // The table is full, but the INVITE now only lingers (Timer M): it is
    // evicted so the BYE ending the late dialog can go out after the ACK.
    let sent = h.take_sent();
    let ack = find_request(&sent, Method::Ack).unwrap();
    assert_eq!(ack.to_tag().as_deref(), Some("bobtag"));
    let bye = find_request(&sent, Method::Bye).unwrap();
    ok_to(&mut h, bye);
    assert!(h.take_events().is_empty(), "one leg.hungup only");
    h.switch.start_drain(h.now, Duration::from_secs(1));
    assert!(h.switch.is_drained());
}

#[test]
fn broken_invites_are_refused_without_a_leg() {
    let mut h = Harness::new();
    let (_, text) = invite(&mut h, "answer4", Some(OFFER));
    let no_contact: String = text
        .lines()
        .filter(|l| !l.starts_with("Contact:"))
        .map(|l| format!("{l}\n"))
        .collect();
    h.deliver(&no_contact.replace('\n', "\r\n").replace("\r\r\n", "\r\n"));
    h.expect_response(400);
    let (_, text) = invite(&mut h, "answer5", Some(OFFER));
    h.deliver(&text.replace("application/sdp", "text/plain"));
    let refused = h.expect_response(415);
    assert!(
        refused
            .header("accept")
            .unwrap()
            .contains("application/sdp")
    );
    let (_, text) = invite(&mut h, "answer6", Some("v=0\r\nthis is not sdp\r\n"));
    h.deliver(&text);
    h.expect_response(400);
    assert_eq!(h.switch.stats().legs_active, 0);
    assert_eq!(h.switch.stats().rtp_ports_in_use, 0);
}

#[test]
fn mutated_messages_never_panic() {
    let mut h = Harness::new();
    let (call, text) = invite(&mut h, "answer7", Some(OFFER));
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let bye = request_text("BYE", &call.ruri, "z9hG4bKx", &call, 2, &[], None);
    for round in 0..2000u64 {
        let base = if round % 2 == 0 { &text } else { &bye };
        let mut bytes = base.as_bytes().to_vec();
        for _ in 0..(next() % 4 + 1) {
            let len = bytes.len() as u64;
            let at = usize::try_from(next() % len).unwrap();
            match next() % 3 {
                0 => bytes[at] = (next() % 256) as u8,
                1 => bytes.truncate(at.max(1)),
                _ => bytes.insert(at, b"\r\n;:<>@\"="[usize::try_from(next() % 9).unwrap()]),
            }
        }
        let peer = h.peer();
        h.switch.handle_datagram(h.now, peer, &bytes);
        while h.switch.poll_transmit().is_some() {}
        while h.switch.poll_event().is_some() {}
    }
    let stats = h.switch.stats();
    assert!(stats.legs_active <= 4, "bounded by max_legs");
    // Unacknowledged answers end by BYE (up to 2 x 64*T1), then the retention runs.
    h.advance(Duration::from_secs(300));
    let stats = h.switch.stats();
    assert_eq!(
        (stats.legs_active, stats.legs_retained, stats.dialogs),
        (0, 0, 0)
    );
    assert_eq!(stats.rtp_ports_in_use, 0);
    assert_eq!(
        (stats.timers, stats.transactions),
        (0, 0),
        "nothing left behind"
    );
}
