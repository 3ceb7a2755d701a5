//! The [`Switch`]: its tables, its inputs and outputs, and the dispatch of
//! SIP endpoint events to the inbound, outbound, in-dialog and trunk logic.

use crate::config::{ResolveRequest, Route, SwitchConfig};
use crate::leg::Leg;
use crate::ports::RtpPortPool;
use crate::stats::Counters;
use crate::timers::{TimerKey, Timers};
use crate::trunks::Trunks;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchd_control::command::TrunkSpec;
use switchd_control::{Command, EventKind, ReplyBody, ReplyError};
use switchd_sip::dialog::DialogId;
use switchd_sip::{ClientTxId, Endpoint, EndpointEvent, Peer, ServerTxId, Transmit};

/// Most host names waiting for [`Switch::handle_resolved`] at once.
pub(crate) const MAX_PENDING_RESOLVES: usize = 256;

/// What a client transaction of ours is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientPurpose {
    /// The INVITE of an outbound leg.
    Invite(String),
    /// A BYE ending a leg.
    Bye(String),
    /// A REGISTER of a trunk.
    Register(String),
    /// A request nobody waits for (CANCEL, BYE of a stray forked dialog).
    Fire,
    /// The INVITE of a leg that ended before any answer while the INVITE
    /// could still be answered (its CANCEL could not be sent): a late 2xx
    /// gets ACK and BYE. Ends with the transaction (final response, Timer B).
    Orphan(Box<(switchd_sip::rsip::Request, Option<Peer>)>),
}

/// What a pending name resolution is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResolvePurpose {
    /// The next hop of an outbound leg's INVITE.
    Originate(String),
    /// The registrar of a trunk.
    Register(String),
}

/// Durations and limits kept from the config.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub max_legs: usize,
    pub park_timeout: Duration,
    pub default_ring_timeout: Duration,
    pub ended_leg_retention: Duration,
}

/// The sans-IO switch.
#[derive(Debug)]
pub struct Switch {
    pub(crate) settings: Settings,
    pub(crate) routes: Vec<Route>,
    pub(crate) endpoint: Endpoint,
    pub(crate) legs: HashMap<String, Box<Leg>>,
    pub(crate) live_legs: usize,
    pub(crate) dialogs: HashMap<DialogId, String>,
    /// INVITE server transactions (initial and re-INVITEs) by leg, until answered/ACKed.
    pub(crate) server_txs: HashMap<ServerTxId, String>,
    pub(crate) client_txs: HashMap<ClientTxId, ClientPurpose>,
    pub(crate) timers: Timers,
    /// Ended legs in the order they ended, removed after the retention.
    pub(crate) ended: VecDeque<(Instant, String)>,
    pub(crate) ports: RtpPortPool,
    pub(crate) trunks: Trunks,
    pub(crate) resolving: HashMap<u64, ResolvePurpose>,
    pub(crate) resolve_queue: VecDeque<ResolveRequest>,
    pub(crate) next_token: u64,
    pub(crate) events: VecDeque<EventKind>,
    pub(crate) draining: bool,
    pub(crate) counters: Counters,
    pub(crate) next_leg_number: u64,
    pub(crate) media: crate::media::MediaState,
}

impl Switch {
    /// A new switch; trunks with `register = true` start registering at once.
    pub fn new(config: SwitchConfig, now: Instant) -> Self {
        let media = crate::media::MediaState::new(
            now,
            config.media_timeout,
            config.media_timeout_hangup,
            config.max_legs,
            config.inband_dtmf,
            config.hold_prompt,
            config.offload_media,
        );
        let mut switch = Self {
            settings: Settings {
                max_legs: config.max_legs,
                park_timeout: config.park_timeout,
                default_ring_timeout: config.default_ring_timeout,
                ended_leg_retention: config.ended_leg_retention,
            },
            routes: config.routes,
            endpoint: Endpoint::new(config.endpoint),
            legs: HashMap::new(),
            live_legs: 0,
            dialogs: HashMap::new(),
            server_txs: HashMap::new(),
            client_txs: HashMap::new(),
            timers: Timers::default(),
            ended: VecDeque::new(),
            ports: RtpPortPool::new(config.rtp_ports),
            trunks: Trunks::default(),
            resolving: HashMap::new(),
            resolve_queue: VecDeque::new(),
            next_token: 1,
            events: VecDeque::new(),
            draining: false,
            counters: Counters::default(),
            next_leg_number: 1,
            media,
        };
        switch.reload_trunks(now, config.trunks);
        switch.top_up_ports(now);
        switch
    }

    /// A UDP datagram arrived.
    pub fn handle_datagram(&mut self, now: Instant, peer: Peer, datagram: &[u8]) {
        self.endpoint.handle_datagram(now, peer, datagram);
        self.pump(now);
    }

    /// A whole SIP message framed from a TCP stream arrived.
    pub fn handle_stream_message(&mut self, now: Instant, peer: Peer, message: &[u8]) {
        self.endpoint.handle_stream_message(now, peer, message);
        self.pump(now);
    }

    /// A control command (not `subscribe`/`unsubscribe`, which the daemon
    /// handles: they get `invalid_state` here).
    pub fn handle_command(
        &mut self,
        now: Instant,
        command: Command,
    ) -> Result<ReplyBody, ReplyError> {
        let result = self.dispatch_command(now, command);
        self.counters.count_command(&result);
        self.pump(now);
        result.map_err(ReplyError::from)
    }

    /// The answer to a [`ResolveRequest`]: the addresses found, or empty.
    pub fn handle_resolved(&mut self, now: Instant, token: u64, addresses: Vec<SocketAddr>) {
        let Some(purpose) = self.resolving.remove(&token) else {
            return;
        };
        match purpose {
            ResolvePurpose::Originate(leg) => {
                self.originate_resolved(now, &leg, addresses.first().copied())
            }
            ResolvePurpose::Register(trunk) => {
                self.register_resolved(now, &trunk, addresses.first().copied())
            }
        }
        self.pump(now);
    }

    /// Replaces routes and config trunks (SIGHUP) without touching calls.
    pub fn reload(&mut self, now: Instant, routes: Vec<Route>, trunks: Vec<TrunkSpec>) {
        self.routes = routes;
        self.reload_trunks(now, trunks);
        self.pump(now);
    }

    /// Starts draining: new INVITEs get 503; after `grace` remaining legs are
    /// hung up with `system_shutdown`; registered trunks are un-registered.
    pub fn start_drain(&mut self, now: Instant, grace: Duration) {
        if self.draining {
            return;
        }
        self.draining = true;
        self.timers.set(TimerKey::Drain, now + grace);
        self.unregister_all(now);
        self.pump(now);
    }

    /// True once draining and no live leg nor any client transaction of ours
    /// (BYE, CANCEL, REGISTER) is left. Server transactions that only absorb
    /// retransmissions are not waited for.
    pub fn is_drained(&self) -> bool {
        self.draining && self.live_legs == 0 && self.client_txs.is_empty()
    }

    /// Call when the deadline of [`poll_timeout`](Self::poll_timeout) passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
        self.pump(now);
        self.media_timeout(now);
        self.pump(now);
        while let Some(key) = self.timers.pop_due(now) {
            self.on_timer(now, key);
            self.pump(now);
        }
        self.forget_ended(now);
    }

    /// The earliest deadline: the endpoint's, the media engine's or one of
    /// the switch's own.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let retention = self
            .ended
            .front()
            .map(|(at, _)| *at + self.settings.ended_leg_retention);
        [
            self.endpoint.poll_timeout(),
            self.timers.next(),
            retention,
            self.media.engine.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next SIP message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.endpoint.poll_transmit()
    }

    /// The next control event (the daemon assigns seq and time).
    pub fn poll_event(&mut self) -> Option<EventKind> {
        self.events.pop_front()
    }

    /// The SIP Call-ID of a leg (live or still retained), for log lines.
    pub fn call_id(&self, leg: &str) -> Option<&str> {
        self.legs.get(leg).map(|leg| leg.call_id.as_str())
    }

    /// The next host name to resolve.
    pub fn poll_resolve(&mut self) -> Option<ResolveRequest> {
        self.resolve_queue.pop_front()
    }

    /// Hands every endpoint event to the logic it concerns.
    pub(crate) fn pump(&mut self, now: Instant) {
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                EndpointEvent::Request { tx, request, peer } => {
                    self.on_request(now, tx, request, peer)
                }
                EndpointEvent::Cancelled { tx } => self.on_cancelled(now, tx),
                EndpointEvent::Ack { tx, request, .. } => self.on_ack(now, tx, &request),
                EndpointEvent::Response { tx, response } => self.on_response(now, tx, response),
                EndpointEvent::ClientTimeout { tx } => self.on_client_timeout(now, tx),
                EndpointEvent::AckTimeout { tx } => self.on_ack_timeout(now, tx),
            }
        }
    }

    fn on_response(&mut self, now: Instant, tx: ClientTxId, response: switchd_sip::rsip::Response) {
        let status = crate::sipmsg::status(&response);
        let final_response = status >= 200;
        if let Some(ClientPurpose::Orphan(_)) = self.client_txs.get(&tx) {
            if final_response
                && let Some(ClientPurpose::Orphan(orphan)) = self.client_txs.remove(&tx)
                && status < 300
            {
                let (invite, peer) = *orphan;
                self.ack_and_bye(now, tx, &invite, &response, peer);
            }
            return;
        }
        match self.client_txs.get(&tx).cloned() {
            Some(ClientPurpose::Invite(leg)) => self.on_invite_response(now, tx, &leg, response),
            Some(ClientPurpose::Bye(leg)) if final_response => {
                self.client_txs.remove(&tx);
                self.on_bye_done(now, &leg, Some(crate::sipmsg::status(&response)));
            }
            Some(ClientPurpose::Register(trunk)) => {
                self.on_register_response(now, tx, &trunk, &response)
            }
            Some(ClientPurpose::Fire) if final_response => {
                self.client_txs.remove(&tx);
            }
            _ => {}
        }
    }

    fn on_client_timeout(&mut self, now: Instant, tx: ClientTxId) {
        match self.client_txs.remove(&tx) {
            Some(ClientPurpose::Invite(leg)) => self.on_invite_timeout(now, &leg),
            Some(ClientPurpose::Bye(leg)) => self.on_bye_done(now, &leg, None),
            Some(ClientPurpose::Register(trunk)) => {
                self.on_register_failed(now, &trunk, None, "timeout")
            }
            Some(ClientPurpose::Fire | ClientPurpose::Orphan(_)) | None => {}
        }
    }

    fn on_timer(&mut self, now: Instant, key: TimerKey) {
        match key {
            TimerKey::Ring(leg) => self.on_ring_timeout(now, &leg),
            TimerKey::MaxDuration(leg) => {
                self.end_leg(now, &leg, switchd_control::HangupCause::AllottedTimeout);
            }
            TimerKey::Park(leg) => self.on_park_timeout(now, &leg),
            TimerKey::Register(trunk) => self.start_register(now, &trunk),
            TimerKey::Media(leg) => self.on_media_timer(now, &leg),
            TimerKey::Drain => {
                let live: Vec<String> = self
                    .legs
                    .values()
                    .filter(|l| l.is_live())
                    .map(|l| l.id.clone())
                    .collect();
                for leg in live {
                    self.end_leg(now, &leg, switchd_control::HangupCause::SystemShutdown);
                }
            }
        }
    }

    /// Drops ended legs past their retention, and the oldest ones beyond
    /// `max_legs` so that the table stays bounded under any call rate.
    pub(crate) fn forget_ended(&mut self, now: Instant) {
        let retention = self.settings.ended_leg_retention;
        while let Some((at, id)) = self.ended.front() {
            let expired = *at + retention <= now;
            if !expired && self.ended.len() <= self.settings.max_legs {
                break;
            }
            if self.legs.get(id).is_some_and(|l| !l.is_live()) {
                self.legs.remove(id);
            }
            self.ended.pop_front();
        }
    }

    /// Queues a name resolution; `None` when too many are pending.
    pub(crate) fn request_resolve(
        &mut self,
        host: String,
        port: u16,
        purpose: ResolvePurpose,
    ) -> Option<u64> {
        if self.resolving.len() >= MAX_PENDING_RESOLVES {
            self.counters.limit_rejections += 1;
            return None;
        }
        let token = self.next_token;
        self.next_token += 1;
        self.resolving.insert(token, purpose);
        self.resolve_queue
            .push_back(ResolveRequest { token, host, port });
        Some(token)
    }

    /// A fresh leg id for inbound legs, never one in use.
    pub(crate) fn new_leg_id(&mut self) -> String {
        loop {
            let id = format!("in-{}", self.next_leg_number);
            self.next_leg_number += 1;
            if !self.legs.contains_key(&id) {
                return id;
            }
        }
    }

    /// Our address towards `peer`: the advertised one, else the socket it came in on.
    pub(crate) fn local_address(&self, peer: &Peer) -> Option<SocketAddr> {
        self.endpoint
            .advertised_address(peer.transport, peer.remote)
            .or(peer.local)
    }
}
