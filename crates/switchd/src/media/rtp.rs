//! RTP and RTCP sockets: one pair per leg, bound when the switch asks, all
//! in one epoll set that the core task waits on and reads itself.
//!
//! The core owns these sockets the way it owns the switch: it waits on the
//! set's readiness (through tokio's reactor, one `AsyncFd`), reads a bounded
//! batch of datagrams into one reused buffer and hands each to the switch,
//! then sends what the switch answers. A packet thus costs its receive, its
//! send and the switch's work: no task wake, queue or allocation per packet.
//! (A reader task per socket feeding the core's queue cost 12-15 % more
//! daemon CPU under `benches/load/media-load.sh`.)

use super::adapter::RtpTransmit;
use crate::metrics::RtpCounters;
use foldhash::{HashMap, HashMapExt};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::time::Duration;
use tokio::io::unix::AsyncFd;

/// Largest RTP/RTCP datagram accepted; larger ones are dropped and counted.
/// 20 ms of any codec we offer fits many times over.
pub(crate) const MAX_RTP_DATAGRAM: usize = 2048;

/// Readiness events taken from the set at once.
const EVENTS: usize = 256;
/// Datagrams read from one socket before the others get their turn.
const PER_SOCKET: usize = 8;
/// Datagrams read in one batch, before the core turns to its other inputs
/// and timers: a flood on one port delays the rest by one batch at most.
const PER_BATCH: usize = 64;
/// Room for one datagram: one byte more than accepted, so that a larger
/// datagram shows as such instead of being silently truncated to the limit.
const SLOT: usize = MAX_RTP_DATAGRAM + 1;

/// Why a port could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// As many pairs are open as the port range holds.
    #[error("{open} RTP port pairs open, the limit")]
    TableFull {
        /// Pairs open.
        open: usize,
    },
    /// The port is odd, or the last of the port space.
    #[error("{port} cannot start an RTP/RTCP pair")]
    BadPort {
        /// The port.
        port: u16,
    },
    /// Binding failed (port in use, address not local…).
    #[error("cannot bind {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// One datagram of the current batch.
#[derive(Debug, Clone)]
struct Received {
    local_port: u16,
    source: SocketAddr,
    bytes: Range<usize>,
}

/// The open RTP/RTCP sockets by RTP port, at most `max_pairs`, and the
/// epoll set they are registered in.
#[derive(Debug)]
pub(crate) struct RtpSockets {
    ip: IpAddr,
    max_pairs: usize,
    /// RTP socket then RTCP socket, by RTP port.
    pairs: HashMap<u16, [UdpSocket; 2]>,
    poll: AsyncFd<Poll>,
    events: Events,
    /// Ports seen ready and not yet read to the end, oldest first.
    ready: VecDeque<u16>,
    /// The current batch: where each datagram lies in `buffer`.
    batch: Vec<Received>,
    /// Room for a whole batch, zeroed once; `used` bytes hold the batch.
    buffer: Vec<u8>,
    used: usize,
    counters: RtpCounters,
}

impl RtpSockets {
    /// No sockets yet, on `ip`, at most `max_pairs` pairs. Needs the tokio
    /// runtime (the set registers with its reactor).
    pub(crate) fn new(ip: IpAddr, max_pairs: usize) -> std::io::Result<Self> {
        // `AsyncFd::new` is deprecated for fds it does not own (tokio#8587):
        // its successor is `unsafe`. Here the `Poll` it wraps owns its epoll
        // fd and lives exactly as long as the registration, which is the
        // safety the successor asks its caller to promise.
        #[allow(deprecated)]
        let poll = AsyncFd::new(Poll::new()?)?;
        Ok(Self {
            ip,
            max_pairs,
            pairs: HashMap::new(),
            poll,
            events: Events::with_capacity(EVENTS),
            ready: VecDeque::new(),
            batch: Vec::with_capacity(PER_BATCH),
            buffer: vec![0; PER_BATCH * SLOT],
            used: 0,
            counters: RtpCounters::new(),
        })
    }

    /// Binds `port` and `port + 1` and registers them. Opening an open port
    /// is a no-op.
    pub(crate) fn open(&mut self, port: u16) -> Result<(), OpenError> {
        if self.pairs.contains_key(&port) {
            return Ok(());
        }
        if self.pairs.len() >= self.max_pairs {
            return Err(OpenError::TableFull {
                open: self.pairs.len(),
            });
        }
        let rtcp_port = port
            .checked_add(1)
            .filter(|_| port.is_multiple_of(2))
            .ok_or(OpenError::BadPort { port })?;
        let mut rtp = bind(SocketAddr::new(self.ip, port))?;
        let mut rtcp = bind(SocketAddr::new(self.ip, rtcp_port))?;
        let registry = self.poll.get_ref().registry();
        for (socket, local_port) in [(&mut rtp, port), (&mut rtcp, rtcp_port)] {
            registry
                .register(socket, Token(usize::from(local_port)), Interest::READABLE)
                .map_err(|source| OpenError::Bind {
                    address: SocketAddr::new(self.ip, local_port),
                    source,
                })?;
        }
        self.pairs.insert(port, [rtp, rtcp]);
        self.counters.pairs_changed(1);
        Ok(())
    }

    /// Closes `port` and `port + 1` (closing leaves the epoll set too).
    pub(crate) fn close(&mut self, port: u16) {
        if self.pairs.remove(&port).is_some() {
            self.counters.pairs_changed(-1);
        }
    }

    /// Sockets open (two per pair).
    #[cfg(test)]
    pub(crate) fn open_sockets(&self) -> usize {
        self.pairs.len() * 2
    }

    /// Sends without waiting; a full send buffer drops the packet, as the
    /// network could have. True when the packet left; the caller counts
    /// those in [`Self::count_sent`] once per flush, not per packet.
    pub(crate) fn send(&self, transmit: &RtpTransmit) -> bool {
        let Some(socket) = self.socket(transmit.local_port) else {
            self.counters.dropped_no_socket.increment(1);
            return false;
        };
        match socket.send_to(&transmit.payload, transmit.destination) {
            Ok(_) => true,
            Err(error) => {
                tracing::trace!(destination = %transmit.destination, %error, "RTP send failed");
                self.counters.dropped_send_failed.increment(1);
                false
            }
        }
    }

    /// Adds `sent` packets to the packets-out counter.
    pub(crate) fn count_sent(&self, sent: u64) {
        if sent > 0 {
            self.counters.packets_out.increment(sent);
        }
    }

    /// Waits until some socket has datagrams (at once when some were left
    /// from the last batch). Cancel-safe: nothing is read here.
    pub(crate) async fn ready(&mut self) {
        while self.ready.is_empty() {
            let Ok(mut guard) = self.poll.readable_mut().await else {
                // The reactor is gone (shutting down): nothing will come.
                return std::future::pending().await;
            };
            match guard
                .get_inner_mut()
                .poll(&mut self.events, Some(Duration::ZERO))
            {
                Ok(()) => {}
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => {
                    tracing::warn!(%error, "RTP poll failed");
                    guard.clear_ready();
                    continue;
                }
            }
            let mut seen = 0;
            for event in self.events.iter() {
                seen += 1;
                if let Ok(port) = u16::try_from(event.token().0) {
                    self.ready.push_back(port);
                }
            }
            // Fewer events than room for them: the set had no more ready
            // sockets. A datagram arriving from here on makes the set
            // ready anew, which the reactor reports again.
            if seen < EVENTS {
                guard.clear_ready();
            }
        }
    }

    /// Reads the next batch from the sockets found ready: a few datagrams
    /// per socket in turn, [`PER_BATCH`] at most. A socket stays in turn
    /// until it would block (its readiness is edge-triggered).
    pub(crate) fn read_batch(&mut self) {
        self.batch.clear();
        self.used = 0;
        // Bounded in reads as well as datagrams: a socket that keeps
        // failing to read must not spin the core.
        for _ in 0..PER_BATCH {
            if self.batch.len() >= PER_BATCH {
                break;
            }
            let Some(port) = self.ready.pop_front() else {
                break;
            };
            let drained = self.read_socket(port);
            if !drained {
                self.ready.push_back(port);
            }
        }
        // One counter update a batch: the handle is shared with the exporter.
        if !self.batch.is_empty() {
            self.counters.packets_in.increment(self.batch.len() as u64);
        }
    }

    /// The batch [`Self::read_batch`] read: local port, source, datagram.
    pub(crate) fn batch(&self) -> impl Iterator<Item = (u16, SocketAddr, &[u8])> {
        self.batch.iter().filter_map(|received| {
            let bytes = self.buffer.get(received.bytes.clone())?;
            Some((received.local_port, received.source, bytes))
        })
    }

    /// Reads up to [`PER_SOCKET`] datagrams from `port`'s socket; true when
    /// it would block (or is gone), false when it may hold more.
    fn read_socket(&mut self, port: u16) -> bool {
        let Some(socket) = socket_of(&self.pairs, port) else {
            return true;
        };
        for _ in 0..PER_SOCKET.min(PER_BATCH.saturating_sub(self.batch.len())) {
            let start = self.used;
            let Some(room) = self.buffer.get_mut(start..start + SLOT) else {
                return false;
            };
            match socket.recv_from(room) {
                Ok((len, source)) if len <= MAX_RTP_DATAGRAM => {
                    self.used += len;
                    self.batch.push(Received {
                        local_port: port,
                        source,
                        bytes: start..start + len,
                    });
                }
                Ok(_) => self.counters.dropped_too_large.increment(1),
                Err(error) if error.kind() == ErrorKind::WouldBlock => return true,
                // ICMP errors from earlier sends surface here.
                Err(error) => tracing::trace!(port, %error, "RTP receive error"),
            }
        }
        false
    }

    fn socket(&self, port: u16) -> Option<&UdpSocket> {
        socket_of(&self.pairs, port)
    }
}

/// The socket of `port`: the RTP socket of its pair, or the RTCP one.
fn socket_of(pairs: &HashMap<u16, [UdpSocket; 2]>, port: u16) -> Option<&UdpSocket> {
    pairs
        .get(&(port & !1))
        .and_then(|pair| pair.get(usize::from(port & 1)))
}

impl Drop for RtpSockets {
    fn drop(&mut self) {
        for _ in self.pairs.drain() {
            self.counters.pairs_changed(-1);
        }
    }
}

/// Binds `addr` for RTP, non-blocking. On an IPv6 wildcard both families
/// are served (one SDP address family per leg, but the daemon does not know
/// which when it binds).
fn bind(addr: SocketAddr) -> Result<UdpSocket, OpenError> {
    let make = || -> std::io::Result<_> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            socket.set_only_v6(!addr.ip().is_unspecified())?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        Ok(UdpSocket::from_std(socket.into()))
    };
    make().map_err(|source| OpenError::Bind {
        address: addr,
        source,
    })
}

#[cfg(test)]
mod tests;
