use super::*;

const FRAME: Duration = Duration::from_millis(20);
const SSRC: u32 = 0x1111;

fn buffer() -> JitterBuffer {
    JitterBuffer::new(JitterConfig::voice(8000))
}

fn payload(n: u32) -> Bytes {
    Bytes::copy_from_slice(&n.to_be_bytes())
}

/// Timestamps of the audio frames in `frames`, `None` for concealment.
fn timestamps(frames: &[Frame]) -> Vec<Option<u32>> {
    frames
        .iter()
        .filter(|f| **f != Frame::Silence)
        .map(|f| match f {
            Frame::Audio { timestamp, .. } => Some(*timestamp),
            _ => None,
        })
        .collect()
}

#[test]
fn waits_for_min_delay_then_plays_in_order() {
    let mut jb = buffer();
    let t0 = Instant::now();
    jb.insert(t0, SSRC, 1000, payload(0));
    assert_eq!(jb.pop(t0), Frame::Silence);
    assert_eq!(jb.poll_timeout(), Some(t0 + Duration::from_millis(40)));
    jb.insert(t0 + FRAME, SSRC, 1160, payload(1));
    assert_eq!(jb.pop(t0 + FRAME), Frame::Silence);
    jb.insert(t0 + FRAME * 2, SSRC, 1320, payload(2));
    assert_eq!(
        jb.pop(t0 + FRAME * 2),
        Frame::Audio {
            payload: payload(0),
            timestamp: 1000
        }
    );
    assert_eq!(jb.poll_timeout(), None);
    let next = jb.pop(t0 + FRAME * 3);
    assert_eq!(timestamps(&[next]), vec![Some(1160)]);
}

#[test]
fn reorders_and_drops_duplicates() {
    let mut jb = buffer();
    let t0 = Instant::now();
    for n in [0u32, 2, 1, 2] {
        jb.insert(t0, SSRC, n * 160, payload(n));
    }
    let parsed = crate::rtp::RtpPacket {
        header: crate::rtp::RtpHeader {
            ssrc: SSRC,
            timestamp: 480,
            ..Default::default()
        },
        payload: payload(3),
    };
    jb.insert_packet(t0, &parsed);
    assert_eq!(jb.stats().duplicates, 1);
    let frames: Vec<_> = (1..=4).map(|k| jb.pop(t0 + FRAME * (k + 1))).collect();
    assert_eq!(
        timestamps(&frames),
        vec![Some(0), Some(160), Some(320), Some(480)]
    );
}

#[test]
fn lost_packet_is_concealed_and_late_one_dropped() {
    let mut jb = buffer();
    let t0 = Instant::now();
    for n in [0u32, 1, 3, 4] {
        jb.insert(t0, SSRC, n * 160, payload(n));
    }
    let mut frames: Vec<_> = (0..3).map(|k| jb.pop(t0 + FRAME * (k + 2))).collect();
    // Packet 2 turns up after its slot was concealed.
    jb.insert(t0 + FRAME * 5, SSRC, 320, payload(2));
    assert_eq!(jb.stats().late, 1);
    assert_eq!(timestamps(&frames), vec![Some(0), Some(160), None]);
    // The late arrival raised the jitter estimate, so the buffer may stretch now: the
    // remaining audio still comes out, in order, with no further loss.
    frames.extend((3..10).map(|k| jb.pop(t0 + FRAME * (k + 2))));
    let played: Vec<u32> = timestamps(&frames).into_iter().flatten().collect();
    assert_eq!(played, vec![0, 160, 480, 640]);
    assert_eq!(jb.stats().lost, 1);
}

#[test]
fn timestamp_wrap_is_seamless() {
    let mut jb = buffer();
    let t0 = Instant::now();
    let base = u32::MAX - 319;
    for n in 0..5u32 {
        jb.insert(t0, SSRC, base.wrapping_add(n * 160), payload(n));
    }
    let frames: Vec<_> = (0..5).map(|k| jb.pop(t0 + FRAME * (k + 2))).collect();
    let expected: Vec<_> = (0..5u32)
        .map(|n| Some(base.wrapping_add(n * 160)))
        .collect();
    assert_eq!(timestamps(&frames), expected);
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn ssrc_change_resets_and_refills() {
    let mut jb = buffer();
    let t0 = Instant::now();
    for n in 0..3u32 {
        jb.insert(t0, SSRC, n * 160, payload(n));
    }
    assert!(matches!(jb.pop(t0 + FRAME * 2), Frame::Audio { .. }));
    let t1 = t0 + FRAME * 3;
    jb.insert(t1, 0x2222, 90_000, payload(9));
    assert_eq!(jb.stats().resets, 1);
    assert_eq!(jb.len(), 1);
    assert_eq!(jb.pop(t1), Frame::Silence);
    jb.insert(t1 + FRAME, 0x2222, 90_160, payload(10));
    assert_eq!(timestamps(&[jb.pop(t1 + FRAME * 2)]), vec![Some(90_000)]);
}

#[test]
fn timestamp_jump_without_ssrc_change_resets() {
    let mut jb = buffer();
    let t0 = Instant::now();
    jb.insert(t0, SSRC, 0, payload(0));
    jb.insert(t0, SSRC, 8000 * 60, payload(1));
    assert_eq!(jb.stats().resets, 1);
    assert_eq!(jb.len(), 1);
}

#[test]
fn bounded_size_drops_oldest() {
    let mut jb = JitterBuffer::new(JitterConfig {
        capacity: 5,
        ..JitterConfig::voice(8000)
    });
    let t0 = Instant::now();
    for n in 0..8u32 {
        jb.insert(t0, SSRC, n * 160, payload(n));
    }
    assert_eq!(jb.len(), 5);
    assert_eq!(jb.stats().overflow, 3);
    let first = jb.pop(t0 + FRAME * 2);
    assert!(matches!(first, Frame::Audio { timestamp, .. } if timestamp >= 3 * 160));
}

#[test]
fn target_delay_follows_jitter_within_bounds() {
    let t0 = Instant::now();
    let mut steady = buffer();
    let mut wobbly = buffer();
    let mut wild = buffer();
    for n in 0..300u32 {
        let at = t0 + FRAME * n;
        steady.insert(at, SSRC, n * 160, payload(n));
        let late = if n % 2 == 0 {
            Duration::from_millis(30)
        } else {
            Duration::ZERO
        };
        wobbly.insert(at + late, SSRC, n * 160, payload(n));
        let very_late = if n % 2 == 0 {
            Duration::from_millis(400)
        } else {
            Duration::ZERO
        };
        wild.insert(at + very_late, SSRC, n * 160, payload(n));
        // Keep the buffers from overflowing.
        steady.pop(at);
        wobbly.pop(at);
        wild.pop(at);
    }
    assert_eq!(steady.target_delay(), Duration::from_millis(40));
    // 30 ms of alternating delay: jitter ≈ 240 ticks, target 4 × 30 ms = 120 ms.
    let target = wobbly.target_delay();
    assert!(
        target > Duration::from_millis(100) && target <= Duration::from_millis(120),
        "{target:?}"
    );
    assert_eq!(wild.target_delay(), Duration::from_millis(200));
}

#[test]
fn delay_grows_by_stretching_and_shrinks_by_dropping() {
    let mut jb = buffer();
    let t0 = Instant::now();
    let mut frames = Vec::new();
    // 100 packets on time, then 200 with alternating 30 ms extra delay.
    for n in 0..300u32 {
        let late = if n >= 100 && n % 2 == 0 {
            Duration::from_millis(30)
        } else {
            Duration::ZERO
        };
        jb.insert(t0 + FRAME * n + late, SSRC, n * 160, payload(n));
        frames.push(jb.pop(t0 + FRAME * n + Duration::from_millis(10)));
    }
    assert!(jb.stats().stretched > 0, "{:?}", jb.stats());
    let played: Vec<u32> = timestamps(&frames).into_iter().flatten().collect();
    assert!(played.windows(2).all(|w| w[0] < w[1]), "playout order");
    // After the jitter, a burst of 20 queued packets makes the buffer too deep: it drops.
    let t1 = t0 + FRAME * 300;
    for n in 300..320u32 {
        jb.insert(t1, SSRC, n * 160, payload(n));
    }
    let shrunk_before = jb.stats().shrunk;
    for k in 0..5 {
        jb.pop(t1 + FRAME * k);
    }
    assert!(jb.stats().shrunk > shrunk_before);
}

#[test]
fn long_underrun_returns_to_silence() {
    let mut jb = buffer();
    let t0 = Instant::now();
    for n in 0..3u32 {
        jb.insert(t0, SSRC, n * 160, payload(n));
    }
    let frames: Vec<_> = (0..20).map(|k| jb.pop(t0 + FRAME * (k + 2))).collect();
    assert_eq!(
        frames
            .iter()
            .filter(|f| matches!(f, Frame::Audio { .. }))
            .count(),
        3
    );
    assert!(frames.contains(&Frame::Conceal));
    assert_eq!(frames.last(), Some(&Frame::Silence));
    assert_eq!(jb.stats().lost, 0);
    assert_eq!(jb.stats().underruns, 11);
}
