//! In-band DTMF detection as a policy (`SwitchConfig::inband_dtmf`): which
//! legs without telephone-event get a detector, and that digits still
//! arrive where they are asked for, on a simulated clock.
// Helpers outside #[test] fns panic on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::media::*;
use common::*;
use std::time::Duration;
use switchd_control::{CollectReason, Command, DtmfMethod, EventKind};
use switchd_player::collector::CollectSpec;
use switchd_player::playback::Repeat;
use switchd_player::wav::Prompt;
use switchd_sip::rsip::Method;
use switchd_switch::InbandDtmf;

fn harness(policy: InbandDtmf) -> Harness {
    let mut config = config();
    config.inband_dtmf = policy;
    Harness::with(config)
}

fn detectors(h: &Harness) -> u64 {
    h.switch.stats().media_inband_detectors
}

/// An answer (or offer) with `codec_line` as its only format, no telephone-event.
fn sdp_only(port: u16, payload_type: u8) -> String {
    pcmu_only()
        .replace("30000", &port.to_string())
        .replace("RTP/AVP 0", &format!("RTP/AVP {payload_type}"))
        .replace(
            "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n",
            if payload_type == 8 {
                "a=rtpmap:8 PCMA/8000\r\n"
            } else {
                "a=rtpmap:0 PCMU/8000\r\n"
            },
        )
}

/// Leg A called in and leg `b1` called out, both answered without
/// telephone-event (B with `payload_type_b`), not bridged yet: A's id and port.
fn two_legs(h: &mut Harness, payload_type_b: u8) -> (Call, String, u16) {
    let (call, a, port_a) = answered_inbound(h, "answer1", &pcmu_only());
    let invite = call_peer(h, "b1");
    answer_with(h, &invite, &sdp_only(30002, payload_type_b));
    h.take_events();
    (call, a, port_a)
}

fn bridge(h: &mut Harness, a: &str) {
    h.command(Command::Bridge {
        leg: a.to_owned(),
        other: "b1".into(),
    })
    .unwrap();
}

fn collect_one(timeout: Duration) -> CollectSpec {
    CollectSpec {
        max_digits: 1,
        timeout,
        first_digit_timeout: timeout,
        terminator: None,
        retries: 0,
        prompt: None,
        timeout_prompt: None,
    }
}

#[test]
fn auto_same_codec_bridge_has_no_detector_until_a_collect() {
    let mut h = harness(InbandDtmf::Auto);
    let (_call, a, port_a) = two_legs(&mut h, 0);
    // Answered and idle: the switch terminates both legs' media.
    assert_eq!(detectors(&h), 2);
    bridge(&mut h, &a);
    assert_eq!(detectors(&h), 0, "a same-codec bridge relays untouched");

    // Tones through the bridge are relayed, not detected.
    send_tone(&mut h, port_a, '3', 200, 0);
    assert_eq!(dtmf_events(&h.take_events()), vec![]);

    h.switch
        .collect(h.now, &a, collect_one(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(detectors(&h), 1, "the collecting leg only");
    send_tone(&mut h, port_a, '7', 200, 100);
    let events = h.take_events();
    assert_eq!(
        dtmf_events(&events),
        vec![('7', DtmfMethod::Inband)],
        "{events:?}"
    );
    assert!(events.contains(&EventKind::CollectDone {
        leg: a.clone(),
        digits: "7".into(),
        reason: CollectReason::MaxDigits,
    }));
    assert_eq!(detectors(&h), 0, "the collect ended: back to relaying");

    h.command(Command::Unbridge { leg: a.clone() }).unwrap();
    assert_eq!(detectors(&h), 2);
    h.command(Command::Hangup {
        leg: a,
        cause: None,
    })
    .unwrap();
    let bye = h.expect_request(Method::Bye);
    ok_to(&mut h, &bye);
    assert_eq!(detectors(&h), 1, "the ended leg's detector went with it");
}

#[test]
fn auto_detector_leaving_mid_digit_reports_it() {
    let mut h = harness(InbandDtmf::Auto);
    let (_call, a, port_a) = two_legs(&mut h, 0);
    bridge(&mut h, &a);
    h.switch
        .collect(h.now, &a, collect_one(Duration::from_millis(500)))
        .unwrap();
    h.take_events();
    // The collect times out 500 ms in, while the key is still held.
    h.advance(Duration::from_millis(300));
    send_tone(&mut h, port_a, '9', 600, 0);
    let events = h.take_events();
    assert!(events.contains(&EventKind::CollectTimeout { leg: a.clone() }));
    assert_eq!(
        dtmf_events(&events),
        vec![('9', DtmfMethod::Inband)],
        "{events:?}"
    );
    assert_eq!(detectors(&h), 0);
}

#[test]
fn auto_keeps_detectors_while_playing_and_across_codecs() {
    let mut h = harness(InbandDtmf::Auto);
    let (_call, a, _port_a) = two_legs(&mut h, 8);
    bridge(&mut h, &a);
    assert_eq!(detectors(&h), 2, "a transcoding bridge decodes anyway");

    let mut h = harness(InbandDtmf::Auto);
    let (_call, a, _port_a) = two_legs(&mut h, 0);
    bridge(&mut h, &a);
    h.switch
        .play(
            h.now,
            &a,
            Prompt::from_samples(vec![300i16; 1600]),
            Repeat::Times(1),
        )
        .unwrap();
    assert_eq!(detectors(&h), 1, "the leg played to");
    h.advance(Duration::from_millis(400));
    assert!(
        h.take_events()
            .contains(&EventKind::PlayFinished { leg: a })
    );
    assert_eq!(detectors(&h), 0);
}

#[test]
fn auto_echo_relays_without_a_detector() {
    let mut h = harness(InbandDtmf::Auto);
    let (_call, leg, _port) = answered_inbound(&mut h, "answer1", &pcmu_only());
    assert_eq!(detectors(&h), 1);
    h.command(Command::Echo { leg: leg.clone() }).unwrap();
    assert_eq!(detectors(&h), 0);
    h.command(Command::Unbridge { leg }).unwrap();
    assert_eq!(detectors(&h), 1);
}

#[test]
fn always_keeps_the_detector_in_a_bridge() {
    let mut h = harness(InbandDtmf::Always);
    let (_call, a, port_a) = two_legs(&mut h, 0);
    bridge(&mut h, &a);
    assert_eq!(detectors(&h), 2);
    send_tone(&mut h, port_a, '5', 200, 0);
    let events = h.take_events();
    assert_eq!(
        dtmf_events(&events),
        vec![('5', DtmfMethod::Inband)],
        "{events:?}"
    );
}

#[test]
fn never_has_no_detector_and_collect_uses_info_and_rfc4733() {
    let mut h = harness(InbandDtmf::Never);
    let (mut call, a, port_a) = two_legs(&mut h, 0);
    assert_eq!(detectors(&h), 0);
    h.switch
        .collect(h.now, &a, collect_one(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(detectors(&h), 0);
    send_tone(&mut h, port_a, '2', 200, 0);
    assert_eq!(dtmf_events(&h.take_events()), vec![]);
    info_digit(&mut h, &mut call, '8');
    let events = h.take_events();
    assert!(events.contains(&EventKind::CollectDone {
        leg: a,
        digits: "8".into(),
        reason: CollectReason::MaxDigits,
    }));

    // A leg with telephone-event never had a detector to begin with.
    let (_call, leg, port) = answered_inbound(&mut h, "answer2", OFFER);
    h.switch
        .collect(h.now, &leg, collect_one(Duration::from_secs(5)))
        .unwrap();
    for (i, end) in [false, false, true, true].into_iter().enumerate() {
        let duration = 160 * (i as u16 + 1);
        let payload = telephone_event(4, end, duration);
        let packet = rtp(101, i == 0, 50 + i as u16, 8000, 0x5555, &payload);
        h.switch.handle_rtp(h.now, port, addr(PEER_RTP), &packet);
        h.advance(Duration::from_millis(20));
    }
    let events = h.take_events();
    assert!(
        events.contains(&EventKind::CollectDone {
            leg,
            digits: "4".into(),
            reason: CollectReason::MaxDigits,
        }),
        "{events:?}"
    );
    assert_eq!(detectors(&h), 0);
}
