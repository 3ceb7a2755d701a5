//! Opus (libopus, 8 kHz mono, VoIP) encode and decode of one 20 ms frame.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use switchd_media::codec::opus::OpusCodec;
use switchd_media::codec::{Codec, FRAME_SAMPLES_8K};

fn opus(c: &mut Criterion) {
    let pcm: Vec<i16> = (0..FRAME_SAMPLES_8K)
        .map(|n| (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / 8000.0).sin()) as i16)
        .collect();
    let Ok(mut codec) = OpusCodec::new() else {
        return;
    };
    let mut payload = Vec::with_capacity(1500);
    let mut decoded = Vec::with_capacity(960);
    let mut group = c.benchmark_group("media_opus");
    group.bench_function("encode_20ms", |b| {
        b.iter(|| {
            payload.clear();
            let _ = codec.encode(black_box(&pcm), &mut payload);
            payload.len()
        })
    });
    payload.clear();
    let _ = codec.encode(&pcm, &mut payload);
    assert!(!payload.is_empty());
    group.bench_function("decode_20ms", |b| {
        b.iter(|| {
            decoded.clear();
            let _ = codec.decode(black_box(&payload), &mut decoded);
            decoded.len()
        })
    });
    group.bench_function("conceal_20ms", |b| {
        b.iter(|| {
            decoded.clear();
            let _ = codec.conceal(&mut decoded);
            decoded.len()
        })
    });
    group.finish();
}

criterion_group!(benches, opus);
criterion_main!(benches);
