//! Relay directions forwarded by a simulated kernel relay: when they are offered, how
//! they are taken back, and that the streams and statistics stay whole across both.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::tests_support::*;
use super::*;
use crate::codec::CodecKind;
use crate::rtp::packet::FIXED_HEADER_LEN;

/// What the daemon's eBPF program does, on the engine's rules: the same checks (source,
/// plain header, payload type, SSRC) and the same rewrite, answering reads and removals
/// at once.
#[derive(Default)]
pub(in crate::engine) struct FakeKernel {
    pub rules: HashMap<LegId, (OffloadRule, OffloadCounters)>,
    pub actions: Vec<OffloadAction>,
    /// Packets forwarded, over all rules.
    pub forwarded: u64,
    /// Refuse every install (as a full map or an IPv6 peer would).
    pub refuse: bool,
}

impl FakeKernel {
    pub fn pump(&mut self, engine: &mut MediaEngine, now: Instant) {
        while let Some(action) = engine.poll_offload() {
            self.actions.push(action);
            match action {
                OffloadAction::Install(rule) if self.refuse => {
                    engine.handle_offload_refused(rule.from)
                }
                OffloadAction::Install(rule) => {
                    self.rules
                        .insert(rule.from, (rule, OffloadCounters::default()));
                }
                OffloadAction::Read { leg, .. } => {
                    if let Some((_, counters)) = self.rules.get(&leg) {
                        engine.handle_offload_counters(now, leg, *counters, false);
                    }
                }
                OffloadAction::Remove { leg, .. } => {
                    if let Some((_, counters)) = self.rules.remove(&leg) {
                        engine.handle_offload_counters(now, leg, counters, true);
                    }
                }
            }
        }
    }

    /// The datagram as forwarded, if a rule of `leg` takes it.
    pub fn forward(
        &mut self,
        now: Instant,
        leg: LegId,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Option<MediaTransmit> {
        let (rule, counters) = self.rules.get_mut(&leg)?;
        let header = datagram.get(..FIXED_HEADER_LEN)?;
        let word = |at: usize| -> Option<u32> {
            Some(u32::from_be_bytes(header.get(at..at + 4)?.try_into().ok()?))
        };
        let (first, second) = (*header.first()?, *header.get(1)?);
        let sequence = u16::from_be_bytes(header.get(2..4)?.try_into().ok()?);
        let (timestamp, ssrc) = (word(4)?, word(8)?);
        if from != rule.source
            || first != 0x80
            || second & 0x7F != rule.payload_type_in
            || ssrc != rule.ssrc_in
        {
            return None;
        }
        let payload = datagram.get(FIXED_HEADER_LEN..)?;
        counters.packets += 1;
        counters.payload_bytes += payload.len() as u64;
        let newer = counters
            .newest
            .is_none_or(|(newest, _)| sequence.wrapping_sub(newest) < 0x8000);
        if newer {
            counters.newest = Some((sequence, timestamp));
        }
        counters.last_arrival = Some(now);
        self.forwarded += 1;
        let mut out = BytesMut::new();
        let wire = inbound::build_rtp(
            &mut out,
            rule.payload_type_out,
            second & 0x80 != 0,
            sequence.wrapping_add(rule.sequence_offset),
            timestamp.wrapping_add(rule.timestamp_offset),
            rule.ssrc_out,
            payload,
        );
        Some(MediaTransmit {
            leg: rule.to,
            local_port: rule.egress_port,
            destination: rule.destination,
            rtcp: false,
            payload: wire,
        })
    }
}

fn offloading() -> EngineConfig {
    EngineConfig {
        offload: true,
        ..EngineConfig::default()
    }
}

fn bridged(a: Format, b: Format) -> Harness {
    let mut h = Harness::with_config(offloading());
    h.add(A, a.0, a.1, a.2);
    h.add(B, b.0, b.1, b.2);
    assert_eq!(h.engine.bridge(h.now, A, B), Ok(()));
    h
}

fn kernel(h: &Harness) -> &FakeKernel {
    h.kernel.as_ref().expect("offloading harness")
}

fn installs(h: &Harness) -> usize {
    kernel(h)
        .actions
        .iter()
        .filter(|a| matches!(a, OffloadAction::Install(_)))
        .count()
}

fn removals(h: &Harness) -> usize {
    kernel(h)
        .actions
        .iter()
        .filter(|a| matches!(a, OffloadAction::Remove { .. }))
        .count()
}

/// Sends `count` PCMU packets from A's peer, 20 ms apart, starting at sequence `first`.
fn send_from_a(h: &mut Harness, first: u16, count: u16, ssrc: u32) {
    let start = h.now;
    for n in 0..count {
        h.run_until(start + FRAME_MS * u32::from(n));
        let seq = first.wrapping_add(n);
        let ts = u32::from(seq) * 160;
        let datagram = packet(0, seq, ts, ssrc, n == 0, &[0x55; 160]);
        h.receive(A, peer_of(A), &datagram);
    }
}

#[test]
fn a_settled_relay_goes_to_the_kernel_and_the_stream_stays_continuous() {
    let mut h = bridged(PCMU, PCMU);
    send_from_a(&mut h, 100, 50, 0xA11CE);
    // The second packet proves the source (RFC 3550 probation): from then on, the kernel.
    assert_eq!(installs(&h), 1);
    assert_eq!(kernel(&h).forwarded, 48);
    let rule = kernel(&h).rules.get(&A).map(|(rule, _)| *rule);
    assert_eq!(
        rule.map(|r| (r.source, r.destination, r.ingress_port, r.egress_port)),
        Some((peer_of(A), peer_of(B), 20_002, 20_004))
    );
    // A prompt on B takes the direction back; B's stream carries on after the kernel's
    // last packet, with no gap and no reuse of a sequence number.
    let prompt = tone(440.0, 8000.0, 8000);
    let source = Box::new(SamplesSource {
        samples: prompt,
        position: 0,
    });
    assert_eq!(h.engine.play(h.now, B, source), Ok(()));
    h.drain();
    assert_eq!(removals(&h), 1);
    h.run_until(h.now + Duration::from_millis(200));
    let out = h.rtp_to(B);
    assert!(out.len() >= 58, "{} packets", out.len());
    assert_follows(&out, None);
    let stats = h.engine.leg_stats(A).expect("leg A");
    assert_eq!(
        (stats.packets_in, stats.bytes_in, stats.lost),
        (50, 8000, 0)
    );
    assert_eq!(h.engine.stats().offloaded_packets, 48);
    let stats = h.engine.leg_stats(B).expect("leg B");
    assert_eq!(stats.packets_out, out.len() as u64);
    assert_eq!(h.engine.stats().offloads_active, 0);
}

#[test]
fn reads_keep_the_media_timeout_away_and_carry_loss_and_reports() {
    let mut h = bridged(PCMU, PCMU);
    // 40 s of audio with every 10th packet lost, all but the first two in the kernel.
    let start = h.now;
    for n in 0..2000u16 {
        h.run_until(start + FRAME_MS * u32::from(n));
        if n % 10 == 9 {
            continue;
        }
        let datagram = packet(0, n, u32::from(n) * 160, 7, false, &[0x55; 160]);
        h.receive(A, peer_of(A), &datagram);
    }
    let last = h.now;
    assert!(!h.has_event(&MediaEvent::MediaTimeout { leg: A }));
    // Statistics are as of the last read, a second old at most, or of a refresh.
    h.engine.refresh_offloads();
    h.drain();
    let stats = h.engine.leg_stats(A).expect("leg A");
    assert_eq!((stats.packets_in, stats.lost), (1800, 199));
    // SRs on B count what the kernel sent on B's stream.
    let reports = h
        .sent
        .iter()
        .filter(|(_, t)| t.leg == B && crate::rtp::is_rtcp(&t.payload))
        .count();
    assert!(reports >= 6, "{reports} reports");
    // Silence: the timeout comes 30 s after the last packet, within a read interval.
    h.run_until(last + Duration::from_secs(40));
    let at = h
        .events
        .iter()
        .find(|(_, e)| *e == MediaEvent::MediaTimeout { leg: A })
        .map(|(at, _)| *at);
    let late = at.map(|at| at.saturating_duration_since(last + Duration::from_secs(30)));
    assert!(
        late.is_some_and(|late| late <= Duration::from_secs(1)),
        "{late:?}"
    );
}

#[test]
fn a_new_ssrc_takes_the_direction_back_before_it_is_relayed() {
    let mut h = bridged(PCMU, PCMU);
    send_from_a(&mut h, 100, 10, 1);
    assert_eq!(kernel(&h).forwarded, 8);
    // The peer restarts its stream: the kernel leaves it alone, the engine takes the
    // direction back and drops the one packet that came before the kernel's counters.
    send_from_a(&mut h, 9000, 10, 2);
    assert_eq!(removals(&h), 1);
    assert_eq!(h.engine.stats().offload_handover_drops, 1);
    let out = h.rtp_to(B);
    assert_eq!(out.len(), 19);
    assert_follows(&out, None);
    // The new source settles and goes to the kernel in turn.
    assert_eq!(installs(&h), 2);
}

#[test]
fn telephone_events_pass_here_on_the_kernels_numbering() {
    let te = (CodecKind::Pcmu, 0, Some(101));
    let mut h = bridged(te, te);
    send_from_a(&mut h, 100, 5, 3);
    let event = [1u8, 0x0A, 0, 160];
    h.receive(A, peer_of(A), &packet(101, 105, 800, 3, true, &event));
    assert!(h.has_event(&MediaEvent::TelephoneEvent {
        leg: A,
        payload: Bytes::copy_from_slice(&event),
        timestamp: 800,
        marker: true,
    }));
    let out = h.rtp_to(B);
    assert_eq!(out.len(), 6);
    assert_follows(&out, None);
    assert_eq!(out.last().map(|p| p.header.payload_type), Some(101));
    assert_eq!(removals(&h), 0);
    // Digits sent to B go on B's stream: the direction comes back first.
    let digit = [TelephoneEventPacket {
        marker: true,
        payload: [5, 0x0A, 0, 160],
        offset_ticks: 0,
    }];
    assert_eq!(h.engine.send_dtmf(h.now, B, &digit), Ok(()));
    h.drain();
    assert_eq!(removals(&h), 1);
    h.run_until(h.now + FRAME_MS);
    let out = h.rtp_to(B);
    assert_eq!(out.len(), 7);
    assert_follows(&out, None);
}

#[test]
fn taps_and_unbridging_take_the_direction_back() {
    let mut h = bridged(PCMU, PCMU);
    send_from_a(&mut h, 1, 5, 9);
    send_from_a_b(&mut h);
    assert_eq!(h.engine.stats().offloads_active, 2);
    let recorder = Box::new(SharedTap {
        inbound: Default::default(),
        outbound: Default::default(),
    });
    assert_eq!(h.engine.add_tap(h.now, A, recorder), Ok(()));
    h.drain();
    assert_eq!(removals(&h), 2);
    // With a tap, A's audio is decoded here: nothing is offered while it lasts.
    send_from_a(&mut h, 6, 5, 9);
    assert_eq!(installs(&h), 2);
    h.engine.remove_taps(h.now, A);
    send_from_a(&mut h, 11, 2, 9);
    assert_eq!(installs(&h), 3);
    h.engine.unbridge(h.now, A);
    h.drain();
    assert_eq!(removals(&h), 3);
    assert_eq!(h.engine.stats().offloads_active, 0);
}

#[test]
fn a_prompt_takes_back_only_the_direction_into_its_leg() {
    let mut h = bridged(PCMU, PCMU);
    send_from_a(&mut h, 1, 3, 9);
    send_from_a_b(&mut h);
    assert_eq!(h.engine.stats().offloads_active, 2);
    let source = Box::new(SamplesSource {
        samples: tone(440.0, 8000.0, 1600),
        position: 0,
    });
    assert_eq!(h.engine.play(h.now, B, source), Ok(()));
    h.drain();
    assert_eq!(
        kernel(&h).actions.last(),
        Some(&OffloadAction::Remove {
            leg: A,
            ingress_port: 20_002
        })
    );
    // B's peer still reaches A through the kernel.
    assert_eq!(h.engine.stats().offloads_active, 1);
    assert!(kernel(&h).rules.contains_key(&B));
}

/// B's peer sends two packets, so B → A settles too.
fn send_from_a_b(h: &mut Harness) {
    for seq in [40u16, 41] {
        let datagram = packet(0, seq, u32::from(seq) * 160, 0xB, false, &[0xD5; 160]);
        h.receive(B, peer_of(B), &datagram);
    }
}

#[test]
fn a_refused_install_is_relayed_here_until_the_bridge_changes() {
    let mut h = bridged(PCMU, PCMU);
    if let Some(kernel) = h.kernel.as_mut() {
        kernel.refuse = true;
    }
    send_from_a(&mut h, 1, 20, 4);
    assert_eq!(installs(&h), 1);
    assert_eq!(h.engine.stats().offloads_refused, 1);
    assert_eq!(h.rtp_to(B).len(), 20);
    assert_eq!(kernel(&h).forwarded, 0);
    assert_eq!(h.engine.bridge(h.now, A, B), Ok(()));
    send_from_a(&mut h, 21, 2, 4);
    assert_eq!(installs(&h), 2);
}

#[test]
fn an_echo_goes_to_the_kernel_and_comes_back_for_a_prompt() {
    let mut h = Harness::with_config(offloading());
    h.add(A, PCMU.0, PCMU.1, PCMU.2);
    assert_eq!(h.engine.echo(h.now, A, true), Ok(()));
    send_from_a(&mut h, 10, 20, 5);
    let rule = kernel(&h).rules.get(&A).map(|(rule, _)| *rule);
    assert_eq!(
        rule.map(|r| (r.ingress_port, r.egress_port, r.destination)),
        Some((20_002, 20_002, peer_of(A)))
    );
    let source = Box::new(SamplesSource {
        samples: tone(440.0, 8000.0, 800),
        position: 0,
    });
    assert_eq!(h.engine.play(h.now, A, source), Ok(()));
    h.drain();
    assert_eq!(removals(&h), 1);
    h.run_until(h.now + FRAME_MS * 5);
    let out = h.rtp_to(A);
    assert!(out.len() >= 24, "{} packets", out.len());
    assert_follows(&out, None);
    let stats = h.engine.leg_stats(A).expect("leg A");
    assert_eq!(stats.packets_in, 20);
    assert_eq!(stats.packets_out, out.len() as u64);
}

#[test]
fn a_new_stream_after_a_reinvite_owes_nothing_to_the_kernels_packets() {
    let mut h = bridged(PCMU, PCMU);
    send_from_a(&mut h, 100, 30, 1);
    let old = h.rtp_to(B);
    let old_ssrc = old.last().map(|p| p.header.ssrc);
    // B's re-INVITE moves it to another payload type: a new stream (new SSRC).
    let moved = media(B, CodecKind::Pcmu, 96, None);
    assert_eq!(h.engine.update_leg(h.now, B, moved), Ok(()));
    h.drain();
    assert_eq!(removals(&h), 1);
    send_from_a(&mut h, 130, 3, 1);
    let new: Vec<_> = h
        .rtp_to(B)
        .into_iter()
        .filter(|p| Some(p.header.ssrc) != old_ssrc)
        .collect();
    assert_eq!(new.len(), 3);
    assert!(new.first().is_some_and(|p| p.header.marker));
    assert_follows(&new, None);
    // The kernel's 28 packets on the old stream are not counted on the new one.
    let last_old = old.last().map(|p| p.header.sequence_number);
    assert_ne!(
        new.first().map(|p| p.header.sequence_number),
        last_old.map(|seq| seq.wrapping_add(1))
    );
}

#[test]
fn nothing_is_offered_without_the_daemons_kernel_relay() {
    let mut h = Harness::bridged(PCMU, PCMU);
    send_from_a(&mut h, 1, 20, 4);
    assert!(h.engine.poll_offload().is_none());
    assert_eq!(h.rtp_to(B).len(), 20);
}
