//! The SIP endpoint: the transaction table and the crate's entry point.
//!
//! STUB: signatures are the contract; bodies are being written.

use crate::error::Error;
use crate::transport::{Peer, Transmit, Transport};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Identifies a client transaction (a request we sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(pub u64);

/// Identifies a server transaction (a request we received).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(pub u64);

/// Endpoint settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// RTT estimate T1 (RFC 3261 default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval T2 (default 4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network T4 (default 5 s).
    pub t4: Duration,
    /// Limit on live client plus server transactions; beyond it new
    /// requests get 503 with Retry-After and `send_request` fails.
    pub max_transactions: usize,
    /// Largest message accepted on UDP.
    pub max_udp_message: usize,
    /// Largest message accepted on TCP (default 64 KiB).
    pub max_tcp_message: usize,
    /// Addresses put in our Via `sent-by` (and offered to the TU for Contact),
    /// one per transport and address family we listen on.
    pub advertised: Vec<(Transport, SocketAddr)>,
    /// Value of the User-Agent / Server header, if any.
    pub user_agent: Option<String>,
    /// Methods listed in Allow (405/501/OPTIONS answers).
    pub allow: Vec<rsip::Method>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            max_transactions: 10_000,
            max_udp_message: 65_535,
            max_tcp_message: 64 * 1024,
            advertised: Vec::new(),
            user_agent: Some(concat!("switchd/", env!("CARGO_PKG_VERSION")).to_owned()),
            allow: vec![
                rsip::Method::Invite,
                rsip::Method::Ack,
                rsip::Method::Cancel,
                rsip::Method::Bye,
                rsip::Method::Options,
                rsip::Method::Info,
                rsip::Method::Update,
            ],
        }
    }
}

/// What the endpoint reports to the transaction user (the switch).
#[derive(Debug, Clone)]
pub enum EndpointEvent {
    /// A new request (never ACK, never a retransmission); answer it with
    /// [`Endpoint::respond`] using `tx`.
    Request {
        /// The server transaction to answer on.
        tx: ServerTxId,
        /// The request, validated.
        request: rsip::Request,
        /// Where it came from.
        peer: Peer,
    },
    /// A CANCEL matched the pending INVITE server transaction `tx`; the
    /// endpoint already answered the CANCEL with 200. The TU should answer
    /// the INVITE with 487.
    Cancelled {
        /// The INVITE's server transaction.
        tx: ServerTxId,
    },
    /// An ACK for a 2xx we sent (it ended that INVITE server transaction's
    /// 2xx retransmissions), or an ACK that matched nothing.
    Ack {
        /// The INVITE server transaction it acknowledged, if it matched one.
        tx: Option<ServerTxId>,
        /// The ACK.
        request: rsip::Request,
        /// Where it came from.
        peer: Peer,
    },
    /// A response on one of our client transactions: each provisional, the
    /// first final, and for INVITE the first 2xx per To-tag (retransmitted
    /// 2xx are re-ACKed by the endpoint with the ACK given to
    /// [`Endpoint::send_ack`]).
    Response {
        /// The client transaction.
        tx: ClientTxId,
        /// The response, validated.
        response: rsip::Response,
    },
    /// A client transaction ended with no final response (Timer B or F) or
    /// the transport failed: treat as 408 / 503 (RFC 3261 §8.1.3.1).
    ClientTimeout {
        /// The client transaction.
        tx: ClientTxId,
    },
    /// An INVITE server transaction never saw the ACK for its final
    /// response (Timer H, or 64*T1 for a 2xx): the TU should end the dialog.
    AckTimeout {
        /// The server transaction.
        tx: ServerTxId,
    },
}

/// The sans-IO SIP endpoint.
#[derive(Debug)]
pub struct Endpoint {
    _private: (),
}

impl Endpoint {
    /// A new endpoint.
    pub fn new(config: EndpointConfig) -> Self {
        let _ = config;
        todo!()
    }

    /// One UDP datagram arrived from `peer`.
    pub fn handle_datagram(&mut self, now: Instant, peer: Peer, datagram: &[u8]) {
        let _ = (now, peer, datagram);
        todo!()
    }

    /// One whole message framed from a TCP stream (see
    /// [`message::StreamFramer`](crate::message::StreamFramer)) arrived from `peer`.
    pub fn handle_stream_message(&mut self, now: Instant, peer: Peer, message: &[u8]) {
        let _ = (now, peer, message);
        todo!()
    }

    /// Starts a client transaction: adds our top Via (new branch, sent-by
    /// from `advertised`, `rport`), Max-Forwards and Content-Length when
    /// missing, and sends `request` to `peer`.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: rsip::Request,
        peer: Peer,
    ) -> Result<ClientTxId, Error> {
        let _ = (now, request, peer);
        todo!()
    }

    /// Sends CANCEL for the pending INVITE client transaction `invite`
    /// (RFC 3261 §9.1: same branch, Request-URI, Call-ID, From, To, CSeq
    /// number), as a new client transaction.
    pub fn cancel(&mut self, now: Instant, invite: ClientTxId) -> Result<ClientTxId, Error> {
        let _ = (now, invite);
        todo!()
    }

    /// Sends the ACK for a 2xx received on INVITE client transaction `invite`
    /// (a new branch, outside any transaction); it is kept and re-sent for
    /// each retransmission of that 2xx.
    pub fn send_ack(
        &mut self,
        now: Instant,
        invite: ClientTxId,
        ack: rsip::Request,
        peer: Peer,
    ) -> Result<(), Error> {
        let _ = (now, invite, ack, peer);
        todo!()
    }

    /// Answers server transaction `tx`. The response goes where RFC 3261
    /// §18.2.2 and RFC 3581 say (received/rport, or the same TCP connection).
    pub fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        response: rsip::Response,
    ) -> Result<(), Error> {
        let _ = (now, tx, response);
        todo!()
    }

    /// Call when the deadline of [`poll_timeout`](Self::poll_timeout) passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// The earliest deadline at which [`handle_timeout`](Self::handle_timeout)
    /// must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        todo!()
    }

    /// The next event for the transaction user.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        todo!()
    }

    /// Live client and server transactions, for metrics.
    pub fn transaction_count(&self) -> usize {
        todo!()
    }

    /// The address to advertise (Via sent-by, Contact, SDP) when talking to
    /// `remote` over `transport`.
    pub fn advertised_address(&self, transport: Transport, remote: SocketAddr) -> Option<SocketAddr> {
        let _ = (transport, remote);
        todo!()
    }
}
