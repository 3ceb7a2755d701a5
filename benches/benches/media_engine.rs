//! The media engine's same-codec bridge: one 160-byte G.711 packet from leg A's peer in,
//! through source filtering, validation, statistics and the relay, out as leg B's packet.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchd_media::codec::CodecKind;
use switchd_media::engine::{EngineConfig, LegId, LegMedia, MediaDirection, MediaEngine};

const A: LegId = LegId(1);
const B: LegId = LegId(2);

fn peer(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn media(port: u16) -> LegMedia {
    LegMedia {
        local_port: port - 20_000,
        remote_rtp: Some(peer(port)),
        remote_rtcp: None,
        codec: CodecKind::Pcmu,
        payload_type: 0,
        telephone_event: Some(101),
        rtcp_mux: true,
        ptime_ms: 20,
        direction: MediaDirection::SendRecv,
    }
}

fn engine_relay(c: &mut Criterion) {
    let t0 = Instant::now();
    let mut engine = MediaEngine::new(EngineConfig::default(), t0, 1);
    let added = engine
        .add_leg(t0, A, media(40_000))
        .and_then(|()| engine.add_leg(t0, B, media(40_002)))
        .and_then(|()| engine.bridge(t0, A, B));
    assert!(added.is_ok());
    let mut wire = vec![0x80, 0x00, 0, 0, 0, 0, 0, 0, 0xA0, 0xA0, 0xA0, 0xA0];
    wire.extend_from_slice(&[0xD5; 160]);
    let mut n = 0u32;
    let mut sent = 0u64;
    let mut group = c.benchmark_group("media_engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("relay_g711_packet", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            wire[2..4].copy_from_slice(&(n as u16).to_be_bytes());
            wire[4..8].copy_from_slice(&n.wrapping_mul(160).to_be_bytes());
            let now = t0 + Duration::from_millis(20 * u64::from(n));
            if engine.poll_timeout().is_some_and(|at| at <= now) {
                engine.handle_timeout(now);
            }
            engine.handle_rtp(now, A, peer(40_000), black_box(&wire));
            while let Some(transmit) = engine.poll_transmit() {
                sent += 1;
                black_box(transmit);
            }
        })
    });
    group.finish();
    assert!(sent > 0);
    assert_eq!(engine.leg_stats(A).map(|s| s.malformed), Some(0));
}

criterion_group!(benches, engine_relay);
criterion_main!(benches);
