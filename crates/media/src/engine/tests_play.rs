//! Playback, the switch from playback to a bridge, transcoding bridges and taps.

use std::time::Duration;

use super::tests_support::*;
use super::*;
use crate::codec::{CodecKind, FRAME_SAMPLES_8K};

fn play_samples(h: &mut Harness, id: LegId, samples: Vec<i16>) {
    let source = SamplesSource {
        samples,
        position: 0,
    };
    assert_eq!(h.engine.play(h.now, id, Box::new(source)), Ok(()));
}

#[test]
fn playback_arrives_intact_then_play_finished() {
    let mut h = Harness::new();
    h.add(A, CodecKind::Pcmu, 0, None);
    let prompt = tone(440.0, 8000.0, 50 * FRAME_SAMPLES_8K);
    play_samples(&mut h, A, prompt.clone());
    h.run_until(h.t0 + Duration::from_secs(2));
    let out = h.rtp_to(A);
    assert_eq!(out.len(), 50);
    assert_follows(&out, Some(160));
    for (n, pair) in out.windows(2).enumerate() {
        let [_, second] = pair else { continue };
        assert!(!second.header.marker, "marker on frame {}", n + 1);
    }
    assert!(out.first().is_some_and(|p| p.header.marker));
    let pcm = decode_packets(CodecKind::Pcmu, &out);
    let score = correlation(&pcm, &prompt);
    assert!(score > 0.99, "correlation {score}");
    let finished = h
        .events
        .iter()
        .find(|(_, e)| *e == MediaEvent::PlayFinished { leg: A });
    let last_sent = h.sent.last().map(|(at, _)| *at);
    assert!(finished.is_some_and(|(at, _)| Some(*at) > last_sent));
    // The tick stopped with the playback: only RTCP and the media timeout remain.
    let idle_from = h.now;
    h.run_until(idle_from + Duration::from_secs(1));
    assert_eq!(h.rtp_to(A).len(), 50);
}

#[test]
fn stop_play_reports_nothing_and_stops_frames() {
    let mut h = Harness::new();
    h.add(A, CodecKind::Pcma, 8, None);
    play_samples(&mut h, A, tone(440.0, 8000.0, 100 * FRAME_SAMPLES_8K));
    h.run_until(h.t0 + Duration::from_millis(200));
    assert!(h.engine.stop_play(h.now, A));
    h.run_until(h.t0 + Duration::from_secs(3));
    assert_eq!(h.rtp_to(A).len(), 10);
    assert!(!h.has_event(&MediaEvent::PlayFinished { leg: A }));
}

#[test]
fn playback_then_bridge_keeps_the_stream_continuous_and_marked() {
    let mut h = Harness::bridged(PCMU, PCMU);
    play_samples(&mut h, B, tone(440.0, 8000.0, 10 * FRAME_SAMPLES_8K));
    let frames: Vec<Vec<u8>> = (0..30).map(|_| vec![0x55; 160]).collect();
    feed(&mut h, A, 0, &frames, 160);
    let out = h.rtp_to(B);
    // 10 prompt frames, then A's packets from the first after PlayFinished (11th tick).
    assert_eq!(out.len(), 10 + 19);
    let ssrc = out.first().map(|p| p.header.ssrc);
    assert!(out.iter().all(|p| Some(p.header.ssrc) == ssrc));
    assert_follows(&out, Some(160));
    for (n, pair) in out.windows(2).enumerate() {
        let [_, second] = pair else { continue };
        assert_eq!(second.header.marker, n + 1 == 10, "marker at {}", n + 1);
    }
    assert_eq!(
        out.get(10).map(|p| p.payload.to_vec()),
        Some(vec![0x55; 160])
    );
}

/// Feeds a tone of `freq` into `from` and returns the frequency heard at `to`.
fn tone_through(
    h: &mut Harness,
    from: (LegId, CodecKind, u8),
    to: (LegId, CodecKind),
    freq: f64,
) -> f64 {
    let (from_id, from_codec, from_pt) = from;
    let sent_before = h.rtp_to(to.0).len();
    let pcm = tone(freq, 8000.0, 100 * FRAME_SAMPLES_8K);
    let frames = encode_frames(from_codec, &pcm);
    feed(
        h,
        from_id,
        from_pt,
        &frames,
        from_codec.rtp_ticks_per_frame(),
    );
    let until = h.now + Duration::from_millis(400);
    h.run_until(until);
    let out: Vec<_> = h.rtp_to(to.0).into_iter().skip(sent_before).collect();
    assert!(
        out.len() >= 90,
        "only {} frames reached the peer",
        out.len()
    );
    let heard = decode_packets(to.1, &out);
    // Skip the jitter buffer's fill and the tail: the steady middle of the tone.
    let middle = heard
        .get(20 * FRAME_SAMPLES_8K..80 * FRAME_SAMPLES_8K)
        .unwrap_or_default();
    assert!(!middle.is_empty());
    frequency(middle)
}

fn transcoding_bridge(a: (CodecKind, u8), b: (CodecKind, u8)) {
    let mut h = Harness::bridged((a.0, a.1, None), (b.0, b.1, None));
    let at_b = tone_through(&mut h, (A, a.0, a.1), (B, b.0), 1000.0);
    assert!((at_b - 1000.0).abs() < 20.0, "A→B heard {at_b} Hz");
    let at_a = tone_through(&mut h, (B, b.0, b.1), (A, a.0), 600.0);
    assert!((at_a - 600.0).abs() < 20.0, "B→A heard {at_a} Hz");
    let to_b = h.rtp_to(B);
    assert!(to_b.iter().all(|p| p.header.payload_type == b.1));
    assert_follows(&to_b, None);
}

#[test]
fn pcmu_pcma_bridge_transcodes_both_ways() {
    transcoding_bridge((CodecKind::Pcmu, 0), (CodecKind::Pcma, 8));
}

#[cfg(feature = "opus")]
#[test]
fn opus_pcmu_bridge_transcodes_both_ways() {
    transcoding_bridge((CodecKind::Opus, 111), (CodecKind::Pcmu, 0));
}

#[test]
fn taps_get_decoded_inbound_and_the_frames_sent() {
    let mut h = Harness::new();
    h.add(A, CodecKind::Pcmu, 0, None);
    let tap = SharedTap::default();
    assert_eq!(h.engine.add_tap(h.now, A, Box::new(tap.clone())), Ok(()));
    play_samples(&mut h, A, tone(1000.0, 8000.0, 100 * FRAME_SAMPLES_8K));
    let frames = encode_frames(
        CodecKind::Pcmu,
        &tone(440.0, 8000.0, 100 * FRAME_SAMPLES_8K),
    );
    feed(&mut h, A, 0, &frames, 160);
    let inbound = tap.inbound_samples();
    let outbound = tap.outbound_samples();
    assert_eq!(inbound.len(), outbound.len());
    let range = 20 * FRAME_SAMPLES_8K..80 * FRAME_SAMPLES_8K;
    let heard_in = frequency(inbound.get(range.clone()).unwrap_or_default());
    let heard_out = frequency(outbound.get(range).unwrap_or_default());
    assert!((heard_in - 440.0).abs() < 15.0, "inbound {heard_in} Hz");
    assert!((heard_out - 1000.0).abs() < 15.0, "outbound {heard_out} Hz");
    assert_eq!(h.engine.remove_taps(h.now, A).len(), 1);
}

#[test]
fn reinvite_to_another_codec_turns_the_relay_into_transcoding() {
    let mut h = Harness::bridged(PCMU, PCMU);
    let before = h.engine.poll_timeout();
    assert_eq!(
        h.engine
            .update_leg(h.now, B, media(B, CodecKind::Pcma, 8, None)),
        Ok(())
    );
    // Transcoding needs the 20 ms tick again.
    assert!(h.engine.poll_timeout() < before);
    let heard = tone_through(
        &mut h,
        (A, CodecKind::Pcmu, 0),
        (B, CodecKind::Pcma),
        1000.0,
    );
    assert!((heard - 1000.0).abs() < 20.0, "heard {heard} Hz");
    assert!(h.rtp_to(B).iter().all(|p| p.header.payload_type == 8));
}
