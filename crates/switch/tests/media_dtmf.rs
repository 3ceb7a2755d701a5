//! DTMF through the switch: RFC 4733, INFO and in-band digits in, digits
//! out, and the digit collector, all on a simulated clock.
// Helpers outside #[test] fns panic on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::media::*;
use common::*;
use std::time::Duration;
use switchd_control::{CollectReason, Command, DtmfMethod, ErrorCode, EventKind, SendDtmf};
use switchd_player::collector::CollectSpec;
use switchd_player::dtmf::Digit;
use switchd_player::wav::Prompt;
use switchd_sip::rsip::Method;

/// The telephone-event packets of one press of event `event`.
fn press(h: &mut Harness, port: u16, event: u8, first_seq: u16, ts: u32) {
    let mut seq = first_seq;
    let mut send = |h: &mut Harness, marker: bool, end: bool, duration: u16| {
        let payload = telephone_event(event, end, duration);
        let packet = rtp(101, marker, seq, ts, 0x3333, &payload);
        seq = seq.wrapping_add(1);
        h.switch.handle_rtp(h.now, port, addr(PEER_RTP), &packet);
        h.advance(Duration::from_millis(20));
    };
    send(h, true, false, 160);
    send(h, false, false, 320);
    send(h, false, false, 480);
    for _ in 0..3 {
        send(h, false, true, 640);
    }
}

#[test]
fn rfc4733_packets_give_one_dtmf_event_per_digit() {
    let mut h = Harness::new();
    let (_call, _leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    press(&mut h, port, 5, 10, 1000);
    press(&mut h, port, 11, 20, 3000);
    h.advance(Duration::from_secs(1));
    let events = h.take_events();
    assert_eq!(
        dtmf_events(&events),
        vec![('5', DtmfMethod::Rfc4733), ('#', DtmfMethod::Rfc4733)],
        "{events:?}"
    );
    let duration = events.iter().find_map(|e| match e {
        EventKind::Dtmf { duration_ms, .. } => Some(*duration_ms),
        _ => None,
    });
    assert_eq!(duration, Some(80));
}

#[test]
fn info_dtmf_relay_is_answered_and_reported() {
    let mut h = Harness::new();
    let (mut call, leg, _port) = answered_inbound(&mut h, "answer1", OFFER);
    info_digit(&mut h, &mut call, '7');
    let events = h.take_events();
    assert_eq!(
        events,
        vec![EventKind::Dtmf {
            leg,
            digit: '7',
            duration_ms: 160,
            method: DtmfMethod::Info
        }]
    );
    in_dialog(
        &mut h,
        &mut call,
        "INFO",
        "application/dtmf-relay",
        "Nonsense",
    );
    h.expect_response(400);
    assert_eq!(h.switch.stats().dtmf_in, 1);
}

fn collect_spec(max_digits: usize, retries: u32) -> CollectSpec {
    CollectSpec {
        max_digits,
        timeout: Duration::from_secs(5),
        first_digit_timeout: Duration::from_secs(3),
        terminator: Digit::from_char('#'),
        retries,
        prompt: None,
        timeout_prompt: None,
    }
}

#[test]
fn collect_gathers_max_digits() {
    let mut h = Harness::new();
    let (mut call, leg, _port) = answered_inbound(&mut h, "answer1", OFFER);
    h.switch.collect(h.now, &leg, collect_spec(4, 0)).unwrap();
    for digit in ['1', '2', '3', '4', '5'] {
        h.advance(Duration::from_secs(1));
        info_digit(&mut h, &mut call, digit);
    }
    let events = h.take_events();
    let done: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, EventKind::CollectDone { .. }))
        .collect();
    assert_eq!(
        done,
        vec![&EventKind::CollectDone {
            leg,
            digits: "1234".into(),
            reason: CollectReason::MaxDigits
        }]
    );
    assert_eq!(dtmf_events(&events).len(), 5);
}

#[test]
fn collect_with_a_prompt_barges_in_silently() {
    let mut h = Harness::new();
    let (mut call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    let spec = CollectSpec {
        prompt: Some(Prompt::from_samples(vec![500i16; 16000])),
        ..collect_spec(2, 0)
    };
    h.switch.collect(h.now, &leg, spec).unwrap();
    h.advance(Duration::from_millis(300));
    assert!(transmits(&mut h).iter().any(|t| t.local_port == port));
    info_digit(&mut h, &mut call, '9');
    h.advance(Duration::from_millis(300));
    assert!(transmits(&mut h).iter().all(|t| t.local_port != port));
    info_digit(&mut h, &mut call, '#');
    let events = h.take_events();
    assert!(
        events.iter().all(|e| !matches!(
            e,
            EventKind::PlayStarted { .. } | EventKind::PlayStopped { .. }
        )),
        "{events:?}"
    );
    assert!(events.contains(&EventKind::CollectDone {
        leg,
        digits: "9".into(),
        reason: CollectReason::Terminator
    }));
}

#[test]
fn collect_times_out_after_its_retries() {
    let mut h = Harness::new();
    let (_call, leg, _port) = answered_inbound(&mut h, "answer1", OFFER);
    h.switch.collect(h.now, &leg, collect_spec(4, 2)).unwrap();
    // Three waits of 3 s: the first and two retries.
    h.advance(Duration::from_millis(8990));
    assert!(
        !h.take_events()
            .contains(&EventKind::CollectTimeout { leg: leg.clone() })
    );
    h.advance(Duration::from_millis(10));
    assert_eq!(h.take_events(), vec![EventKind::CollectTimeout { leg }]);
}

#[test]
fn send_dtmf_uses_telephone_events_or_info() {
    let mut h = Harness::new();
    let (_call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    transmits(&mut h);
    h.command(Command::SendDtmf(SendDtmf {
        leg: leg.clone(),
        digits: "12".into(),
        duration: None,
    }))
    .unwrap();
    h.advance(Duration::from_secs(1));
    let events: Vec<_> = transmits(&mut h)
        .into_iter()
        .filter(|t| t.local_port == port && pt_of(&t.payload) == 101)
        .collect();
    let markers = events.iter().filter(|t| t.payload[1] & 0x80 != 0).count();
    assert_eq!(markers, 2, "one marked packet per digit");
    assert_eq!(events.first().map(|t| t.payload[12]), Some(1));
    assert_eq!(events.last().map(|t| t.payload[12]), Some(2));
    let bad = h.command(Command::SendDtmf(SendDtmf {
        leg: leg.clone(),
        digits: "1x".into(),
        duration: None,
    }));
    assert_eq!(bad.unwrap_err().code, ErrorCode::InvalidArgument);

    // A leg without telephone-event gets INFO, one per digit.
    let pcmu_only = pcmu_only();
    let (_call, leg2, _port2) = answered_inbound(&mut h, "answer2", &pcmu_only);
    h.command(Command::SendDtmf(SendDtmf {
        leg: leg2,
        digits: "*3".into(),
        duration: Some(0.2),
    }))
    .unwrap();
    let first = h.expect_request(Method::Info);
    assert_eq!(
        first.header("content-type").as_deref(),
        Some("application/dtmf-relay")
    );
    assert_eq!(first.body(), b"Signal=*\r\nDuration=200\r\n");
    h.advance(Duration::from_millis(400));
    let second = h.expect_request(Method::Info);
    assert_eq!(second.body(), b"Signal=3\r\nDuration=200\r\n");
}

#[test]
fn inband_tones_are_detected_without_telephone_event() {
    let mut h = Harness::new();
    let pcmu_only = pcmu_only();
    let (_call, leg, port) = answered_inbound(&mut h, "answer1", &pcmu_only);
    send_tone(&mut h, port, '4', 200, 0);
    h.advance(Duration::from_millis(200));
    let events = h.take_events();
    assert_eq!(
        dtmf_events(&events),
        vec![('4', DtmfMethod::Inband)],
        "{events:?}"
    );
    let _ = leg;
}
