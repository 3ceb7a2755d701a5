//! G.711 encode/decode of one 20 ms frame: the table lookups the codec uses against the
//! segment method they are built from (the reason the tables are used).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchd_media::codec::g711::{
    G711, Law, alaw_encode, alaw_encode_segment, ulaw_decode, ulaw_decode_segment, ulaw_encode,
    ulaw_encode_segment,
};
use switchd_media::codec::{Codec, FRAME_SAMPLES_8K};

fn frame() -> Vec<i16> {
    (0..FRAME_SAMPLES_8K)
        .map(|n| (12000.0 * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / 8000.0).sin()) as i16)
        .collect()
}

fn g711(c: &mut Criterion) {
    let pcm = frame();
    let mut group = c.benchmark_group("media_g711");
    group.throughput(Throughput::Elements(FRAME_SAMPLES_8K as u64));
    let mut out = Vec::with_capacity(FRAME_SAMPLES_8K);
    group.bench_function("ulaw_encode_table", |b| {
        b.iter(|| {
            out.clear();
            out.extend(black_box(&pcm).iter().map(|&s| ulaw_encode(s)));
            out.len()
        })
    });
    group.bench_function("ulaw_encode_segment", |b| {
        b.iter(|| {
            out.clear();
            out.extend(black_box(&pcm).iter().map(|&s| ulaw_encode_segment(s)));
            out.len()
        })
    });
    group.bench_function("alaw_encode_table", |b| {
        b.iter(|| {
            out.clear();
            out.extend(black_box(&pcm).iter().map(|&s| alaw_encode(s)));
            out.len()
        })
    });
    group.bench_function("alaw_encode_segment", |b| {
        b.iter(|| {
            out.clear();
            out.extend(black_box(&pcm).iter().map(|&s| alaw_encode_segment(s)));
            out.len()
        })
    });
    let encoded: Vec<u8> = pcm.iter().map(|&s| ulaw_encode(s)).collect();
    let mut decoded = Vec::with_capacity(FRAME_SAMPLES_8K);
    group.bench_function("ulaw_decode_table", |b| {
        b.iter(|| {
            decoded.clear();
            decoded.extend(black_box(&encoded).iter().map(|&c| ulaw_decode(c)));
            decoded.len()
        })
    });
    group.bench_function("ulaw_decode_segment", |b| {
        b.iter(|| {
            decoded.clear();
            decoded.extend(black_box(&encoded).iter().map(|&c| ulaw_decode_segment(c)));
            decoded.len()
        })
    });
    let mut codec = G711::new(Law::Mu);
    group.bench_function("codec_encode_decode_frame", |b| {
        b.iter(|| {
            out.clear();
            decoded.clear();
            let _ = codec.encode(black_box(&pcm), &mut out);
            let _ = codec.decode(&out, &mut decoded);
            decoded.len()
        })
    });
    group.finish();
}

criterion_group!(benches, g711);
criterion_main!(benches);
