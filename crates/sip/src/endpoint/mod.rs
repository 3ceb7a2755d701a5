//! The SIP endpoint: the transaction table and the crate's entry point.
//!
//! The endpoint owns every client and server transaction, matches what
//! arrives to them (RFC 3261 §17.1.3, §17.2.3), answers what no transaction
//! or TU needs to see (retransmissions, CANCEL, stray ACKs, requests it
//! refuses), and keeps one ordered queue of all transaction deadlines so
//! [`Endpoint::poll_timeout`] is a lookup.

mod build;
mod checks;
mod incoming;
mod outgoing;
mod stats;
#[cfg(test)]
mod tests;

pub use stats::EndpointStats;

use crate::message::ParseLimits;
use crate::transaction::client::ClientTransaction;
use crate::transaction::key::{AckKey, ClientKey, ServerKey};
use crate::transaction::server::ServerTransaction;
use crate::transaction::timer::{TimerQueue, TxRef};
use crate::transaction::{Outbox, TimerSettings};
use crate::transport::{Peer, Transmit, Transport};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::HashMap;
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
    /// Limit on client plus server transactions, to bound memory. At the
    /// limit, a transaction that only absorbs retransmissions (Timers D, I,
    /// J, K, L after the ACK, M) is evicted to make room, earliest deadline
    /// first; only when every transaction is live do new requests get 503
    /// with Retry-After and `send_request` fail. The default, 100,000,
    /// holds 1,500 calls/s without evicting at T1 = 500 ms (an INVITE and a
    /// BYE server transaction each lingering 64*T1 = 32 s per call) and
    /// about 2,000 calls/s evicting only the oldest lingering ones.
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
    /// Option tags we implement: a request whose Require names another one
    /// is refused with 420 (RFC 3261 §8.2.2.3). Empty by default.
    pub supported_extensions: Vec<String>,
    /// Body media types accepted in requests (`type/subtype`); a body of
    /// another type is refused with 415 and an Accept header (§8.2.3).
    pub accepted_content_types: Vec<String>,
    /// How long a new INVITE may wait for the TU's first response before
    /// the endpoint sends 100 Trying itself (§17.2.1: 200 ms).
    pub trying_delay: Duration,
    /// Seed for branches and tags; `None` seeds from the operating system.
    /// Set it in tests for reproducible messages.
    pub rng_seed: Option<u64>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            max_transactions: 100_000,
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
            supported_extensions: Vec::new(),
            accepted_content_types: vec![
                "application/sdp".to_owned(),
                "application/dtmf-relay".to_owned(),
                "application/dtmf".to_owned(),
                "multipart/mixed".to_owned(),
            ],
            trying_delay: Duration::from_millis(200),
            rng_seed: None,
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
    config: EndpointConfig,
    timer_settings: TimerSettings,
    rng: StdRng,
    next_id: u64,
    // Boxed, here and in the indexes: a transaction is 500-700 bytes and a
    // key 50-100, and a table holding them inline costs that per bucket.
    // Under steady churn hashbrown rehashes when tombstones use up its
    // slack and, with more than half its capacity live, doubles: inline,
    // one doubling cost 6 MiB for good (benches/load/soak.sh with its SIP
    // INFO caller); boxed, 16 bytes a bucket.
    clients: HashMap<ClientTxId, Box<ClientTransaction>>,
    client_index: HashMap<Box<ClientKey>, ClientTxId>,
    servers: HashMap<ServerTxId, Box<ServerTransaction>>,
    server_index: HashMap<Box<ServerKey>, ServerTxId>,
    /// INVITE server transactions in Accepted, by what their 2xx's ACK carries.
    ack_index: HashMap<Box<AckKey>, ServerTxId>,
    timers: TimerQueue,
    out: Outbox,
}

impl Endpoint {
    /// A new endpoint.
    pub fn new(config: EndpointConfig) -> Self {
        let rng = match config.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Endpoint {
            timer_settings: TimerSettings {
                t1: config.t1,
                t2: config.t2,
                t4: config.t4,
            },
            config,
            rng,
            next_id: 1,
            clients: HashMap::new(),
            client_index: HashMap::new(),
            servers: HashMap::new(),
            server_index: HashMap::new(),
            ack_index: HashMap::new(),
            timers: TimerQueue::default(),
            out: Outbox::default(),
        }
    }

    /// One UDP datagram arrived from `peer`.
    pub fn handle_datagram(&mut self, now: Instant, peer: Peer, datagram: &[u8]) {
        let limits = ParseLimits {
            max_message: self.config.max_udp_message,
            ..ParseLimits::default()
        };
        self.handle_message(now, peer, datagram, limits);
    }

    /// One whole message framed from a TCP stream (see
    /// [`message::StreamFramer`](crate::message::StreamFramer)) arrived from `peer`.
    pub fn handle_stream_message(&mut self, now: Instant, peer: Peer, message: &[u8]) {
        let limits = ParseLimits {
            max_message: self.config.max_tcp_message,
            ..ParseLimits::default()
        };
        self.handle_message(now, peer, message, limits);
    }

    /// The daemon could not deliver to `peer` (TCP connect or write failed,
    /// ICMP unreachable): every client transaction still waiting for a
    /// final response from it ends with
    /// [`ClientTimeout`](EndpointEvent::ClientTimeout) (RFC 3261 §17.1.4).
    /// Rare, so a scan of the table is fine.
    pub fn handle_transport_error(&mut self, now: Instant, peer: Peer) {
        let _ = now;
        let failed: Vec<ClientTxId> = self
            .clients
            .values()
            .filter(|tx| tx.peer == peer && tx.awaits_final())
            .map(|tx| tx.id)
            .collect();
        for id in failed {
            self.with_client(id, |tx, _, out| {
                tx.terminate();
                out.events
                    .push_back(EndpointEvent::ClientTimeout { tx: tx.id });
            });
        }
    }

    /// Call when the deadline of [`poll_timeout`](Self::poll_timeout) passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((tx, timer)) = self.timers.pop_due(now) {
            match tx {
                TxRef::Client(id) => self.client_timer(id, timer, now),
                TxRef::Server(id) => self.server_timer(id, timer, now),
            }
        }
    }

    /// The earliest deadline at which [`handle_timeout`](Self::handle_timeout)
    /// must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next event for the transaction user.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.out.events.pop_front()
    }

    /// Live client and server transactions, for metrics.
    pub fn transaction_count(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    /// The counters since the endpoint was created, for metrics.
    pub fn stats(&self) -> &EndpointStats {
        &self.out.stats
    }

    /// The address to advertise (Via sent-by, Contact, SDP) when talking to
    /// `remote` over `transport`: the configured one of the same transport
    /// and address family, else any of the same transport.
    pub fn advertised_address(
        &self,
        transport: Transport,
        remote: SocketAddr,
    ) -> Option<SocketAddr> {
        let same_transport = || {
            self.config
                .advertised
                .iter()
                .filter(|(t, _)| *t == transport)
        };
        same_transport()
            .find(|(_, a)| a.is_ipv4() == remote.is_ipv4())
            .or_else(|| same_transport().next())
            .map(|(_, a)| *a)
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Whether a new transaction fits: when the table is at its limit, the
    /// lingering transaction (one that only absorbs retransmissions) with
    /// the earliest deadline is evicted to make room; `false` only when
    /// every transaction is still live.
    ///
    /// The price of an eviction: a late retransmission of the evicted
    /// request is no longer absorbed but treated as new, so a retransmitted
    /// BYE reaches the TU again (which answers 481, its dialog being gone),
    /// and a retransmitted final response or 2xx is no longer re-ACKed.
    /// Picking the earliest deadline evicts what was closest to ending anyway.
    fn make_room(&mut self) -> bool {
        if self.transaction_count() < self.config.max_transactions {
            return true;
        }
        match self.timers.earliest_lingering() {
            Some(TxRef::Client(id)) => self.remove_client(id),
            Some(TxRef::Server(id)) => self.remove_server(id),
            None => return false,
        }
        self.out.stats.evicted_completed += 1;
        self.transaction_count() < self.config.max_transactions
    }

    /// Runs `f` on client transaction `id`, then mirrors its timers into the
    /// queue and drops it if it ended.
    fn with_client<R>(
        &mut self,
        id: ClientTxId,
        f: impl FnOnce(&mut ClientTransaction, &TimerSettings, &mut Outbox) -> R,
    ) -> Option<R> {
        let tx = self.clients.get_mut(&id)?;
        let before = tx.timers;
        let result = f(tx, &self.timer_settings, &mut self.out);
        self.timers.sync(TxRef::Client(id), &before, &tx.timers);
        if tx.is_terminated() {
            self.remove_client(id);
        }
        Some(result)
    }

    /// Runs `f` on server transaction `id`, like [`Self::with_client`].
    fn with_server<R>(
        &mut self,
        id: ServerTxId,
        f: impl FnOnce(&mut ServerTransaction, &TimerSettings, &mut Outbox) -> R,
    ) -> Option<R> {
        let tx = self.servers.get_mut(&id)?;
        let before = tx.timers;
        let result = f(tx, &self.timer_settings, &mut self.out);
        self.timers.sync(TxRef::Server(id), &before, &tx.timers);
        if tx.is_terminated() {
            self.remove_server(id);
        } else if let Some(key) = tx.ack_key.clone() {
            self.ack_index.insert(Box::new(key), id);
        }
        Some(result)
    }

    fn remove_client(&mut self, id: ClientTxId) {
        let Some(tx) = self.clients.remove(&id) else {
            return;
        };
        self.timers.remove_all(TxRef::Client(id), &tx.timers);
        if self.client_index.get(&tx.key) == Some(&id) {
            self.client_index.remove(&tx.key);
        }
        if let Some(cancel) = tx.pending_cancel {
            // A CANCEL still held when its INVITE ends is never sent.
            self.with_client(cancel, |c, _, _| c.terminate());
        }
    }

    fn remove_server(&mut self, id: ServerTxId) {
        let Some(tx) = self.servers.remove(&id) else {
            return;
        };
        self.timers.remove_all(TxRef::Server(id), &tx.timers);
        if self.server_index.get(&tx.key) == Some(&id) {
            self.server_index.remove(&tx.key);
        }
        if let Some(key) = &tx.ack_key
            && self.ack_index.get(key) == Some(&id)
        {
            self.ack_index.remove(key);
        }
    }

    fn client_timer(&mut self, id: ClientTxId, timer: crate::transaction::Timer, now: Instant) {
        if let Some(tx) = self.clients.get_mut(&id) {
            // The queue entry is gone; clear the slot so the sync below sees
            // only what the transaction re-arms.
            tx.timers.stop(timer);
        }
        self.with_client(id, |tx, s, out| tx.on_timer(timer, now, s, out));
    }

    fn server_timer(&mut self, id: ServerTxId, timer: crate::transaction::Timer, now: Instant) {
        let Some(tx) = self.servers.get_mut(&id) else {
            return;
        };
        tx.timers.stop(timer);
        if timer == crate::transaction::Timer::Trying {
            if tx.is_silent() {
                let trying =
                    build::response_to(&tx.request, 100, None, self.config.user_agent.as_deref());
                // A silent transaction cannot be final, so this cannot fail.
                let _ = self.with_server(id, |tx, s, out| tx.respond(now, &trying, s, out));
            }
            return;
        }
        self.with_server(id, |tx, s, out| tx.on_timer(timer, now, s, out));
    }
}
