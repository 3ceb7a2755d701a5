//! The sans-IO call logic of switchd. STUB: signatures are the contract.
//!
//! # Layout
//! (to be written)
#![warn(missing_docs)]

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};
use switchd_control::{Command, EventKind, ReplyBody, ReplyError, command::TrunkSpec};
use switchd_sip::{EndpointConfig, Peer, Transmit};

/// What an inbound INVITE matching a route gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Answer at once (200 with an SDP answer).
    Answer,
    /// Reject with this status.
    Reject {
        /// 400..=699.
        status: u16,
    },
    /// Announce as `leg.incoming` and wait for the controller.
    Park,
}

/// An inbound routing rule; the first that matches wins, none -> 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Request-URI user: exact, or a glob with `*`.
    pub user: String,
    /// Request-URI host: exact or glob; `None` matches any.
    pub host: Option<String>,
    /// What to do.
    pub action: RouteAction,
}

/// Settings of the switch.
#[derive(Debug, Clone)]
pub struct SwitchConfig {
    /// SIP endpoint settings (timers, limits, advertised addresses).
    pub endpoint: EndpointConfig,
    /// Inbound routes, in order.
    pub routes: Vec<Route>,
    /// Trunks from the config file.
    pub trunks: Vec<TrunkSpec>,
    /// RTP ports (even ports are RTP, +1 RTCP).
    pub rtp_ports: RangeInclusive<u16>,
    /// Most legs alive at once; beyond it INVITEs get 503 and originate `limit_reached`.
    pub max_legs: usize,
    /// How long a parked leg waits for the controller before 480.
    pub park_timeout: Duration,
    /// Ring timeout when `originate` gives none.
    pub default_ring_timeout: Duration,
    /// How long ended legs stay visible in `legs`/`leg`.
    pub ended_leg_retention: Duration,
}

/// A host name the switch needs resolved (trunk hosts, `originate` targets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRequest {
    /// Echo it in [`Switch::handle_resolved`].
    pub token: u64,
    /// The host name.
    pub host: String,
    /// The port to combine with the address.
    pub port: u16,
}

/// The sans-IO switch.
#[derive(Debug)]
pub struct Switch {
    _private: (),
}

impl Switch {
    /// A new switch.
    pub fn new(config: SwitchConfig, now: Instant) -> Self {
        let _ = (config, now);
        todo!()
    }
    /// A UDP datagram arrived.
    pub fn handle_datagram(&mut self, now: Instant, peer: Peer, datagram: &[u8]) {
        let _ = (now, peer, datagram);
        todo!()
    }
    /// A whole SIP message framed from a TCP stream arrived.
    pub fn handle_stream_message(&mut self, now: Instant, peer: Peer, message: &[u8]) {
        let _ = (now, peer, message);
        todo!()
    }
    /// A control command (not `subscribe`/`unsubscribe`, which the daemon handles).
    pub fn handle_command(&mut self, now: Instant, command: Command) -> Result<ReplyBody, ReplyError> {
        let _ = (now, command);
        todo!()
    }
    /// The answer to a [`ResolveRequest`]: the addresses found, or empty.
    pub fn handle_resolved(&mut self, now: Instant, token: u64, addresses: Vec<SocketAddr>) {
        let _ = (now, token, addresses);
        todo!()
    }
    /// Replaces routes and config trunks (SIGHUP) without touching calls.
    pub fn reload(&mut self, now: Instant, routes: Vec<Route>, trunks: Vec<TrunkSpec>) {
        let _ = (now, routes, trunks);
        todo!()
    }
    /// Starts draining: new INVITEs get 503; after `grace` remaining legs are hung up.
    pub fn start_drain(&mut self, now: Instant, grace: Duration) {
        let _ = (now, grace);
        todo!()
    }
    /// True once draining and no leg or transaction is left.
    pub fn is_drained(&self) -> bool {
        todo!()
    }
    /// Call when the deadline of [`poll_timeout`](Self::poll_timeout) passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }
    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }
    /// The next SIP message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        todo!()
    }
    /// The next control event (the daemon assigns seq and time).
    pub fn poll_event(&mut self) -> Option<EventKind> {
        todo!()
    }
    /// The next host name to resolve.
    pub fn poll_resolve(&mut self) -> Option<ResolveRequest> {
        todo!()
    }
}
