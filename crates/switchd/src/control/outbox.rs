//! The queue of lines for one control connection. Replies and events share
//! it so that a reply is always written before the events its command caused;
//! the core pushes without ever waiting, and a subscriber too slow to keep
//! up loses its oldest undelivered events, replaced by a `gap`, instead of
//! slowing the core (docs/control-protocol.md, "seq, since and gap").

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use switchd_control::{Event, EventKind, codec};
use tokio::sync::Notify;

/// Lines waiting to be written to one control connection.
#[derive(Debug)]
pub(crate) struct Outbox {
    state: Mutex<State>,
    wake: Notify,
    event_limit: usize,
}

/// One queued line.
#[derive(Debug)]
enum Entry {
    /// A reply, already encoded.
    Reply(String),
    /// An event, already encoded.
    Event { seq: u64, time: u64, line: String },
    /// Events `from..=to` dropped in this place.
    Gap { from: u64, to: u64, time: u64 },
}

#[derive(Debug, Default)]
struct State {
    entries: VecDeque<Entry>,
    /// `Entry::Event`s in `entries`; replies are not limited (one per
    /// request, and the reader waits for each before reading the next).
    events: usize,
    closed: bool,
}

/// What happened when an event was offered to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Queued.
    Queued,
    /// Queued, and the oldest queued event was dropped, starting a new gap.
    GapStarted,
    /// Queued, and the oldest queued event was dropped into an existing gap.
    GapExtended,
}

impl Outbox {
    /// An outbox queueing at most `event_limit` events.
    pub(crate) fn new(event_limit: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            event_limit: event_limit.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves only a queue of strings behind.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a reply line.
    pub(crate) fn push_reply(&self, line: String) {
        self.lock().entries.push_back(Entry::Reply(line));
        self.wake.notify_one();
    }

    /// Queues a live event, dropping the oldest queued one if the queue is full.
    pub(crate) fn push_event(&self, event: &Event) -> Delivery {
        let mut state = self.lock();
        let delivery = if state.events >= self.event_limit {
            state.drop_oldest_event()
        } else {
            Delivery::Queued
        };
        state.push(event);
        drop(state);
        self.wake.notify_one();
        delivery
    }

    /// Queues replayed events (`subscribe {since}`) regardless of the limit:
    /// the ring bounds how many there can be.
    pub(crate) fn push_replay(&self, events: &[Event]) {
        let mut state = self.lock();
        for event in events {
            state.push(event);
        }
        drop(state);
        self.wake.notify_one();
    }

    /// No more lines will be written; the writer stops once the queue is empty.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }

    /// Takes everything queued, waiting while the queue is empty; `None` once closed and empty.
    pub(crate) async fn next_batch(&self) -> Option<Vec<String>> {
        loop {
            {
                let mut state = self.lock();
                if !state.entries.is_empty() {
                    return Some(state.take());
                }
                if state.closed {
                    return None;
                }
            }
            // notify_one keeps a permit when nobody waits, so a push between
            // the check above and this await is not lost.
            self.wake.notified().await;
        }
    }
}

impl State {
    fn push(&mut self, event: &Event) {
        let line = codec::encode_event(event);
        self.entries.push_back(Entry::Event {
            seq: event.seq,
            time: event.time,
            line,
        });
        self.events += 1;
    }

    /// Replaces the oldest queued event by a gap, merged with a gap right
    /// before it. Events reach a subscriber in seq order, so the seqs a gap
    /// covers are consecutive.
    fn drop_oldest_event(&mut self) -> Delivery {
        let Some(index) = self
            .entries
            .iter()
            .position(|e| matches!(e, Entry::Event { .. }))
        else {
            return Delivery::Queued;
        };
        let Some(Entry::Event { seq, time, .. }) = self.entries.remove(index) else {
            return Delivery::Queued;
        };
        self.events = self.events.saturating_sub(1);
        let before = index.checked_sub(1).and_then(|i| self.entries.get_mut(i));
        if let Some(Entry::Gap { to, .. }) = before {
            *to = seq;
            return Delivery::GapExtended;
        }
        self.entries.insert(
            index,
            Entry::Gap {
                from: seq,
                to: seq,
                time,
            },
        );
        Delivery::GapStarted
    }

    fn take(&mut self) -> Vec<String> {
        self.events = 0;
        self.entries
            .drain(..)
            .map(|entry| match entry {
                Entry::Reply(line) | Entry::Event { line, .. } => line,
                Entry::Gap { from, to, time } => {
                    let gap = Event {
                        seq: 0,
                        time,
                        kind: EventKind::Gap { from, to },
                    };
                    codec::encode_event(&gap)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64) -> Event {
        Event {
            seq,
            time: 7,
            kind: EventKind::Trying {
                leg: format!("l{seq}"),
            },
        }
    }

    fn take(outbox: &Outbox) -> Vec<serde_json::Value> {
        let lines = outbox.lock().take();
        lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn slow_subscriber_loses_the_oldest_events_to_a_gap() {
        let outbox = Outbox::new(2);
        assert_eq!(outbox.push_event(&event(1)), Delivery::Queued);
        assert_eq!(outbox.push_event(&event(2)), Delivery::Queued);
        assert_eq!(outbox.push_event(&event(3)), Delivery::GapStarted);
        assert_eq!(outbox.push_event(&event(4)), Delivery::GapExtended);
        let lines = take(&outbox);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0]["event"], "gap");
        assert_eq!(lines[0]["seq"], 0);
        assert_eq!(
            (lines[0]["from"].as_u64(), lines[0]["to"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(
            (lines[1]["seq"].as_u64(), lines[2]["seq"].as_u64()),
            (Some(3), Some(4))
        );
        // Caught up: events flow again without a gap.
        assert_eq!(outbox.push_event(&event(5)), Delivery::Queued);
        assert_eq!(take(&outbox)[0]["seq"], 5);
    }

    #[test]
    fn replies_are_never_dropped_and_keep_their_place() {
        let outbox = Outbox::new(2);
        outbox.push_event(&event(1));
        outbox.push_reply("{\"id\":1,\"ok\":true}".to_owned());
        for seq in 2..=4 {
            outbox.push_event(&event(seq));
        }
        let lines = take(&outbox);
        let shape: Vec<String> = lines
            .iter()
            .map(|l| match l["event"].as_str() {
                Some("gap") => format!("gap{}-{}", l["from"], l["to"]),
                Some(_) => format!("e{}", l["seq"]),
                None => format!("r{}", l["id"]),
            })
            .collect();
        assert_eq!(shape, ["gap1-1", "r1", "gap2-2", "e3", "e4"]);
    }

    #[tokio::test]
    async fn batch_waits_for_lines_and_ends_when_closed() {
        let outbox = std::sync::Arc::new(Outbox::new(4));
        let writer = {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                let mut all = Vec::new();
                while let Some(batch) = outbox.next_batch().await {
                    all.extend(batch);
                }
                all
            })
        };
        outbox.push_reply("a".to_owned());
        tokio::task::yield_now().await;
        outbox.push_reply("b".to_owned());
        outbox.close();
        assert_eq!(writer.await.unwrap(), vec!["a".to_owned(), "b".to_owned()]);
    }
}
