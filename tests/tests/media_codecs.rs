//! Codecs and prompts through the real daemon, end to end: legs that offer
//! different codecs bridged together (transcoding), early media played
//! before the answer, and text to speech. Far ends are the harness's own
//! ([`switchd_tests::audio`]); each test judges the audio it received.

// Test helpers outside `#[test]` functions: failing loudly is their job.
#![allow(clippy::expect_used)]

use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use switchd_tests::audio::analysis;
use switchd_tests::audio::call::{FarEnd, assert_leg_state, parking_daemon, play_file};
use switchd_tests::audio::codecs::{CodecStream, FarCodec, decode_packets};
use switchd_tests::audio::events::{self, EVENT_TIMEOUT};
use switchd_tests::audio::parked::ParkedCall;
use switchd_tests::audio::rtp::{ReceivedPacket, pcmu_timeline};
use switchd_tests::audio::verdict::{SOUND_RMS, assert_tone, sound_only, tone_for};
use switchd_tests::audio::{SAMPLE_RATE, wav};
use switchd_tests::config::toml_string;
use switchd_tests::scratch::ScratchDir;
use switchd_tests::{Control, Daemon, DaemonConfig, RouteAction};

/// Synthesis runs espeak-ng once; on a loaded CI machine that can be slow.
const TTS_TIMEOUT: Duration = Duration::from_secs(30);

/// Leg A calls in offering `codec` only; leg B is originated and answers
/// PCMU; the two are bridged.
fn mixed_pair(daemon: &Daemon, control: &mut Control, codec: FarCodec) -> (FarEnd, FarEnd) {
    let a = ParkedCall::place(daemon, control, "mixed", |port| codec.sdp(port)).answer(control);
    let answered = &a.dialog.remote_sdp;
    assert_eq!(
        answered.formats.first(),
        Some(&codec.payload_type()),
        "the daemon's answer to an offer of {} alone: {answered:?}",
        codec.rtpmap()
    );
    let b = FarEnd::call_out(daemon, control, "b1");
    let reply = control.ok(json!({"cmd": "bridge", "leg": a.leg, "other": b.leg}));
    assert_eq!(reply["leg"]["id"], a.leg.as_str(), "bridge reply: {reply}");
    (a, b)
}

/// Asserts that every packet in `packets` carries `codec`'s payload type and
/// that timestamps advance by its RTP clock (packet to packet, allowing
/// for a lost or late one: a whole number of frames).
fn assert_codec_packets(packets: &[ReceivedPacket], codec: FarCodec, what: &str) {
    let types: Vec<u8> = packets.iter().map(|p| p.header.payload_type).collect();
    assert!(
        types.iter().all(|&pt| pt == codec.payload_type()),
        "{what}: payload types {types:?}, want {} only",
        codec.payload_type()
    );
    let frame = codec.ticks_per_frame();
    let steps: Vec<u32> = packets
        .windows(2)
        .filter(|w| w[0].header.ssrc == w[1].header.ssrc)
        .map(|w| w[1].header.timestamp.wrapping_sub(w[0].header.timestamp))
        .collect();
    let regular = steps.iter().filter(|&&step| step == frame).count();
    assert!(
        regular * 10 >= steps.len() * 9 && steps.iter().all(|&step| step % frame == 0),
        "{what}: timestamp steps {steps:?}, want {frame} per 20 ms"
    );
}

/// Bridges a leg speaking `codec` to a PCMU leg; A sends 1 kHz, B 500 Hz,
/// and each hears the other's tone in its own codec.
fn tones_cross_a_transcoding_bridge(label: &str, codec: FarCodec) {
    let (daemon, mut control) = parking_daemon(label);
    let (a, b) = mixed_pair(&daemon, &mut control, codec);
    a.rtp.clear();
    b.rtp.clear();
    let from_a = CodecStream::new(a.stream(), codec).spawn_audio(tone_for(1000.0, 2.0));
    let from_b = b.stream().spawn_audio(tone_for(500.0, 2.0));
    from_a.join().expect("A's sender");
    from_b.join().expect("B's sender");
    std::thread::sleep(Duration::from_millis(300));

    let at_b = b.rtp.packets();
    assert!(!at_b.is_empty(), "B received no RTP from A's {codec:?}");
    assert_codec_packets(&at_b, FarCodec::Pcmu, "RTP to B");
    assert_tone(
        &decode_packets(FarCodec::Pcmu, &at_b),
        1000.0,
        1.5,
        &format!("audio B received (A sent {codec:?})"),
    );

    let at_a = a.rtp.packets();
    assert!(!at_a.is_empty(), "A ({codec:?}) received no RTP from B");
    assert_codec_packets(&at_a, codec, &format!("RTP to A ({codec:?})"));
    assert_tone(
        &decode_packets(codec, &at_a),
        500.0,
        1.5,
        &format!("audio A received as {codec:?}"),
    );

    let leg = control.ok(json!({"cmd": "leg", "leg": a.leg}));
    let expected = match codec {
        FarCodec::Opus => "opus",
        FarCodec::Pcma => "PCMA",
        FarCodec::Pcmu => "PCMU",
    };
    assert_eq!(leg["leg"]["codec"], expected, "{leg}");
}

/// Opus (PT 111, 48 kHz RTP clock) on one side, PCMU on the other.
#[test]
fn opus_and_pcmu_legs_hear_each_other() {
    tones_cross_a_transcoding_bridge("copus", FarCodec::Opus);
}

/// PCMA on one side, PCMU on the other.
#[test]
fn pcma_and_pcmu_legs_hear_each_other() {
    tones_cross_a_transcoding_bridge("cpcma", FarCodec::Pcma);
}

/// Early media: `ring` with 183 gives the far end an SDP; a greeting
/// `play`ed then reaches it before any answer (correlation with the file
/// above 0.9), `play.finished` follows, and `answer` then works: the call
/// goes on and a second prompt is heard.
#[test]
fn greeting_plays_as_early_media_before_the_answer() {
    let (daemon, mut control) = parking_daemon("cearly");
    let mut parked = ParkedCall::place(&daemon, &mut control, "early", |port| {
        FarCodec::Pcmu.sdp(port)
    });
    control.ok(json!({"cmd": "ring", "leg": parked.leg, "status": 183}));
    let early_sdp = parked.await_early_media(EVENT_TIMEOUT);
    assert_eq!(
        early_sdp.formats.first(),
        Some(&0),
        "183 SDP: {early_sdp:?}"
    );
    // Phones talk first; a daemon latching onto the source gets one.
    let mut stream = parked.rtp.stream_to(early_sdp.rtp_addr());
    stream.send_silence(Duration::from_millis(100));

    let file = daemon.dir().join("greeting.wav");
    let source = wav::make_greeting(&file);
    parked.rtp.clear();
    play_file(&mut control, &parked.leg, &file).expect("play a greeting on an early leg");
    events::play_through(&mut control, &parked.leg, EVENT_TIMEOUT);
    std::thread::sleep(Duration::from_millis(200));

    let leg = control.ok(json!({"cmd": "leg", "leg": parked.leg}));
    assert_eq!(
        leg["leg"]["state"], "early",
        "after the 183 and before any answer: {leg}"
    );
    let packets = parked.rtp.packets();
    assert!(
        packets.iter().all(|p| p.from == early_sdp.rtp_addr()),
        "early media from somewhere other than the 183's {}",
        early_sdp.rtp_addr()
    );
    let received = decode_packets(FarCodec::Pcmu, &packets);
    let (lag, score) = analysis::best_alignment(&source, &received, 400).unwrap_or_else(|| {
        panic!(
            "no sound in {} samples of early media received",
            received.len()
        )
    });
    assert!(
        score > 0.9,
        "greeting as early media correlates {score:.3} with its file (best lag {lag} samples)"
    );

    let far = parked.answer(&mut control);
    assert_leg_state(&mut control, &far.leg, "answered");
    let prompt = daemon.dir().join("after.wav");
    wav::make_tone(&prompt, 0.8, 700);
    let heard = far.hear_played(&mut control, &prompt);
    assert_tone(&heard, 700.0, 0.5, "the prompt after the answer");
}

/// Panics, naming the package, unless espeak-ng can be run: CI installs it
/// (scripts/ensure-deps.sh), so a missing one is a broken machine, not a
/// reason to skip.
fn require_espeak_ng() {
    let ran = Command::new("espeak-ng").arg("--version").output();
    match ran {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "espeak-ng --version failed ({}): {}; install the Debian package espeak-ng",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) => panic!(
            "cannot run espeak-ng ({e}): install the Debian package espeak-ng \
             (scripts/ensure-deps.sh does in CI)"
        ),
    }
}

/// The WAV files in `dir` (none when it does not exist).
fn wav_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".wav"))
                .collect()
        })
        .unwrap_or_default()
}

/// TTS: `play {text}` synthesizes with espeak-ng into the configured cache,
/// reports `play.started` and `play.finished`, and the far end receives
/// speech: at least half a second of sound whose loudness varies as speech
/// does (a tone or a constant hiss would not).
#[test]
fn text_is_spoken_to_the_leg() {
    require_espeak_ng();
    let cache = ScratchDir::new("ctts-cache");
    let cache_dir = cache.join("tts");
    let config = DaemonConfig::with_route(RouteAction::Park).set(
        "media",
        "tts_cache",
        toml_string(&cache_dir.to_string_lossy()),
    );
    let daemon = Daemon::start("ctts", &config);
    let mut control = daemon.control();
    control.subscribe(None);
    let far = FarEnd::call_in(&daemon, &mut control, "tts");
    let _stream = far.prime();
    far.rtp.clear();

    control
        .call(json!({"cmd": "play", "leg": far.leg, "text": "hello world"}))
        .unwrap_or_else(|e| panic!("play text: {}: {}", e.code, e.message));
    events::play_through(&mut control, &far.leg, TTS_TIMEOUT);
    std::thread::sleep(Duration::from_millis(200));

    let cached = wav_files(&cache_dir);
    assert_eq!(
        cached.len(),
        1,
        "one synthesized WAV in the tts_cache {}: {cached:?}",
        cache_dir.display()
    );
    let audio = pcmu_timeline(&far.rtp.packets());
    let sound = sound_only(&audio);
    let seconds = sound.len() as f64 / f64::from(SAMPLE_RATE);
    assert!(
        (0.3..=5.0).contains(&seconds),
        "{seconds:.2} s of sound (20 ms frames above RMS {SOUND_RMS}) in {:.2} s received; \
         \"hello world\" spoken is about 1 s",
        audio.len() as f64 / f64::from(SAMPLE_RATE)
    );
    let loudness: Vec<f64> = sound.chunks(160).map(analysis::rms).collect();
    let loudest = loudness.iter().copied().fold(0.0, f64::max);
    let mut sorted = loudness.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    assert!(
        loudest > SOUND_RMS * 5.0 && loudest > median * 1.5,
        "speech rises and falls: loudest frame RMS {loudest:.0}, median {median:.0}"
    );
}
