//! RTP and RTCP sockets: one pair per leg, opened and closed as the switch
//! asks, each socket read by its own task that hands packets to the core.

use super::adapter::RtpTransmit;
use crate::core::Input;
use crate::metrics::RtpCounters;
use bytes::Bytes;
use foldhash::{HashMap, HashMapExt};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::JoinHandle;

/// Largest RTP/RTCP datagram accepted; larger ones are dropped and counted.
/// 20 ms of any codec we offer fits many times over.
pub(crate) const MAX_RTP_DATAGRAM: usize = 2048;

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

/// One leg's sockets: RTP on the even port, RTCP on the next.
#[derive(Debug)]
struct Pair {
    /// Non-blocking std handles for sending, RTP then RTCP.
    senders: [std::net::UdpSocket; 2],
    readers: [JoinHandle<()>; 2],
}

impl Drop for Pair {
    fn drop(&mut self) {
        // The readers own the tokio sockets: aborting them closes the ports.
        for reader in &self.readers {
            reader.abort();
        }
    }
}

/// The open RTP/RTCP sockets by RTP port, at most `max_pairs`.
#[derive(Debug)]
pub(crate) struct RtpSockets {
    ip: IpAddr,
    max_pairs: usize,
    pairs: HashMap<u16, Pair>,
    inputs: mpsc::Sender<Input>,
    counters: RtpCounters,
}

impl RtpSockets {
    /// Sockets on `ip`, at most `max_pairs` pairs, feeding `inputs`.
    pub(crate) fn new(ip: IpAddr, max_pairs: usize, inputs: mpsc::Sender<Input>) -> Self {
        Self {
            ip,
            max_pairs,
            pairs: HashMap::new(),
            inputs,
            counters: RtpCounters::new(),
        }
    }

    /// Binds `port` and `port + 1` and starts reading them. Opening an open
    /// port is a no-op.
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
        let (rtp, rtp_sender) = bind(SocketAddr::new(self.ip, port))?;
        let (rtcp, rtcp_sender) = bind(SocketAddr::new(self.ip, rtcp_port))?;
        let spawn = |socket, local_port| {
            tokio::spawn(read_loop(
                socket,
                local_port,
                self.inputs.clone(),
                self.counters.clone(),
            ))
        };
        let readers = [spawn(rtp, port), spawn(rtcp, rtcp_port)];
        self.pairs.insert(
            port,
            Pair {
                senders: [rtp_sender, rtcp_sender],
                readers,
            },
        );
        self.counters.pairs_changed(1);
        Ok(())
    }

    /// Stops reading `port` and `port + 1` and closes them.
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
    /// network could have.
    pub(crate) fn send(&self, transmit: &RtpTransmit) {
        let base = transmit.local_port & !1;
        let socket = self
            .pairs
            .get(&base)
            .and_then(|pair| pair.senders.get(usize::from(transmit.local_port & 1)));
        let Some(socket) = socket else {
            self.counters.dropped_no_socket.increment(1);
            return;
        };
        match socket.send_to(&transmit.payload, transmit.destination) {
            Ok(_) => self.counters.packets_out.increment(1),
            Err(error) => {
                tracing::trace!(destination = %transmit.destination, %error, "RTP send failed");
                self.counters.dropped_send_failed.increment(1);
            }
        }
    }
}

impl Drop for RtpSockets {
    fn drop(&mut self) {
        for _ in self.pairs.drain() {
            self.counters.pairs_changed(-1);
        }
    }
}

/// Binds `addr` for RTP: a tokio socket to read, a std handle to send. On
/// an IPv6 wildcard both families are served (one SDP address family per
/// leg, but the daemon does not know which when it binds).
fn bind(addr: SocketAddr) -> Result<(tokio::net::UdpSocket, std::net::UdpSocket), OpenError> {
    let make = || -> std::io::Result<_> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            socket.set_only_v6(!addr.ip().is_unspecified())?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        let sender: std::net::UdpSocket = socket.try_clone()?.into();
        Ok((tokio::net::UdpSocket::from_std(socket.into())?, sender))
    };
    make().map_err(|source| OpenError::Bind {
        address: addr,
        source,
    })
}

/// Reads packets from `socket` into one reused buffer and offers each to
/// the core. A full queue drops the packet instead of waiting: late audio
/// is worthless, and a waiting reader would only move the loss to the
/// kernel's buffer.
async fn read_loop(
    socket: tokio::net::UdpSocket,
    local_port: u16,
    inputs: mpsc::Sender<Input>,
    counters: RtpCounters,
) {
    // One byte more than accepted, so that a larger datagram shows as such
    // instead of being silently truncated to the limit.
    let mut buffer = vec![0u8; MAX_RTP_DATAGRAM + 1];
    loop {
        let (len, source) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors from earlier sends surface here.
                tracing::trace!(local_port, %error, "RTP receive error");
                continue;
            }
        };
        let Some(packet) = buffer.get(..len).filter(|_| len <= MAX_RTP_DATAGRAM) else {
            counters.dropped_too_large.increment(1);
            continue;
        };
        counters.packets_in.increment(1);
        let input = Input::Rtp {
            local_port,
            source,
            packet: Bytes::copy_from_slice(packet),
        };
        match inputs.try_send(input) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => counters.dropped_queue_full.increment(1),
            Err(TrySendError::Closed(_)) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn next_rtp(receiver: &mut mpsc::Receiver<Input>) -> (u16, SocketAddr, Bytes) {
        let input = tokio::time::timeout(Duration::from_secs(5), receiver.recv())
            .await
            .unwrap()
            .unwrap();
        match input {
            Input::Rtp {
                local_port,
                source,
                packet,
            } => (local_port, source, packet),
            other => panic!("unexpected input {other:?}"),
        }
    }

    fn free_even_port() -> u16 {
        // Ask the OS for a free pair by binding port 0 until an even port whose
        // successor is free turns up.
        loop {
            let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = probe.local_addr().unwrap().port();
            if port.is_multiple_of(2)
                && port < u16::MAX
                && std::net::UdpSocket::bind(("127.0.0.1", port + 1)).is_ok()
            {
                return port;
            }
        }
    }

    #[tokio::test]
    async fn packets_flow_both_ways_and_stop_after_close() {
        let (inputs, mut receiver) = mpsc::channel(16);
        let mut sockets = RtpSockets::new("127.0.0.1".parse().unwrap(), 4, inputs);
        let port = free_even_port();
        sockets.open(port).unwrap();
        sockets.open(port).unwrap();
        assert_eq!(sockets.open_sockets(), 2);

        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer_addr = peer.local_addr().unwrap();
        peer.send_to(b"rtp", ("127.0.0.1", port)).await.unwrap();
        assert_eq!(
            next_rtp(&mut receiver).await,
            (port, peer_addr, Bytes::from_static(b"rtp"))
        );
        peer.send_to(b"rtcp", ("127.0.0.1", port + 1))
            .await
            .unwrap();
        assert_eq!(next_rtp(&mut receiver).await.0, port + 1);

        // Oversized datagrams are dropped, the next one still arrives.
        peer.send_to(&[0u8; MAX_RTP_DATAGRAM + 1], ("127.0.0.1", port))
            .await
            .unwrap();
        peer.send_to(&[1u8; MAX_RTP_DATAGRAM], ("127.0.0.1", port))
            .await
            .unwrap();
        assert_eq!(next_rtp(&mut receiver).await.2.len(), MAX_RTP_DATAGRAM);

        for local_port in [port, port + 1] {
            sockets.send(&RtpTransmit {
                local_port,
                destination: peer_addr,
                payload: Bytes::from_static(b"out"),
            });
            let mut buffer = [0u8; 16];
            let (len, from) =
                tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buffer))
                    .await
                    .unwrap()
                    .unwrap();
            assert_eq!((&buffer[..len], from.port()), (&b"out"[..], local_port));
        }

        sockets.close(port);
        assert_eq!(sockets.open_sockets(), 0);
        // The ports are free again once the readers are gone.
        let mut rebound = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
                rebound = true;
                break;
            }
        }
        assert!(rebound, "port {port} still bound after close");
    }

    #[tokio::test]
    async fn refuses_beyond_the_limit_and_odd_ports() {
        let (inputs, _receiver) = mpsc::channel(16);
        let mut sockets = RtpSockets::new("127.0.0.1".parse().unwrap(), 1, inputs);
        let port = free_even_port();
        assert!(matches!(
            sockets.open(port + 1),
            Err(OpenError::BadPort { .. })
        ));
        sockets.open(port).unwrap();
        let other = free_even_port();
        assert!(matches!(
            sockets.open(other),
            Err(OpenError::TableFull { open: 1 })
        ));
        sockets.close(port);
        sockets.open(other).unwrap();
    }

    #[tokio::test]
    async fn a_port_in_use_fails_to_open() {
        let (inputs, _receiver) = mpsc::channel(16);
        let mut sockets = RtpSockets::new("127.0.0.1".parse().unwrap(), 4, inputs);
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        // Odd ports are refused before binding; use the pair below an odd one.
        let port = if port.is_multiple_of(2) {
            port
        } else {
            port - 1
        };
        let _also = std::net::UdpSocket::bind(("127.0.0.1", port));
        assert!(matches!(sockets.open(port), Err(OpenError::Bind { .. })));
        assert_eq!(sockets.open_sockets(), 0);
    }
}
