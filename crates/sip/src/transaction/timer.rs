//! Transaction timers: a small table of deadlines per transaction and one
//! ordered set over all of them, so the earliest deadline is a lookup, not
//! a scan. A second set holds only the [`Timer::Linger`] deadlines: the
//! transactions that merely absorb retransmissions, which the endpoint may
//! evict (earliest first) when its table is full.

use crate::endpoint::{ClientTxId, ServerTxId};
use std::collections::BTreeSet;
use std::time::Instant;

/// The timers a transaction can run, by role. The RFC 3261 letters each
/// role stands for depend on the transaction kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Retransmission: A (INVITE client), E (non-INVITE client), G (INVITE
    /// server non-2xx final) and the 2xx retransmission of RFC 6026.
    Retransmit = 0,
    /// Giving up: B, F, H, and L (64*T1 waiting for the ACK of a 2xx).
    Timeout = 1,
    /// Lingering to absorb retransmissions: D, I, J, K, M, and L once the
    /// ACK for a 2xx arrived. A transaction with this timer armed is
    /// evictable: it has nothing left to deliver.
    Linger = 2,
    /// The 200 ms after which the endpoint sends 100 Trying itself.
    Trying = 3,
}

impl Timer {
    const COUNT: usize = 4;
    const ALL: [Timer; Timer::COUNT] = [
        Timer::Retransmit,
        Timer::Timeout,
        Timer::Linger,
        Timer::Trying,
    ];
}

/// The deadlines of one transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Arms `timer` at `deadline`.
    pub(crate) fn set(&mut self, timer: Timer, deadline: Instant) {
        if let Some(slot) = self.deadlines.get_mut(timer as usize) {
            *slot = Some(deadline);
        }
    }

    /// Disarms `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        if let Some(slot) = self.deadlines.get_mut(timer as usize) {
            *slot = None;
        }
    }

    /// Disarms every timer.
    pub(crate) fn stop_all(&mut self) {
        self.deadlines = Default::default();
    }

    /// The deadline of `timer`, if armed.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines.get(timer as usize).copied().flatten()
    }

    fn armed(&self) -> impl Iterator<Item = (Timer, Instant)> + '_ {
        Timer::ALL
            .into_iter()
            .filter_map(|t| self.get(t).map(|d| (t, d)))
    }
}

/// Which transaction a queued deadline belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TxRef {
    /// A client transaction.
    Client(ClientTxId),
    /// A server transaction.
    Server(ServerTxId),
}

/// Every armed deadline of every transaction, in order.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    entries: BTreeSet<(Instant, TxRef, Timer)>,
    /// The `Linger` entries again, without the timer kind, so the earliest
    /// evictable transaction is a lookup.
    lingering: BTreeSet<(Instant, TxRef)>,
}

impl TimerQueue {
    /// Brings the queue in line after `tx`'s table changed from `before` to `after`.
    pub(crate) fn sync(&mut self, tx: TxRef, before: &TimerTable, after: &TimerTable) {
        for timer in Timer::ALL {
            let (old, new) = (before.get(timer), after.get(timer));
            if old == new {
                continue;
            }
            if let Some(d) = old {
                self.remove(d, tx, timer);
            }
            if let Some(d) = new {
                self.entries.insert((d, tx, timer));
                if timer == Timer::Linger {
                    self.lingering.insert((d, tx));
                }
            }
        }
    }

    /// Forgets every deadline of a transaction that ended.
    pub(crate) fn remove_all(&mut self, tx: TxRef, table: &TimerTable) {
        for (timer, deadline) in table.armed() {
            self.remove(deadline, tx, timer);
        }
    }

    /// The lingering transaction whose linger ends first: the cheapest to evict.
    pub(crate) fn earliest_lingering(&self) -> Option<TxRef> {
        self.lingering.first().map(|(_, tx)| *tx)
    }

    fn remove(&mut self, deadline: Instant, tx: TxRef, timer: Timer) {
        self.entries.remove(&(deadline, tx, timer));
        if timer == Timer::Linger {
            self.lingering.remove(&(deadline, tx));
        }
    }

    /// The earliest deadline.
    pub(crate) fn earliest(&self) -> Option<Instant> {
        self.entries.first().map(|(d, _, _)| *d)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(TxRef, Timer)> {
        let first = self.entries.first().copied()?;
        if first.0 > now {
            return None;
        }
        self.remove(first.0, first.1, first.2);
        Some((first.1, first.2))
    }

    /// Number of queued deadlines.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn queue_follows_tables() {
        let t0 = Instant::now();
        let mut q = TimerQueue::default();
        let tx = TxRef::Client(ClientTxId(1));
        let before = TimerTable::default();
        let mut after = before;
        after.set(Timer::Retransmit, t0 + Duration::from_millis(500));
        after.set(Timer::Timeout, t0 + Duration::from_secs(32));
        q.sync(tx, &before, &after);
        assert_eq!(q.earliest(), Some(t0 + Duration::from_millis(500)));
        let mut later = after;
        later.stop(Timer::Retransmit);
        q.sync(tx, &after, &later);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_due(t0), None);
        assert_eq!(
            q.pop_due(t0 + Duration::from_secs(32)),
            Some((tx, Timer::Timeout))
        );
        q.remove_all(tx, &later);
        assert_eq!(q.earliest(), None);
    }

    #[test]
    fn lingering_set_follows_linger_timers_only() {
        let t0 = Instant::now();
        let mut q = TimerQueue::default();
        let (a, b) = (TxRef::Server(ServerTxId(1)), TxRef::Client(ClientTxId(2)));
        let empty = TimerTable::default();
        let mut live = empty;
        live.set(Timer::Timeout, t0 + Duration::from_secs(1));
        q.sync(a, &empty, &live);
        assert_eq!(
            q.earliest_lingering(),
            None,
            "a live timer is not evictable"
        );
        let mut late = empty;
        late.set(Timer::Linger, t0 + Duration::from_secs(32));
        q.sync(b, &empty, &late);
        let mut early = empty;
        early.set(Timer::Linger, t0 + Duration::from_secs(5));
        q.sync(a, &live, &early);
        assert_eq!(q.earliest_lingering(), Some(a));
        assert_eq!(
            q.pop_due(t0 + Duration::from_secs(5)),
            Some((a, Timer::Linger))
        );
        assert_eq!(q.earliest_lingering(), Some(b));
        q.remove_all(b, &late);
        assert_eq!(q.earliest_lingering(), None);
        assert_eq!(q.len(), 0);
    }
}
