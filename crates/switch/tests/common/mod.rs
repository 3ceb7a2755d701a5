//! A fake SIP peer and a switch on a simulated clock.
#![allow(dead_code)]

mod calls;
pub mod media;
mod messages;

pub use calls::*;
pub use messages::*;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchd_control::command::{Originate, TrunkSpec};
use switchd_control::{Command, EventKind, ReplyBody, ReplyError};
use switchd_sip::message::{ParseLimits, parse};
use switchd_sip::rsip;
use switchd_sip::rsip::Method;
use switchd_sip::{EndpointConfig, Peer, Transport};
use switchd_switch::{InbandDtmf, Route, RouteAction, SocketAction, Switch, SwitchConfig};

pub const SWITCH: &str = "127.0.0.1:5060";
pub const PEER: &str = "127.0.0.1:5070";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub fn routes() -> Vec<Route> {
    let route = |user: &str, action| Route {
        user: user.into(),
        host: None,
        action,
    };
    vec![
        route("answer*", RouteAction::Answer),
        route("busy", RouteAction::Reject { status: 486 }),
        route("park*", RouteAction::Park),
    ]
}

pub fn config() -> SwitchConfig {
    SwitchConfig {
        endpoint: EndpointConfig {
            advertised: vec![
                (Transport::Udp, addr(SWITCH)),
                (Transport::Tcp, addr(SWITCH)),
            ],
            rng_seed: Some(11),
            ..EndpointConfig::default()
        },
        routes: routes(),
        trunks: Vec::new(),
        rtp_ports: 20000..=20009,
        max_legs: 4,
        park_timeout: Duration::from_secs(10),
        default_ring_timeout: Duration::from_secs(30),
        ended_leg_retention: Duration::from_secs(60),
        media_timeout: Duration::from_secs(30),
        media_timeout_hangup: false,
        inband_dtmf: InbandDtmf::Auto,
        hold_prompt: None,
        offload_media: false,
    }
}

pub const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";
pub const G729_ONLY: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";

/// A switch driven by a fake clock, and a fake peer at 127.0.0.1:5070.
pub struct Harness {
    pub switch: Switch,
    pub t0: Instant,
    pub now: Instant,
    pub sent: Vec<Sent>,
    pub events: Vec<EventKind>,
    /// Ports the switch asked to bind, in order (the fake daemon binds them).
    pub bound: Vec<u16>,
    /// Ports the fake daemon refuses to bind, as if another program held them.
    pub busy_ports: Vec<u16>,
    /// Ports the switch released, not yet taken by a test.
    pub closed: Vec<u16>,
    branch: u64,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(config())
    }

    pub fn with(config: SwitchConfig) -> Self {
        Self::with_busy_ports(config, Vec::new())
    }

    /// A switch whose daemon cannot bind `busy_ports`.
    pub fn with_busy_ports(config: SwitchConfig, busy_ports: Vec<u16>) -> Self {
        let t0 = Instant::now();
        let mut h = Harness {
            switch: Switch::new(config, t0),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
            bound: Vec::new(),
            busy_ports,
            closed: Vec::new(),
            branch: 0,
        };
        h.drain();
        h
    }

    pub fn peer(&self) -> Peer {
        Peer {
            transport: Transport::Udp,
            remote: addr(PEER),
            local: Some(addr(SWITCH)),
        }
    }

    pub fn new_branch(&mut self) -> String {
        self.branch += 1;
        format!("z9hG4bKpeer{}", self.branch)
    }

    /// Delivers SIP text from the peer.
    pub fn deliver(&mut self, text: &str) {
        let peer = self.peer();
        self.switch.handle_datagram(self.now, peer, text.as_bytes());
        self.drain();
    }

    pub fn command(&mut self, command: Command) -> Result<ReplyBody, ReplyError> {
        let reply = self.switch.handle_command(self.now, command);
        self.drain();
        reply
    }

    /// Plays the daemon: binds what the switch asks for (refusing
    /// `busy_ports`), notes what it closes, collects what it sends.
    pub fn drain(&mut self) {
        while let Some(action) = self.switch.poll_socket_action() {
            match action {
                SocketAction::Open { port } if self.busy_ports.contains(&port) => {
                    self.switch.handle_socket_failed(self.now, port);
                }
                SocketAction::Open { port } => {
                    assert!(port % 2 == 0, "odd RTP port {port}");
                    self.bound.push(port);
                    self.switch.handle_socket_opened(self.now, port);
                }
                SocketAction::Close { port } => self.closed.push(port),
            }
        }
        while let Some(t) = self.switch.poll_transmit() {
            assert!(
                t.peer.remote.ip().is_loopback(),
                "sent off loopback: {:?}",
                t.peer
            );
            let text = String::from_utf8_lossy(&t.payload).into_owned();
            let message = parse(&t.payload, ParseLimits::default())
                .unwrap_or_else(|e| panic!("switch sent an unparseable message ({e:?}):\n{text}"));
            self.sent.push(Sent {
                peer: t.peer,
                message,
                text,
            });
        }
        while let Some(e) = self.switch.poll_event() {
            self.events.push(e);
        }
    }

    /// Answers a resolve request.
    pub fn resolved(&mut self, token: u64, addresses: Vec<SocketAddr>) {
        self.switch.handle_resolved(self.now, token, addresses);
        self.drain();
    }

    /// Advances the clock by `by`, firing every deadline on the way.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(at) = self.switch.poll_timeout() {
            if at > until {
                break;
            }
            assert!(
                at + Duration::from_millis(1) >= self.now,
                "deadline in the past"
            );
            self.now = self.now.max(at);
            self.switch.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
        self.drain();
    }

    /// Takes what the switch sent so far.
    pub fn take_sent(&mut self) -> Vec<Sent> {
        std::mem::take(&mut self.sent)
    }

    /// Takes what the switch sent so far and keeps the requests with
    /// `method`, however many (retransmissions included).
    pub fn take_requests(&mut self, method: rsip::Method) -> Vec<Sent> {
        self.take_sent()
            .into_iter()
            .filter(|s| s.method() == Some(method))
            .collect()
    }

    /// Takes what the switch sent so far and keeps the first request with
    /// `method`, if any.
    pub fn take_request(&mut self, method: rsip::Method) -> Option<Sent> {
        self.take_requests(method).into_iter().next()
    }

    pub fn take_events(&mut self) -> Vec<EventKind> {
        std::mem::take(&mut self.events)
    }

    /// The one response with `status` sent since the last take; panics otherwise.
    pub fn expect_response(&mut self, status: u16) -> Sent {
        self.expect_one(&status.to_string(), |s| s.status() == Some(status))
    }

    /// The one request with `method` sent since the last take; panics otherwise.
    pub fn expect_request(&mut self, method: rsip::Method) -> Sent {
        self.expect_one(&method.to_string(), |s| s.method() == Some(method))
    }

    /// The one message that `wanted` picks out of what was sent since the
    /// last take (`what` names it in the failure); panics otherwise.
    fn expect_one(&mut self, what: &str, wanted: impl Fn(&Sent) -> bool) -> Sent {
        let sent = self.take_sent();
        let found: Vec<&Sent> = sent.iter().filter(|s| wanted(s)).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {what}, got: {:#?}",
            sent.iter().map(|s| &s.text).collect::<Vec<_>>()
        );
        found[0].clone()
    }
}
