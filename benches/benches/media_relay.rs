//! Same-codec relay: one 160-byte G.711 packet from leg A rewritten for leg B.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchd_media::relay::{PayloadTypeMap, Relay};
use switchd_media::rtp::{RtpSender, SenderConfig};

fn packet(seq: u16, ts: u32) -> Vec<u8> {
    let mut wire = vec![0x80, 0x00];
    wire.extend_from_slice(&seq.to_be_bytes());
    wire.extend_from_slice(&ts.to_be_bytes());
    wire.extend_from_slice(&0xA0A0_A0A0u32.to_be_bytes());
    wire.extend_from_slice(&[0xD5; 160]);
    wire
}

fn relay(c: &mut Criterion) {
    let sender = RtpSender::new(SenderConfig {
        ssrc: 0xB0B0,
        payload_type: 0,
        clock_rate: 8000,
        frame_ticks: 160,
        initial_sequence: 1,
        initial_timestamp: 1,
    });
    let mut relay = Relay::new(sender, PayloadTypeMap { from: 0, to: 0 }, None);
    let packets: Vec<Vec<u8>> = (0..64u16).map(|n| packet(n, u32::from(n) * 160)).collect();
    let t0 = Instant::now();
    let mut out = bytes::BytesMut::with_capacity(1500);
    let mut n = 0usize;
    let mut group = c.benchmark_group("media_relay");
    group.throughput(Throughput::Elements(1));
    group.bench_function("relay_g711_packet", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let input = &packets[n % packets.len()];
            let now = t0 + Duration::from_millis(20 * n as u64);
            let _ = relay.relay(now, black_box(input), &mut out);
            out.len()
        })
    });
    group.finish();
    assert!(relay.stats().relayed > 0);
}

criterion_group!(benches, relay);
criterion_main!(benches);
