//! One outgoing RTP stream, kept continuous whatever feeds it.
//!
//! A call leg's outgoing stream is fed by different things over its life: a greeting we
//! encode ourselves ([`RtpSender::originate`]), then packets forwarded from a bridge peer
//! ([`RtpSender::forward`]), maybe another peer after a transfer. The far end must see one
//! stream: one SSRC, sequence numbers without jumps, timestamps that keep pace with wall
//! time. So every switch of source re-anchors: the next sequence number follows the last
//! one sent, the timestamp advances by the wall time elapsed (at least one frame), and the
//! marker bit flags the discontinuity (RFC 3551 §4.1: start of a talk spurt).

use std::time::Instant;

use super::{duration_to_ticks, seq_after};

/// The fixed parameters of an outgoing stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Our SSRC for this stream (random, chosen by the caller).
    pub ssrc: u32,
    /// The payload type negotiated for the leg.
    pub payload_type: u8,
    /// RTP clock rate in Hz (8000 for G.711, 48000 for Opus).
    pub clock_rate: u32,
    /// RTP ticks of one packet when the source does not say (20 ms: 160 or 960).
    pub frame_ticks: u32,
    /// First sequence number (random per RFC 3550 §5.1).
    pub initial_sequence: u16,
    /// First timestamp (random per RFC 3550 §5.1).
    pub initial_timestamp: u32,
}

/// The header fields to put on one outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingHeader {
    /// Our SSRC.
    pub ssrc: u32,
    /// Payload type of the leg.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence_number: u16,
    /// Timestamp.
    pub timestamp: u32,
    /// Marker bit (start of a talk spurt or a source switch).
    pub marker: bool,
}

#[derive(Debug, Clone, Copy)]
struct LastSent {
    sequence: u16,
    timestamp: u32,
    /// Timestamp the next contiguous packet would carry.
    next_timestamp: u32,
    at: Instant,
}

/// Mapping of a forwarded source's sequence/timestamp space onto ours.
#[derive(Debug, Clone, Copy)]
struct Upstream {
    ssrc: u32,
    sequence_offset: u16,
    timestamp_offset: u32,
}

/// State of one outgoing RTP stream.
#[derive(Debug, Clone)]
pub struct RtpSender {
    config: SenderConfig,
    last: Option<LastSent>,
    upstream: Option<Upstream>,
    marker_pending: bool,
    packets_sent: u32,
    octets_sent: u32,
}

impl RtpSender {
    /// A stream that has sent nothing yet.
    pub fn new(config: SenderConfig) -> Self {
        Self {
            config,
            last: None,
            upstream: None,
            marker_pending: true,
            packets_sent: 0,
            octets_sent: 0,
        }
    }

    /// The stream's configuration.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// Packets sent (the RTCP SR sender's packet count, modulo 2^32).
    pub fn packets_sent(&self) -> u32 {
        self.packets_sent
    }

    /// Payload octets sent (the RTCP SR sender's octet count, modulo 2^32).
    pub fn octets_sent(&self) -> u32 {
        self.octets_sent
    }

    /// Marks the next packet as the start of a talk spurt (after silence suppression).
    pub fn start_talkspurt(&mut self) {
        self.marker_pending = true;
    }

    /// The RTP timestamp that corresponds to `now` (for an RTCP SR), if anything was sent.
    pub fn rtp_timestamp_at(&self, now: Instant) -> Option<u32> {
        let last = self.last?;
        let elapsed = duration_to_ticks(
            now.saturating_duration_since(last.at),
            self.config.clock_rate,
        );
        Some(last.timestamp.wrapping_add(elapsed))
    }

    /// Where a new source starts: after the last packet, advanced by the wall time elapsed.
    fn anchor(&self, now: Instant) -> (u16, u32) {
        match self.last {
            None => (self.config.initial_sequence, self.config.initial_timestamp),
            Some(last) => {
                let frame = last.next_timestamp.wrapping_sub(last.timestamp);
                let elapsed = duration_to_ticks(
                    now.saturating_duration_since(last.at),
                    self.config.clock_rate,
                );
                (
                    last.sequence.wrapping_add(1),
                    last.timestamp.wrapping_add(frame.max(elapsed)),
                )
            }
        }
    }

    fn record(
        &mut self,
        now: Instant,
        sequence: u16,
        timestamp: u32,
        ticks: u32,
        payload_len: usize,
    ) {
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(payload_len as u32);
        // A late, reordered forwarded packet must not pull the anchor backwards.
        let newer = self
            .last
            .is_none_or(|last| seq_after(sequence, last.sequence));
        if newer {
            self.last = Some(LastSent {
                sequence,
                timestamp,
                next_timestamp: timestamp.wrapping_add(ticks),
                at: now,
            });
        }
    }

    /// Header for a frame we produced ourselves (playback, mixer, tone) covering `ticks`.
    ///
    /// Frames sent back to back get contiguous timestamps even if the daemon's timer fires
    /// a little late; a pause longer than a frame (silence, hold) is carried into the
    /// timestamp and marked, as is the switch from a forwarded source.
    pub fn originate(&mut self, now: Instant, ticks: u32, payload_len: usize) -> OutgoingHeader {
        let (sequence, timestamp, marker) = match (self.last, self.upstream.take()) {
            (Some(last), None) => {
                let frame = last.next_timestamp.wrapping_sub(last.timestamp);
                let elapsed = duration_to_ticks(
                    now.saturating_duration_since(last.at),
                    self.config.clock_rate,
                );
                // Late by less than one frame: timer jitter, stay contiguous.
                if elapsed <= frame.saturating_mul(2) {
                    (last.sequence.wrapping_add(1), last.next_timestamp, false)
                } else {
                    let (sequence, timestamp) = self.anchor(now);
                    (sequence, timestamp, true)
                }
            }
            _ => {
                let (sequence, timestamp) = self.anchor(now);
                (sequence, timestamp, true)
            }
        };
        let marker = std::mem::take(&mut self.marker_pending) || marker;
        self.record(now, sequence, timestamp, ticks, payload_len);
        self.header(sequence, timestamp, marker)
    }

    /// Header for a packet forwarded from another stream (`ssrc`, `sequence`, `timestamp`
    /// as received), keeping the source's own gaps and reordering but in our number space.
    pub fn forward(
        &mut self,
        now: Instant,
        ssrc: u32,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload_len: usize,
    ) -> OutgoingHeader {
        let (upstream, switched) = match self.upstream {
            Some(upstream) if upstream.ssrc == ssrc => (upstream, false),
            _ => {
                let (out_sequence, out_timestamp) = self.anchor(now);
                let upstream = Upstream {
                    ssrc,
                    sequence_offset: out_sequence.wrapping_sub(sequence),
                    timestamp_offset: out_timestamp.wrapping_sub(timestamp),
                };
                self.upstream = Some(upstream);
                (upstream, true)
            }
        };
        let out_sequence = sequence.wrapping_add(upstream.sequence_offset);
        let out_timestamp = timestamp.wrapping_add(upstream.timestamp_offset);
        let marker = std::mem::take(&mut self.marker_pending) || marker || switched;
        self.record(
            now,
            out_sequence,
            out_timestamp,
            self.config.frame_ticks,
            payload_len,
        );
        self.header(out_sequence, out_timestamp, marker)
    }

    /// How [`Self::forward`] maps packets of `ssrc` right now, as (sequence offset,
    /// timestamp offset), when that mapping is settled: the stream forwards `ssrc` and no
    /// marker is pending. Whoever forwards `ssrc`'s packets with these offsets (the
    /// daemon's kernel relay) produces exactly what [`Self::forward`] would.
    pub fn forward_mapping(&self, ssrc: u32) -> Option<(u16, u32)> {
        let upstream = self.upstream.filter(|upstream| upstream.ssrc == ssrc)?;
        (!self.marker_pending && self.last.is_some())
            .then_some((upstream.sequence_offset, upstream.timestamp_offset))
    }

    /// Accounts packets forwarded on this stream by someone else with
    /// [`Self::forward_mapping`]'s offsets: `packets` and `octets` more sent, the newest
    /// carrying `sequence` and `timestamp` and sent at `at`. The stream then carries on
    /// after them, whatever feeds it next.
    pub fn absorb_forwarded(
        &mut self,
        at: Instant,
        sequence: u16,
        timestamp: u32,
        packets: u32,
        octets: u32,
    ) {
        self.packets_sent = self.packets_sent.wrapping_add(packets);
        self.octets_sent = self.octets_sent.wrapping_add(octets);
        let newer = self
            .last
            .is_none_or(|last| seq_after(sequence, last.sequence));
        if packets > 0 && newer {
            self.last = Some(LastSent {
                sequence,
                timestamp,
                next_timestamp: timestamp.wrapping_add(self.config.frame_ticks),
                at,
            });
        }
    }

    fn header(&self, sequence_number: u16, timestamp: u32, marker: bool) -> OutgoingHeader {
        OutgoingHeader {
            ssrc: self.config.ssrc,
            payload_type: self.config.payload_type,
            sequence_number,
            timestamp,
            marker,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const FRAME: Duration = Duration::from_millis(20);

    fn sender() -> RtpSender {
        RtpSender::new(SenderConfig {
            ssrc: 0xABCD,
            payload_type: 0,
            clock_rate: 8000,
            frame_ticks: 160,
            initial_sequence: 65534,
            initial_timestamp: u32::MAX - 100,
        })
    }

    #[test]
    fn originated_frames_are_contiguous_and_wrap() {
        let mut tx = sender();
        let t0 = Instant::now();
        let first = tx.originate(t0, 160, 160);
        assert_eq!(
            (first.sequence_number, first.timestamp, first.marker),
            (65534, u32::MAX - 100, true)
        );
        // The timer fires 7 ms late: still contiguous.
        let second = tx.originate(t0 + FRAME + Duration::from_millis(7), 160, 160);
        assert_eq!(
            (second.sequence_number, second.timestamp, second.marker),
            (65535, 59, false)
        );
        let third = tx.originate(t0 + FRAME * 2, 160, 160);
        assert_eq!((third.sequence_number, third.timestamp), (0, 219));
        assert_eq!((tx.packets_sent(), tx.octets_sent()), (3, 480));
    }

    #[test]
    fn pause_advances_timestamp_by_wall_time_and_marks() {
        let mut tx = sender();
        let t0 = Instant::now();
        let first = tx.originate(t0, 160, 160);
        let after_pause = tx.originate(t0 + Duration::from_secs(1), 160, 160);
        assert!(after_pause.marker);
        assert_eq!(
            after_pause.sequence_number,
            first.sequence_number.wrapping_add(1)
        );
        assert_eq!(after_pause.timestamp, first.timestamp.wrapping_add(8000));
    }

    #[test]
    fn switching_from_playback_to_bridge_peer_stays_continuous() {
        let mut tx = sender();
        let t0 = Instant::now();
        let mut last = tx.originate(t0, 160, 160);
        for n in 1..5 {
            last = tx.originate(t0 + FRAME * n, 160, 160);
        }
        // Bridge peer with its own random numbering.
        let t = t0 + FRAME * 5;
        let a = tx.forward(t, 0x5555, 1000, 777_000, false, 160);
        assert!(a.marker);
        assert_eq!(a.sequence_number, last.sequence_number.wrapping_add(1));
        assert_eq!(a.timestamp, last.timestamp.wrapping_add(160));
        // The peer's own gap (one lost packet) is preserved, the marker is not repeated.
        let b = tx.forward(t + FRAME * 2, 0x5555, 1002, 777_320, false, 160);
        assert_eq!(b.sequence_number, a.sequence_number.wrapping_add(2));
        assert_eq!(b.timestamp, a.timestamp.wrapping_add(320));
        assert!(!b.marker);
        // A late reordered packet maps into place and does not move the anchor.
        let late = tx.forward(t + FRAME * 2, 0x5555, 1001, 777_160, false, 160);
        assert_eq!(late.sequence_number, a.sequence_number.wrapping_add(1));
        // A new peer SSRC (transfer) re-anchors after the newest packet.
        let c = tx.forward(t + FRAME * 3, 0x6666, 5, 42, false, 160);
        assert!(c.marker);
        assert_eq!(c.sequence_number, b.sequence_number.wrapping_add(1));
        assert_eq!(c.timestamp, b.timestamp.wrapping_add(160));
        // Back to our own playback.
        let d = tx.originate(t + FRAME * 4, 160, 160);
        assert!(d.marker);
        assert_eq!(d.sequence_number, c.sequence_number.wrapping_add(1));
        assert_eq!(d.timestamp, c.timestamp.wrapping_add(160));
        assert_eq!(d.ssrc, 0xABCD);
    }

    #[test]
    fn packets_forwarded_elsewhere_keep_the_stream_continuous() {
        let mut tx = sender();
        let t0 = Instant::now();
        // Nothing forwarded yet: no mapping to hand out.
        assert_eq!(tx.forward_mapping(0x5555), None);
        let first = tx.forward(t0, 0x5555, 100, 16_000, false, 160);
        let (seq_offset, ts_offset) = tx.forward_mapping(0x5555).expect("settled");
        assert_eq!(tx.forward_mapping(0x6666), None);
        assert_eq!(100u16.wrapping_add(seq_offset), first.sequence_number);
        // 50 more packets forwarded outside, the newest input being 150.
        let at = t0 + FRAME * 50;
        tx.absorb_forwarded(
            at,
            150u16.wrapping_add(seq_offset),
            24_000u32.wrapping_add(ts_offset),
            50,
            8000,
        );
        assert_eq!((tx.packets_sent(), tx.octets_sent()), (51, 8160));
        // A greeting after them follows the newest one.
        let next = tx.originate(at + FRAME, 160, 160);
        assert_eq!(next.sequence_number, first.sequence_number.wrapping_add(51));
        assert_eq!(next.timestamp, first.timestamp.wrapping_add(8160));
        // A pending marker unsettles the mapping.
        tx.start_talkspurt();
        assert_eq!(tx.forward_mapping(0x5555), None);
    }

    #[test]
    fn talkspurt_marker_and_rtp_clock() {
        let mut tx = sender();
        let t0 = Instant::now();
        assert_eq!(tx.rtp_timestamp_at(t0), None);
        let first = tx.originate(t0, 160, 160);
        tx.start_talkspurt();
        assert!(tx.originate(t0 + FRAME, 160, 160).marker);
        assert!(!tx.originate(t0 + FRAME * 2, 160, 160).marker);
        let at = tx.rtp_timestamp_at(t0 + Duration::from_millis(50));
        assert_eq!(at, Some(first.timestamp.wrapping_add(400)));
    }
}
