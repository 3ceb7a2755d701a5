//! In-band DTMF detection: one 20 ms frame (160 samples) through the Goertzel detector, as
//! the daemon does per frame per leg with in-band detection on. Speech-like audio takes
//! the full classification path of every block; a key press adds the tone bookkeeping.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchd_player::dtmf::goertzel::{DetectorConfig, GoertzelDetector};
use switchd_player::dtmf::{Digit, tone};

/// One second of a harmonic-rich voiced sound (fundamental 140 Hz).
fn voiced() -> Vec<i16> {
    (0..8000)
        .map(|n| {
            let t = n as f32 / 8000.0;
            let v: f32 = (1..=20)
                .map(|k| {
                    1500.0 / k as f32 * (2.0 * std::f32::consts::PI * 140.0 * k as f32 * t).sin()
                })
                .sum();
            v as i16
        })
        .collect()
}

/// One second of key presses: 100 ms of a digit, 100 ms of silence, five times.
fn keys() -> Vec<i16> {
    let mut samples = Vec::with_capacity(8000);
    for digit in Digit::ALL.iter().take(5) {
        samples.extend(tone::generate(*digit, 800, 5000.0));
        samples.extend(std::iter::repeat_n(0, 800));
    }
    samples
}

fn goertzel(c: &mut Criterion) {
    let mut group = c.benchmark_group("player_goertzel");
    group.throughput(Throughput::Elements(1));
    for (name, signal) in [("frame_voiced", voiced()), ("frame_keys", keys())] {
        group.bench_function(name, |b| {
            let mut detector = GoertzelDetector::new(DetectorConfig::default());
            let mut frames = signal.chunks_exact(160).cycle();
            b.iter(|| {
                let frame = frames.next().unwrap_or(&[0; 160]);
                detector.push_samples(black_box(frame));
                black_box(detector.poll_tone())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, goertzel);
criterion_main!(benches);
