//! The sans-IO media engine: every leg's RTP/RTCP state, bridges, playback, taps and DTMF,
//! driven by the daemon with datagrams and timeouts (the quinn-proto model).
//!
//! The engine holds no socket and reads no clock. The daemon hands it each datagram a leg's
//! socket received ([`MediaEngine::handle_rtp`], [`MediaEngine::handle_rtcp`]) with the
//! `now` it observed, calls [`MediaEngine::handle_timeout`] at [`MediaEngine::poll_timeout`],
//! and drains [`MediaEngine::poll_transmit`] and [`MediaEngine::poll_event`] after each.
//!
//! Paths through the engine:
//!
//! - Same-codec bridge: each packet is relayed to the peer as it arrives (header rewrite
//!   only, [`crate::relay::Relay`]); no decode, no tick. Telephone-events go the same way
//!   with the peer's payload type.
//! - Different codecs: each direction goes through a jitter buffer, is decoded on the
//!   leg's 20 ms tick and re-encoded with the peer's codec.
//! - Playback ([`FrameSource`]): a 20 ms tick encodes frames with the leg's codec. Bridged
//!   audio for a leg that is playing is dropped; the stream stays continuous across the
//!   switch (the leg's [`crate::rtp::RtpSender`] owns SSRC, sequence and timestamp).
//! - Taps ([`FrameSink`]): the leg's inbound audio is decoded on the tick and handed, with
//!   what the leg was sent, to recorders and in-band detectors.
//! - Echo: the leg's packets are relayed back to it.
//! - Kernel relay: a same-codec direction whose numbers have settled is forwarded by the
//!   daemon outside the engine (an eBPF program), its counters folded back in
//!   ([`offload`](OffloadAction)).
//!
//! Each leg files its earliest deadline (tick, RTCP report, media timeout, learning window,
//! queued digit) in one ordered set, so [`MediaEngine::poll_timeout`] is a lookup.
//!
//! # Layout
//!
//! - `mod.rs`: [`MediaEngine`], its control inputs and outputs.
//! - [`types`]: leg parameters, transmits, events, statistics, configuration, frame traits.
//! - `leg.rs`: one leg's state.
//! - `inbound.rs`: received RTP and RTCP, the relay path, RTCP reports.
//! - `tick.rs`: timers: the 20 ms tick (decode, playback, transcode, taps), digits sent.
//! - `offload.rs`: settled relay directions handed to the daemon's kernel relay
//!   ([`OffloadAction`]) and taken back.
//! - `tests*.rs`: sans-IO tests with simulated time (`tests_offload.rs` with a simulated
//!   kernel relay).

mod inbound;
mod leg;
mod offload;
mod tick;
pub mod types;

use bytes::BytesMut;
use foldhash::{HashMap, HashMapExt};
use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

pub use offload::{OffloadAction, OffloadCounters, OffloadRule};
pub use types::{
    EngineConfig, EngineStats, FrameSink, FrameSource, LegId, LegMedia, LegMediaStats,
    MediaDirection, MediaEvent, MediaTransmit, TelephoneEventPacket,
};

use crate::Error;
use crate::codec::AnyCodec;
use crate::relay::PayloadTypeMap;
use crate::rtp::SenderConfig;
use leg::{Leg, QueuedEvent, Route};
use offload::Offload;

/// Room in the transmit arena: a few hundred RTP datagrams, one daemon batch's worth
/// many times over; more is allocated only while that many wait to be sent.
const ARENA_BYTES: usize = 64 * 1024;

/// The bounded output queues, apart from the legs so both can be borrowed at once.
struct Output {
    config: EngineConfig,
    transmits: VecDeque<MediaTransmit>,
    /// Where outgoing RTP is written: each datagram is split off as `Bytes`, and the
    /// space comes back once the daemon has sent and dropped them, so the relay and
    /// playback allocate nothing per packet.
    arena: BytesMut,
    events: VecDeque<MediaEvent>,
    stats: EngineStats,
}

impl Output {
    fn transmit(&mut self, transmit: MediaTransmit) {
        if self.transmits.len() >= self.config.max_transmits {
            self.stats.transmit_overflow += 1;
        } else {
            self.transmits.push_back(transmit);
        }
    }

    fn event(&mut self, event: MediaEvent) {
        if self.events.len() >= self.config.max_events {
            self.stats.event_overflow += 1;
        } else {
            self.events.push_back(event);
        }
    }
}

/// SplitMix64: spreads a seed into well-mixed bits (SSRCs, initial numbers, RTCP jitter).
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// All media legs of the switch.
pub struct MediaEngine {
    start: Instant,
    seed: u64,
    legs: HashMap<LegId, Box<Leg>>,
    timers: BTreeSet<(Instant, LegId)>,
    out: Output,
    /// Directions forwarded by the daemon's kernel relay, by the leg they arrive on.
    offloads: HashMap<LegId, Offload>,
    /// What the daemon's kernel relay is to do: at most an install or removal and a
    /// read per leg at a time, so bounded by the leg limit.
    offload_actions: VecDeque<OffloadAction>,
}

impl std::fmt::Debug for MediaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaEngine")
            .field("legs", &self.legs.len())
            .field("stats", &self.out.stats)
            .finish_non_exhaustive()
    }
}

impl MediaEngine {
    /// An engine with no legs. `seed` makes SSRCs and initial sequence numbers and
    /// timestamps unpredictable (the daemon passes random bits; tests a constant).
    pub fn new(config: EngineConfig, now: Instant, seed: u64) -> Self {
        Self {
            start: now,
            seed,
            legs: HashMap::new(),
            timers: BTreeSet::new(),
            out: Output {
                config,
                transmits: VecDeque::new(),
                arena: BytesMut::with_capacity(ARENA_BYTES),
                events: VecDeque::new(),
                stats: EngineStats::default(),
            },
            offloads: HashMap::new(),
            offload_actions: VecDeque::new(),
        }
    }

    fn sender_config(&self, id: LegId, media: &LegMedia, generation: u64) -> SenderConfig {
        let bits = mix(self.seed ^ mix(id.0) ^ generation);
        let more = mix(bits);
        SenderConfig {
            ssrc: bits as u32,
            payload_type: media.payload_type,
            clock_rate: media.codec.rtp_clock_rate(),
            frame_ticks: media.codec.rtp_ticks_per_frame(),
            initial_sequence: (bits >> 32) as u16,
            initial_timestamp: more as u32,
        }
    }

    fn rtcp_delay(&self, id: LegId, count: u64) -> Duration {
        // 0.9–1.1 × the interval, different per leg and per report, reproducible.
        let permille = 900 + mix(self.seed ^ id.0 ^ count.rotate_left(32)) % 201;
        self.out.config.rtcp_interval * permille as u32 / 1000
    }

    /// Adds a leg whose SDP was negotiated.
    pub fn add_leg(&mut self, now: Instant, id: LegId, media: LegMedia) -> Result<(), Error> {
        if self.legs.contains_key(&id) {
            return Err(Error::LegConflict { leg: id.0 });
        }
        if self.legs.len() >= self.out.config.max_legs {
            self.out.stats.legs_refused += 1;
            return Err(Error::LegLimit {
                limit: self.out.config.max_legs,
            });
        }
        let codec = AnyCodec::new(media.codec)?;
        let sender = self.sender_config(id, &media, 0);
        let rtcp_at = now + self.rtcp_delay(id, 0);
        let leg = Leg::new(
            now,
            id,
            media,
            codec,
            sender,
            self.out.config.learning_window,
            rtcp_at,
        );
        self.legs.insert(id, Box::new(leg));
        self.reschedule(id);
        Ok(())
    }

    /// Applies a re-negotiated SDP (re-INVITE, hold, resume). A changed codec or payload
    /// type starts a new outgoing stream (new SSRC); a changed peer address restarts
    /// source learning. A bridge is kept, switching between relay and transcoding as needed.
    pub fn update_leg(&mut self, now: Instant, id: LegId, media: LegMedia) -> Result<(), Error> {
        let leg = self.legs.get(&id).ok_or(Error::UnknownLeg { leg: id.0 })?;
        let old = leg.media;
        let peer = leg.route.peer();
        let stream_changed = old.codec != media.codec || old.payload_type != media.payload_type;
        let codec = if old.codec != media.codec {
            Some(AnyCodec::new(media.codec)?)
        } else {
            None
        };
        let sender = self.sender_config(
            id,
            &media,
            now.saturating_duration_since(self.start).as_nanos() as u64 | 1,
        );
        if peer.is_some() {
            self.unbridge(now, id);
        }
        if let Some(leg) = self.legs.get_mut(&id) {
            leg.media = media;
            if let Some(codec) = codec {
                leg.codec = codec;
                leg.receiver = crate::rtp::RtpReceiver::new(media.codec.rtp_clock_rate());
            }
            if stream_changed {
                leg.outbound = leg::Outbound::Direct(crate::rtp::RtpSender::new(sender));
            }
            if old.remote_rtp != media.remote_rtp {
                leg.filter.reset(media.remote_rtp);
            }
            if media.direction.receives() && !old.direction.receives() {
                leg.last_received = now;
                leg.timeout_reported = false;
            }
        }
        match peer {
            Some(peer) if peer == id => self.echo(now, id, true)?,
            Some(peer) => self.bridge(now, id, peer)?,
            None => self.reschedule(id),
        }
        Ok(())
    }

    /// Removes a leg (hangup); its bridge ends, its taps are returned to be finished.
    pub fn remove_leg(&mut self, now: Instant, id: LegId) -> Vec<Box<dyn FrameSink>> {
        self.unbridge(now, id);
        let Some(leg) = self.legs.remove(&id) else {
            return Vec::new();
        };
        if let Some(at) = leg.scheduled {
            self.timers.remove(&(at, id));
        }
        // Nothing of a removed leg leaves after it: its port may soon be
        // another leg's.
        self.out.transmits.retain(|transmit| transmit.leg != id);
        leg.taps
    }

    /// Bridges `a` and `b` (each leaves any bridge or echo it was in).
    pub fn bridge(&mut self, now: Instant, a: LegId, b: LegId) -> Result<(), Error> {
        if a == b {
            return Err(Error::LegConflict { leg: a.0 });
        }
        let media_a = self
            .legs
            .get(&a)
            .ok_or(Error::UnknownLeg { leg: a.0 })?
            .media;
        let media_b = self
            .legs
            .get(&b)
            .ok_or(Error::UnknownLeg { leg: b.0 })?
            .media;
        self.unbridge(now, a);
        self.unbridge(now, b);
        let same_codec = media_a.codec == media_b.codec;
        for (id, from, to, peer) in [(a, media_b, media_a, b), (b, media_a, media_b, a)] {
            if let Some(leg) = self.legs.get_mut(&id) {
                if same_codec {
                    leg.route = Route::Relay(peer);
                    leg.outbound.attach(
                        pt_map(from.payload_type, to.payload_type),
                        event_map(&from, &to),
                    );
                } else {
                    leg.route = Route::Transcode(peer);
                }
            }
        }
        self.refresh(now, a);
        self.refresh(now, b);
        Ok(())
    }

    /// Ends the bridge or echo of `id`, if any; both legs then hear nothing (or their playback).
    pub fn unbridge(&mut self, now: Instant, id: LegId) {
        let Some(peer) = self.legs.get(&id).and_then(|leg| leg.route.peer()) else {
            return;
        };
        self.revoke_offload(id);
        for leg_id in [id, peer] {
            if let Some(leg) = self.legs.get_mut(&leg_id) {
                leg.route = Route::None;
                leg.offload_refused = false;
                leg.outbound.detach();
                leg.pending_out = None;
                leg.event_map = None;
            }
        }
        self.refresh(now, id);
        self.refresh(now, peer);
    }

    /// Relays the leg's media back to it (`on`), or stops doing so.
    pub fn echo(&mut self, now: Instant, id: LegId, on: bool) -> Result<(), Error> {
        let media = self
            .legs
            .get(&id)
            .ok_or(Error::UnknownLeg { leg: id.0 })?
            .media;
        self.unbridge(now, id);
        if let Some(leg) = self.legs.get_mut(&id).filter(|_| on) {
            leg.route = Route::Relay(id);
            leg.outbound.attach(
                pt_map(media.payload_type, media.payload_type),
                event_map(&media, &media),
            );
        }
        self.refresh(now, id);
        Ok(())
    }

    /// Plays `source` on the leg from the next tick, replacing any playback; bridged audio
    /// to the leg is dropped until it ends.
    pub fn play(
        &mut self,
        now: Instant,
        id: LegId,
        source: Box<dyn FrameSource>,
    ) -> Result<(), Error> {
        self.revoke_offload_into(id);
        let leg = self
            .legs
            .get_mut(&id)
            .ok_or(Error::UnknownLeg { leg: id.0 })?;
        leg.playback = Some(source);
        self.refresh(now, id);
        Ok(())
    }

    /// Stops the leg's playback; true if one was running. No `PlayFinished` is reported.
    pub fn stop_play(&mut self, now: Instant, id: LegId) -> bool {
        let stopped = self
            .legs
            .get_mut(&id)
            .and_then(|leg| leg.playback.take())
            .is_some();
        self.refresh(now, id);
        stopped
    }

    /// Adds a tap receiving the leg's decoded inbound and outbound audio every 20 ms.
    pub fn add_tap(
        &mut self,
        now: Instant,
        id: LegId,
        sink: Box<dyn FrameSink>,
    ) -> Result<(), Error> {
        self.revoke_offload(id);
        let leg = self
            .legs
            .get_mut(&id)
            .ok_or(Error::UnknownLeg { leg: id.0 })?;
        leg.taps.push(sink);
        let peer = leg.route.peer();
        self.refresh(now, id);
        if let Some(peer) = peer {
            self.refresh(now, peer);
        }
        Ok(())
    }

    /// Removes and returns the leg's taps (to finish a recording).
    pub fn remove_taps(&mut self, now: Instant, id: LegId) -> Vec<Box<dyn FrameSink>> {
        let Some(leg) = self.legs.get_mut(&id) else {
            return Vec::new();
        };
        let taps = std::mem::take(&mut leg.taps);
        let peer = leg.route.peer();
        self.refresh(now, id);
        if let Some(peer) = peer {
            self.refresh(now, peer);
        }
        taps
    }

    /// Queues the telephone-event packets of one digit (the player's `Rfc4733Sender`
    /// builds them); the first goes out now, the others at their offsets.
    pub fn send_dtmf(
        &mut self,
        now: Instant,
        id: LegId,
        packets: &[TelephoneEventPacket],
    ) -> Result<(), Error> {
        let limit = self.out.config.max_dtmf_packets;
        let leg = self.legs.get(&id).ok_or(Error::UnknownLeg { leg: id.0 })?;
        if leg.media.telephone_event.is_none() {
            return Err(Error::NoTelephoneEvent { leg: id.0 });
        }
        // The digits go out on the leg's stream: it must be ours again first.
        self.revoke_offload_into(id);
        let leg = self
            .legs
            .get_mut(&id)
            .ok_or(Error::UnknownLeg { leg: id.0 })?;
        let clock = u64::from(leg.media.codec.rtp_clock_rate().max(1));
        let first = packets.first().map_or(0, |packet| packet.offset_ticks);
        for (index, packet) in packets.iter().enumerate() {
            if leg.dtmf_out.len() >= limit {
                self.out.stats.dtmf_overflow += 1;
                continue;
            }
            let ticks = u64::from(packet.offset_ticks.saturating_sub(first));
            leg.dtmf_out.push_back(QueuedEvent {
                at: now + Duration::from_micros(ticks * 1_000_000 / clock),
                marker: packet.marker,
                payload: packet.payload,
                new_event: index == 0,
            });
        }
        self.reschedule(id);
        Ok(())
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<MediaTransmit> {
        self.out.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.out.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// The leg's counters, with loss, jitter and RTT as of the last packet and report.
    pub fn leg_stats(&self, id: LegId) -> Option<LegMediaStats> {
        let leg = self.legs.get(&id)?;
        let mut stats = leg.stats;
        stats.lost = leg.receiver.cumulative_lost();
        let clock = u64::from(leg.media.codec.rtp_clock_rate().max(1));
        stats.jitter = Duration::from_micros(u64::from(leg.receiver.jitter()) * 1_000_000 / clock);
        Some(stats)
    }

    /// The engine's counters.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            legs: self.legs.len(),
            offloads_active: self.offloads.len(),
            ..self.out.stats
        }
    }

    /// Re-evaluates the leg's tick (decode and playback needs) and files its deadline.
    fn refresh(&mut self, now: Instant, id: LegId) {
        let peer_has_taps = self
            .legs
            .get(&id)
            .and_then(|leg| leg.route.peer())
            .filter(|peer| *peer != id)
            .and_then(|peer| self.legs.get(&peer))
            .is_some_and(|peer| !peer.taps.is_empty());
        if let Some(leg) = self.legs.get_mut(&id) {
            let decode = leg.decodes_inbound(peer_has_taps);
            leg.set_ticking(now, decode);
        }
        self.reschedule(id);
    }

    /// Files the leg under its earliest deadline.
    fn reschedule(&mut self, id: LegId) {
        let media_timeout = self.out.config.media_timeout;
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let deadline = leg.next_deadline(media_timeout);
        if leg.scheduled == Some(deadline) {
            return;
        }
        if let Some(old) = leg.scheduled.replace(deadline) {
            self.timers.remove(&(old, id));
        }
        self.timers.insert((deadline, id));
    }

    /// The 64-bit NTP time at `now` on the engine's timeline.
    fn ntp(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.start);
        let fraction = (u64::from(since.subsec_nanos()) << 32) / 1_000_000_000;
        self.out
            .config
            .ntp_at_start
            .wrapping_add(since.as_secs() << 32)
            .wrapping_add(fraction)
    }
}

fn pt_map(from: u8, to: u8) -> PayloadTypeMap {
    PayloadTypeMap { from, to }
}

fn event_map(from: &LegMedia, to: &LegMedia) -> Option<PayloadTypeMap> {
    Some(pt_map(from.telephone_event?, to.telephone_event?))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_offload;
#[cfg(test)]
mod tests_play;
#[cfg(test)]
mod tests_support;
