//! Statistics of one incoming RTP stream: RFC 3550 A.1 (sequence validation), A.3 (loss),
//! A.8 (interarrival jitter), and what a reception report block needs.

use std::time::Instant;

use super::duration_to_ticks;
use super::rtcp::ReceptionReport;

/// A jump larger than this is a restart or garbage, not loss (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3000;
/// A step back up to this far is reordering (RFC 3550 A.1).
const MAX_MISORDER: u16 = 100;
/// Packets in sequence needed before a new source counts as valid (RFC 3550 A.1).
const MIN_SEQUENTIAL: u8 = 2;
const SEQ_MOD: u32 = 1 << 16;

/// What the sequence check made of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceOutcome {
    /// In sequence (or a tolerated reorder/duplicate): use it.
    Valid,
    /// A new source still proving itself (A.1 probation); the packet is counted but the
    /// source is not yet valid.
    Probation,
    /// A large jump: dropped unless the next packet confirms the new numbering.
    Invalid,
}

/// Reception statistics for one source (SSRC).
#[derive(Debug, Clone)]
pub struct RtpReceiver {
    clock_rate: u32,
    ssrc: Option<u32>,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u8,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Relative transit time of the previous packet, in RTP ticks.
    transit: Option<u32>,
    /// Interarrival jitter scaled by 16 (the A.8 integer form).
    jitter_q4: u32,
    epoch: Option<Instant>,
    ssrc_changes: u32,
    /// Middle 32 bits of the NTP time of the last SR received, and when.
    last_sr: Option<(u32, Instant)>,
}

impl RtpReceiver {
    /// Statistics for a stream whose RTP clock runs at `clock_rate` Hz.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            ssrc: None,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            epoch: None,
            ssrc_changes: 0,
            last_sr: None,
        }
    }

    fn init_sequence(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Accounts one packet of `ssrc` that arrived at `now`.
    ///
    /// The outcome validates the source for statistics and reports; the daemon may still
    /// play packets of a source on probation (waiting would clip the first word).
    ///
    /// A different SSRC than before restarts the statistics for the new source (the far end
    /// restarted its stream, or a re-INVITE moved it); [`Self::ssrc_changes`] counts that.
    pub fn on_packet(
        &mut self,
        now: Instant,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
    ) -> SequenceOutcome {
        if self.ssrc != Some(ssrc) {
            if self.ssrc.is_some() {
                self.ssrc_changes = self.ssrc_changes.saturating_add(1);
            }
            let clock_rate = self.clock_rate;
            let ssrc_changes = self.ssrc_changes;
            *self = Self::new(clock_rate);
            self.ssrc_changes = ssrc_changes;
            self.ssrc = Some(ssrc);
            self.init_sequence(seq);
            self.max_seq = seq.wrapping_sub(1);
        }
        let outcome = self.update_sequence(seq);
        if outcome != SequenceOutcome::Invalid {
            self.update_jitter(now, timestamp);
        }
        outcome
    }

    /// RFC 3550 A.1 `update_seq`.
    fn update_sequence(&mut self, seq: u16) -> SequenceOutcome {
        let delta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_sequence(seq);
                    self.received = 1;
                    return SequenceOutcome::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SequenceOutcome::Probation;
        }
        if delta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if u32::from(delta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets after a jump: the source restarted.
                self.init_sequence(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return SequenceOutcome::Invalid;
            }
        }
        // else: a duplicate or reordered packet, counted as received.
        self.received = self.received.wrapping_add(1);
        SequenceOutcome::Valid
    }

    /// RFC 3550 A.8: J += (|D| - J) / 16, in RTP ticks.
    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = duration_to_ticks(now.saturating_duration_since(epoch), self.clock_rate);
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(previous) = self.transit.replace(transit) {
            let d = (transit.wrapping_sub(previous) as i32).unsigned_abs();
            self.jitter_q4 = self
                .jitter_q4
                .saturating_add(d)
                .saturating_sub((self.jitter_q4 + 8) >> 4);
        }
    }

    /// The SSRC being received, once a packet arrived.
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// How often the source changed SSRC.
    pub fn ssrc_changes(&self) -> u32 {
        self.ssrc_changes
    }

    /// Extended highest sequence number received (cycles in the top 16 bits).
    pub fn extended_highest_sequence(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets received (duplicates included, as RFC 3550 counts them).
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Packets expected from the sequence numbers seen.
    pub fn expected(&self) -> u32 {
        if self.probation > 0 {
            return 0;
        }
        self.extended_highest_sequence()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Cumulative packets lost (negative with duplicates), clamped to 24 bits signed as in
    /// a report block.
    pub fn cumulative_lost(&self) -> i32 {
        let lost = i64::from(self.expected()) - i64::from(self.received);
        lost.clamp(-0x80_0000, 0x7F_FFFF) as i32
    }

    /// Interarrival jitter in RTP ticks.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// True when `ssrc` is the source being received and it passed probation.
    pub fn is_valid_source(&self, ssrc: u32) -> bool {
        self.ssrc == Some(ssrc) && self.probation == 0
    }

    /// Accounts packets of `ssrc` that were received and forwarded elsewhere (the
    /// daemon's kernel relay) since the last call: `packets` more received, the newest
    /// numbered `highest_sequence`, and the interarrival jitter measured there (scaled
    /// by 16) if it is to replace ours. Nothing changes if `ssrc` is no longer the
    /// source. The transit time of the next packet seen here starts afresh.
    pub fn absorb_forwarded(
        &mut self,
        ssrc: u32,
        packets: u32,
        highest_sequence: u16,
        jitter_q4: Option<u32>,
    ) {
        if self.ssrc != Some(ssrc) || self.probation > 0 || packets == 0 {
            return;
        }
        self.received = self.received.wrapping_add(packets);
        // Newer by RFC 1982 order; no more than half the number space passes between
        // two reads (a read comes every second, 50 packets apart).
        let delta = highest_sequence.wrapping_sub(self.max_seq);
        if delta != 0 && delta < 0x8000 {
            if highest_sequence < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = highest_sequence;
        }
        if let Some(jitter_q4) = jitter_q4 {
            self.jitter_q4 = jitter_q4;
        }
        self.transit = None;
    }

    /// Records the arrival of a sender report (its NTP timestamp) for LSR/DLSR.
    pub fn on_sender_report(&mut self, now: Instant, ntp_time: u64) {
        self.last_sr = Some(((ntp_time >> 16) as u32, now));
    }

    /// The report block about this source at `now`; starts a new interval for the
    /// fraction-lost computation (RFC 3550 A.3). `None` before the first packet.
    pub fn report_block(&mut self, now: Instant) -> Option<ReceptionReport> {
        let ssrc = self.ssrc?;
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        let (last_sender_report, delay) = match self.last_sr {
            // DLSR is in units of 1/65536 s.
            Some((lsr, at)) => {
                let since = now.saturating_duration_since(at);
                (
                    lsr,
                    (since.as_micros().saturating_mul(65536) / 1_000_000).min(u128::from(u32::MAX))
                        as u32,
                )
            }
            None => (0, 0),
        };
        Some(ReceptionReport {
            ssrc,
            fraction_lost,
            total_lost: (self.cumulative_lost() as u32) & 0x00FF_FFFF,
            last_sequence_number: self.extended_highest_sequence(),
            jitter: self.jitter(),
            last_sender_report,
            delay,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const FRAME: Duration = Duration::from_millis(20);

    #[test]
    fn packets_forwarded_elsewhere_count_as_received() {
        let mut rx = RtpReceiver::new(8000);
        let t0 = Instant::now();
        assert!(!rx.is_valid_source(7));
        rx.on_packet(t0, 7, 65500, 0);
        rx.on_packet(t0 + FRAME, 7, 65501, 160);
        assert!(rx.is_valid_source(7));
        // 60 packets forwarded elsewhere, three of them lost, across the wrap.
        rx.absorb_forwarded(7, 57, 65501u16.wrapping_add(60), Some(16 * 12));
        assert_eq!(rx.extended_highest_sequence(), 65536 + 25);
        assert_eq!(rx.expected(), 61);
        assert_eq!(rx.received(), 58);
        assert_eq!(rx.cumulative_lost(), 3);
        assert_eq!(rx.jitter(), 12);
        // Another source's counters are not ours.
        rx.absorb_forwarded(8, 100, 40, None);
        assert_eq!(rx.received(), 58);
        // Packets seen here again carry on from the forwarded ones.
        let next = 65501u16.wrapping_add(61);
        assert_eq!(
            rx.on_packet(t0 + FRAME * 62, 7, next, 160 * 62),
            SequenceOutcome::Valid
        );
        assert_eq!(rx.cumulative_lost(), 3);
    }

    #[test]
    fn new_source_needs_probation_then_counts_wrap() {
        let mut rx = RtpReceiver::new(8000);
        let t0 = Instant::now();
        assert_eq!(rx.on_packet(t0, 1, 65533, 0), SequenceOutcome::Probation);
        assert_eq!(
            rx.on_packet(t0 + FRAME, 1, 65534, 160),
            SequenceOutcome::Valid
        );
        for (n, seq) in [65535u16, 0, 1, 2].into_iter().enumerate() {
            let at = t0 + FRAME * (n as u32 + 2);
            assert_eq!(
                rx.on_packet(at, 1, seq, 160 * (n as u32 + 2)),
                SequenceOutcome::Valid
            );
        }
        assert_eq!(rx.extended_highest_sequence(), 65536 + 2);
        assert_eq!(rx.expected(), 5);
        assert_eq!(rx.received(), 5);
        assert_eq!(rx.cumulative_lost(), 0);
    }

    #[test]
    fn loss_and_fraction_lost() {
        let mut rx = RtpReceiver::new(8000);
        let t0 = Instant::now();
        for seq in [10u16, 11, 12, 15, 16] {
            rx.on_packet(t0 + FRAME * u32::from(seq), 7, seq, 160 * u32::from(seq));
        }
        assert_eq!(rx.cumulative_lost(), 2);
        let block = rx.report_block(t0 + Duration::from_secs(1));
        // Interval: 5 expected (11..=15 after probation base 11... ) check via fields.
        let block = block.map(|b| {
            (
                b.ssrc,
                b.total_lost,
                b.last_sequence_number,
                b.fraction_lost,
            )
        });
        // 6 expected since base 11, 4 received: lost 2, fraction 2/6*256 = 85.
        assert_eq!(block, Some((7, 2, 16, 85)));
        // Next interval without loss reports 0.
        rx.on_packet(t0 + FRAME * 17, 7, 17, 160 * 17);
        assert_eq!(
            rx.report_block(t0 + Duration::from_secs(2))
                .map(|b| b.fraction_lost),
            Some(0)
        );
    }

    #[test]
    fn big_jump_needs_confirmation() {
        let mut rx = RtpReceiver::new(8000);
        let t0 = Instant::now();
        rx.on_packet(t0, 1, 100, 0);
        rx.on_packet(t0, 1, 101, 160);
        assert_eq!(rx.on_packet(t0, 1, 20000, 320), SequenceOutcome::Invalid);
        assert_eq!(rx.extended_highest_sequence(), 101);
        // The next one in sequence after the jump confirms a restart.
        assert_eq!(rx.on_packet(t0, 1, 20001, 480), SequenceOutcome::Valid);
        assert_eq!(rx.extended_highest_sequence(), 20001);
        // A late packet within MAX_MISORDER is still valid, counted as received.
        assert_eq!(rx.on_packet(t0, 1, 19990, 0), SequenceOutcome::Valid);
    }

    #[test]
    fn ssrc_change_restarts_statistics() {
        let mut rx = RtpReceiver::new(8000);
        let t0 = Instant::now();
        for seq in 0..5u16 {
            rx.on_packet(t0, 1, seq, 0);
        }
        assert_eq!(rx.on_packet(t0, 2, 9000, 0), SequenceOutcome::Probation);
        assert_eq!(rx.ssrc(), Some(2));
        assert_eq!(rx.ssrc_changes(), 1);
        assert_eq!(rx.on_packet(t0, 2, 9001, 160), SequenceOutcome::Valid);
        assert_eq!(rx.received(), 1);
    }

    #[test]
    fn jitter_converges_to_arrival_variation() {
        let mut rx = RtpReceiver::new(8000);
        let t0 = Instant::now();
        // Perfectly paced: zero jitter.
        for n in 0..50u32 {
            rx.on_packet(t0 + FRAME * n, 3, n as u16, n * 160);
        }
        assert_eq!(rx.jitter(), 0);
        // Every other packet 5 ms (40 ticks) late: |D| = 40 ticks each packet, J → 40.
        for n in 50..400u32 {
            let wobble = if n % 2 == 0 {
                Duration::from_millis(5)
            } else {
                Duration::ZERO
            };
            rx.on_packet(t0 + FRAME * n + wobble, 3, n as u16, n * 160);
        }
        let jitter = rx.jitter();
        assert!((36..=40).contains(&jitter), "jitter {jitter}");
    }

    #[test]
    fn dlsr_counts_from_sender_report() {
        let mut rx = RtpReceiver::new(8000);
        let t0 = Instant::now();
        rx.on_packet(t0, 1, 1, 0);
        rx.on_packet(t0, 1, 2, 160);
        rx.on_sender_report(t0, 0x1122_3344_5566_7788);
        let block = rx.report_block(t0 + Duration::from_millis(500));
        assert_eq!(
            block.map(|b| (b.last_sender_report, b.delay)),
            Some((0x3344_5566, 32768))
        );
    }
}
