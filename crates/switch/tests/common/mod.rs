//! A fake SIP peer and a switch on a simulated clock.
#![allow(dead_code)]

pub mod media;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchd_control::command::{Originate, TrunkSpec};
use switchd_control::{Command, EventKind, ReplyBody, ReplyError};
use switchd_sip::message::{ParseLimits, Parsed, parse};
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
    }
}

pub const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";
pub const G729_ONLY: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";

/// One message the switch sent, parsed.
#[derive(Debug, Clone)]
pub struct Sent {
    pub peer: Peer,
    pub message: Parsed,
    pub text: String,
}

impl Sent {
    pub fn request(&self) -> &rsip::Request {
        match &self.message {
            Parsed::Request(r) => r,
            Parsed::Response(r) => panic!("expected a request, got {}", r.status_code),
        }
    }
    pub fn response(&self) -> &rsip::Response {
        match &self.message {
            Parsed::Response(r) => r,
            Parsed::Request(r) => panic!("expected a response, got {}", r.method),
        }
    }
    pub fn status(&self) -> Option<u16> {
        match &self.message {
            Parsed::Response(r) => Some(r.status_code.code()),
            Parsed::Request(_) => None,
        }
    }
    pub fn method(&self) -> Option<rsip::Method> {
        match &self.message {
            Parsed::Request(r) => Some(r.method),
            Parsed::Response(_) => None,
        }
    }
    pub fn header(&self, name: &str) -> Option<String> {
        let headers = match &self.message {
            Parsed::Request(r) => &r.headers,
            Parsed::Response(r) => &r.headers,
        };
        header(headers, name)
    }
    pub fn body(&self) -> &[u8] {
        match &self.message {
            Parsed::Request(r) => &r.body,
            Parsed::Response(r) => &r.body,
        }
    }
    /// The To tag (of responses we got from the switch, or requests it sent).
    pub fn to_tag(&self) -> Option<String> {
        tag(&self.header("to")?)
    }
    pub fn tag_of_from(&self) -> Option<String> {
        tag(&self.header("from")?)
    }
}

pub fn header(headers: &rsip::Headers, name: &str) -> Option<String> {
    headers.iter().find_map(|h| {
        let text = h.to_string();
        let (n, v) = text.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

pub fn tag(value: &str) -> Option<String> {
    value
        .split(';')
        .find_map(|p| p.trim().strip_prefix("tag=").map(str::to_owned))
}

/// The URI inside `<…>` of a header value.
pub fn angle_uri(value: &str) -> String {
    let start = value.find('<').map_or(0, |i| i + 1);
    let end = value[start..].find('>').map_or(value.len(), |i| start + i);
    value[start..end].to_owned()
}

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

    pub fn take_events(&mut self) -> Vec<EventKind> {
        std::mem::take(&mut self.events)
    }

    /// The one response with `status` sent since the last take; panics otherwise.
    pub fn expect_response(&mut self, status: u16) -> Sent {
        let sent = self.take_sent();
        let found: Vec<&Sent> = sent.iter().filter(|s| s.status() == Some(status)).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {status}, got: {:#?}",
            sent.iter().map(|s| &s.text).collect::<Vec<_>>()
        );
        found[0].clone()
    }

    /// The one request with `method` sent since the last take; panics otherwise.
    pub fn expect_request(&mut self, method: rsip::Method) -> Sent {
        let sent = self.take_sent();
        let found: Vec<&Sent> = sent.iter().filter(|s| s.method() == Some(method)).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {method}, got: {:#?}",
            sent.iter().map(|s| &s.text).collect::<Vec<_>>()
        );
        found[0].clone()
    }
}

/// An INVITE from the peer: returns (text, call, from-tag, branch).
pub struct Call {
    pub call_id: String,
    pub from_tag: String,
    pub branch: String,
    pub ruri: String,
    pub to_tag: Option<String>,
    pub remote_target: Option<String>,
    pub cseq: u32,
}

pub fn invite(h: &mut Harness, user: &str, sdp: Option<&str>) -> (Call, String) {
    let branch = h.new_branch();
    let call = Call {
        call_id: format!("call-{branch}@127.0.0.1"),
        from_tag: format!("ft{branch}"),
        branch: branch.clone(),
        ruri: format!("sip:{user}@{SWITCH}"),
        to_tag: None,
        remote_target: None,
        cseq: 1,
    };
    let text = request_text(
        "INVITE",
        &call.ruri,
        &branch,
        &call,
        1,
        &[("Contact", format!("<sip:alice@{PEER}>"))],
        sdp,
    );
    (call, text)
}

/// A request from the peer inside or about `call`.
pub fn request_text(
    method: &str,
    ruri: &str,
    branch: &str,
    call: &Call,
    cseq: u32,
    extra: &[(&str, String)],
    sdp: Option<&str>,
) -> String {
    let to_tag = call
        .to_tag
        .as_ref()
        .map(|t| format!(";tag={t}"))
        .unwrap_or_default();
    let to_user = call.ruri.trim_start_matches("sip:");
    let mut text = format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {PEER};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@{PEER}>;tag={}\r\nTo: <sip:{to_user}>{to_tag}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n",
        call.from_tag, call.call_id
    );
    for (name, value) in extra {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    match sdp {
        Some(body) => text.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => text.push_str("Content-Length: 0\r\n\r\n"),
    }
    text
}

/// The peer's response to a request the switch sent.
pub fn response_text(
    request: &Sent,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
    extra: &[(&str, String)],
    sdp: Option<&str>,
) -> String {
    let r = request.request();
    let mut text = format!("SIP/2.0 {status} {reason}\r\n");
    for h in r.headers.iter() {
        let line = h.to_string();
        let name = line
            .split_once(':')
            .map(|(n, _)| n.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match name.as_str() {
            "via" | "from" | "call-id" | "cseq" => text.push_str(&format!("{line}\r\n")),
            "to" => {
                let tag = match to_tag {
                    Some(t) if !line.contains(";tag=") => format!(";tag={t}"),
                    _ => String::new(),
                };
                text.push_str(&format!("{line}{tag}\r\n"));
            }
            _ => {}
        }
    }
    for (name, value) in extra {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    match sdp {
        Some(body) => text.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => text.push_str("Content-Length: 0\r\n\r\n"),
    }
    text
}

pub fn hungup(events: &[EventKind]) -> Vec<(String, switchd_control::HangupCause, Option<u16>)> {
    events
        .iter()
        .filter_map(|e| match e {
            EventKind::Hungup {
                leg,
                cause,
                sip_status,
                ..
            } => Some((leg.clone(), *cause, *sip_status)),
            _ => None,
        })
        .collect()
}

pub fn leg_info(reply: Result<ReplyBody, ReplyError>) -> switchd_control::LegInfo {
    match reply {
        Ok(ReplyBody::Leg { leg, .. }) => leg,
        other => panic!("expected a leg, got {other:?}"),
    }
}

pub fn originate(to: &str, leg: &str) -> Command {
    Command::Originate(Originate {
        to: to.into(),
        leg: Some(leg.into()),
        ..Originate::default()
    })
}

pub fn trunk(name: &str) -> TrunkSpec {
    TrunkSpec {
        name: name.into(),
        host: "127.0.0.1".into(),
        port: Some(5070),
        username: Some("sw".into()),
        password: Some("secret".into()),
        ..TrunkSpec::default()
    }
}

/// Answers `invite` with 200 + SDP and returns the ACK the switch sent.
pub fn answer(h: &mut Harness, invite: &Sent) -> Sent {
    let contact = [("Contact", format!("<sip:bob@{PEER}>"))];
    let text = response_text(invite, 200, "OK", Some("bobtag"), &contact, Some(OFFER));
    h.deliver(&text);
    h.expect_request(Method::Ack)
}
