//! RFC 4733 telephone-events: the payload, a receiver that reports each digit once, and a
//! sender that produces the packet sequence of one digit.
//!
//! The receiver is written for what carriers actually send rather than for the RFC's happy
//! path: the end packet repeated three times (or more), no marker bit on the first packet,
//! end packets lost altogether (the digit ends when the next event starts, or
//! `end_timeout` after its last packet), reordered updates, and long events whose 16-bit
//! duration either wraps in place or continues as a new segment (RFC 4733 §2.5.1.3:
//! same event, timestamp advanced by the previous segment's duration, no marker). A digit
//! is reported when it ends, with its full duration.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Digit, DtmfEvent, DtmfMethod};
use crate::Error;

/// The 4-byte event block of a telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0-15 are DTMF digits).
    pub event: u8,
    /// The E bit: this packet reports the end of the event.
    pub end: bool,
    /// Power level in -dBm0, 0-63.
    pub volume: u8,
    /// Duration so far, in RTP clock ticks from the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Bytes of one event block.
    pub const LEN: usize = 4;

    /// Reads the first event block of `payload`; trailing bytes (RFC 2198 redundancy the
    /// peer should not have sent unnegotiated) are ignored.
    pub fn decode(payload: &[u8]) -> Result<Self, Error> {
        let Some(&[event, flags, high, low]) = payload.get(..Self::LEN) else {
            return Err(Error::TelephoneEventTruncated { len: payload.len() });
        };
        Ok(Self {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([high, low]),
        })
    }

    /// The event block on the wire (the reserved bit clear, volume cut to 6 bits).
    pub fn encode(&self) -> [u8; 4] {
        let [high, low] = self.duration.to_be_bytes();
        let end = if self.end { 0x80 } else { 0 };
        [self.event, end | (self.volume & 0x3f), high, low]
    }

    /// The DTMF digit of this event, if it is one.
    pub fn digit(&self) -> Option<Digit> {
        Digit::from_event(self.event)
    }
}

/// Counters for the daemon to export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Packets handled.
    pub packets: u64,
    /// Payloads too short to hold an event.
    pub malformed: u64,
    /// Events other than DTMF digits (flash, fax tones...), ignored.
    pub not_dtmf: u64,
    /// Packets of an event already reported (repeated ends, late updates).
    pub duplicates: u64,
    /// Digits reported.
    pub digits: u64,
    /// Digits ended without their end packet (a new event or the timeout).
    pub ends_lost: u64,
}

#[derive(Debug, Clone, Copy)]
struct ActiveEvent {
    digit: Digit,
    /// Timestamp of the current segment.
    timestamp: u32,
    /// Ticks of earlier segments and of duration-field wraps.
    base_ticks: u64,
    /// The duration field of the current segment.
    duration: u16,
    last_packet: Instant,
}

/// How far behind the last reported event (in seconds of RTP clock) a packet is taken for
/// its straggler.
const STRAGGLER_WINDOW_SECS: u32 = 16;

/// Reports beyond this many undrained are dropped; a caller that polls never gets near it.
const QUEUE_CAP: usize = 32;

/// Receiver state of one telephone-event stream.
#[derive(Debug)]
pub struct Rfc4733Receiver {
    clock_rate: u32,
    end_timeout: Duration,
    active: Option<ActiveEvent>,
    /// Timestamp and digit of the last event reported, to drop its stragglers.
    last_ended: Option<(u32, Digit)>,
    queue: VecDeque<DtmfEvent>,
    stats: ReceiverStats,
}

impl Rfc4733Receiver {
    /// A receiver for events on a `clock_rate` Hz RTP clock; an event whose end packets are
    /// lost ends `end_timeout` after its last packet.
    pub fn new(clock_rate: u32, end_timeout: Duration) -> Self {
        Self {
            clock_rate: clock_rate.max(1),
            end_timeout,
            active: None,
            last_ended: None,
            queue: VecDeque::new(),
            stats: ReceiverStats::default(),
        }
    }

    /// One telephone-event packet: its RTP marker bit, timestamp and payload.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), Error> {
        self.stats.packets += 1;
        let event = TelephoneEvent::decode(payload).inspect_err(|_| self.stats.malformed += 1)?;
        let Some(digit) = event.digit() else {
            self.stats.not_dtmf += 1;
            return Ok(());
        };
        if let Some((ended_timestamp, ended_digit)) = self.last_ended {
            // Serial-number order (RFC 1982): a timestamp a little behind the last reported
            // event is a straggler of it or of an older one. Far behind is a sender that
            // restarted its timestamps, whose events must not be lost.
            let back = ended_timestamp.wrapping_sub(timestamp);
            let behind = back > 0 && back < STRAGGLER_WINDOW_SECS.saturating_mul(self.clock_rate);
            if behind || (timestamp == ended_timestamp && digit == ended_digit) {
                self.stats.duplicates += 1;
                return Ok(());
            }
        }
        match self.active {
            Some(active) if active.timestamp == timestamp && active.digit == digit => {
                self.update(now, active, event);
            }
            Some(active)
                if digit == active.digit && !marker && is_next_segment(&active, timestamp) =>
            {
                let elapsed = u64::from(timestamp.wrapping_sub(active.timestamp));
                let next = ActiveEvent {
                    timestamp,
                    base_ticks: active.base_ticks + elapsed,
                    duration: 0,
                    ..active
                };
                self.update(now, next, event);
            }
            Some(active) => {
                self.stats.ends_lost += 1;
                self.finish(active);
                self.start(now, digit, timestamp, event);
            }
            None => self.start(now, digit, timestamp, event),
        }
        Ok(())
    }

    fn start(&mut self, now: Instant, digit: Digit, timestamp: u32, event: TelephoneEvent) {
        let active = ActiveEvent {
            digit,
            timestamp,
            base_ticks: 0,
            duration: 0,
            last_packet: now,
        };
        self.update(now, active, event);
    }

    fn update(&mut self, now: Instant, mut active: ActiveEvent, event: TelephoneEvent) {
        if event.duration >= active.duration {
            active.duration = event.duration;
        } else if active.duration - event.duration > 0x8000 {
            // The 16-bit field wrapped in place (a sender that ignores §2.5.1.3).
            active.base_ticks += 0x1_0000;
            active.duration = event.duration;
        }
        // Otherwise a reordered, older update: keep the longer duration.
        active.last_packet = now;
        if event.end {
            self.finish(active);
        } else {
            self.active = Some(active);
        }
    }

    fn finish(&mut self, active: ActiveEvent) {
        self.active = None;
        self.last_ended = Some((active.timestamp, active.digit));
        let ticks = active.base_ticks + u64::from(active.duration);
        let micros = ticks.saturating_mul(1_000_000) / u64::from(self.clock_rate);
        self.stats.digits += 1;
        if self.queue.len() < QUEUE_CAP {
            self.queue.push_back(DtmfEvent {
                digit: active.digit,
                duration: Duration::from_micros(micros),
                method: DtmfMethod::Rfc4733,
            });
        }
    }

    /// When an event whose end packets were lost will be ended.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.active
            .map(|active| active.last_packet + self.end_timeout)
    }

    /// Ends an event whose last packet is `end_timeout` old.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due = |active: &ActiveEvent| now >= active.last_packet + self.end_timeout;
        if let Some(active) = self.active.filter(due) {
            self.stats.ends_lost += 1;
            self.finish(active);
        }
    }

    /// The next digit that ended.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.queue.pop_front()
    }

    /// The counters.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// Forgets the stream (a new SSRC after a re-INVITE); an event in progress is dropped.
    pub fn reset(&mut self) {
        self.active = None;
        self.last_ended = None;
    }
}

/// Whether `timestamp` starts the next segment of a long event (RFC 4733 §2.5.1.3): it lies
/// within the current segment's reported length, and that length is near the 16-bit limit.
/// A new press of the same key starts after a pause, beyond the previous event's length.
fn is_next_segment(active: &ActiveEvent, timestamp: u32) -> bool {
    let elapsed = timestamp.wrapping_sub(active.timestamp);
    active.duration >= 0x8000 && elapsed > 0 && elapsed <= u32::from(active.duration)
}

/// One packet of a digit the sender produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// The RTP marker bit (the first packet of the event only).
    pub marker: bool,
    /// The RTP timestamp (the event's start; advanced per segment for long events).
    pub timestamp: u32,
    /// The telephone-event payload.
    pub payload: [u8; 4],
    /// When to send it, in RTP ticks after the key press began (the first packet already
    /// reports one interval of tone).
    pub offset_ticks: u32,
}

/// Builds the packet sequence of one digit: a marked first packet, an update every
/// `interval_ticks`, and the end packet three times (RFC 4733 §2.5.1.4). The daemon
/// sends each packet at its offset through the leg's RTP sender, which owns the sequence
/// numbers and SSRC.
#[derive(Debug, Clone, Copy)]
pub struct Rfc4733Sender {
    interval_ticks: u32,
}

impl Rfc4733Sender {
    /// Times the end packet is sent.
    pub const END_REPEATS: usize = 3;

    /// A sender updating every `interval_ticks` (160 = 20 ms at 8 kHz; at least 1).
    pub fn new(interval_ticks: u32) -> Self {
        Self {
            interval_ticks: interval_ticks.max(1),
        }
    }

    /// The packets of `digit` held `duration_ticks` from RTP `timestamp` at `volume`
    /// -dBm0. Durations come from configuration (a few hundred ms), not from a peer.
    pub fn packets(
        &self,
        digit: Digit,
        duration_ticks: u32,
        timestamp: u32,
        volume: u8,
    ) -> Vec<EventPacket> {
        let total = duration_ticks.max(1);
        let mut packets = Vec::with_capacity((total / self.interval_ticks) as usize + 4);
        let mut segment_start = 0u32;
        while segment_start < total {
            let segment_len = (total - segment_start).min(u32::from(u16::MAX));
            let last_segment = segment_start + segment_len >= total;
            let segment_timestamp = timestamp.wrapping_add(segment_start);
            let mut elapsed = 0u32;
            while elapsed < segment_len {
                elapsed = elapsed.saturating_add(self.interval_ticks).min(segment_len);
                let end = last_segment && elapsed == segment_len;
                let repeats = if end { Self::END_REPEATS } else { 1 };
                let block = TelephoneEvent {
                    event: digit.event(),
                    end,
                    volume,
                    // segment_len is at most u16::MAX, so elapsed is too.
                    duration: u16::try_from(elapsed).unwrap_or(u16::MAX),
                };
                for repeat in 0..repeats {
                    // Repeated ends go out an interval apart, so one burst of loss does
                    // not take all three.
                    let spacing = self.interval_ticks.saturating_mul(repeat as u32);
                    packets.push(EventPacket {
                        marker: packets.is_empty(),
                        timestamp: segment_timestamp,
                        payload: block.encode(),
                        offset_ticks: (segment_start + elapsed).saturating_add(spacing),
                    });
                }
            }
            segment_start += segment_len;
        }
        packets
    }
}

#[cfg(test)]
#[path = "rfc4733_tests.rs"]
mod tests;
