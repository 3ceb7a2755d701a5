//! Jitter buffer: insert and pull of one 20 ms packet in a steady stream with some
//! reordering, as the daemon does once per packet per terminated leg.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchd_media::jitter::{JitterBuffer, JitterConfig};

fn jitter(c: &mut Criterion) {
    let payload = Bytes::from_static(&[0xD5; 160]);
    let mut group = c.benchmark_group("media_jitter");
    group.throughput(Throughput::Elements(1));
    group.bench_function("insert_pop_steady", |b| {
        let mut jb = JitterBuffer::new(JitterConfig::voice(8000));
        let t0 = Instant::now();
        let mut n: u32 = 0;
        b.iter(|| {
            n = n.wrapping_add(1);
            // Swap each pair of packets to exercise reordering.
            let seq = if n & 1 == 0 { n + 1 } else { n - 1 };
            let now = t0 + Duration::from_millis(20 * u64::from(n));
            jb.insert(now, 1, seq.wrapping_mul(160), payload.clone());
            black_box(jb.pop(now))
        })
    });
    group.finish();
}

criterion_group!(benches, jitter);
criterion_main!(benches);
