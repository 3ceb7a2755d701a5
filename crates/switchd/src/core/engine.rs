//! What the core task drives: the switch, behind a trait so the driver can
//! be tested with a scripted stand-in.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchd_control::{Command, EventKind, ReplyBody, ReplyError, command::TrunkSpec};
use switchd_sip::{Peer, Transmit};
use switchd_switch::{ResolveRequest, Route, Switch, SwitchStats};

/// The sans-IO state machine the core task owns; mirrors [`Switch`].
pub(crate) trait Engine: Send + 'static {
    fn handle_datagram(&mut self, now: Instant, peer: Peer, datagram: &[u8]);
    fn handle_stream_message(&mut self, now: Instant, peer: Peer, message: &[u8]);
    fn handle_command(&mut self, now: Instant, command: Command) -> Result<ReplyBody, ReplyError>;
    fn handle_resolved(&mut self, now: Instant, token: u64, addresses: Vec<SocketAddr>);
    fn reload(&mut self, now: Instant, routes: Vec<Route>, trunks: Vec<TrunkSpec>);
    fn start_drain(&mut self, now: Instant, grace: Duration);
    fn is_drained(&self) -> bool;
    fn handle_timeout(&mut self, now: Instant);
    fn poll_timeout(&self) -> Option<Instant>;
    fn poll_transmit(&mut self) -> Option<Transmit>;
    fn poll_event(&mut self) -> Option<EventKind>;
    fn poll_resolve(&mut self) -> Option<ResolveRequest>;
    fn stats(&self) -> SwitchStats;
    /// The Call-ID of a leg, for log lines.
    fn call_id(&self, leg: &str) -> Option<&str>;
}

impl Engine for Switch {
    fn handle_datagram(&mut self, now: Instant, peer: Peer, datagram: &[u8]) {
        Switch::handle_datagram(self, now, peer, datagram);
    }
    fn handle_stream_message(&mut self, now: Instant, peer: Peer, message: &[u8]) {
        Switch::handle_stream_message(self, now, peer, message);
    }
    fn handle_command(&mut self, now: Instant, command: Command) -> Result<ReplyBody, ReplyError> {
        Switch::handle_command(self, now, command)
    }
    fn handle_resolved(&mut self, now: Instant, token: u64, addresses: Vec<SocketAddr>) {
        Switch::handle_resolved(self, now, token, addresses);
    }
    fn reload(&mut self, now: Instant, routes: Vec<Route>, trunks: Vec<TrunkSpec>) {
        Switch::reload(self, now, routes, trunks);
    }
    fn start_drain(&mut self, now: Instant, grace: Duration) {
        Switch::start_drain(self, now, grace);
    }
    fn is_drained(&self) -> bool {
        Switch::is_drained(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Switch::handle_timeout(self, now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Switch::poll_timeout(self)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        Switch::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<EventKind> {
        Switch::poll_event(self)
    }
    fn poll_resolve(&mut self) -> Option<ResolveRequest> {
        Switch::poll_resolve(self)
    }
    fn stats(&self) -> SwitchStats {
        Switch::stats(self)
    }
    fn call_id(&self, leg: &str) -> Option<&str> {
        Switch::call_id(self, leg)
    }
}
