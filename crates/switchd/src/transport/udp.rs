//! SIP over UDP.

use crate::core::Input;
use crate::metrics as m;
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use switchd_sip::{Peer, Transmit, Transport};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// The largest UDP payload there can be.
const MAX_DATAGRAM: usize = 65_535;

/// The bound UDP sockets, for sending.
///
/// Sending goes through a non-blocking std handle of the same socket rather
/// than tokio's `try_send_to`: tokio reports "would block" until its reactor
/// has seen the socket writable once, which would drop the first sends.
#[derive(Debug, Default)]
pub(crate) struct UdpSockets {
    sockets: Vec<(SocketAddr, std::net::UdpSocket)>,
}

impl UdpSockets {
    /// Adds a handle (non-blocking) to a bound socket whose local address is `local`.
    pub(crate) fn add(&mut self, local: SocketAddr, socket: std::net::UdpSocket) {
        self.sockets.push((local, socket));
    }

    /// Sends without waiting: the core never blocks on a socket. A full
    /// send buffer drops the datagram, as the network could have; SIP
    /// retransmits.
    pub(crate) fn send(&self, transmit: &Transmit) {
        let remote = transmit.peer.remote;
        let exact = transmit
            .peer
            .local
            .and_then(|local| self.sockets.iter().find(|(addr, _)| *addr == local));
        let chosen = exact.or_else(|| {
            self.sockets
                .iter()
                .find(|(addr, _)| addr.is_ipv4() == remote.is_ipv4())
        });
        let Some((_, socket)) = chosen else {
            tracing::debug!(%remote, "no UDP socket of the address family");
            m::sip_dropped("no_socket");
            return;
        };
        if let Err(error) = socket.send_to(&transmit.payload, remote) {
            tracing::debug!(%remote, %error, "UDP send failed");
            m::sip_dropped("udp_send_failed");
        }
    }
}

/// Reads datagrams from `socket` and hands them to the core, forever.
pub(crate) async fn receive_loop(
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    max_message: usize,
    inputs: mpsc::Sender<Input>,
) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, remote) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors from earlier sends surface here on some systems.
                tracing::debug!(%local, %error, "UDP receive error");
                continue;
            }
        };
        if len > max_message {
            m::sip_dropped("udp_too_large");
            continue;
        }
        let Some(data) = buffer.get(..len) else {
            continue;
        };
        let peer = Peer {
            transport: Transport::Udp,
            remote,
            local: Some(local),
        };
        let input = Input::Datagram {
            peer,
            data: Bytes::copy_from_slice(data),
        };
        if inputs.send(input).await.is_err() {
            return;
        }
    }
}
