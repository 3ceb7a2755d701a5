//! Free loopback ports for SIP and control, and RTP ranges unique per daemon.
//!
//! SIP ports come from the kernel (bind port 0, read it, release it), which
//! hands out ports from the ephemeral range (32768 and up on Linux). RTP
//! ranges are carved below that range, so they never meet a SIP port.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Ports this process handed out already; never handed out twice.
static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A port that is free on 127.0.0.1 for both UDP and TCP right now.
pub fn free_port() -> u16 {
    free_port_on(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// A port that is free on `ip` (a loopback address) for both UDP and TCP
/// right now.
pub fn free_port_on(ip: IpAddr) -> u16 {
    for _ in 0..200 {
        let Ok(udp) = UdpSocket::bind((ip, 0)) else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else { continue };
        let port = addr.port();
        if TcpListener::bind((ip, port)).is_err() {
            continue;
        }
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
    panic!("no free loopback port found in 200 tries");
}

/// Width of one RTP block: 200 legs (RTP and RTCP ports each).
const RTP_BLOCK: u16 = 400;
/// RTP blocks live in 10000..32000, below the kernel's ephemeral range.
const RTP_BASE: u16 = 10_000;
const RTP_BLOCKS: u32 = 55;

static NEXT_BLOCK: AtomicU32 = AtomicU32::new(0);

/// An RTP port range `(min, max)` of 400 ports (`min` even) that no other
/// daemon or sipp of this process uses while fewer than 55 ranges are
/// taken. The starting block depends on the pid, so test processes run side
/// by side (nextest) are unlikely to meet.
pub fn rtp_range() -> (u16, u16) {
    let n = NEXT_BLOCK.fetch_add(1, Ordering::Relaxed);
    let block = (std::process::id().wrapping_mul(37).wrapping_add(n)) % RTP_BLOCKS;
    // block < 55, so this stays below 32000.
    let min = RTP_BASE + (block as u16) * RTP_BLOCK;
    (min, min + RTP_BLOCK - 1)
}
