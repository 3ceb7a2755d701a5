//! The bounded ring of recent events, so a client that reconnects with
//! `since` gets what it missed, or a [`EventKind::Gap`] when too much passed.

use crate::event::{Event, EventKind};
use std::collections::VecDeque;

/// Keeps the last `capacity` events and assigns each its `seq`.
#[derive(Debug)]
pub struct EventRing {
    events: VecDeque<Event>,
    capacity: usize,
    last_seq: u64,
}

impl EventRing {
    /// A ring keeping at most `capacity` events (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            events: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            last_seq: 0,
        }
    }

    /// Records `kind` at `time` (ms since the epoch), returning the event with its seq.
    pub fn push(&mut self, kind: EventKind, time: u64) -> Event {
        self.last_seq += 1;
        let event = Event {
            seq: self.last_seq,
            time,
            kind,
        };
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event.clone());
        event
    }

    /// The seq of the newest event (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Events after `since`, oldest first. When some of them are no longer
    /// kept, a `gap` event (with seq 0, not recorded) comes first.
    pub fn since(&self, since: u64) -> Vec<Event> {
        let oldest_kept = self.events.front().map_or(self.last_seq + 1, |e| e.seq);
        let mut out = Vec::new();
        if since.saturating_add(1) < oldest_kept && since < self.last_seq {
            let to = oldest_kept - 1;
            let time = self.events.front().map_or(0, |e| e.time);
            out.push(Event {
                seq: 0,
                time,
                kind: EventKind::Gap {
                    from: since + 1,
                    to,
                },
            });
        }
        out.extend(self.events.iter().filter(|e| e.seq > since).cloned());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trying(n: u32) -> EventKind {
        EventKind::Trying {
            leg: format!("leg{n}"),
        }
    }

    #[test]
    fn resumes_without_gap_while_kept() {
        let mut ring = EventRing::new(4);
        for n in 0..3 {
            ring.push(trying(n), 0);
        }
        let seqs: Vec<u64> = ring.since(1).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![2, 3]);
        assert!(ring.since(3).is_empty());
    }

    #[test]
    fn reports_gap_when_overwritten() {
        let mut ring = EventRing::new(2);
        for n in 0..5 {
            ring.push(trying(n), 0);
        }
        let events = ring.since(1);
        assert_eq!(events[0].kind, EventKind::Gap { from: 2, to: 3 });
        let seqs: Vec<u64> = events[1..].iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![4, 5]);
    }
}
