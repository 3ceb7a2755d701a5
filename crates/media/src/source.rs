//! Symmetric RTP (RFC 4961) source learning for peers behind NAT.
//!
//! The address in the peer's SDP is often a private one its NAT rewrote away. So the first
//! packet's source is learnt and media is sent back there; for a short window after it
//! (`learning_window`) a packet from another source replaces it, because the first
//! packets may come through a path the NAT binding does not keep (an ALG, a second
//! interface). After the window the source is locked: packets from anywhere else are
//! dropped and counted, so a third party cannot steal or inject into the stream. A packet
//! from exactly the SDP address locks at once: nothing behind a NAT is left to learn.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What to do with one received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceVerdict {
    /// From the known source: process it.
    Accept,
    /// From a new source that is now the peer's address: process it and send there.
    Learned(SocketAddr),
    /// From a source other than the locked one: drop it.
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No packet yet.
    Waiting,
    /// Learnt `source`; others may still replace it until `until`.
    Learning { source: SocketAddr, until: Instant },
    /// Only `source` is accepted.
    Locked { source: SocketAddr },
}

/// Source address filter of one media leg.
#[derive(Debug, Clone)]
pub struct SourceFilter {
    advertised: Option<SocketAddr>,
    window: Duration,
    state: State,
    dropped: u64,
    relearned: u64,
}

impl SourceFilter {
    /// A filter for a peer that advertised `advertised` in SDP, learning for `window`.
    pub fn new(advertised: Option<SocketAddr>, window: Duration) -> Self {
        Self {
            advertised,
            window,
            state: State::Waiting,
            dropped: 0,
            relearned: 0,
        }
    }

    /// Starts over after a re-INVITE changed the peer's SDP address.
    pub fn reset(&mut self, advertised: Option<SocketAddr>) {
        self.advertised = advertised;
        self.state = State::Waiting;
    }

    /// Where to send media: the learnt source, else the SDP address.
    pub fn destination(&self) -> Option<SocketAddr> {
        match self.state {
            State::Waiting => self.advertised,
            State::Learning { source, .. } | State::Locked { source } => Some(source),
        }
    }

    /// The source, once locked (the learning window is over).
    pub fn locked_source(&self) -> Option<SocketAddr> {
        match self.state {
            State::Locked { source } => Some(source),
            _ => None,
        }
    }

    /// Datagrams dropped for coming from the wrong source.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Times the source changed during a learning window.
    pub fn relearned(&self) -> u64 {
        self.relearned
    }

    /// When the learning window closes (for the daemon's timer), while learning.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Learning { until, .. } => Some(until),
            _ => None,
        }
    }

    /// Locks the source once the learning window has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        // A match rather than a let chain keeps the crate within the workspace's MSRV.
        match self.state {
            State::Learning { source, until } if now >= until => {
                self.state = State::Locked { source };
            }
            _ => {}
        }
    }

    fn learn(&mut self, now: Instant, from: SocketAddr) -> SourceVerdict {
        self.state = if Some(from) == self.advertised {
            State::Locked { source: from }
        } else {
            State::Learning {
                source: from,
                until: now + self.window,
            }
        };
        SourceVerdict::Learned(from)
    }

    /// Classifies a datagram received from `from` at `now`.
    pub fn check(&mut self, now: Instant, from: SocketAddr) -> SourceVerdict {
        self.handle_timeout(now);
        match self.state {
            State::Waiting => self.learn(now, from),
            State::Learning { source, .. } | State::Locked { source } if source == from => {
                SourceVerdict::Accept
            }
            State::Learning { until, .. } => {
                self.relearned += 1;
                let verdict = self.learn(now, from);
                // A replacement does not extend the window: it closes when first planned.
                if let State::Learning { source, .. } = self.state {
                    self.state = State::Learning { source, until };
                }
                verdict
            }
            State::Locked { .. } => {
                self.dropped += 1;
                SourceVerdict::Drop
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(2);

    fn addr(text: &str) -> SocketAddr {
        text.parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9)))
    }

    #[test]
    fn learns_first_source_then_locks_after_window() {
        let sdp = addr("10.0.0.5:4000");
        let mut filter = SourceFilter::new(Some(sdp), WINDOW);
        let t0 = Instant::now();
        assert_eq!(filter.destination(), Some(sdp));
        let nat = addr("127.0.0.2:31000");
        assert_eq!(filter.check(t0, nat), SourceVerdict::Learned(nat));
        assert_eq!(filter.destination(), Some(nat));
        assert_eq!(filter.poll_timeout(), Some(t0 + WINDOW));
        assert_eq!(
            filter.check(t0 + Duration::from_millis(20), nat),
            SourceVerdict::Accept
        );
        filter.handle_timeout(t0 + WINDOW);
        assert_eq!(filter.poll_timeout(), None);
        let intruder = addr("127.0.0.3:5000");
        assert_eq!(filter.check(t0 + WINDOW, intruder), SourceVerdict::Drop);
        assert_eq!(filter.check(t0 + WINDOW * 2, intruder), SourceVerdict::Drop);
        assert_eq!(filter.dropped(), 2);
        assert_eq!(filter.destination(), Some(nat));
    }

    #[test]
    fn later_source_within_window_replaces_first_without_extending_it() {
        let mut filter = SourceFilter::new(None, WINDOW);
        let t0 = Instant::now();
        let first = addr("127.0.0.2:1000");
        let second = addr("127.0.0.2:1002");
        filter.check(t0, first);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(filter.check(t1, second), SourceVerdict::Learned(second));
        assert_eq!(filter.relearned(), 1);
        assert_eq!(filter.poll_timeout(), Some(t0 + WINDOW));
        assert_eq!(filter.check(t0 + WINDOW, first), SourceVerdict::Drop);
        assert_eq!(filter.check(t0 + WINDOW, second), SourceVerdict::Accept);
    }

    #[test]
    fn advertised_address_locks_at_once_and_reset_relearns() {
        let sdp = addr("127.0.0.4:4000");
        let mut filter = SourceFilter::new(Some(sdp), WINDOW);
        let t0 = Instant::now();
        assert_eq!(filter.check(t0, sdp), SourceVerdict::Learned(sdp));
        assert_eq!(filter.poll_timeout(), None);
        assert_eq!(
            filter.check(t0, addr("127.0.0.5:4000")),
            SourceVerdict::Drop
        );
        let moved = addr("127.0.0.6:6000");
        filter.reset(Some(moved));
        assert_eq!(filter.destination(), Some(moved));
        let via_nat = addr("127.0.0.7:7000");
        assert_eq!(filter.check(t0, via_nat), SourceVerdict::Learned(via_nat));
        assert_eq!(filter.dropped(), 1);
    }
}
