//! Fuzzes the media engine with arbitrary datagrams: RTP and RTCP, from the
//! learnt peer or a stray source, on a same-codec bridge (the relay path)
//! and an Opus <-> PCMU bridge (jitter buffer, decode, encode), with the
//! clock moving and timers firing in between. Nothing may panic, and the
//! output queues stay within their limits.
//!
//! Input: records of [head][len][len bytes]. `head` picks the leg (low two
//! bits), RTCP (0x80), a stray source (0x40), and how far the clock moves
//! afterwards (bits 2..5, in 5 ms steps).
//!
//! Run with `cargo +nightly fuzz run media` from `fuzz/` (see Cargo.toml).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchd_media::codec::CodecKind;
use switchd_media::engine::{EngineConfig, LegId, LegMedia, MediaDirection, MediaEngine};

fn peer_of(leg: LegId) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40_000 + leg.0 as u16 * 2))
}

fn media(leg: LegId, codec: CodecKind, payload_type: u8) -> LegMedia {
    LegMedia {
        local_port: 20_000 + leg.0 as u16 * 2,
        remote_rtp: Some(peer_of(leg)),
        remote_rtcp: None,
        codec,
        payload_type,
        telephone_event: Some(101),
        rtcp_mux: leg.0 % 2 == 0,
        ptime_ms: 20,
        direction: MediaDirection::SendRecv,
    }
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let config = EngineConfig::default();
    let (max_transmits, max_events) = (config.max_transmits, config.max_events);
    let mut engine = MediaEngine::new(config, t0, 7);
    let legs = [
        (LegId(1), CodecKind::Pcmu, 0),
        (LegId(2), CodecKind::Pcmu, 0),
        (LegId(3), CodecKind::Opus, 111),
        (LegId(4), CodecKind::Pcmu, 0),
    ];
    for (leg, codec, payload_type) in legs {
        if engine.add_leg(t0, leg, media(leg, codec, payload_type)).is_err() {
            return;
        }
    }
    if engine.bridge(t0, LegId(1), LegId(2)).is_err()
        || engine.bridge(t0, LegId(3), LegId(4)).is_err()
    {
        return;
    }
    let stray = SocketAddr::from(([127, 0, 0, 9], 9));
    let mut now = t0;
    let mut rest = data;
    while let Some((&head, tail)) = rest.split_first() {
        let Some((&len, body)) = tail.split_first() else {
            break;
        };
        let (datagram, next) = body.split_at(usize::from(len).min(body.len()));
        rest = next;
        let leg = LegId(u64::from(head & 0x03) + 1);
        let source = if head & 0x40 != 0 { stray } else { peer_of(leg) };
        if head & 0x80 != 0 {
            engine.handle_rtcp(now, leg, source, datagram);
        } else {
            engine.handle_rtp(now, leg, source, datagram);
        }
        now += Duration::from_millis(u64::from((head >> 2) & 0x0f) * 5);
        while let Some(at) = engine.poll_timeout() {
            if at > now {
                break;
            }
            engine.handle_timeout(now);
        }
        let mut sent = 0;
        while engine.poll_transmit().is_some() {
            sent += 1;
        }
        assert!(sent <= max_transmits, "{sent} transmits queued");
        let mut events = 0;
        while engine.poll_event().is_some() {
            events += 1;
        }
        assert!(events <= max_events, "{events} events queued");
    }
});
