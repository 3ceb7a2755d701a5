//! The configured hold prompt: what an answered leg hears while nothing
//! else is sent to it, and every transition that starts or stops it, on a
//! simulated clock.
// Helpers outside #[test] fns panic on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::media::*;
use common::*;
use std::time::Duration;
use switchd_control::{CollectReason, Command, EventKind};
use switchd_media::codec::g711::ulaw_decode;
use switchd_player::collector::CollectSpec;
use switchd_player::dtmf::Digit;
use switchd_player::playback::Repeat;
use switchd_player::wav::Prompt;
use switchd_switch::{RouteAction, RtpTransmit};

/// Half a second of a sawtooth: loud, and unlike silence or a constant.
fn hold_samples() -> Vec<i16> {
    (0..4000).map(|i| ((i % 80) - 40) * 200).collect()
}

fn hold_config() -> switchd_switch::SwitchConfig {
    let mut config = config();
    config.hold_prompt = Some(Prompt::from_samples(hold_samples()));
    config
}

fn held() -> Harness {
    Harness::with(hold_config())
}

/// RTP (not RTCP) datagrams sent from `port`, decoded from PCMU.
fn frames_from(out: &[RtpTransmit], port: u16) -> Vec<Vec<i16>> {
    out.iter()
        .filter(|t| t.local_port == port)
        .map(|t| t.payload[12..].iter().map(|b| ulaw_decode(*b)).collect())
        .collect()
}

/// Whether `frame` is `expected` through PCMU (its error stays within a
/// few percent of the sample's size).
fn sounds_like(frame: &[i16], expected: &[i16]) -> bool {
    frame.len() == expected.len()
        && frame.iter().zip(expected).all(|(got, want)| {
            (i32::from(*got) - i32::from(*want)).abs() <= 64 + want.abs() as i32 / 16
        })
}

/// Whether `frame` is one of the hold prompt's 20 ms frames.
fn is_hold_frame(frame: &[i16]) -> bool {
    let samples = hold_samples();
    samples.chunks(160).any(|chunk| sounds_like(frame, chunk))
}

/// What the leg on `port` was sent during the next `ms`.
fn heard(h: &mut Harness, port: u16, ms: u64) -> Vec<Vec<i16>> {
    transmits(h);
    h.advance(Duration::from_millis(ms));
    frames_from(&transmits(h), port)
}

fn play_events(events: &[EventKind]) -> Vec<&EventKind> {
    events
        .iter()
        .filter(|e| {
            matches!(
                e,
                EventKind::PlayStarted { .. }
                    | EventKind::PlayFinished { .. }
                    | EventKind::PlayStopped { .. }
            )
        })
        .collect()
}

fn collect_spec() -> CollectSpec {
    CollectSpec {
        max_digits: 1,
        timeout: Duration::from_secs(2),
        first_digit_timeout: Duration::from_secs(2),
        terminator: Digit::from_char('#'),
        retries: 0,
        prompt: None,
        timeout_prompt: None,
    }
}

#[test]
fn answered_leg_hears_the_hold_prompt_looped_without_play_events() {
    let mut h = held();
    let (_call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    h.advance(Duration::from_millis(1200));
    let frames = frames_from(&transmits(&mut h), port);
    assert!((55..=62).contains(&frames.len()), "{} frames", frames.len());
    let samples = hold_samples();
    assert!(sounds_like(&frames[0], &samples[..160]), "{:?}", &frames[0]);
    // 25 frames make the prompt: the 26th starts it again.
    assert!(sounds_like(&frames[25], &samples[..160]));
    assert!(sounds_like(&frames[26], &samples[160..320]));
    assert!(frames.iter().all(|f| is_hold_frame(f)));
    assert!(play_events(&h.take_events()).is_empty());
    assert_eq!(h.switch.stats().media_legs_on_hold, 1);

    // stop_play finds nothing to stop: no event, and the music goes on.
    h.command(Command::StopPlay { leg: leg.clone() }).unwrap();
    assert_eq!(heard(&mut h, port, 200).len(), 10);
    assert!(play_events(&h.take_events()).is_empty());
    assert_eq!(h.switch.stats().to_map()["media_legs_on_hold"], 1);
}

#[test]
fn without_a_hold_prompt_an_idle_leg_hears_silence() {
    let mut h = Harness::new();
    let (_call, _leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    assert!(heard(&mut h, port, 1000).is_empty());
    assert_eq!(h.switch.stats().media_legs_on_hold, 0);
}

#[test]
fn bridge_stops_the_hold_prompt_and_unbridge_resumes_it() {
    let mut h = held();
    let (_call, a, port_a) = answered_inbound(&mut h, "answer1", OFFER);
    let invite = call_peer(&mut h, "b1");
    let port_b = sdp_port(&String::from_utf8_lossy(invite.body()));
    answer_with(&mut h, &invite, &OFFER.replace("30000", "30002"));
    assert_eq!(heard(&mut h, port_b, 100).len(), 5);
    assert_eq!(h.switch.stats().media_legs_on_hold, 2);

    h.command(Command::Bridge {
        leg: a.clone(),
        other: "b1".into(),
    })
    .unwrap();
    assert_eq!(h.switch.stats().media_legs_on_hold, 0);
    transmits(&mut h);
    h.advance(Duration::from_millis(500));
    let out = transmits(&mut h);
    assert!(frames_from(&out, port_a).is_empty(), "{out:?}");
    assert!(frames_from(&out, port_b).is_empty(), "{out:?}");
    // Only relayed audio reaches the peer.
    let packet = rtp(0, true, 1, 160, 0xAAAA, &[0x55; 160]);
    h.switch.handle_rtp(h.now, port_a, addr(PEER_RTP), &packet);
    let out = transmits(&mut h);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].local_port, port_b);
    assert_eq!(&out[0].payload[12..], &[0x55; 160][..]);

    h.command(Command::Unbridge { leg: a }).unwrap();
    assert_eq!(h.switch.stats().media_legs_on_hold, 2);
    transmits(&mut h);
    h.advance(Duration::from_millis(200));
    let out = transmits(&mut h);
    for port in [port_a, port_b] {
        let frames = frames_from(&out, port);
        assert_eq!(frames.len(), 10, "port {port}");
        assert!(sounds_like(&frames[0], &hold_samples()[..160]));
    }
    assert!(play_events(&h.take_events()).is_empty());
}

#[test]
fn the_bridge_peer_hanging_up_puts_the_leg_back_on_hold() {
    let mut h = held();
    let (_call, a, port_a) = answered_inbound(&mut h, "answer1", OFFER);
    let (mut call_c, c, _port_c) = answered_inbound(&mut h, "answer2", OFFER);
    h.command(Command::Bridge { leg: a, other: c }).unwrap();
    assert!(heard(&mut h, port_a, 200).is_empty());
    bye(&mut h, &mut call_c);
    h.expect_response(200);
    let frames = heard(&mut h, port_a, 200);
    assert_eq!(frames.len(), 10);
    assert!(frames.iter().all(|f| is_hold_frame(f)));
    assert_eq!(h.switch.stats().media_legs_on_hold, 1);
}

#[test]
fn a_play_replaces_the_hold_prompt_which_resumes_when_it_ends() {
    let mut h = held();
    let (_call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    h.advance(Duration::from_millis(300));
    transmits(&mut h);
    // 200 ms of a constant: nothing like the sawtooth.
    let prompt = Prompt::from_samples(vec![3000i16; 1600]);
    h.switch
        .play(h.now, &leg, prompt.clone(), Repeat::Times(1))
        .unwrap();
    assert_eq!(h.switch.stats().media_legs_on_hold, 0);
    let played = heard(&mut h, port, 200);
    assert_eq!(played.len(), 10);
    assert!(played.iter().all(|f| sounds_like(f, &[3000; 160])));
    // The engine notices the end on the tick after the last frame.
    let turn = heard(&mut h, port, 40);
    assert!(turn.iter().all(|f| is_hold_frame(f)), "{turn:?}");
    let events = h.take_events();
    assert_eq!(
        play_events(&events),
        vec![
            &EventKind::PlayStarted { leg: leg.clone() },
            &EventKind::PlayFinished { leg: leg.clone() }
        ]
    );
    let after = heard(&mut h, port, 200);
    assert_eq!(after.len(), 10);
    assert!(after.iter().all(|f| is_hold_frame(f)));
    assert_eq!(h.switch.stats().media_legs_on_hold, 1);

    // A play cut short by stop_play also gives the leg back to hold.
    h.switch.play(h.now, &leg, prompt, Repeat::Forever).unwrap();
    assert!(heard(&mut h, port, 100).iter().all(|f| !is_hold_frame(f)));
    h.command(Command::StopPlay { leg: leg.clone() }).unwrap();
    assert_eq!(
        play_events(&h.take_events()),
        vec![
            &EventKind::PlayStarted { leg: leg.clone() },
            &EventKind::PlayStopped { leg: leg.clone() }
        ]
    );
    let frames = heard(&mut h, port, 100);
    assert_eq!(frames.len(), 5);
    assert!(frames.iter().all(|f| is_hold_frame(f)));
}

#[test]
fn collect_silences_the_hold_prompt_until_it_is_done() {
    let mut h = held();
    let (mut call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    h.switch.collect(h.now, &leg, collect_spec()).unwrap();
    assert_eq!(h.switch.stats().media_legs_on_hold, 0);
    assert!(heard(&mut h, port, 500).is_empty());
    info_digit(&mut h, &mut call, '7');
    assert!(h.take_events().contains(&EventKind::CollectDone {
        leg: leg.clone(),
        digits: "7".into(),
        reason: CollectReason::MaxDigits,
    }));
    let frames = heard(&mut h, port, 200);
    assert_eq!(frames.len(), 10);
    assert!(frames.iter().all(|f| is_hold_frame(f)));

    // A collect that times out gives the leg back too.
    h.switch.collect(h.now, &leg, collect_spec()).unwrap();
    assert!(heard(&mut h, port, 1900).is_empty());
    let frames = heard(&mut h, port, 300);
    assert!(
        h.take_events()
            .contains(&EventKind::CollectTimeout { leg: leg.clone() })
    );
    assert!((4..=15).contains(&frames.len()), "{} frames", frames.len());
    assert!(frames.iter().all(|f| is_hold_frame(f)));
    assert!(play_events(&h.take_events()).is_empty());
}

#[test]
fn echo_replaces_the_hold_prompt() {
    let mut h = held();
    let (_call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    h.command(Command::Echo { leg }).unwrap();
    assert!(heard(&mut h, port, 300).is_empty());
    assert_eq!(h.switch.stats().media_legs_on_hold, 0);
}

#[test]
fn early_media_gets_no_hold_prompt_until_answered() {
    let mut h = held();
    let (mut call, leg) = parked(&mut h, "park1");
    h.command(Command::Ring {
        leg: leg.clone(),
        status: Some(183),
    })
    .unwrap();
    let progress = h.expect_response(183);
    let port = sdp_port(&String::from_utf8_lossy(progress.body()));
    assert_eq!(h.switch.stats().media_legs, 1);
    assert!(heard(&mut h, port, 300).is_empty());

    h.command(Command::Answer { leg }).unwrap();
    let ok = h.expect_response(200);
    ack(&mut h, &mut call, &ok, None);
    let frames = heard(&mut h, port, 200);
    assert_eq!(frames.len(), 10);
    assert!(sounds_like(&frames[0], &hold_samples()[..160]));
}

#[test]
fn echo_route_legs_never_hear_the_hold_prompt() {
    let mut config = hold_config();
    config.routes.insert(
        0,
        switchd_switch::Route {
            user: "echo".into(),
            host: None,
            action: RouteAction::Echo,
        },
    );
    let mut h = Harness::with(config);
    let (_call, _leg, port) = answered_inbound(&mut h, "echo", OFFER);
    assert!(heard(&mut h, port, 300).is_empty());
}

/// 200 ms of a square wave: nothing like the sawtooth.
fn other_samples() -> Vec<i16> {
    (0..1600)
        .map(|i| if i % 40 < 20 { 6000 } else { -6000 })
        .collect()
}

/// A re-read config's prompt replaces the one a held leg hears, from its
/// start and with no play events; the same audio again leaves it playing;
/// no prompt silences the leg, and a prompt set again reaches it.
#[test]
fn a_new_hold_prompt_replaces_the_one_a_held_leg_hears() {
    let mut h = held();
    let (_call, _leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    assert!(heard(&mut h, port, 200).iter().all(|f| is_hold_frame(f)));

    h.switch
        .set_hold_prompt(h.now, Some(Prompt::from_samples(hold_samples())));
    let same = heard(&mut h, port, 200);
    assert_eq!(same.len(), 10);
    assert!(same.iter().all(|f| is_hold_frame(f)));

    let other = other_samples();
    h.switch
        .set_hold_prompt(h.now, Some(Prompt::from_samples(other.clone())));
    let frames = heard(&mut h, port, 200);
    assert_eq!(frames.len(), 10);
    assert!(sounds_like(&frames[0], &other[..160]), "{:?}", &frames[0]);
    assert!(frames.iter().all(|f| !is_hold_frame(f)));
    assert_eq!(h.switch.stats().media_legs_on_hold, 1);

    h.switch.set_hold_prompt(h.now, None);
    assert!(heard(&mut h, port, 300).is_empty());
    assert_eq!(h.switch.stats().media_legs_on_hold, 0);

    h.switch
        .set_hold_prompt(h.now, Some(Prompt::from_samples(hold_samples())));
    let frames = heard(&mut h, port, 200);
    assert_eq!(frames.len(), 10);
    assert!(sounds_like(&frames[0], &hold_samples()[..160]));
    assert_eq!(h.switch.stats().media_legs_on_hold, 1);
    assert!(play_events(&h.take_events()).is_empty());
}

/// A prompt configured while calls are up reaches the idle answered leg,
/// not the two bridged ones.
#[test]
fn a_hold_prompt_set_later_reaches_idle_legs_only() {
    let mut h = Harness::new();
    let (_call_a, _a, port_a) = answered_inbound(&mut h, "answer1", OFFER);
    let (_call_b, b, port_b) = answered_inbound(&mut h, "answer2", OFFER);
    let (_call_c, c, port_c) = answered_inbound(&mut h, "answer3", OFFER);
    h.command(Command::Bridge { leg: b, other: c }).unwrap();
    assert!(heard(&mut h, port_a, 200).is_empty());

    h.switch
        .set_hold_prompt(h.now, Some(Prompt::from_samples(hold_samples())));
    transmits(&mut h);
    h.advance(Duration::from_millis(200));
    let out = transmits(&mut h);
    let frames = frames_from(&out, port_a);
    assert_eq!(frames.len(), 10);
    assert!(frames.iter().all(|f| is_hold_frame(f)));
    assert!(frames_from(&out, port_b).is_empty());
    assert!(frames_from(&out, port_c).is_empty());
    assert_eq!(h.switch.stats().media_legs_on_hold, 1);
}
