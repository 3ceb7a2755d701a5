//! Adaptive jitter buffer for terminated media (decode, mix, record, detect DTMF in audio).
//!
//! Not for same-codec relay: [`crate::relay`] forwards packets as they come and lets the far
//! end's buffer do this work once.
//!
//! The daemon pulls one frame per 20 ms tick with [`JitterBuffer::pop`]; each pull yields
//! audio, a concealment marker (the decoder runs its PLC), or silence before playout
//! starts. Packets are kept by extended (unwrapped) RTP timestamp, so reordering and the
//! 32-bit timestamp wrap need no special cases. The playout delay adapts between the
//! configured minimum and maximum: the target is a multiple of the RFC 3550 interarrival
//! jitter; when the buffered audio runs short of it the buffer stretches (one concealed
//! frame without advancing), when it runs long it drops one frame per pull.
//!
//! Feed it the negotiated audio payload type only: RFC 4733 telephone-events repeat one
//! timestamp across packets and would be taken for duplicates; the daemon routes them
//! to DTMF handling instead.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::rtp::duration_to_ticks;

/// Parameters of one jitter buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate of the stream in Hz.
    pub clock_rate: u32,
    /// RTP ticks of one frame (and of every packet: ptime is negotiated to 20 ms).
    pub frame_ticks: u32,
    /// Smallest playout delay.
    pub min_delay: Duration,
    /// Largest playout delay.
    pub max_delay: Duration,
    /// Most packets held; beyond it the oldest is dropped and counted.
    pub capacity: usize,
}

impl JitterConfig {
    /// 20 ms frames, 40–200 ms delay, 50 packets, at `clock_rate` Hz.
    pub fn voice(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            frame_ticks: clock_rate / 50,
            min_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(200),
            capacity: 50,
        }
    }
}

/// What one pull yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A received payload to decode.
    Audio {
        /// The RTP payload.
        payload: Bytes,
        /// Its RTP timestamp.
        timestamp: u32,
    },
    /// No packet for this slot (lost, or the buffer is stretching): run the decoder's PLC.
    Conceal,
    /// Nothing is playing (no stream yet, or waiting to fill): play silence, no PLC.
    Silence,
}

/// Counters for the daemon to export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets accepted into the buffer.
    pub inserted: u64,
    /// Packets that arrived after their playout slot.
    pub late: u64,
    /// Packets already held.
    pub duplicates: u64,
    /// Packets dropped because the buffer was full.
    pub overflow: u64,
    /// Slots concealed because their packet never came while later ones did (a gap).
    pub lost: u64,
    /// Slots concealed because the buffer ran empty (late stream or end of a talk spurt).
    pub underruns: u64,
    /// Concealed slots inserted to grow the delay.
    pub stretched: u64,
    /// Frames dropped to shrink the delay.
    pub shrunk: u64,
    /// Restarts on a new SSRC or a timestamp jump.
    pub resets: u64,
}

/// A timestamp jump beyond this many seconds is a restarted stream, not loss.
const MAX_JUMP_SECONDS: u32 = 10;
/// Target delay is this multiple of the interarrival jitter.
const JITTER_MULTIPLE: u32 = 4;

/// Adaptive jitter buffer for one incoming stream.
#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    ssrc: Option<u32>,
    packets: BTreeMap<u64, Bytes>,
    /// Extended timestamp of the newest packet seen, the reference for unwrapping.
    newest: Option<u64>,
    /// Extended timestamp of the next slot to play, once playout started.
    cursor: Option<u64>,
    /// When the first packet of the current fill arrived.
    filling_since: Option<Instant>,
    /// A.8 jitter state: epoch, previous transit, jitter ×16 (all in RTP ticks).
    epoch: Option<Instant>,
    transit: Option<u32>,
    jitter_q4: u32,
    empty_pulls: u32,
    /// Arrival of the newest accepted packet: stretching needs a live stream.
    last_arrival: Option<Instant>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(config: JitterConfig) -> Self {
        Self {
            config,
            ssrc: None,
            packets: BTreeMap::new(),
            newest: None,
            cursor: None,
            filling_since: None,
            epoch: None,
            transit: None,
            jitter_q4: 0,
            empty_pulls: 0,
            last_arrival: None,
            stats: JitterStats::default(),
        }
    }

    /// Counters since creation.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// True when no packet is held.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Current target playout delay, between the configured minimum and maximum.
    pub fn target_delay(&self) -> Duration {
        let jitter_ticks = (self.jitter_q4 >> 4).saturating_mul(JITTER_MULTIPLE);
        let jitter = Duration::from_micros(
            u64::from(jitter_ticks) * 1_000_000 / u64::from(self.config.clock_rate.max(1)),
        );
        jitter.clamp(self.config.min_delay, self.config.max_delay)
    }

    fn frame_duration(&self) -> Duration {
        Duration::from_micros(
            u64::from(self.config.frame_ticks) * 1_000_000
                / u64::from(self.config.clock_rate.max(1)),
        )
    }

    fn target_ticks(&self) -> u32 {
        duration_to_ticks(self.target_delay(), self.config.clock_rate)
    }

    fn reset(&mut self) {
        self.packets.clear();
        self.newest = None;
        self.cursor = None;
        self.filling_since = None;
        self.epoch = None;
        self.transit = None;
        self.empty_pulls = 0;
        self.stats.resets += 1;
    }

    fn extend(reference: u64, timestamp: u32) -> u64 {
        let delta = i64::from(timestamp.wrapping_sub(reference as u32) as i32);
        reference.saturating_add_signed(delta)
    }

    /// Offers a received packet. Late, duplicate and overflowing packets are counted.
    pub fn insert(&mut self, now: Instant, ssrc: u32, timestamp: u32, payload: Bytes) {
        if self.ssrc != Some(ssrc) {
            if self.ssrc.is_some() {
                self.reset();
            }
            self.ssrc = Some(ssrc);
        }
        // Start far from zero so unwrapping backwards never saturates.
        let reference = self.newest.unwrap_or(1 << 40 | u64::from(timestamp));
        let mut extended = Self::extend(reference, timestamp);
        let max_jump = u64::from(self.config.clock_rate) * u64::from(MAX_JUMP_SECONDS);
        if self.newest.is_some() && extended.abs_diff(reference) > max_jump {
            self.reset();
            extended = 1 << 40 | u64::from(timestamp);
        }
        self.update_jitter(now, timestamp);
        if self.cursor.is_some_and(|cursor| extended < cursor) {
            self.stats.late += 1;
            return;
        }
        if self.packets.contains_key(&extended) {
            self.stats.duplicates += 1;
            return;
        }
        self.packets.insert(extended, payload);
        self.stats.inserted += 1;
        self.newest = Some(self.newest.map_or(extended, |newest| newest.max(extended)));
        self.filling_since.get_or_insert(now);
        self.last_arrival = Some(now);
        while self.packets.len() > self.config.capacity {
            if let Some((oldest, _)) = self.packets.pop_first() {
                self.stats.overflow += 1;
                // Playout must not wait for a slot whose packet was thrown away.
                if let Some(cursor) = self.cursor.as_mut() {
                    *cursor = (*cursor).max(oldest + u64::from(self.config.frame_ticks));
                }
            }
        }
    }

    /// [`Self::insert`] for a parsed packet (the payload is shared, not copied).
    pub fn insert_packet(&mut self, now: Instant, packet: &crate::rtp::RtpPacket) {
        self.insert(
            now,
            packet.header.ssrc,
            packet.header.timestamp,
            packet.payload.clone(),
        );
    }

    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let epoch = *self.epoch.get_or_insert(now);
        let arrival =
            duration_to_ticks(now.saturating_duration_since(epoch), self.config.clock_rate);
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(previous) = self.transit.replace(transit) {
            let d = (transit.wrapping_sub(previous) as i32).unsigned_abs();
            self.jitter_q4 = self
                .jitter_q4
                .saturating_add(d)
                .saturating_sub((self.jitter_q4 + 8) >> 4);
        }
    }

    /// When playout will start, while the buffer is filling (for the daemon's timer).
    /// Once playing, the daemon's own 20 ms tick drives [`Self::pop`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.cursor, self.filling_since) {
            (None, Some(since)) => Some(since + self.target_delay()),
            _ => None,
        }
    }

    /// Pulls the frame for the next 20 ms slot.
    pub fn pop(&mut self, now: Instant) -> Frame {
        let frame = u64::from(self.config.frame_ticks);
        let cursor = match self.cursor {
            Some(cursor) => cursor,
            None => {
                let ready = self.filling_since.is_some_and(|since| {
                    now.saturating_duration_since(since) >= self.target_delay()
                });
                match (ready, self.packets.first_key_value()) {
                    (true, Some((&first, _))) => first,
                    _ => return Frame::Silence,
                }
            }
        };
        let buffered = self
            .newest
            .map_or(0, |newest| (newest + frame).saturating_sub(cursor));
        let target = u64::from(self.target_ticks());
        let mut cursor = cursor;
        let playing = self.cursor.is_some();
        // Adapt only while playing: a fresh fill is as deep as the target by construction.
        // Stretch only while packets are still arriving; at the end of a talk spurt the
        // queue must drain, and an empty queue is an underrun, handled below.
        let live = self
            .last_arrival
            .is_some_and(|at| now.saturating_duration_since(at) < 2 * self.frame_duration());
        if playing && buffered > target + 2 * frame && self.packets.remove(&cursor).is_some() {
            self.stats.shrunk += 1;
            cursor += frame;
        } else if playing && live && !self.packets.is_empty() && buffered + frame < target {
            self.stats.stretched += 1;
            return Frame::Conceal;
        }
        self.cursor = Some(cursor + frame);
        if let Some(payload) = self.packets.remove(&cursor) {
            self.empty_pulls = 0;
            return Frame::Audio {
                payload,
                timestamp: cursor as u32,
            };
        }
        if self.packets.is_empty() {
            self.stats.underruns += 1;
            self.empty_pulls += 1;
            // A long underrun is the end of a talk spurt: refill before playing again.
            let max_slots = duration_to_ticks(self.config.max_delay, self.config.clock_rate)
                / self.config.frame_ticks.max(1);
            if self.empty_pulls > max_slots {
                self.cursor = None;
                self.filling_since = None;
                self.empty_pulls = 0;
                return Frame::Silence;
            }
        } else {
            self.stats.lost += 1;
        }
        Frame::Conceal
    }
}

#[cfg(test)]
#[path = "jitter_tests.rs"]
mod tests;
