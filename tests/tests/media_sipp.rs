//! Audio through the real daemon with sipp as one of the far ends: sipp
//! streams a sox-made μ-law tone into a call (`rtp_stream`), or answers a
//! call and sends back every RTP packet it receives (`-rtp_echo`), so the
//! daemon's relaying, playing and recording meet an RTP stack that is not
//! ours. Our own far end ([`FarEnd`]) sits on the other side of the bridge,
//! and every test judges the audio itself (dominant frequency, correlation
//! with the source file). Everything stays on loopback.

// Test helpers outside `#[test]` functions: failing loudly is their job.
#![allow(clippy::expect_used)]

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchd_tests::audio::call::{
    FarEnd, SETUP_TIMEOUT, clear_and_send, parking_daemon, play_file, stop_recording,
};
use switchd_tests::audio::events::{self, EVENT_TIMEOUT};
use switchd_tests::audio::rtp::pcmu_audio;
use switchd_tests::audio::verdict::{assert_tone, tone_for};
use switchd_tests::audio::{SAMPLE_RATE, analysis, wav};
use switchd_tests::sipp::{RunningSipp, Scenario, Sipp};
use switchd_tests::{Control, Daemon};

/// How long a sipp of these tests may run in all: each call lasts seconds.
const SIPP_TIMEOUT: Duration = Duration::from_secs(30);
/// The placeholder for the streamed file in `uac_rtp_stream.xml`.
const STREAM_FILE: &str = "STREAM_FILE";

/// `uac_rtp_stream.xml` copied into `dir` with its stream file set to
/// `stream` (sipp opens it relative to its working directory otherwise).
fn stream_scenario(dir: &Path, stream: &Path) -> PathBuf {
    let template = switchd_tests::scenario_path("uac_rtp_stream.xml");
    let text = std::fs::read_to_string(&template).expect("read uac_rtp_stream.xml");
    let stream = stream.to_string_lossy();
    // sipp splits the attribute at commas and keeps 255 bytes of the name.
    assert!(
        !stream.contains(',') && stream.len() < 256 && text.contains(STREAM_FILE),
        "cannot name {stream} in the scenario"
    );
    let path = dir.join("uac_rtp_stream.xml");
    std::fs::write(&path, text.replace(STREAM_FILE, &stream)).expect("write the scenario");
    path
}

/// A sipp answering one call with PCMU and echoing its RTP (`-rtp_echo`).
fn echoing_uas(daemon: &Daemon) -> RunningSipp {
    Sipp::scenario("uas_rtp_echo.xml", daemon.dir().path(), "uas")
        .arg("-rtp_echo")
        .timeout(SIPP_TIMEOUT, true)
        .spawn()
}

/// `originate`s leg `leg` to `uas` and waits until it is answered.
fn originate_to(control: &mut Control, uas: &RunningSipp, leg: &str) {
    control.ok(json!({"cmd": "originate", "to": uas.uri("echo"), "leg": leg, "ring_timeout": 5}));
    events::wait_checked(control, "leg.answered", leg, SETUP_TIMEOUT);
}

/// Hangs up `leg` (sipp's BYE ends its scenario) and waits for it to end.
fn hang_up(control: &mut Control, leg: &str) {
    control.ok(json!({"cmd": "hangup", "leg": leg}));
    events::wait_checked(control, "leg.hungup", leg, EVENT_TIMEOUT);
}

/// The leg's media counters (`leg` → `media`).
fn media_of(control: &mut Control, leg: &str) -> Value {
    control.ok(json!({"cmd": "leg", "leg": leg}))["leg"]["media"].clone()
}

/// Test 1: sipp calls into a `park` route streaming a sox-made 1 kHz μ-law
/// tone; the test answers it and bridges it to a leg originated to our far
/// end, which hears 1 kHz.
#[test]
fn sipp_streamed_tone_reaches_the_bridged_far_end() {
    let (daemon, mut control) = parking_daemon("sippstream");
    let tone = daemon.dir().join("tone-1k.ul");
    wav::make_ulaw_tone(&tone, 5.0, 1000);
    let scenario = stream_scenario(daemon.dir().path(), &tone);
    let uac = Sipp::new(Scenario::File(scenario), daemon.dir().path(), "uac")
        .remote(daemon.sip_addr())
        .arg("-s")
        .arg("tone")
        .timeout(SIPP_TIMEOUT, true)
        .spawn();

    let from_sipp = events::incoming_leg(&mut control, SETUP_TIMEOUT, |_| true);
    control.ok(json!({"cmd": "answer", "leg": from_sipp}));
    events::wait_checked(&mut control, "leg.answered", &from_sipp, SETUP_TIMEOUT);
    let far = FarEnd::call_out(&daemon, &mut control, "b1");
    let _stream = far.prime();
    control.ok(json!({"cmd": "bridge", "leg": from_sipp, "other": far.leg}));
    far.rtp.clear();
    std::thread::sleep(Duration::from_secs(2));

    let packets = far.packets_from_its_leg("the far end");
    assert_tone(
        &pcmu_audio(&packets),
        1000.0,
        1.5,
        "audio from sipp's rtp_stream as our far end received it",
    );
    let media = media_of(&mut control, &from_sipp);
    assert!(
        media["packets_in"].as_u64() >= Some(75),
        "sipp's leg counted too few packets in: {media}"
    );

    hang_up(&mut control, &from_sipp);
    uac.wait().assert_all_successful(1);
}

/// Test 2: our far end sends 500 Hz across a bridge to a leg originated to
/// a sipp that echoes its RTP: the tone crosses the bridge to sipp and back
/// again, and our far end hears 500 Hz.
#[test]
fn tone_echoed_by_sipp_crosses_the_bridge_back() {
    let (daemon, mut control) = parking_daemon("sippecho");
    let uas = echoing_uas(&daemon);
    let far = FarEnd::call_in(&daemon, &mut control, "talker");
    originate_to(&mut control, &uas, "s1");
    let mut stream = far.prime();
    control.ok(json!({"cmd": "bridge", "leg": far.leg, "other": "s1"}));
    clear_and_send(&far.rtp, &mut stream, &tone_for(500.0, 2.0));

    let packets = far.packets_from_its_leg("the far end");
    assert_tone(
        &pcmu_audio(&packets),
        500.0,
        1.5,
        "our tone after sipp echoed it",
    );
    // sipp's leg both sent the tone to sipp and received it back.
    let media = media_of(&mut control, "s1");
    assert!(
        media["packets_out"].as_u64() >= Some(95) && media["packets_in"].as_u64() >= Some(95),
        "sipp's leg: {media}"
    );

    hang_up(&mut control, "s1");
    uas.wait().assert_all_successful(1);
}

/// Test 3: a sox chirp `play`ed to a leg originated to an echoing sipp,
/// recorded in `split` mode: the `-out` file holds the chirp as sent, and
/// the `-in` file (what sipp sent back) correlates with the source above
/// 0.9 at the best lag.
#[test]
fn greeting_echoed_by_sipp_is_recorded_intact() {
    let (daemon, mut control) = parking_daemon("sippgreet");
    let uas = echoing_uas(&daemon);
    originate_to(&mut control, &uas, "g1");
    let greeting = daemon.dir().join("greeting.wav");
    let source = wav::make_greeting(&greeting);

    let path = daemon.dir().join("echoed.wav");
    control
        .ok(json!({"cmd": "record", "leg": "g1", "path": path.to_string_lossy(), "mode": "split"}));
    play_file(&mut control, "g1", &greeting).expect("play the greeting");
    events::wait_checked(&mut control, "play.finished", "g1", EVENT_TIMEOUT);
    // The last echoes are a loopback round trip behind.
    std::thread::sleep(Duration::from_millis(300));
    let finished = stop_recording(&mut control, "g1");
    assert!(
        finished.get("error").is_none_or(Value::is_null),
        "{finished}"
    );

    for (name, what) in [
        ("echoed-out.wav", "the greeting as sent to sipp"),
        ("echoed-in.wav", "the greeting as sipp echoed it"),
    ] {
        let recorded = wav::read(&daemon.dir().join(name));
        assert_eq!(
            (recorded.sample_rate, recorded.channels),
            (SAMPLE_RATE, 1),
            "{name}"
        );
        let (lag, score) = analysis::best_alignment(&source, &recorded.samples, 400)
            .unwrap_or_else(|| {
                panic!(
                    "{what} ({name}): no sound in {} samples",
                    recorded.samples.len()
                )
            });
        assert!(
            score > 0.9,
            "{what} ({name}) correlates {score:.3} with the file (best lag {lag} samples)"
        );
    }

    hang_up(&mut control, "g1");
    uas.wait().assert_all_successful(1);
}
