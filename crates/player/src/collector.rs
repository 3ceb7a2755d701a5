//! The digit collector: play a prompt, gather digits, retry on silence.
//!
//! This is the state machine behind the `call` operation's `greeting`, `dtmfmaxdigits`,
//! `dtmfretries`, `dtmftimeout` and `dtmftimeoutgreeting`. It decides and reports; the
//! daemon plays prompts, feeds digits from [`crate::dtmf::DtmfPipeline`] and fires timers.
//!
//! - [`Collector::start`] asks for the prompt. A digit while it plays stops it (barge-in).
//! - The first-digit timeout runs from the end of the prompt; after each digit the
//!   inter-digit timeout runs instead.
//! - The terminator ends collection and is not part of the digits; reaching `max_digits`
//!   ends it too. A timeout after some digits ends it with those digits.
//! - A timeout with no digit replays the timeout prompt (or the prompt) up to `retries`
//!   times, then gives up with [`CollectorEvent::Timeout`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::dtmf::Digit;
use crate::wav::Prompt;

/// Digits kept at most whatever `max_digits` says; input comes from a peer.
pub const DIGIT_LIMIT: usize = 64;

/// What to collect and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectSpec<P = Prompt> {
    /// Digits that end collection (0: no limit but [`DIGIT_LIMIT`]).
    pub max_digits: usize,
    /// Longest wait for each digit after the first.
    pub timeout: Duration,
    /// Longest wait for the first digit after the prompt.
    pub first_digit_timeout: Duration,
    /// The key that ends collection (often `#`).
    pub terminator: Option<Digit>,
    /// Times to prompt again after a timeout with no digit.
    pub retries: u32,
    /// Played first.
    pub prompt: Option<P>,
    /// Played on each retry; the prompt again when `None`.
    pub timeout_prompt: Option<P>,
}

/// Why collection ended with digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneReason {
    /// `max_digits` reached.
    MaxDigits,
    /// The terminator was pressed.
    Terminator,
    /// The inter-digit timeout ran out after at least one digit.
    Timeout,
}

/// What the collector asks of the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectorEvent<P = Prompt> {
    /// Play this prompt, then call [`Collector::handle_prompt_finished`].
    PlayPrompt(P),
    /// Stop the prompt playing: the caller pressed a key.
    StopPrompt,
    /// Collection ended with these digits (possibly none, when only the terminator came).
    Done {
        /// The digits, without the terminator.
        digits: String,
        /// Why it ended.
        reason: DoneReason,
    },
    /// Nothing was entered through every retry.
    Timeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not started.
    Idle,
    /// A prompt is playing; no timer runs.
    Prompting,
    /// Waiting for a digit until the deadline.
    Waiting { deadline: Instant },
    /// Ended; nothing more happens.
    Finished,
}

/// The digit collector of one call.
#[derive(Debug, Clone)]
pub struct Collector<P = Prompt> {
    spec: CollectSpec<P>,
    state: State,
    digits: String,
    timeouts: u32,
    events: VecDeque<CollectorEvent<P>>,
}

impl<P: Clone> Collector<P> {
    /// A collector for `spec`; nothing happens until [`Collector::start`].
    pub fn new(spec: CollectSpec<P>) -> Self {
        Self {
            spec,
            state: State::Idle,
            digits: String::new(),
            timeouts: 0,
            events: VecDeque::new(),
        }
    }

    /// Begins: plays the prompt, or starts the first-digit timer if there is none.
    pub fn start(&mut self, now: Instant) {
        if self.state == State::Idle {
            let prompt = self.spec.prompt.clone();
            self.play_or_wait(now, prompt);
        }
    }

    fn play_or_wait(&mut self, now: Instant, prompt: Option<P>) {
        match prompt {
            Some(prompt) => {
                self.state = State::Prompting;
                self.events.push_back(CollectorEvent::PlayPrompt(prompt));
            }
            None => self.wait(now, self.spec.first_digit_timeout),
        }
    }

    fn wait(&mut self, now: Instant, timeout: Duration) {
        self.state = State::Waiting {
            deadline: now + timeout,
        };
    }

    /// A key press.
    pub fn handle_digit(&mut self, now: Instant, digit: Digit) {
        match self.state {
            State::Idle | State::Finished => return,
            State::Prompting => self.events.push_back(CollectorEvent::StopPrompt),
            State::Waiting { .. } => {}
        }
        if Some(digit) == self.spec.terminator {
            self.finish(DoneReason::Terminator);
            return;
        }
        self.digits.push(digit.as_char());
        let limit = match self.spec.max_digits {
            0 => DIGIT_LIMIT,
            max => max.min(DIGIT_LIMIT),
        };
        if self.digits.len() >= limit {
            self.finish(DoneReason::MaxDigits);
        } else {
            self.wait(now, self.spec.timeout);
        }
    }

    /// The prompt asked for finished playing (ignored after a barge-in).
    pub fn handle_prompt_finished(&mut self, now: Instant) {
        if self.state == State::Prompting {
            self.wait(now, self.spec.first_digit_timeout);
        }
    }

    /// Fires the timer if `now` has reached it.
    pub fn handle_timeout(&mut self, now: Instant) {
        let State::Waiting { deadline } = self.state else {
            return;
        };
        if now < deadline {
            return;
        }
        if !self.digits.is_empty() {
            self.finish(DoneReason::Timeout);
        } else if self.timeouts < self.spec.retries {
            self.timeouts += 1;
            let prompt = self
                .spec
                .timeout_prompt
                .clone()
                .or_else(|| self.spec.prompt.clone());
            self.play_or_wait(now, prompt);
        } else {
            self.state = State::Finished;
            self.events.push_back(CollectorEvent::Timeout);
        }
    }

    fn finish(&mut self, reason: DoneReason) {
        self.state = State::Finished;
        self.events.push_back(CollectorEvent::Done {
            digits: std::mem::take(&mut self.digits),
            reason,
        });
    }

    /// The next request for the daemon.
    pub fn poll_event(&mut self) -> Option<CollectorEvent<P>> {
        self.events.pop_front()
    }

    /// When [`Collector::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Waiting { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// Whether collection has ended (with `Done` or `Timeout`).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// Retries used so far.
    pub fn retries_used(&self) -> u32 {
        self.timeouts
    }
}

#[cfg(test)]
#[path = "collector_tests.rs"]
mod tests;
