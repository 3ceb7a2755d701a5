//! Relay, source filtering, bounds, telephone-events, timeouts and RTCP.

use std::time::Duration;

use bytes::Bytes;

use super::tests_support::*;
use super::*;
use crate::codec::CodecKind;
use crate::rtp::rtcp::{ReceptionReport, Report, build_receiver_report, parse_reports};

#[test]
fn same_codec_bridge_relays_with_peer_stream_numbering_and_no_tick() {
    let mut h = Harness::bridged(PCMU, PCMU);
    // Relay needs no tick: the next deadline is far away (RTCP, media timeout).
    assert!(
        h.engine
            .poll_timeout()
            .is_some_and(|at| at > h.now + Duration::from_secs(1))
    );
    let frames: Vec<Vec<u8>> = (0..50u8).map(|n| vec![n; 160]).collect();
    feed(&mut h, A, 0, &frames, 160);
    let out = h.rtp_to(B);
    assert_eq!(out.len(), 50);
    assert!(
        h.sent
            .iter()
            .all(|(_, t)| t.leg == B && t.destination == peer_of(B))
    );
    let ssrc = out.first().map(|p| p.header.ssrc);
    assert_ne!(ssrc, Some(0xA11CE));
    assert_follows(&out, Some(160));
    for (n, pair) in out.windows(2).enumerate() {
        let [first, second] = pair else { continue };
        assert_eq!(second.header.ssrc, first.header.ssrc);
        // Payload bytes untouched: nothing was decoded.
        assert_eq!(
            second.payload.as_ref(),
            frames.get(n + 1).map(Vec::as_slice).unwrap_or_default()
        );
    }
    let stats = h.engine.leg_stats(A);
    assert_eq!(stats.map(|s| (s.packets_in, s.bytes_in)), Some((50, 8000)));
    assert_eq!(h.engine.leg_stats(B).map(|s| s.packets_out), Some(50));
}

#[test]
fn payload_types_are_mapped_across_a_relay() {
    let mut h = Harness::bridged(
        (CodecKind::Opus, 111, Some(101)),
        (CodecKind::Opus, 96, Some(97)),
    );
    h.receive(A, peer_of(A), &packet(111, 1, 0, 9, true, &[1, 2, 3]));
    let event = [5u8, 0x0A, 0, 160];
    h.receive(A, peer_of(A), &packet(101, 2, 960, 9, true, &event));
    let out = h.rtp_to(B);
    let types: Vec<u8> = out.iter().map(|p| p.header.payload_type).collect();
    assert_eq!(types, vec![96, 97]);
    assert_eq!(out.get(1).map(|p| p.payload.to_vec()), Some(event.to_vec()));
    assert!(h.has_event(&MediaEvent::TelephoneEvent {
        leg: A,
        payload: Bytes::copy_from_slice(&event),
        timestamp: 960,
        marker: true,
    }));
}

#[test]
fn stray_source_after_learning_is_dropped_and_not_forwarded() {
    let mut h = Harness::bridged(PCMU, PCMU);
    // The peer is behind a NAT: its packets come from another port than its SDP says.
    let nat = addr(50_000);
    h.receive(A, nat, &packet(0, 1, 160, 3, false, &[0xFF; 160]));
    assert!(h.has_event(&MediaEvent::SourceLearned {
        leg: A,
        source: nat
    }));
    let learn_end = h.now + Duration::from_secs(3);
    h.run_until(learn_end);
    let before = h.rtp_to(B).len();
    h.receive(A, addr(50_002), &packet(0, 2, 320, 3, false, &[0xFF; 160]));
    assert_eq!(h.rtp_to(B).len(), before);
    assert_eq!(h.engine.leg_stats(A).map(|s| s.strays), Some(1));
    // The learnt source still goes through.
    h.receive(A, nat, &packet(0, 3, 480, 3, false, &[0xFF; 160]));
    assert_eq!(h.rtp_to(B).len(), before + 1);
}

#[test]
fn garbage_and_wrong_payload_type_are_dropped_and_counted() {
    let mut h = Harness::bridged(PCMU, PCMU);
    let from = peer_of(A);
    h.receive(A, from, &[0x80, 0, 0]);
    h.receive(A, from, &[0x40; 40]);
    h.receive(A, from, &packet(8, 1, 0, 3, false, &[0xD5; 160]));
    h.engine.handle_rtcp(h.now, A, from, &[0x80, 201, 0, 9, 1]);
    h.receive(A, from, &[0x80, 200, 0, 40]); // muxed RTCP, length past the end
    let stats = h.engine.leg_stats(A);
    assert_eq!(
        stats.map(|s| (s.malformed, s.wrong_payload_type)),
        Some((4, 1))
    );
    assert!(h.rtp_to(B).is_empty());
    // Deterministic noise: nothing panics, nothing is forwarded that does not parse.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 64) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|i| (state >> (i % 8 * 8)) as u8 ^ i as u8)
            .collect();
        h.engine.handle_rtp(h.now, A, from, &bytes);
        h.engine.handle_rtcp(h.now, B, peer_of(B), &bytes);
        h.engine.handle_rtp(h.now, LegId(99), from, &bytes);
    }
    assert_eq!(h.engine.stats().unknown_leg, 20_000);
}

#[test]
fn media_timeout_fires_once_after_silence() {
    let mut h = Harness::new();
    h.add(A, CodecKind::Pcma, 8, None);
    h.receive(A, peer_of(A), &packet(8, 1, 0, 3, false, &[0xD5; 160]));
    let last = h.now;
    h.run_until(last + Duration::from_secs(29));
    assert!(!h.has_event(&MediaEvent::MediaTimeout { leg: A }));
    h.run_until(last + Duration::from_secs(90));
    let timeouts: Vec<_> = h
        .events
        .iter()
        .filter(|(_, e)| *e == MediaEvent::MediaTimeout { leg: A })
        .collect();
    assert_eq!(timeouts.len(), 1);
    assert_eq!(
        timeouts.first().map(|(at, _)| *at),
        Some(last + Duration::from_secs(30))
    );
}

#[test]
fn held_leg_has_no_media_timeout_and_sends_nothing() {
    let mut h = Harness::new();
    h.add(A, CodecKind::Pcmu, 0, None);
    h.add(B, CodecKind::Pcmu, 0, None);
    let mut held = media(B, CodecKind::Pcmu, 0, None);
    held.direction = MediaDirection::Inactive;
    assert_eq!(h.engine.update_leg(h.now, B, held), Ok(()));
    assert_eq!(h.engine.bridge(h.now, A, B), Ok(()));
    h.receive(A, peer_of(A), &packet(0, 1, 0, 3, false, &[0xFF; 160]));
    assert!(h.rtp_to(B).is_empty());
    h.run_until(h.t0 + Duration::from_secs(60));
    assert!(!h.has_event(&MediaEvent::MediaTimeout { leg: B }));
    assert!(h.has_event(&MediaEvent::MediaTimeout { leg: A }));
}

#[test]
fn echo_returns_packets_to_the_same_leg() {
    let mut h = Harness::echoing(PCMU);
    h.receive(A, peer_of(A), &packet(0, 1, 0, 3, false, &[0x11; 160]));
    let out = h.rtp_to(A);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out.first().map(|p| p.payload.to_vec()),
        Some(vec![0x11; 160])
    );
    assert_eq!(h.engine.echo(h.now, A, false), Ok(()));
    h.receive(A, peer_of(A), &packet(0, 2, 160, 3, false, &[0x11; 160]));
    assert_eq!(h.rtp_to(A).len(), 1);
}

#[test]
fn digits_are_sent_with_one_timestamp_at_their_offsets() {
    let mut h = Harness::new();
    h.add(A, CodecKind::Pcmu, 0, Some(101));
    let packets: Vec<TelephoneEventPacket> = (1..=3u32)
        .map(|n| TelephoneEventPacket {
            marker: n == 1,
            payload: [1, if n == 3 { 0x8A } else { 0x0A }, 0, (n * 160) as u8],
            offset_ticks: n * 160,
        })
        .collect();
    assert_eq!(h.engine.send_dtmf(h.now, A, &packets), Ok(()));
    h.run_until(h.t0 + Duration::from_millis(100));
    let out = h.rtp_to(A);
    assert_eq!(out.len(), 3);
    let at: Vec<_> = h
        .sent
        .iter()
        .map(|(at, _)| at.duration_since(h.t0))
        .collect();
    assert_eq!(at, vec![Duration::ZERO, FRAME_MS, FRAME_MS * 2]);
    let first = out
        .first()
        .map(|p| (p.header.timestamp, p.header.sequence_number));
    for (n, p) in out.iter().enumerate() {
        assert_eq!(p.header.payload_type, 101);
        assert_eq!(p.header.marker, n == 0);
        assert_eq!(Some(p.header.timestamp), first.map(|f| f.0));
        assert_eq!(
            Some(p.header.sequence_number),
            first.map(|f| f.1.wrapping_add(n as u16))
        );
    }
    assert_eq!(
        h.engine.send_dtmf(h.now, B, &packets),
        Err(crate::Error::UnknownLeg { leg: 2 })
    );
}

#[test]
fn reports_are_sent_and_rtt_measured_from_lsr_and_dlsr() {
    let mut h = Harness::echoing(PCMU);
    h.receive(A, peer_of(A), &packet(0, 1, 0, 3, false, &[0xFF; 160]));
    h.run_until(h.t0 + Duration::from_secs(6));
    let reports: Vec<_> = h
        .sent
        .iter()
        .filter(|(_, t)| crate::rtp::is_rtcp(&t.payload))
        .collect();
    assert_eq!(reports.len(), 1);
    let Some((sent_at, report)) = reports.first().map(|(at, t)| (*at, t.payload.clone())) else {
        return;
    };
    let Ok(parsed) = parse_reports(&report) else {
        panic!("our own report does not parse");
    };
    let Some(Report::Sender(sr)) = parsed.first() else {
        panic!("expected an SR after sending media, got {parsed:?}");
    };
    assert_eq!(sr.packet_count, 1);
    // The peer holds our SR for 1 s, the network adds 100 ms.
    let block = ReceptionReport {
        ssrc: sr.ssrc,
        last_sender_report: (sr.ntp_time >> 16) as u32,
        delay: 65536,
        ..Default::default()
    };
    let mut rr = Vec::new();
    assert_eq!(
        build_receiver_report(3, vec![block], "peer", &mut rr),
        Ok(())
    );
    h.now = sent_at + Duration::from_millis(1100);
    h.engine.handle_rtcp(h.now, A, peer_of(A), &rr);
    let rtt = h.engine.leg_stats(A).and_then(|s| s.rtt);
    assert!(
        rtt.is_some_and(|rtt| rtt.abs_diff(Duration::from_millis(100)) < Duration::from_millis(2)),
        "rtt {rtt:?}"
    );
    // A report from another host is ignored.
    h.engine
        .handle_rtcp(h.now, A, "127.0.0.2:9".parse().unwrap_or(peer_of(B)), &rr);
    assert_eq!(h.engine.leg_stats(A).map(|s| s.rtcp_in), Some(1));
}

#[test]
fn leg_limit_and_conflicts_are_errors() {
    let t0 = std::time::Instant::now();
    let config = EngineConfig {
        max_legs: 1,
        ..EngineConfig::default()
    };
    let mut engine = MediaEngine::new(config, t0, 1);
    let m = media(A, CodecKind::Pcmu, 0, None);
    assert_eq!(engine.add_leg(t0, A, m), Ok(()));
    assert_eq!(
        engine.add_leg(t0, A, m),
        Err(crate::Error::LegConflict { leg: 1 })
    );
    assert_eq!(
        engine.add_leg(t0, B, m),
        Err(crate::Error::LegLimit { limit: 1 })
    );
    assert_eq!(
        engine.bridge(t0, A, A),
        Err(crate::Error::LegConflict { leg: 1 })
    );
    assert_eq!(engine.stats().legs_refused, 1);
    assert!(engine.remove_leg(t0, A).is_empty());
    assert_eq!(engine.poll_timeout(), None);
}

#[test]
fn transmits_name_their_port_and_die_with_their_leg() {
    let mut h = Harness::bridged(PCMU, PCMU);
    h.receive(A, peer_of(A), &packet(0, 1, 0, 9, true, &[0xff; 160]));
    let sent: Vec<u16> = h.sent.iter().map(|(_, t)| t.local_port).collect();
    assert_eq!(sent, vec![media(B, CodecKind::Pcmu, 0, None).local_port]);
    // Queued, not yet taken by the daemon, when B goes: it never leaves.
    h.engine.handle_rtp(
        h.now,
        A,
        peer_of(A),
        &packet(0, 2, 160, 9, false, &[0xff; 160]),
    );
    drop(h.engine.remove_leg(h.now, B));
    assert_eq!(h.engine.poll_transmit(), None);
}
