//! Audio through the real daemon, end to end: far ends built in the harness
//! ([`switchd_tests::audio`]) send and receive RTP on loopback, and each test
//! judges the audio itself (dominant frequency, correlation with the source
//! file), not packet counts alone. Digits are `media_dtmf.rs`'s.

// Test helpers outside `#[test]` functions: failing loudly is their job.
#![allow(clippy::expect_used)]

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchd_tests::audio::analysis;
use switchd_tests::audio::call::{
    FarEnd, assert_leg_state, bridged_pair, clear_and_send, parking_daemon, play_file,
    sound_after_unbridge, stop_recording,
};
use switchd_tests::audio::events::{self, EVENT_TIMEOUT};
use switchd_tests::audio::rtp::pcmu_audio;
use switchd_tests::audio::sender::RtpStream;
use switchd_tests::audio::verdict::{assert_tone, tone_for};
use switchd_tests::audio::{SAMPLE_RATE, wav};
use switchd_tests::{Daemon, DaemonConfig, RouteAction};

/// Test 1: leg A (called in) and leg B (originated) are bridged; A sends
/// 1 kHz while B sends 500 Hz, and each hears the other's tone.
#[test]
fn bridged_legs_hear_each_others_tones() {
    let (daemon, mut control) = parking_daemon("mbridge");
    let (a, b) = bridged_pair(&daemon, &mut control);
    a.rtp.clear();
    b.rtp.clear();
    let from_a = a.stream().spawn_audio(tone_for(1000.0, 2.0));
    let from_b = b.stream().spawn_audio(tone_for(500.0, 2.0));
    let mut from_a = from_a.join().expect("A's sender");
    from_b.join().expect("B's sender");
    std::thread::sleep(Duration::from_millis(300));

    let at_b = b.packets_from_its_leg("B");
    assert_tone(&pcmu_audio(&at_b), 1000.0, 1.5, "audio B received");
    assert_tone(&a.rtp.audio(), 500.0, 1.5, "audio A received");

    // The leg's counters saw A's 100 packets of 160 bytes, and its partner.
    let leg = control.ok(json!({"cmd": "leg", "leg": a.leg}));
    let media = &leg["leg"]["media"];
    assert!(media["packets_in"].as_u64() >= Some(95), "{leg}");
    assert!(media["bytes_in"].as_u64() >= Some(95 * 160), "{leg}");
    assert!(media["packets_out"].as_u64() >= Some(95), "{leg}");
    assert_eq!(media["bridged_with"], b.leg.as_str(), "{leg}");

    // Unbridged, B no longer hears A.
    let after = sound_after_unbridge(
        &mut control,
        &a.leg,
        Duration::from_millis(100),
        &mut from_a,
        &b.rtp,
        &tone_for(1000.0, 0.6),
    );
    assert!(
        after.len() < 160 * 3,
        "B heard {} samples of A after unbridge",
        after.len()
    );
}

/// Test 2: `play` of a generated chirp: the leg receives the file's audio
/// (normalised cross-correlation above 0.9 at the best lag) and
/// `play.finished` follows.
#[test]
fn played_greeting_matches_its_file() {
    let (daemon, mut control) = parking_daemon("mplay");
    let far = FarEnd::call_in(&daemon, &mut control, "greeting");
    let file = daemon.dir().join("greeting.wav");
    let source = wav::make_greeting(&file);
    let _stream = far.prime();
    far.rtp.clear();

    play_file(&mut control, &far.leg, &file).expect("play a valid greeting");
    events::play_through(&mut control, &far.leg, EVENT_TIMEOUT);
    std::thread::sleep(Duration::from_millis(200));

    let received = far.rtp.audio();
    let (lag, score) = analysis::best_alignment(&source, &received, 400)
        .unwrap_or_else(|| panic!("no sound in {} received samples", received.len()));
    assert!(
        score > 0.9,
        "greeting as received correlates {score:.3} with its file (best lag {lag} samples)"
    );
}

/// Test 5: once leg A's far end is known, RTP from another local port
/// (a 3 kHz tone) is not forwarded: B hears A's 1 kHz only.
#[test]
fn stray_rtp_is_not_forwarded() {
    let (daemon, mut control) = parking_daemon("mstray");
    let (a, b) = bridged_pair(&daemon, &mut control);
    let mut from_a = a.stream();
    from_a.send_audio(&tone_for(1000.0, 0.5));
    b.rtp.clear();
    let genuine = from_a.spawn_audio(tone_for(1000.0, 1.5));
    let stray = RtpStream::from_new_socket(a.daemon_rtp()).spawn_audio(tone_for(3000.0, 1.5));
    genuine.join().expect("A's sender");
    stray.join().expect("stray sender");
    std::thread::sleep(Duration::from_millis(300));

    let packets = b.rtp.packets();
    let audio = pcmu_audio(&packets);
    assert_tone(&audio, 1000.0, 1.2, "audio B received");
    let stray_power = analysis::block_power(&audio, 3000.0, SAMPLE_RATE, 1600);
    let genuine_power = analysis::block_power(&audio, 1000.0, SAMPLE_RATE, 1600);
    assert!(
        stray_power < genuine_power / 100.0,
        "3 kHz (stray) power {stray_power:.0} vs 1 kHz {genuine_power:.0}: stray packets were forwarded"
    );
    // 75 genuine packets in 1.8 s (90 slots of 20 ms); strays relayed
    // as they come would make it 150.
    assert!(packets.len() <= 110, "B received {} packets", packets.len());
}

/// Test 6a: garbage and truncated RTP and RTCP, and RTP with a payload type
/// nobody negotiated, at a bridged leg's ports: the daemon lives, the leg
/// stays answered and audio still flows.
#[test]
fn malformed_rtp_and_rtcp_leave_the_call_working() {
    let (mut daemon, mut control) = parking_daemon("mgarbage");
    let (a, b) = bridged_pair(&daemon, &mut control);
    let mut from_a = a.stream();
    from_a.send_audio(&tone_for(1000.0, 0.3));

    let mut garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x80],
        vec![0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0],
        vec![0x00; 40],
        vec![0xC0; 40],
        vec![0xFF; 1400],
        // 15 CSRCs announced, none present.
        vec![0x8F, 0x00, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1],
        // An extension whose length runs past the end.
        vec![
            0x90, 0x00, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0xFF, 0xFF, 1, 2,
        ],
        // Padding longer than the packet.
        vec![
            0xA0, 0x00, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 200,
        ],
        // Padding of zero bytes.
        vec![0xA0, 0x00, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0],
    ];
    garbage.extend((0u8..40).map(|n| (0..n).map(|i| i.wrapping_mul(37) ^ n).collect()));
    let rtcp: Vec<Vec<u8>> = vec![
        vec![0x80, 200],
        vec![0x80, 200, 0xFF, 0xFF, 0, 0, 0, 1],
        vec![0x81, 203, 0, 1],
        vec![0x80, 201, 0, 0x40, 1, 2, 3, 4, 5, 6, 7, 8],
        vec![0x9F, 202, 0, 2, 0, 0, 0, 1, 1, 200],
        vec![0xFF; 600],
    ];
    let stranger = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    for datagram in garbage.iter().chain(&rtcp) {
        for target in [a.daemon_rtp(), a.daemon_rtcp()] {
            let _ = stranger.send_to(datagram, target);
        }
    }
    // From the real far end: the same garbage, and RTP with unnegotiated
    // payload types (PCMA, a dynamic one) and truncated telephone-events.
    for datagram in &garbage {
        from_a.send_raw_bytes(datagram);
    }
    let events = a.telephone_event().expect("telephone-event negotiated");
    for (pt, payload) in [
        (8u8, vec![0xD5; 160]),
        (96, vec![0x55; 160]),
        (events, vec![1]),
        (events, vec![200, 0x80, 0xFF]),
    ] {
        from_a.send_raw(pt, false, 99, &payload);
    }

    std::thread::sleep(Duration::from_millis(200));
    daemon.assert_running();
    control.ping();
    assert_leg_state(&mut control, &a.leg, "answered");
    clear_and_send(&b.rtp, &mut from_a, &tone_for(1000.0, 1.0));
    assert_tone(
        &b.rtp.audio(),
        1000.0,
        0.7,
        "audio B received after the garbage",
    );
}

/// Test 6b: files the daemon cannot play or write are refused with their
/// codes, and the call goes on (a valid prompt still plays to the end).
#[test]
fn unplayable_files_and_unwritable_recordings_are_refused() {
    let (daemon, mut control) = parking_daemon("mbadfiles");
    let far = FarEnd::call_in(&daemon, &mut control, "files");
    let _stream = far.prime();
    let fast = daemon.dir().join("fast-11k.wav");
    wav::make_chirp(&fast, 0.3, 300, 3000, 11_025, 1);
    let stereo = daemon.dir().join("stereo.wav");
    wav::make_chirp(&stereo, 0.3, 300, 3000, SAMPLE_RATE, 2);
    // The contract: a format error names the file and the format it holds.
    for (file, code, mentions) in [
        (&fast, "bad_audio_format", vec!["fast-11k.wav", "11025"]),
        (&stereo, "bad_audio_format", vec!["stereo.wav"]),
        (&daemon.dir().join("missing.wav"), "file_not_found", vec![]),
    ] {
        let error = play_file(&mut control, &far.leg, file).expect_err("an unplayable file");
        assert!(
            error.starts_with(&format!("{code}:")),
            "play {}: {error}",
            file.display()
        );
        for needle in mentions {
            assert!(
                error.contains(needle),
                "the error should mention {needle:?}: {error}"
            );
        }
    }
    let unwritable = daemon.dir().join("no-such-dir").join("call.wav");
    let refused = control
        .call(json!({"cmd": "record", "leg": far.leg, "path": unwritable.to_string_lossy()}));
    assert!(
        refused.is_err(),
        "record into a missing directory: {refused:?}"
    );

    control.ping();
    assert_leg_state(&mut control, &far.leg, "answered");
    let good = daemon.dir().join("good.wav");
    wav::make_tone(&good, 0.5, 700);
    let heard = far.hear_played(&mut control, &good);
    assert_tone(&heard, 700.0, 0.3, "the valid prompt as received");
}

/// Test 7: `record` while the far end sends 800 Hz; `stop_record` brings
/// `record.finished` with the path and a duration, and the file holds the
/// tone.
#[test]
fn recording_holds_the_callers_tone() {
    let (daemon, mut control) = parking_daemon("mrecord");
    let far = FarEnd::call_in(&daemon, &mut control, "record");
    let mut stream = far.prime();
    let path = daemon.dir().join("call.wav");
    control.ok(json!({"cmd": "record", "leg": far.leg, "path": path.to_string_lossy()}));
    stream.send_audio(&tone_for(800.0, 1.5));
    std::thread::sleep(Duration::from_millis(200));
    let finished = stop_recording(&mut control, &far.leg);
    assert_eq!(
        finished["path"],
        path.to_string_lossy().as_ref(),
        "{finished}"
    );
    assert!(
        finished.get("error").is_none_or(Value::is_null),
        "{finished}"
    );
    let duration_ms = finished["duration_ms"].as_u64().unwrap_or(0);
    assert!(
        (1300..=4000).contains(&duration_ms),
        "duration_ms {duration_ms} for ~1.7 s of recording: {finished}"
    );
    let recorded = wav::read(&path);
    assert_eq!((recorded.sample_rate, recorded.channels), (8000, 1));
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert_eq!(finished["bytes"].as_u64(), Some(size), "{finished}");
    assert!(
        recorded.duration_ms().abs_diff(duration_ms) <= 100,
        "file holds {} ms, event says {duration_ms}",
        recorded.duration_ms()
    );
    assert_tone(&recorded.samples, 800.0, 1.2, "the recording");

    // The call goes on after the recording.
    assert_leg_state(&mut control, &far.leg, "answered");
}

/// `echo` reflects the leg's audio back to it; `unbridge` stops that.
#[test]
fn echo_reflects_the_callers_audio_until_unbridged() {
    let (daemon, mut control) = parking_daemon("mecho");
    let far = FarEnd::call_in(&daemon, &mut control, "echo");
    let mut stream = far.prime();
    control.ok(json!({"cmd": "echo", "leg": far.leg}));
    clear_and_send(&far.rtp, &mut stream, &tone_for(1200.0, 1.0));
    assert_tone(&far.rtp.audio(), 1200.0, 0.7, "the echo");

    let after = sound_after_unbridge(
        &mut control,
        &far.leg,
        Duration::from_millis(200),
        &mut stream,
        &far.rtp,
        &tone_for(1200.0, 0.6),
    );
    assert!(
        after.len() < 160 * 3,
        "{} samples of sound came back after unbridge",
        after.len()
    );
}

/// A `split` recording while a 500 Hz prompt plays to the leg and the far
/// end sends 800 Hz: the `-in` file holds what the leg sent, the `-out`
/// file what it was sent.
#[test]
fn split_recording_keeps_the_directions_apart() {
    let (daemon, mut control) = parking_daemon("msplit");
    let far = FarEnd::call_in(&daemon, &mut control, "split");
    let mut stream = far.prime();
    let prompt = daemon.dir().join("prompt.wav");
    wav::make_tone(&prompt, 1.5, 500);
    let path = daemon.dir().join("split.wav");
    control.ok(
        json!({"cmd": "record", "leg": far.leg, "path": path.to_string_lossy(), "mode": "split"}),
    );
    play_file(&mut control, &far.leg, &prompt).expect("play the prompt");
    stream.send_audio(&tone_for(800.0, 1.5));
    events::wait(&mut control, "play.finished", &far.leg, EVENT_TIMEOUT);
    let finished = stop_recording(&mut control, &far.leg);
    assert!(
        finished.get("error").is_none_or(Value::is_null),
        "{finished}"
    );
    let inbound = wav::read(&daemon.dir().join("split-in.wav"));
    let outbound = wav::read(&daemon.dir().join("split-out.wav"));
    assert_tone(&inbound.samples, 800.0, 1.0, "split-in.wav");
    assert_tone(&outbound.samples, 500.0, 1.0, "split-out.wav");
    assert!(
        analysis::block_power(&inbound.samples, 500.0, SAMPLE_RATE, 1600)
            < analysis::block_power(&inbound.samples, 800.0, SAMPLE_RATE, 1600) / 100.0,
        "the prompt leaked into split-in.wav"
    );
}

/// With `media_timeout = 1`, a leg whose far end keeps talking gets no
/// `leg.media_timeout`; once it falls silent, the event comes about 1 s
/// after its last packet.
#[test]
fn silent_leg_reports_media_timeout() {
    let config = DaemonConfig::with_route(RouteAction::Park).set("media", "media_timeout", "1");
    let daemon = Daemon::start("mtimeout", &config);
    let mut control = daemon.control();
    control.subscribe(None);
    let far = FarEnd::call_in(&daemon, &mut control, "timeout");
    let mut stream = far.stream();
    stream.send_audio(&tone_for(440.0, 2.0));
    let silent_since = Instant::now();
    // Whatever came while it talked, and in the 300 ms after.
    events::gather(&mut control, Duration::from_millis(300));
    let early = control
        .seen_events()
        .iter()
        .find(|raw| raw["event"] == "leg.media_timeout")
        .cloned();
    assert_eq!(early, None, "leg.media_timeout while RTP was flowing");
    events::wait_checked(&mut control, "leg.media_timeout", &far.leg, EVENT_TIMEOUT);
    let waited = silent_since.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited <= Duration::from_millis(3500),
        "leg.media_timeout {waited:?} after the last packet, want about 1 s"
    );
}
