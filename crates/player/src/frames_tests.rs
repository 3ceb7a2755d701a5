use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use switchd_media::codec::{AnyCodec, Codec, CodecKind};
use switchd_media::engine::{
    EngineConfig, LegId, LegMedia, MediaDirection, MediaEngine, MediaEvent,
};
use switchd_media::rtp::{RtpHeader, RtpPacket, serialize_rtp};

use super::*;
use crate::FRAME_SAMPLES;
use crate::dtmf::Digit;
use crate::dtmf::goertzel::DetectorConfig;
use crate::dtmf::rfc4733::Rfc4733Sender;
use crate::dtmf::tone;
use crate::recorder::RecorderConfig;
use crate::wav::{LoadLimits, Prompt, load_prompt};

const LEG: LegId = LegId(1);

fn peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40_000))
}

fn engine(now: Instant) -> MediaEngine {
    let mut engine = MediaEngine::new(EngineConfig::default(), now, 3);
    let media = LegMedia {
        local_port: 20_000,
        remote_rtp: Some(peer()),
        remote_rtcp: None,
        codec: CodecKind::Pcmu,
        payload_type: 0,
        telephone_event: Some(101),
        rtcp_mux: true,
        ptime_ms: 20,
        direction: MediaDirection::SendRecv,
    };
    assert_eq!(engine.add_leg(now, LEG, media), Ok(()));
    engine
}

/// Runs the engine's timers until `until`, returning the RTP payloads sent.
fn run(engine: &mut MediaEngine, until: Instant) -> (Vec<RtpPacket>, Vec<MediaEvent>) {
    let mut sent = Vec::new();
    let mut events = Vec::new();
    while let Some(at) = engine.poll_timeout().filter(|at| *at <= until) {
        engine.handle_timeout(at);
        while let Some(transmit) = engine.poll_transmit() {
            if let Ok(packet) = switchd_media::rtp::parse_rtp(transmit.payload) {
                sent.push(packet);
            }
        }
        events.extend(std::iter::from_fn(|| engine.poll_event()));
    }
    (sent, events)
}

#[test]
fn playback_is_a_frame_source() {
    let t0 = Instant::now();
    let mut engine = engine(t0);
    let samples: Vec<i16> = (0..FRAME_SAMPLES * 5 + 10)
        .map(|n| (n % 200) as i16 * 50)
        .collect();
    let playback = Playback::once(Prompt::from_samples(samples));
    assert_eq!(engine.play(t0, LEG, Box::new(playback)), Ok(()));
    let (sent, events) = run(&mut engine, t0 + Duration::from_secs(1));
    // Five whole frames and one padded with silence.
    assert_eq!(sent.len(), 6);
    assert!(events.contains(&MediaEvent::PlayFinished { leg: LEG }));
}

#[test]
fn rfc4733_sender_packets_go_out_through_the_engine() {
    let t0 = Instant::now();
    let mut engine = engine(t0);
    let digit = Digit::from_char('7');
    let packets: Vec<TelephoneEventPacket> = digit
        .map(|digit| Rfc4733Sender::new(160).packets(digit, 800, 0, 10))
        .unwrap_or_default()
        .into_iter()
        .map(TelephoneEventPacket::from)
        .collect();
    assert!(packets.len() > 3);
    assert_eq!(engine.send_dtmf(t0, LEG, &packets), Ok(()));
    let (sent, _) = run(&mut engine, t0 + Duration::from_secs(1));
    assert_eq!(sent.len(), packets.len());
    assert!(sent.iter().all(|p| p.header.payload_type == 101));
    assert_eq!(sent.first().and_then(|p| p.payload.first()), Some(&7));
}

#[test]
fn inband_detector_tap_hears_a_digit_sent_as_audio() {
    let t0 = Instant::now();
    let mut engine = engine(t0);
    let (tap, tones) = InbandDetectorTap::new(GoertzelDetector::new(DetectorConfig::default()));
    assert_eq!(engine.add_tap(t0, LEG, Box::new(tap)), Ok(()));
    let Some(digit) = Digit::from_char('5') else {
        panic!("5 is a digit");
    };
    let mut audio = tone::generate(digit, 8 * 120, 8000.0);
    audio.resize(FRAME_SAMPLES * 30, 0);
    let Ok(mut coder) = AnyCodec::new(CodecKind::Pcmu) else {
        panic!("no PCMU");
    };
    for (n, frame) in audio.chunks(FRAME_SAMPLES).enumerate() {
        let at = t0 + Duration::from_millis(20 * n as u64);
        run(&mut engine, at);
        let mut payload = Vec::new();
        assert_eq!(coder.encode(frame, &mut payload), Ok(()));
        let packet = RtpPacket {
            header: RtpHeader {
                version: 2,
                payload_type: 0,
                sequence_number: n as u16,
                timestamp: 160 * n as u32,
                ssrc: 42,
                ..Default::default()
            },
            payload: payload.into(),
        };
        let mut wire = Vec::new();
        assert_eq!(serialize_rtp(&packet, &mut wire), Ok(()));
        engine.handle_rtp(at, LEG, peer(), &wire);
    }
    run(&mut engine, t0 + Duration::from_secs(2));
    assert_eq!(tones.pop().map(|tone| tone.digit), Some(digit));
    assert_eq!(tones.pop(), None);
}

#[test]
fn recorder_tap_writes_what_the_leg_heard() {
    let dir = std::env::temp_dir().join(format!("switchd-player-{}-frames", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(std::fs::create_dir_all(&dir).is_ok());
    let path: PathBuf = dir.join("leg.wav");
    let t0 = Instant::now();
    let mut engine = engine(t0);
    let Ok(recorder) = Recorder::mixed(&path, RecorderConfig::default()) else {
        panic!("cannot create {}", path.display());
    };
    let (tap, handle) = RecorderTap::new(recorder);
    assert_eq!(engine.add_tap(t0, LEG, Box::new(tap)), Ok(()));
    let prompt = Prompt::from_samples(vec![1000i16; FRAME_SAMPLES * 10]);
    assert_eq!(
        engine.play(t0, LEG, Box::new(Playback::once(prompt))),
        Ok(())
    );
    run(&mut engine, t0 + Duration::from_millis(500));
    let summary = handle.finish().and_then(Result::ok);
    assert_eq!(
        summary.map(|s| s.duration),
        Some(Duration::from_millis(500))
    );
    assert!(handle.finish().is_none());
    let samples = load_prompt(&path, &LoadLimits::default())
        .map(|prompt| prompt.samples().to_vec())
        .unwrap_or_default();
    // The prompt went out (outbound side of the mix); nothing came in.
    assert_eq!(
        samples.iter().filter(|s| **s == 1000).count(),
        FRAME_SAMPLES * 10
    );
    let _ = std::fs::remove_dir_all(&dir);
}
