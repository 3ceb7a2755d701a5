//! DTMF digits from every way a peer can send them, each reported once.
//!
//! A digit can arrive as RFC 4733 telephone-events in the RTP stream ([`rfc4733`]), as a
//! SIP INFO request ([`info`]), or as tones in the audio itself ([`goertzel`]). Some
//! gateways send two of these for the same key press (telephone-events plus the tones
//! leaking through the codec, or INFO plus RTP). [`DtmfPipeline`] takes all three and
//! reports each key press once. [`tone`] holds the tone pairs and a generator for them.

pub mod goertzel;
pub mod info;
pub mod rfc4733;
pub mod tone;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::Error;

/// One DTMF key: 0-9, `*`, `#`, A-D.
///
/// Held as its RFC 4733 event code (0-9 digits, 10 `*`, 11 `#`, 12-15 A-D).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digit(u8);

impl Digit {
    /// Every digit, in event-code order.
    pub const ALL: [Digit; 16] = {
        let mut all = [Digit(0); 16];
        let mut code = 0;
        while code < 16 {
            all[code as usize] = Digit(code);
            code += 1;
        }
        all
    };

    /// The digit of RFC 4733 event `code`, if it is one (16 and up are other events).
    pub fn from_event(code: u8) -> Option<Self> {
        (code < 16).then_some(Self(code))
    }

    /// The digit written as `c` (letters in either case).
    pub fn from_char(c: char) -> Option<Self> {
        let code = match c.to_ascii_uppercase() {
            '0'..='9' => c as u8 - b'0',
            '*' => 10,
            '#' => 11,
            letter @ 'A'..='D' => letter as u8 - b'A' + 12,
            _ => return None,
        };
        Some(Self(code))
    }

    /// As [`Digit::from_char`], with an error for anything else.
    pub fn parse(c: char) -> Result<Self, Error> {
        Self::from_char(c).ok_or(Error::NotADigit { digit: c })
    }

    /// The RFC 4733 event code.
    pub fn event(self) -> u8 {
        self.0
    }

    /// The digit as written (`0`-`9`, `*`, `#`, `A`-`D`).
    pub fn as_char(self) -> char {
        match self.0 {
            code @ 0..=9 => char::from(b'0' + code),
            10 => '*',
            11 => '#',
            code => char::from(b'A' + (code - 12)),
        }
    }
}

impl std::fmt::Display for Digit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// How a digit reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtmfMethod {
    /// RFC 4733 telephone-event packets.
    Rfc4733,
    /// A SIP INFO request.
    SipInfo,
    /// Tones in the audio.
    InBand,
}

impl DtmfMethod {
    fn bit(self) -> u8 {
        match self {
            Self::Rfc4733 => 1,
            Self::SipInfo => 2,
            Self::InBand => 4,
        }
    }
}

/// One key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// The key.
    pub digit: Digit,
    /// How long it was held (as the sender reported it, or as measured in-band).
    pub duration: Duration,
    /// How it arrived.
    pub method: DtmfMethod,
}

/// Parameters of a [`DtmfPipeline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The same digit by another method within this window of a report is the same press.
    pub duplicate_window: Duration,
    /// RTP clock rate of the telephone-event payload type (8000 almost everywhere).
    pub event_clock_rate: u32,
    /// A telephone-event whose end packets never come ends this long after its last packet.
    pub event_end_timeout: Duration,
    /// Whether to run the in-band detector on audio.
    pub in_band: bool,
}

impl Default for PipelineConfig {
    /// 500 ms window, 8 kHz events, 300 ms end timeout, in-band detection on.
    fn default() -> Self {
        Self {
            duplicate_window: Duration::from_millis(500),
            event_clock_rate: 8000,
            event_end_timeout: Duration::from_millis(300),
            in_band: true,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Recent {
    digit: Digit,
    at: Instant,
    /// Methods that already reported this press.
    methods: u8,
}

/// Most reports remembered for deduplication; older ones fall out of the window anyway.
const RECENT_CAP: usize = 32;
/// Reports waiting to be drained before new ones are dropped (and counted).
const QUEUE_CAP: usize = 64;

/// DTMF of one call leg from all sources, each key press reported once.
#[derive(Debug)]
pub struct DtmfPipeline {
    config: PipelineConfig,
    rfc4733: rfc4733::Rfc4733Receiver,
    in_band: goertzel::GoertzelDetector,
    recent: VecDeque<Recent>,
    queue: VecDeque<DtmfEvent>,
    duplicates: u64,
    overflow: u64,
}

impl DtmfPipeline {
    /// A pipeline for one leg.
    pub fn new(config: PipelineConfig) -> Self {
        Self {
            config,
            rfc4733: rfc4733::Rfc4733Receiver::new(
                config.event_clock_rate,
                config.event_end_timeout,
            ),
            in_band: goertzel::GoertzelDetector::new(goertzel::DetectorConfig::default()),
            recent: VecDeque::new(),
            queue: VecDeque::new(),
            duplicates: 0,
            overflow: 0,
        }
    }

    /// A telephone-event RTP packet (marker bit, RTP timestamp, payload).
    pub fn handle_rfc4733(
        &mut self,
        now: Instant,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), Error> {
        let result = self.rfc4733.handle_packet(now, marker, timestamp, payload);
        self.drain_rfc4733(now);
        result
    }

    /// The body of a SIP INFO request.
    pub fn handle_info(
        &mut self,
        now: Instant,
        content_type: &str,
        body: &[u8],
    ) -> Result<(), Error> {
        let info = info::parse_info_body(content_type, body)?;
        self.handle_event(
            now,
            DtmfEvent {
                digit: info.digit,
                duration: info.duration.unwrap_or(info::DEFAULT_DURATION),
                method: DtmfMethod::SipInfo,
            },
        );
        Ok(())
    }

    /// Decoded audio received from the peer (8 kHz mono), for in-band detection.
    pub fn handle_pcm(&mut self, now: Instant, samples: &[i16]) {
        if !self.config.in_band {
            return;
        }
        self.in_band.push_samples(samples);
        while let Some(tone) = self.in_band.poll_tone() {
            self.handle_event(
                now,
                DtmfEvent {
                    digit: tone.digit,
                    duration: tone.duration,
                    method: DtmfMethod::InBand,
                },
            );
        }
    }

    /// Fires timers due at `now` (a telephone-event whose end was lost).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.rfc4733.handle_timeout(now);
        self.drain_rfc4733(now);
    }

    /// The next timer deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.rfc4733.poll_timeout()
    }

    /// The next key press.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.queue.pop_front()
    }

    fn drain_rfc4733(&mut self, now: Instant) {
        while let Some(event) = self.rfc4733.poll_event() {
            self.handle_event(now, event);
        }
    }

    /// Any event, from whatever source: reported unless another method already did.
    ///
    /// The same digit twice by the *same* method is two presses: each source's own
    /// machinery has already folded its retransmissions.
    pub fn handle_event(&mut self, now: Instant, event: DtmfEvent) {
        let window = self.config.duplicate_window;
        while self
            .recent
            .front()
            .is_some_and(|recent| now.saturating_duration_since(recent.at) > window)
        {
            self.recent.pop_front();
        }
        let bit = event.method.bit();
        if let Some(recent) = self
            .recent
            .iter_mut()
            .find(|recent| recent.digit == event.digit && recent.methods & bit == 0)
        {
            recent.methods |= bit;
            self.duplicates += 1;
            return;
        }
        if self.recent.len() >= RECENT_CAP {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent {
            digit: event.digit,
            at: now,
            methods: bit,
        });
        if self.queue.len() >= QUEUE_CAP {
            self.overflow += 1;
            return;
        }
        self.queue.push_back(event);
    }

    /// Forgets the telephone-event stream's state: its SSRC changed (a re-INVITE, a
    /// transfer), so its timestamps start over.
    pub fn reset_rfc4733(&mut self) {
        self.rfc4733.reset();
    }

    /// Reports dropped as another method's copy of a press already reported.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Reports dropped because nobody drained the queue.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// The telephone-event receiver's counters.
    pub fn rfc4733_stats(&self) -> rfc4733::ReceiverStats {
        self.rfc4733.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digit(c: char) -> Digit {
        Digit::from_char(c).unwrap()
    }

    fn event(c: char, method: DtmfMethod) -> DtmfEvent {
        DtmfEvent {
            digit: digit(c),
            duration: Duration::from_millis(100),
            method,
        }
    }

    fn drain(pipeline: &mut DtmfPipeline) -> String {
        std::iter::from_fn(|| pipeline.poll_event())
            .map(|e| e.digit.as_char())
            .collect()
    }

    #[test]
    fn digit_chars_and_event_codes_round_trip() {
        let written: String = Digit::ALL.iter().map(|d| d.as_char()).collect();
        assert_eq!(written, "0123456789*#ABCD");
        for d in Digit::ALL {
            assert_eq!(Digit::from_char(d.as_char()), Some(d));
            assert_eq!(Digit::from_event(d.event()), Some(d));
        }
        assert_eq!(Digit::from_char('b'), Some(digit('B')));
        assert_eq!(Digit::from_event(16), None);
        assert_eq!(Digit::parse('E'), Err(Error::NotADigit { digit: 'E' }));
    }

    #[test]
    fn same_press_by_two_methods_is_reported_once() {
        let mut pipeline = DtmfPipeline::new(PipelineConfig::default());
        let t0 = Instant::now();
        pipeline.handle_event(t0, event('5', DtmfMethod::Rfc4733));
        pipeline.handle_event(
            t0 + Duration::from_millis(60),
            event('5', DtmfMethod::InBand),
        );
        pipeline.handle_event(
            t0 + Duration::from_millis(80),
            event('5', DtmfMethod::SipInfo),
        );
        assert_eq!(drain(&mut pipeline), "5");
        assert_eq!(pipeline.duplicates(), 2);
    }

    #[test]
    fn repeated_digit_by_both_methods_counts_each_press() {
        let mut pipeline = DtmfPipeline::new(PipelineConfig::default());
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        pipeline.handle_event(ms(0), event('7', DtmfMethod::Rfc4733));
        pipeline.handle_event(ms(30), event('7', DtmfMethod::InBand));
        pipeline.handle_event(ms(200), event('7', DtmfMethod::Rfc4733));
        pipeline.handle_event(ms(230), event('7', DtmfMethod::InBand));
        assert_eq!(drain(&mut pipeline), "77");
    }

    #[test]
    fn other_method_after_the_window_is_a_new_press() {
        let mut pipeline = DtmfPipeline::new(PipelineConfig::default());
        let t0 = Instant::now();
        pipeline.handle_event(t0, event('1', DtmfMethod::SipInfo));
        pipeline.handle_event(
            t0 + Duration::from_millis(600),
            event('1', DtmfMethod::InBand),
        );
        pipeline.handle_event(
            t0 + Duration::from_millis(610),
            event('2', DtmfMethod::InBand),
        );
        assert_eq!(drain(&mut pipeline), "112");
    }

    #[test]
    fn queue_is_bounded() {
        let mut pipeline = DtmfPipeline::new(PipelineConfig::default());
        let t0 = Instant::now();
        for i in 0..100u64 {
            pipeline.handle_event(t0 + Duration::from_secs(i), event('9', DtmfMethod::SipInfo));
        }
        assert_eq!(drain(&mut pipeline).len(), QUEUE_CAP);
        assert_eq!(pipeline.overflow(), 100 - QUEUE_CAP as u64);
    }

    #[test]
    fn all_sources_feed_one_stream() {
        let mut pipeline = DtmfPipeline::new(PipelineConfig::default());
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        pipeline
            .handle_info(
                ms(0),
                "application/dtmf-relay",
                b"Signal=4\r\nDuration=160\r\n",
            )
            .unwrap();
        let sender = rfc4733::Rfc4733Sender::new(160);
        for packet in sender.packets(digit('#'), 800, 1000, 10) {
            let at = ms(2000 + u64::from(packet.offset_ticks) / 8);
            pipeline
                .handle_rfc4733(at, packet.marker, packet.timestamp, &packet.payload)
                .unwrap();
        }
        let tone = goertzel::tests_support::tone(digit('C'), 800, 8000.0);
        for chunk in tone.chunks(160) {
            pipeline.handle_pcm(ms(4000), chunk);
        }
        pipeline.handle_pcm(ms(4200), &[0; 1600]);
        let events: Vec<DtmfEvent> = std::iter::from_fn(|| pipeline.poll_event()).collect();
        let digits: String = events.iter().map(|e| e.digit.as_char()).collect();
        assert_eq!(digits, "4#C");
        assert_eq!(events[0].duration, Duration::from_millis(160));
        assert_eq!(events[0].method, DtmfMethod::SipInfo);
        assert_eq!(events[1].duration, Duration::from_millis(100));
        assert_eq!(events[1].method, DtmfMethod::Rfc4733);
        assert_eq!(events[2].method, DtmfMethod::InBand);
        assert!(pipeline.handle_info(ms(5000), "text/plain", b"5").is_err());
    }
}
