//! Relay directions forwarded outside the engine: the daemon's kernel relay.
//!
//! A same-codec bridge direction A → B (or an echo, A → A) rewrites each packet's header
//! with fixed numbers once it has settled: A's source address is locked, A's SSRC is
//! known and valid, and B's stream maps that SSRC with fixed sequence and timestamp offsets
//! ([`crate::rtp::RtpSender::forward_mapping`]). Such a direction can be forwarded by
//! anything that applies the same rewrite, such as an eBPF program in the kernel,
//! without the packets reaching the daemon at all.
//!
//! The engine offers a settled direction with [`OffloadAction::Install`] right after
//! relaying one of its packets, asks for its counters with [`OffloadAction::Read`] every
//! second (more often with a short media timeout), and takes it back with
//! [`OffloadAction::Remove`] before anything that needs the packets here: a prompt or digits sent to B (B → A stays), a recording
//! or in-band detector on either leg (both directions), unbridging, a re-INVITE, hangup,
//! or a packet with another SSRC. The
//! daemon answers every `Read` and `Remove` with [`MediaEngine::handle_offload_counters`]
//! before it hands the engine anything else, so the counters (packets, loss, jitter,
//! the last packet's time, B's newest sequence number and timestamp) are folded into
//! both legs before the engine sends on B's stream again: it stays continuous.
//!
//! Packets the kernel leaves alone still come here: telephone-events, packets with
//! CSRCs, extensions or padding. They are relayed with the same offsets, so both paths
//! interleave on one stream; DTMF is still detected here.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::leg::{Outbound, Route};
use super::{LegId, MediaEngine};

/// Counters are read at least this often (more often with a short media timeout).
const READ_INTERVAL: Duration = Duration::from_secs(1);

/// How often an installed direction's counters are read: often enough that a media
/// timeout is judged on a last arrival at most a quarter of the timeout old.
pub(super) fn read_interval(media_timeout: Duration) -> Duration {
    READ_INTERVAL
        .min(media_timeout / 4)
        .max(Duration::from_millis(20))
}

/// One relay direction to forward outside the engine: what arrives on leg `from`'s RTP
/// port from its peer leaves from leg `to`'s port to its peer, rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffloadRule {
    /// The leg the packets arrive on.
    pub from: LegId,
    /// The leg they leave on.
    pub to: LegId,
    /// `from`'s local RTP port.
    pub ingress_port: u16,
    /// `from`'s peer: the locked source address; nothing else matches.
    pub source: SocketAddr,
    /// The SSRC the packets carry; others come to the engine.
    pub ssrc_in: u32,
    /// The audio payload type negotiated with `from`; others come to the engine.
    pub payload_type_in: u8,
    /// `to`'s local RTP port, the new source port.
    pub egress_port: u16,
    /// `to`'s peer, the new destination.
    pub destination: SocketAddr,
    /// The payload type negotiated with `to` (the marker bit is kept).
    pub payload_type_out: u8,
    /// `to`'s SSRC.
    pub ssrc_out: u32,
    /// Added to the sequence number (modulo 2^16).
    pub sequence_offset: u16,
    /// Added to the timestamp (modulo 2^32).
    pub timestamp_offset: u32,
    /// RTP clock rate of the codec, for the interarrival jitter.
    pub clock_rate: u32,
}

/// What the engine asks of the daemon's kernel relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffloadAction {
    /// Forward this direction from now on. If that cannot be done, say so with
    /// [`MediaEngine::handle_offload_refused`]; the engine then relays it itself.
    Install(OffloadRule),
    /// Hand the counters of the direction arriving on `leg` back with
    /// [`MediaEngine::handle_offload_counters`] (`removed: false`).
    Read {
        /// The leg the packets arrive on.
        leg: LegId,
        /// Its local RTP port.
        ingress_port: u16,
    },
    /// Stop forwarding the direction arriving on `leg` and hand its final counters back
    /// with [`MediaEngine::handle_offload_counters`] (`removed: true`), before the next
    /// input of any kind.
    Remove {
        /// The leg the packets arrive on.
        leg: LegId,
        /// Its local RTP port.
        ingress_port: u16,
    },
}

/// Cumulative counters of one forwarded direction since its rule was installed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffloadCounters {
    /// Packets forwarded.
    pub packets: u64,
    /// Their payload bytes (after the 12-byte header).
    pub payload_bytes: u64,
    /// Sequence number and timestamp, as received, of the newest packet forwarded.
    pub newest: Option<(u16, u32)>,
    /// When the last packet arrived.
    pub last_arrival: Option<Instant>,
    /// Interarrival jitter (RFC 3550 A.8) in RTP ticks, scaled by 16.
    pub jitter_q4: u32,
}

/// A direction forwarded outside the engine.
#[derive(Debug, Clone, Copy)]
pub(super) struct Offload {
    pub rule: OffloadRule,
    /// `Remove` was asked; only the final counters are awaited.
    pub removing: bool,
    /// Counters folded into the legs so far.
    pub absorbed: OffloadCounters,
}

impl MediaEngine {
    /// The next thing to do with the daemon's kernel relay.
    pub fn poll_offload(&mut self) -> Option<OffloadAction> {
        self.offload_actions.pop_front()
    }

    /// Asks for the counters of every forwarded direction now (before a status query,
    /// so it shows what the kernel forwarded up to this moment).
    pub fn refresh_offloads(&mut self) {
        for (leg, offload) in &self.offloads {
            if !offload.removing {
                self.offload_actions.push_back(OffloadAction::Read {
                    leg: *leg,
                    ingress_port: offload.rule.ingress_port,
                });
            }
        }
    }

    /// Counters of the direction arriving on `leg`, as asked by [`OffloadAction::Read`] or
    /// [`OffloadAction::Remove`] (`removed`); folded into both legs' statistics and the
    /// outgoing stream. Counters of a direction the engine no longer knows are ignored.
    pub fn handle_offload_counters(
        &mut self,
        now: Instant,
        leg: LegId,
        counters: OffloadCounters,
        removed: bool,
    ) {
        let Some(offload) = self.offloads.get_mut(&leg) else {
            return;
        };
        let before = offload.absorbed;
        let rule = offload.rule;
        offload.absorbed = counters;
        if removed {
            self.offloads.remove(&leg);
            if let Some(from) = self.legs.get_mut(&leg) {
                from.offload_read_at = None;
            }
        }
        self.absorb(now, &rule, before, counters);
    }

    /// The daemon could not install the direction arriving on `leg`: the engine relays it
    /// itself until the bridge changes.
    pub fn handle_offload_refused(&mut self, leg: LegId) {
        if self.offloads.remove(&leg).is_none() {
            return;
        }
        self.out.stats.offloads_refused += 1;
        if let Some(from) = self.legs.get_mut(&leg) {
            from.offload_refused = true;
            from.offload_read_at = None;
        }
        self.reschedule(leg);
    }

    /// Folds what was forwarded between `before` and `now_counters` into the legs.
    fn absorb(
        &mut self,
        now: Instant,
        rule: &OffloadRule,
        before: OffloadCounters,
        counters: OffloadCounters,
    ) {
        let packets = counters.packets.saturating_sub(before.packets);
        let bytes = counters.payload_bytes.saturating_sub(before.payload_bytes);
        self.out.stats.offloaded_packets += packets;
        if let Some(from) = self.legs.get_mut(&rule.from) {
            from.stats.packets_in += packets;
            from.stats.bytes_in += bytes;
            if let Some((sequence, _)) = counters.newest.filter(|_| packets > 0) {
                // The kernel's jitter estimate starts from nothing: take it once it has
                // seen enough packets to mean something.
                let jitter = (counters.packets >= 16).then_some(counters.jitter_q4);
                from.receiver
                    .absorb_forwarded(rule.ssrc_in, packets as u32, sequence, jitter);
            }
            if let Some(at) = counters.last_arrival.filter(|at| *at > from.last_received) {
                from.last_received = at.min(now);
                from.timeout_reported = false;
            }
        }
        if let Some(to) = self.legs.get_mut(&rule.to) {
            to.stats.packets_out += packets;
            to.stats.bytes_out += bytes;
            // Unless a re-INVITE started a new stream on the leg meanwhile.
            let same_stream = to.outbound.sender_mut().config().ssrc == rule.ssrc_out;
            if let Some((sequence, timestamp)) =
                counters.newest.filter(|_| packets > 0 && same_stream)
            {
                let at = counters.last_arrival.unwrap_or(now).min(now);
                to.outbound.sender_mut().absorb_forwarded(
                    at,
                    sequence.wrapping_add(rule.sequence_offset),
                    timestamp.wrapping_add(rule.timestamp_offset),
                    packets as u32,
                    bytes as u32,
                );
            }
        }
        self.reschedule(rule.from);
    }

    /// Offers the direction `from` → `to` to the daemon if it has settled (called after
    /// relaying one of its packets here).
    pub(super) fn offer_offload(&mut self, now: Instant, from: LegId, to: LegId) {
        if !self.out.config.offload || self.offloads.contains_key(&from) {
            return;
        }
        let Some(rule) = self.settled_rule(from, to) else {
            return;
        };
        self.offloads.insert(
            from,
            Offload {
                rule,
                removing: false,
                absorbed: OffloadCounters::default(),
            },
        );
        self.out.stats.offloads_installed += 1;
        self.offload_actions.push_back(OffloadAction::Install(rule));
        let interval = read_interval(self.out.config.media_timeout);
        if let Some(leg) = self.legs.get_mut(&from) {
            leg.offload_read_at = Some(now + interval);
        }
        self.reschedule(from);
    }

    /// The rule for `from` → `to` if nothing but a header rewrite happens on it.
    fn settled_rule(&self, from: LegId, to: LegId) -> Option<OffloadRule> {
        let a = self.legs.get(&from)?;
        let b = self.legs.get(&to)?;
        let plain = a.route == Route::Relay(to)
            && !a.offload_refused
            && a.jitter.is_none()
            && a.taps.is_empty()
            && b.taps.is_empty()
            && !b.outbound_busy()
            && a.media.direction.receives();
        if !plain {
            return None;
        }
        let source = a.filter.locked_source()?;
        let ssrc_in = a
            .receiver
            .ssrc()
            .filter(|ssrc| a.receiver.is_valid_source(*ssrc))?;
        let destination = b.rtp_destination()?;
        let Outbound::Relay(relay) = &b.outbound else {
            return None;
        };
        let (sequence_offset, timestamp_offset) = relay.sender().forward_mapping(ssrc_in)?;
        Some(OffloadRule {
            from,
            to,
            ingress_port: a.media.local_port,
            source,
            ssrc_in,
            payload_type_in: a.media.payload_type,
            egress_port: b.media.local_port,
            destination,
            payload_type_out: b.media.payload_type,
            ssrc_out: relay.sender().config().ssrc,
            sequence_offset,
            timestamp_offset,
            clock_rate: a.media.codec.rtp_clock_rate(),
        })
    }

    /// Takes back both directions of the bridge `id` is in, before something changes it.
    pub(super) fn revoke_offload(&mut self, id: LegId) {
        if self.offloads.is_empty() {
            return;
        }
        let peer = self.legs.get(&id).and_then(|leg| leg.route.peer());
        self.remove_offload(id);
        if let Some(peer) = peer {
            self.remove_offload(peer);
        }
    }

    /// Takes back the direction that feeds `id`'s outgoing stream (its bridge peer's),
    /// before the engine sends on that stream itself (a prompt, digits).
    pub(super) fn revoke_offload_into(&mut self, id: LegId) {
        if self.offloads.is_empty() {
            return;
        }
        if let Some(peer) = self.legs.get(&id).and_then(|leg| leg.route.peer()) {
            self.remove_offload(peer);
        }
    }

    /// Asks for the direction arriving on `from` to be removed, if it is installed.
    fn remove_offload(&mut self, from: LegId) {
        let Some(offload) = self.offloads.get_mut(&from).filter(|o| !o.removing) else {
            return;
        };
        offload.removing = true;
        self.offload_actions.push_back(OffloadAction::Remove {
            leg: from,
            ingress_port: offload.rule.ingress_port,
        });
    }

    /// Whether a packet of `ssrc` arriving on `from` may be relayed here now. Packets of
    /// the forwarded SSRC interleave consistently; another SSRC waits for the direction
    /// to be taken back (it would re-anchor the stream on numbers the kernel has used).
    pub(super) fn offload_allows(&mut self, from: LegId, ssrc: u32) -> bool {
        let Some(offload) = self.offloads.get(&from) else {
            return true;
        };
        if offload.rule.ssrc_in == ssrc {
            return true;
        }
        self.out.stats.offload_handover_drops += 1;
        self.remove_offload(from);
        false
    }

    /// Asks for the counters of the direction arriving on `id` when they are due.
    pub(super) fn offload_timer(&mut self, now: Instant, id: LegId) {
        let interval = read_interval(self.out.config.media_timeout);
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.offload_read_at.is_none_or(|at| at > now) {
            return;
        }
        leg.offload_read_at = Some(now + interval);
        if let Some(offload) = self.offloads.get(&id).filter(|o| !o.removing) {
            self.offload_actions.push_back(OffloadAction::Read {
                leg: id,
                ingress_port: offload.rule.ingress_port,
            });
        }
    }
}
