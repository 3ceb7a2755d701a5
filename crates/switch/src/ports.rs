//! The RTP port pool: even ports for RTP, the odd port above for RTCP.
//!
//! A port reaches a leg only once the daemon has bound it. The pool keeps a
//! small reserve of bound ("ready") pairs ahead of need: the switch asks the
//! daemon to bind the next free pair whenever the reserve runs low, and a
//! pair that fails to bind (another program holds it) is set aside and the
//! next one tried. Our SDP can thus never advertise a port nobody listens
//! on, and a busy port costs a retry instead of a call.

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

/// Bound pairs kept ready ahead of need. One input allocates at most one
/// pair and the daemon refills the reserve after every input, so a few
/// suffice; more only holds sockets open for nothing.
pub const READY_RESERVE: usize = 8;

/// How long a pair that failed to bind is left alone before it is tried
/// again.
pub const BIND_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Binds that may fail in a row before the pool stops asking until a failed
/// pair is due again. Without it, an address the host does not have would
/// have the daemon try (and log) every pair of the range at once, and again
/// every [`BIND_RETRY_AFTER`].
pub const MAX_FAILURES_IN_A_ROW: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Not bound; waiting in `free`.
    Free,
    /// The daemon was asked to bind it.
    Binding,
    /// Bound; waiting in `ready` for a leg.
    Ready,
    /// A leg has it.
    InUse,
    /// Binding failed; waiting in `failed`.
    Failed,
}

/// A sans-IO allocator of RTP ports.
///
/// Free and ready ports wait in FIFOs so that a port just released is the
/// last to be handed out again: late packets of the call that used it are
/// then long gone when the next call gets it. Every operation is O(1)
/// (amortised over the failed ports it retries).
#[derive(Debug)]
pub struct RtpPortPool {
    first: u16,
    slots: Vec<Slot>,
    free: VecDeque<u16>,
    ready: VecDeque<u16>,
    failed: VecDeque<(Instant, u16)>,
    binding: usize,
    in_use: usize,
    reserve: usize,
    bind_failures: u64,
    failures_in_a_row: u32,
}

impl RtpPortPool {
    /// A pool of the even ports `p` in `range` whose RTCP port `p + 1` is in
    /// `range` too, keeping [`READY_RESERVE`] of them bound ahead of need.
    pub fn new(range: RangeInclusive<u16>) -> Self {
        Self::with_reserve(range, READY_RESERVE)
    }

    /// As [`RtpPortPool::new`], with `reserve` pairs kept ready (at least one).
    pub fn with_reserve(range: RangeInclusive<u16>, reserve: usize) -> Self {
        let start = *range.start();
        let first = start.saturating_add(start % 2);
        let end = *range.end();
        let free: VecDeque<u16> = (first..end).step_by(2).collect();
        let slots = vec![Slot::Free; free.len()];
        Self {
            first,
            slots,
            free,
            ready: VecDeque::new(),
            failed: VecDeque::new(),
            binding: 0,
            in_use: 0,
            reserve: reserve.max(1),
            bind_failures: 0,
            failures_in_a_row: 0,
        }
    }

    /// A bound even port, or `None` when none is ready (all in use, or the
    /// daemon has not bound any yet).
    pub fn allocate(&mut self) -> Option<u16> {
        let port = self.ready.pop_front()?;
        self.set(port, Slot::InUse);
        self.in_use += 1;
        Some(port)
    }

    /// Gives `port` back (the daemon closes it); ports not from this pool, or
    /// not in use, are ignored.
    pub fn release(&mut self, port: u16) {
        if self.get(port) == Some(Slot::InUse) {
            self.set(port, Slot::Free);
            self.in_use -= 1;
            self.free.push_back(port);
        }
    }

    /// The next port the daemon should bind to keep the reserve full, if
    /// any. Ports whose bind failed are tried again [`BIND_RETRY_AFTER`]
    /// later.
    pub fn next_to_bind(&mut self, now: Instant) -> Option<u16> {
        while let Some(&(at, port)) = self.failed.front() {
            if at > now {
                break;
            }
            self.failed.pop_front();
            self.set(port, Slot::Free);
            self.free.push_back(port);
            // A due pair earns the pool another round of attempts.
            self.failures_in_a_row = 0;
        }
        if self.ready.len() + self.binding >= self.reserve
            || self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW
        {
            return None;
        }
        let port = self.free.pop_front()?;
        self.set(port, Slot::Binding);
        self.binding += 1;
        Some(port)
    }

    /// The daemon bound `port`: it is ready for a leg.
    pub fn bound(&mut self, port: u16) {
        if self.get(port) == Some(Slot::Binding) {
            self.set(port, Slot::Ready);
            self.binding -= 1;
            self.ready.push_back(port);
            self.failures_in_a_row = 0;
        }
    }

    /// The daemon could not bind `port`: it is set aside for a while.
    pub fn bind_failed(&mut self, now: Instant, port: u16) {
        if self.get(port) == Some(Slot::Binding) {
            self.set(port, Slot::Failed);
            self.binding -= 1;
            self.bind_failures += 1;
            self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
            self.failed.push_back((now + BIND_RETRY_AFTER, port));
        }
    }

    /// Ports handed out and not yet released.
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// Ports bound and waiting for a leg.
    pub fn ready(&self) -> usize {
        self.ready.len()
    }

    /// Ports the pool holds in all.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Binds that failed since the start.
    pub fn bind_failures(&self) -> u64 {
        self.bind_failures
    }

    fn index(&self, port: u16) -> Option<usize> {
        if !port.is_multiple_of(2) {
            return None;
        }
        Some(usize::from(port.checked_sub(self.first)? / 2))
    }

    fn get(&self, port: u16) -> Option<Slot> {
        self.slots.get(self.index(port)?).copied()
    }

    fn set(&mut self, port: u16, slot: Slot) {
        if let Some(index) = self.index(port)
            && let Some(entry) = self.slots.get_mut(index)
        {
            *entry = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binds everything the pool asks for, as a daemon whose binds succeed.
    fn bind_all(pool: &mut RtpPortPool, now: Instant) -> Vec<u16> {
        let mut bound = Vec::new();
        while let Some(port) = pool.next_to_bind(now) {
            pool.bound(port);
            bound.push(port);
        }
        bound
    }

    #[test]
    fn hands_out_only_bound_even_ports_with_room_for_rtcp() {
        let now = Instant::now();
        let mut pool = RtpPortPool::new(10001..=10006);
        assert_eq!(pool.capacity(), 2);
        assert_eq!(pool.allocate(), None, "nothing bound yet");
        assert_eq!(bind_all(&mut pool, now), vec![10002, 10004]);
        assert_eq!(pool.allocate(), Some(10002));
        assert_eq!(pool.allocate(), Some(10004));
        assert_eq!(pool.allocate(), None);
        assert_eq!(pool.in_use(), 2);
    }

    #[test]
    fn keeps_only_the_reserve_bound() {
        let now = Instant::now();
        let mut pool = RtpPortPool::with_reserve(20000..=20099, 3);
        assert_eq!(bind_all(&mut pool, now), vec![20000, 20002, 20004]);
        assert_eq!(pool.ready(), 3);
        // Ports asked for but not yet answered count towards the reserve.
        let a = pool.allocate().unwrap();
        let pending = pool.next_to_bind(now).unwrap();
        assert_eq!(pool.next_to_bind(now), None);
        pool.bound(pending);
        assert_eq!(pool.ready(), 3);
        pool.release(a);
        assert_eq!(
            pool.next_to_bind(now),
            None,
            "a release does not shrink the reserve"
        );
    }

    #[test]
    fn released_ports_come_back_last() {
        let now = Instant::now();
        let mut pool = RtpPortPool::with_reserve(20000..=20005, 1);
        bind_all(&mut pool, now);
        let a = pool.allocate().unwrap();
        pool.release(a);
        assert_eq!(bind_all(&mut pool, now), vec![20002]);
        assert_eq!(pool.allocate(), Some(20002));
        assert_eq!(bind_all(&mut pool, now), vec![20004]);
        assert_eq!(pool.allocate(), Some(20004));
        assert_eq!(bind_all(&mut pool, now), vec![a]);
        assert_eq!(pool.allocate(), Some(a));
    }

    #[test]
    fn a_port_that_fails_to_bind_is_skipped_then_retried_later() {
        let now = Instant::now();
        let mut pool = RtpPortPool::with_reserve(30000..=30005, 1);
        let busy = pool.next_to_bind(now).unwrap();
        pool.bind_failed(now, busy);
        assert_eq!(pool.bind_failures(), 1);
        let next = pool.next_to_bind(now).unwrap();
        assert_ne!(next, busy);
        pool.bound(next);
        assert_eq!(pool.allocate(), Some(next));
        // Every other port failing too ends the attempts until the retry time.
        let last = pool.next_to_bind(now).unwrap();
        pool.bind_failed(now, last);
        assert_eq!(pool.next_to_bind(now), None);
        assert_eq!(pool.next_to_bind(now + BIND_RETRY_AFTER), Some(busy));
    }

    #[test]
    fn an_unbindable_range_is_tried_a_few_pairs_a_minute() {
        let t0 = Instant::now();
        let mut pool = RtpPortPool::new(40000..=49999);
        let mut tried = 0;
        let mut fail_all = |pool: &mut RtpPortPool, now| {
            while let Some(port) = pool.next_to_bind(now) {
                pool.bind_failed(now, port);
                tried += 1;
            }
            tried
        };
        assert_eq!(fail_all(&mut pool, t0), MAX_FAILURES_IN_A_ROW as usize);
        assert_eq!(fail_all(&mut pool, t0 + Duration::from_secs(30)), 16);
        // Due again a minute later: another round, no more.
        let later = t0 + BIND_RETRY_AFTER;
        assert_eq!(fail_all(&mut pool, later), 32);
        assert_eq!(pool.bind_failures(), 32);
        // One success and the pool fills its reserve again.
        let port = pool.next_to_bind(later + BIND_RETRY_AFTER).unwrap();
        pool.bound(port);
        assert_eq!(
            bind_all(&mut pool, later + BIND_RETRY_AFTER).len(),
            READY_RESERVE - 1
        );
    }

    #[test]
    fn ignores_foreign_double_and_out_of_state_calls() {
        let now = Instant::now();
        let mut pool = RtpPortPool::with_reserve(20000..=20003, 2);
        pool.bound(20000);
        pool.bind_failed(now, 20000);
        assert_eq!(pool.ready(), 0, "a port never asked for is not taken");
        bind_all(&mut pool, now);
        let a = pool.allocate().unwrap();
        pool.release(a);
        pool.release(a);
        pool.release(20001);
        pool.release(40000);
        pool.bound(40000);
        assert_eq!(pool.in_use(), 0);
        assert_eq!(pool.allocate(), Some(20002));
        assert_eq!(pool.allocate(), None);
        assert_eq!(bind_all(&mut pool, now), vec![a]);
    }

    #[test]
    fn full_u16_range_does_not_overflow() {
        let mut pool = RtpPortPool::new(65530..=65535);
        assert_eq!(pool.capacity(), 3);
        assert_eq!(
            bind_all(&mut pool, Instant::now()),
            vec![65530, 65532, 65534]
        );
    }
}
