//! Digits through the real daemon: RFC 4733 events in carriers' shapes and
//! from sipp's captures, SIP INFO, the digit collector with its prompts and
//! retries, and `send_dtmf` towards a far end. Far ends are built in the
//! harness ([`switchd_tests::audio`]); everything stays on loopback.

// Test helpers outside `#[test]` functions: failing loudly is their job.
#![allow(clippy::expect_used)]

use serde_json::json;
use std::time::{Duration, Instant};
use switchd_tests::audio::analysis;
use switchd_tests::audio::call::{FarEnd, parking_daemon};
use switchd_tests::audio::events::{self, EVENT_TIMEOUT};
use switchd_tests::audio::rtp::pcmu_timeline;
use switchd_tests::audio::sender::DtmfStyle;
use switchd_tests::audio::verdict::{SOUND_RMS, assert_tone};
use switchd_tests::audio::wav;
use switchd_tests::control::decode_event;
use switchd_tests::sipp::Sipp;

/// Test 3a: RFC 4733 digits in the shapes carriers send them (marker or
/// none, one end packet or three) are each reported once, in order.
#[test]
fn rfc4733_digits_are_reported_once_each() {
    let (daemon, mut control) = parking_daemon("mrfc4733");
    let far = FarEnd::call_in(&daemon, &mut control, "dtmf");
    let pt = far
        .telephone_event()
        .expect("the daemon's answer to an offer with telephone-event carries it");
    let mut stream = far.prime();
    let standard = DtmfStyle::standard(pt);
    let no_marker = DtmfStyle {
        marker: false,
        ..standard
    };
    let one_end = DtmfStyle {
        end_packets: 1,
        ..standard
    };
    stream.send_dtmf("1", standard);
    stream.send_dtmf("5", no_marker);
    stream.send_dtmf("#", no_marker);
    stream.send_dtmf("0", one_end);
    stream.send_dtmf("*", standard);

    let seen = events::gather(&mut control, Duration::from_millis(1500));
    let digits = events::of_kind(&seen, "dtmf", &far.leg);
    let got: String = digits
        .iter()
        .map(|raw| raw["digit"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(got, "15#0*", "dtmf events: {digits:?}");
    for raw in digits {
        decode_event(raw);
        assert_eq!(raw["method"], "rfc4733", "{raw}");
        let duration = raw["duration_ms"].as_u64().unwrap_or(0);
        // Six 20 ms steps were sent: 120 ms.
        assert!(
            (60..=400).contains(&duration),
            "duration {duration} ms in {raw}"
        );
    }
}

/// Test 3b: sipp plays its bundled RFC 4733 captures (1, 5, #) from a
/// call parked and answered by the controller.
#[test]
fn sipp_pcap_digits_are_reported() {
    let (daemon, mut control) = parking_daemon("mpcap");
    let uac = Sipp::scenario("uac_dtmf_pcap.xml", daemon.dir().path(), "dtmf")
        .remote(daemon.sip_addr())
        .timeout(Duration::from_secs(20), true)
        .spawn();
    let leg = events::incoming_leg(&mut control, EVENT_TIMEOUT, |_| true);
    control.ok(json!({"cmd": "answer", "leg": leg}));
    events::wait(&mut control, "leg.hungup", &leg, Duration::from_secs(15));
    let outcome = uac.wait();
    outcome.assert_all_successful(1);
    let got: String = control
        .seen_events()
        .iter()
        .filter(|raw| raw["event"] == "dtmf" && raw["leg"] == leg.as_str())
        .map(|raw| {
            assert_eq!(raw["method"], "rfc4733", "{raw}");
            raw["digit"].as_str().unwrap_or("?").to_string()
        })
        .collect();
    assert_eq!(got, "15#", "events: {:?}", control.seen_events());
}

/// Test 3c: SIP INFO with application/dtmf-relay is answered 200 and
/// reported with method `info`.
#[test]
fn info_digits_are_reported() {
    let (daemon, mut control) = parking_daemon("minfo");
    let mut far = FarEnd::call_in(&daemon, &mut control, "info");
    assert_eq!(far.send_info_dtmf('7', 160), 200, "INFO 7");
    assert_eq!(far.send_info_dtmf('#', 250), 200, "INFO #");
    let seen = events::gather(&mut control, Duration::from_millis(800));
    let digits = events::of_kind(&seen, "dtmf", &far.leg);
    let got: Vec<(&str, &str)> = digits
        .iter()
        .map(|raw| {
            (
                raw["digit"].as_str().unwrap_or("?"),
                raw["method"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(got, vec![("7", "info"), ("#", "info")], "{digits:?}");
    assert_eq!(
        digits.first().map(|raw| raw["duration_ms"].clone()),
        Some(json!(160))
    );
}

/// Test 4a: `collect` with a prompt; four digits pressed during it end the
/// collection with `max_digits`, and the prompt was heard.
#[test]
fn collect_returns_four_digits() {
    let (daemon, mut control) = parking_daemon("mcollect");
    let far = FarEnd::call_in(&daemon, &mut control, "ivr");
    let pt = far.telephone_event().expect("telephone-event negotiated");
    let prompt = daemon.dir().join("prompt.wav");
    wav::make_tone(&prompt, 0.6, 440);
    let mut stream = far.prime();
    far.rtp.clear();
    control.ok(json!({
        "cmd": "collect", "leg": far.leg, "max_digits": 4, "timeout": 2, "retries": 2,
        "prompt": prompt.to_string_lossy(),
    }));
    std::thread::sleep(Duration::from_millis(300));
    stream.send_dtmf("4821", DtmfStyle::standard(pt));
    let done = events::wait_checked(&mut control, "collect.done", &far.leg, EVENT_TIMEOUT);
    assert_eq!(done["digits"], "4821", "{done}");
    assert_eq!(done["reason"], "max_digits", "{done}");
    assert_tone(&far.rtp.audio(), 440.0, 0.2, "the prompt as received");
}

/// Test 4b: `collect` with nothing pressed: the prompt plays once and twice
/// more (retries 2), each followed by the 1 s timeout; then
/// `collect.timeout`, about 3 × (0.4 + 1) s after the command.
#[test]
fn collect_without_digits_times_out_after_its_retries() {
    let (daemon, mut control) = parking_daemon("mcollectto");
    let far = FarEnd::call_in(&daemon, &mut control, "ivr");
    let prompt = daemon.dir().join("prompt.wav");
    wav::make_tone(&prompt, 0.4, 600);
    let _stream = far.prime();
    far.rtp.clear();
    let started = Instant::now();
    control.ok(json!({
        "cmd": "collect", "leg": far.leg, "max_digits": 4, "timeout": 1, "retries": 2,
        "prompt": prompt.to_string_lossy(),
    }));
    events::wait_checked(
        &mut control,
        "collect.timeout",
        &far.leg,
        Duration::from_secs(15),
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(3900) && elapsed <= Duration::from_millis(6500),
        "collect.timeout after {elapsed:?}, want about 4.2 s"
    );
    let audio = pcmu_timeline(&far.rtp.packets());
    let segments = analysis::active_segments(&audio, 160, SOUND_RMS, 5);
    assert_eq!(
        segments.len(),
        3,
        "the prompt should be heard 3 times; sound at samples {segments:?}"
    );
    assert_tone(&audio, 600.0, 1.0, "the prompts as received");
}

/// `send_dtmf` on a leg that negotiated telephone-event: the far end
/// receives RFC 4733 events for each digit, in order, each with an end bit.
#[test]
fn send_dtmf_reaches_the_far_end_as_rfc4733() {
    let (daemon, mut control) = parking_daemon("msenddtmf");
    let far = FarEnd::call_in(&daemon, &mut control, "senddtmf");
    let pt = far.telephone_event().expect("telephone-event negotiated");
    let _stream = far.prime();
    far.rtp.clear();
    control.ok(json!({"cmd": "send_dtmf", "leg": far.leg, "digits": "19#", "duration": 0.1}));
    std::thread::sleep(Duration::from_millis(1500));
    let events: Vec<_> = far
        .rtp
        .packets()
        .into_iter()
        .filter(|p| p.header.payload_type == pt)
        .collect();
    // One entry per event (RTP timestamp), in order: its code and whether it ended.
    let mut digits: Vec<(u32, u8, bool)> = Vec::new();
    for packet in &events {
        let (Some(&code), Some(&flags)) = (packet.payload.first(), packet.payload.get(1)) else {
            panic!(
                "a telephone-event payload of {} bytes",
                packet.payload.len()
            );
        };
        let ended = flags & 0x80 != 0;
        match digits.last_mut() {
            Some(last) if last.0 == packet.header.timestamp => {
                assert_eq!(last.1, code, "event code changed within one event");
                last.2 |= ended;
            }
            _ => digits.push((packet.header.timestamp, code, ended)),
        }
    }
    let codes: Vec<(u8, bool)> = digits.iter().map(|d| (d.1, d.2)).collect();
    assert_eq!(
        codes,
        vec![(1, true), (9, true), (11, true)],
        "{} event packets",
        events.len()
    );
}
