//! The switch's own deadlines, ordered so that the earliest is O(log n).

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

/// What a deadline is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TimerKey {
    /// An outbound leg rang too long: CANCEL, `no_answer`.
    Ring(String),
    /// An answered outbound leg reached `max_duration`: BYE, `allotted_timeout`.
    MaxDuration(String),
    /// A parked inbound leg got no decision: 480, `park_timeout`.
    Park(String),
    /// A trunk's registration is due (refresh or retry).
    Register(String),
    /// The drain grace is over: hang up what is left.
    Drain,
    /// A leg's DTMF, digit collector or digits to send are due.
    Media(String),
}

/// Deadlines by key; setting a key again moves it.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    ordered: BTreeSet<(Instant, TimerKey)>,
    by_key: HashMap<TimerKey, Instant>,
}

impl Timers {
    pub(crate) fn set(&mut self, key: TimerKey, at: Instant) {
        self.cancel(&key);
        self.ordered.insert((at, key.clone()));
        self.by_key.insert(key, at);
    }

    pub(crate) fn cancel(&mut self, key: &TimerKey) {
        if let Some(at) = self.by_key.remove(key) {
            self.ordered.remove(&(at, key.clone()));
        }
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.ordered.first().map(|(at, _)| *at)
    }

    /// Removes and returns the earliest key due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<TimerKey> {
        let (at, _) = self.ordered.first()?;
        if *at > now {
            return None;
        }
        let (_, key) = self.ordered.pop_first()?;
        self.by_key.remove(&key);
        Some(key)
    }

    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_first_and_moving_a_key() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.set(TimerKey::Ring("a".into()), t0 + Duration::from_secs(5));
        timers.set(TimerKey::Park("b".into()), t0 + Duration::from_secs(3));
        timers.set(TimerKey::Ring("a".into()), t0 + Duration::from_secs(1));
        assert_eq!(timers.len(), 2);
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(timers.pop_due(t0), None);
        let due = t0 + Duration::from_secs(3);
        assert_eq!(timers.pop_due(due), Some(TimerKey::Ring("a".into())));
        assert_eq!(timers.pop_due(due), Some(TimerKey::Park("b".into())));
        assert_eq!(timers.pop_due(due), None);
        timers.set(TimerKey::Drain, due);
        timers.cancel(&TimerKey::Drain);
        assert_eq!(timers.next(), None);
    }
}
