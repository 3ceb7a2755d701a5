//! The endpoint test harness with a fake clock, shared by the unit tests in
//! `src/endpoint/tests.rs` and the integration tests in `tests/transactions.rs`
//! and `tests/eviction.rs` (each includes this file with `#[path]` and imports
//! the endpoint types it names, so the file itself works with either crate's
//! paths).

// Each includer uses a different subset of these helpers.
#![allow(dead_code)]

use super::{Endpoint, EndpointConfig, EndpointEvent, Peer, ServerTxId, Transmit, Transport};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub(crate) const MS: fn(u64) -> Duration = Duration::from_millis;

/// When a retransmission timer that starts at T1 and doubles up to T2
/// fires until 64*T1 ends its transaction (ms after the first send):
/// Timer G, and Timer E with no provisional response.
pub(crate) const UP_TO_T2: [u64; 10] = [
    500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
];

/// A response to a received request, echoing Via, From, Call-ID, CSeq and
/// adding a To tag.
pub(crate) fn response(request: &rsip::Request, code: u16) -> rsip::Response {
    let mut headers = rsip::Headers::default();
    for h in request.headers.iter() {
        match h {
            rsip::Header::Via(_)
            | rsip::Header::From(_)
            | rsip::Header::CallId(_)
            | rsip::Header::CSeq(_) => headers.push(h.clone()),
            rsip::Header::To(to) => headers.push(rsip::Header::To(
                format!("{to};tag=b1").replace("To: ", "").into(),
            )),
            _ => {}
        }
    }
    rsip::Response {
        status_code: code.into(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub(crate) fn peer(transport: Transport, remote: &str) -> Peer {
    Peer {
        transport,
        remote: addr(remote),
        local: Some(addr("127.0.0.1:5060")),
    }
}

pub(crate) fn udp() -> Peer {
    peer(Transport::Udp, "127.0.0.1:5070")
}

pub(crate) fn tcp() -> Peer {
    peer(Transport::Tcp, "127.0.0.1:5070")
}

pub(crate) fn config() -> EndpointConfig {
    EndpointConfig {
        advertised: vec![
            (Transport::Udp, addr("127.0.0.1:5060")),
            (Transport::Tcp, addr("127.0.0.1:5060")),
        ],
        rng_seed: Some(7),
        ..EndpointConfig::default()
    }
}

/// An endpoint with a fake clock.
pub(crate) struct Harness {
    pub(crate) ep: Endpoint,
    pub(crate) t0: Instant,
    pub(crate) now: Instant,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with(config())
    }

    pub(crate) fn with(config: EndpointConfig) -> Self {
        let t0 = Instant::now();
        Harness {
            ep: Endpoint::new(config),
            t0,
            now: t0,
        }
    }

    /// Time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Jumps to the next deadline and handles it; returns it relative to t0.
    pub(crate) fn fire(&mut self) -> Option<Duration> {
        let at = self.ep.poll_timeout()?;
        assert!(at >= self.now, "deadline in the past");
        self.now = at;
        self.ep.handle_timeout(at);
        Some(self.elapsed())
    }

    /// Fires every deadline until none is left: for each firing that sent
    /// something, when it fired (relative to t0) and what it sent.
    pub(crate) fn fire_all(&mut self) -> Vec<(Duration, Vec<String>)> {
        let mut fired = Vec::new();
        while let Some(at) = self.fire() {
            let texts = self.texts();
            if !texts.is_empty() {
                fired.push((at, texts));
            }
        }
        fired
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(at) = self.ep.poll_timeout().filter(|at| *at <= target) {
            self.now = at;
            self.ep.handle_timeout(at);
        }
        self.now = target;
    }

    pub(crate) fn transmits(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.ep.poll_transmit()).collect()
    }

    pub(crate) fn texts(&mut self) -> Vec<String> {
        self.transmits()
            .into_iter()
            .map(|t| String::from_utf8(t.payload.to_vec()).unwrap())
            .collect()
    }

    pub(crate) fn events(&mut self) -> Vec<EndpointEvent> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    pub(crate) fn receive(&mut self, from: Peer, text: &str) {
        match from.transport {
            Transport::Udp => self.ep.handle_datagram(self.now, from, text.as_bytes()),
            Transport::Tcp => self
                .ep
                .handle_stream_message(self.now, from, text.as_bytes()),
        }
    }

    /// Receives a new request ([`incoming`]) and returns the one request
    /// event it gives the TU.
    pub(crate) fn receive_request(
        &mut self,
        from: Peer,
        method: &str,
        branch: &str,
    ) -> (ServerTxId, rsip::Request) {
        self.receive(from, &incoming(method, branch, ""));
        request_event(self.events())
    }

    /// Receives a new request and answers it at once with `code`; what the
    /// endpoint sends is left to take.
    pub(crate) fn receive_and_respond(
        &mut self,
        from: Peer,
        method: &str,
        branch: &str,
        code: u16,
    ) -> (ServerTxId, rsip::Request) {
        let (tx, request) = self.receive_request(from, method, branch);
        self.ep
            .respond(self.now, tx, response(&request, code))
            .unwrap();
        (tx, request)
    }
}

/// A request arriving from 127.0.0.1:5070 with the given method and branch.
pub(crate) fn incoming(method: &str, branch: &str, extra: &str) -> String {
    format!(
        "{method} sip:bob@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@127.0.0.1>;tag=a1\r\n\
         To: <sip:bob@127.0.0.1>{to_tag}\r\n\
         Call-ID: s1@127.0.0.1\r\n\
         CSeq: 1 {method}\r\n\
         {extra}Content-Length: 0\r\n\r\n",
        to_tag = if method == "ACK" { ";tag=b1" } else { "" },
    )
}

/// A response to a request we sent (its wire text), echoing its Via, From,
/// To (adding `to_tag` if it has none), Call-ID and CSeq.
pub(crate) fn answer(request: &str, code: u16, reason: &str, to_tag: Option<&str>) -> String {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for line in request.lines() {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        match name.as_str() {
            "via" | "from" | "call-id" | "cseq" => out.push_str(&format!("{line}\r\n")),
            "to" => match to_tag {
                Some(tag) if !line.contains("tag=") => {
                    out.push_str(&format!("{line};tag={tag}\r\n"))
                }
                _ => out.push_str(&format!("{line}\r\n")),
            },
            _ => {}
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

pub(crate) fn request_event(events: Vec<EndpointEvent>) -> (ServerTxId, rsip::Request) {
    match events.as_slice() {
        [EndpointEvent::Request { tx, request, .. }] => (*tx, request.clone()),
        other => panic!("expected one Request event, got {other:?}"),
    }
}
