//! The RTP port pool: even ports for RTP, the odd port above for RTCP.

use std::collections::VecDeque;
use std::ops::RangeInclusive;

/// A sans-IO allocator of RTP ports.
///
/// Free ports wait in a FIFO so that a port just released is the last to be
/// handed out again: late packets of the call that used it are then long
/// gone when the next call gets it. Allocation and release are O(1).
#[derive(Debug)]
pub struct RtpPortPool {
    first: u16,
    free: VecDeque<u16>,
    in_use: Vec<bool>,
}

impl RtpPortPool {
    /// A pool of the even ports `p` in `range` whose RTCP port `p + 1` is in
    /// `range` too.
    pub fn new(range: RangeInclusive<u16>) -> Self {
        let start = *range.start();
        let first = start.saturating_add(start % 2);
        let end = *range.end();
        let free: VecDeque<u16> = (first..end).step_by(2).collect();
        let in_use = vec![false; free.len()];
        Self {
            first,
            free,
            in_use,
        }
    }

    /// An even port, or `None` when all are in use.
    pub fn allocate(&mut self) -> Option<u16> {
        let port = self.free.pop_front()?;
        if let Some(slot) = self.slot(port) {
            *slot = true;
        }
        Some(port)
    }

    /// Gives `port` back; ports not from this pool, or already free, are
    /// ignored.
    pub fn release(&mut self, port: u16) {
        if let Some(slot) = self.slot(port)
            && *slot
        {
            *slot = false;
            self.free.push_back(port);
        }
    }

    /// Ports handed out and not yet released.
    pub fn in_use(&self) -> usize {
        self.in_use.len() - self.free.len()
    }

    /// Ports the pool holds in all.
    pub fn capacity(&self) -> usize {
        self.in_use.len()
    }

    fn slot(&mut self, port: u16) -> Option<&mut bool> {
        if !port.is_multiple_of(2) {
            return None;
        }
        let index = usize::from(port.checked_sub(self.first)? / 2);
        self.in_use.get_mut(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_even_ports_with_room_for_rtcp() {
        let mut pool = RtpPortPool::new(10001..=10006);
        assert_eq!(pool.capacity(), 2);
        assert_eq!(pool.allocate(), Some(10002));
        assert_eq!(pool.allocate(), Some(10004));
        assert_eq!(pool.allocate(), None);
        assert_eq!(pool.in_use(), 2);
    }

    #[test]
    fn released_ports_come_back_last() {
        let mut pool = RtpPortPool::new(20000..=20005);
        let a = pool.allocate().unwrap();
        pool.release(a);
        assert_eq!(pool.allocate(), Some(20002));
        assert_eq!(pool.allocate(), Some(20004));
        assert_eq!(pool.allocate(), Some(a));
    }

    #[test]
    fn ignores_foreign_and_double_release() {
        let mut pool = RtpPortPool::new(20000..=20003);
        let a = pool.allocate().unwrap();
        pool.release(a);
        pool.release(a);
        pool.release(20001);
        pool.release(40000);
        assert_eq!(pool.in_use(), 0);
        assert_eq!(pool.allocate(), Some(20002));
        assert_eq!(pool.allocate(), Some(a));
        assert_eq!(pool.allocate(), None);
    }

    #[test]
    fn full_u16_range_does_not_overflow() {
        let pool = RtpPortPool::new(65530..=65535);
        assert_eq!(pool.capacity(), 3);
    }
}
