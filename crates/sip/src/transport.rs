//! Transports, peers and outgoing datagrams/segments.

use bytes::Bytes;
use std::fmt;
use std::net::SocketAddr;

/// The transport a message travelled on or is to travel on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP: unreliable, so transactions retransmit (RFC 3261 §17).
    Udp,
    /// TCP: reliable and stream framed by Content-Length (§18.3).
    Tcp,
}

impl Transport {
    /// Whether the transport is reliable (no retransmissions, timers that
    /// absorb retransmissions fire at once).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The transport token used in a Via header (`UDP`, `TCP`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        })
    }
}

/// Where a message came from or goes to: transport, remote and local address.
///
/// For TCP the pair (local, remote) names one connection; the daemon sends a
/// response on the connection its request came in on and opens a new one
/// when none is open to `remote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport.
    pub transport: Transport,
    /// The remote address (source of what we received, destination of what we send).
    pub remote: SocketAddr,
    /// The local address the message arrived on or should leave from, when known.
    pub local: Option<SocketAddr>,
}

/// Bytes the daemon must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send them.
    pub peer: Peer,
    /// One whole SIP message.
    pub payload: Bytes,
}
