//! The four transaction state machines of RFC 3261 §17, with the Accepted
//! state of RFC 6026 for INVITE 2xx, and their timers.
//!
//! Transactions never see the clock or the network: the
//! [`Endpoint`](crate::Endpoint) hands them `now` and what arrived, and they
//! push what to send and what to report into an outbox the endpoint drains.
//! Each keeps its deadlines in a small table indexed by [`Timer`], which the
//! endpoint mirrors into one ordered queue over all transactions.

pub(crate) mod client;
pub(crate) mod key;
pub(crate) mod server;
pub mod timer;
pub(crate) mod wire;

pub use timer::Timer;

use crate::endpoint::{EndpointEvent, EndpointStats};
use crate::transport::{Peer, Transmit};
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use timer::TimerTable;

/// The RFC 3261 timer base values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerSettings {
    /// RTT estimate.
    pub t1: Duration,
    /// Retransmit interval cap.
    pub t2: Duration,
    /// Network lifetime of a message.
    pub t4: Duration,
}

impl TimerSettings {
    /// 64*T1: B, F, H, L, M.
    pub(crate) fn timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// What one sent message was, for the counters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sent {
    /// A request with this method.
    Request(&'static str),
    /// A response with this status code.
    Response(u16),
}

/// Where transactions put what must be sent and reported.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// Messages for the daemon.
    pub transmits: VecDeque<Transmit>,
    /// Events for the transaction user.
    pub events: VecDeque<EndpointEvent>,
    /// The counters.
    pub stats: EndpointStats,
}

impl Outbox {
    /// Queues one message and counts it.
    pub(crate) fn send(&mut self, peer: Peer, payload: Bytes, what: Sent, retransmission: bool) {
        match what {
            Sent::Request(method) => self.stats.count_request_out(method),
            Sent::Response(code) => self.stats.count_response_out(code),
        }
        if retransmission {
            self.stats.retransmissions += 1;
        }
        self.transmits.push_back(Transmit { peer, payload });
    }
}

/// The retransmit timer's interval (Timers A, E and G): armed at T1, then
/// doubled after each retransmission, capped where the RFC says so.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Backoff {
    interval: Duration,
}

impl Backoff {
    /// A backoff currently at `interval`.
    pub(crate) fn at(interval: Duration) -> Backoff {
        Backoff { interval }
    }

    /// Arms the retransmit timer for the first time, at T1.
    pub(crate) fn start(&mut self, timers: &mut TimerTable, t1: Duration, now: Instant) {
        *self = Backoff::at(t1);
        timers.set(Timer::Retransmit, now + t1);
    }

    /// After a retransmission: doubles the interval (capped at `cap` when
    /// given) and re-arms the retransmit timer.
    pub(crate) fn next(&mut self, timers: &mut TimerTable, cap: Option<Duration>, now: Instant) {
        let doubled = self.interval.saturating_mul(2);
        self.interval = cap.map_or(doubled, |cap| doubled.min(cap));
        timers.set(Timer::Retransmit, now + self.interval);
    }
}
