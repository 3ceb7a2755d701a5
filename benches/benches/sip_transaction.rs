//! One whole UAS call through the sans-IO endpoint: INVITE in, 100 and 200
//! out, ACK in, BYE in, 200 out, with fresh Call-ID and branches per call
//! and a simulated clock advancing 0.5 ms per call (2,000 calls/s), so the
//! table fills with lingering transactions and, past the default limit,
//! evicts the oldest, as under load.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchd_sip::rsip;
use switchd_sip::rsip::headers::UntypedHeader;
use switchd_sip::{Endpoint, EndpointConfig, EndpointEvent, Peer, Transport};

const CALL_INTERVAL: Duration = Duration::from_micros(500);

fn peer() -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: SocketAddr::from(([127, 0, 0, 1], 5070)),
        local: Some(SocketAddr::from(([127, 0, 0, 1], 5060))),
    }
}

fn request(method: &str, branch: &str, call: u64, to_tag: &str, cseq: u32, sdp: bool) -> String {
    let body = if sdp {
        "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
         t=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    } else {
        ""
    };
    let content_type = if sdp {
        "Content-Type: application/sdp\r\n"
    } else {
        ""
    };
    format!(
        "{method} sip:bob@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: Alice <sip:alice@127.0.0.1>;tag=a{call}\r\n\
         To: Bob <sip:bob@127.0.0.1>{to_tag}\r\n\
         Call-ID: {call}@bench.invalid\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:alice@127.0.0.1:5070>\r\n\
         {content_type}Content-Length: {len}\r\n\r\n{body}",
        len = body.len(),
    )
}

/// The TU's answer to `request`: its Via, From, Call-ID and CSeq, and To with our tag.
fn response(request: &rsip::Request, code: u16, call: u64) -> rsip::Response {
    let mut headers = rsip::Headers::default();
    for header in request.headers.iter() {
        match header {
            rsip::Header::Via(_)
            | rsip::Header::From(_)
            | rsip::Header::CallId(_)
            | rsip::Header::CSeq(_) => headers.push(header.clone()),
            rsip::Header::To(to) if to.value().contains("tag=") => headers.push(header.clone()),
            rsip::Header::To(to) => headers.push(rsip::Header::To(
                format!("{};tag=b{call}", to.value()).into(),
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

/// The request the endpoint handed to the TU last.
fn take_request(ep: &mut Endpoint) -> Option<(switchd_sip::ServerTxId, rsip::Request)> {
    let mut found = None;
    while let Some(event) = ep.poll_event() {
        if let EndpointEvent::Request { tx, request, .. } = event {
            found = Some((tx, request));
        }
    }
    found
}

struct Uas {
    ep: Endpoint,
    now: Instant,
    call: u64,
}

impl Uas {
    fn new() -> Self {
        let config = EndpointConfig {
            advertised: vec![(Transport::Udp, SocketAddr::from(([127, 0, 0, 1], 5060)))],
            rng_seed: Some(1),
            ..EndpointConfig::default()
        };
        Uas {
            ep: Endpoint::new(config),
            now: Instant::now(),
            call: 0,
        }
    }

    fn drain(&mut self) -> usize {
        std::iter::from_fn(|| self.ep.poll_transmit()).count()
    }

    /// One call; returns the messages sent, for the sanity check.
    fn call(&mut self) -> usize {
        self.call += 1;
        let call = self.call;
        self.now += CALL_INTERVAL;
        while let Some(at) = self.ep.poll_timeout().filter(|at| *at <= self.now) {
            self.ep.handle_timeout(at);
        }
        let peer = peer();
        let invite = request("INVITE", &format!("i{call}"), call, "", 1, true);
        self.ep.handle_datagram(self.now, peer, invite.as_bytes());
        let Some((tx, invite)) = take_request(&mut self.ep) else {
            return self.drain();
        };
        let _ = self.ep.respond(self.now, tx, response(&invite, 100, call));
        let _ = self.ep.respond(self.now, tx, response(&invite, 200, call));
        let to_tag = format!(";tag=b{call}");
        let ack = request("ACK", &format!("a{call}"), call, &to_tag, 1, false);
        self.ep.handle_datagram(self.now, peer, ack.as_bytes());
        let bye = request("BYE", &format!("b{call}"), call, &to_tag, 2, false);
        self.ep.handle_datagram(self.now, peer, bye.as_bytes());
        if let Some((tx, bye)) = take_request(&mut self.ep) {
            let _ = self.ep.respond(self.now, tx, response(&bye, 200, call));
        }
        self.drain()
    }
}

fn sip_transaction(c: &mut Criterion) {
    // Benchmark the accepted path: 100, 200 to the INVITE, 200 to the BYE.
    let mut check = Uas::new();
    assert_eq!(check.call(), 3);
    assert_eq!(check.ep.stats().table_full, 0);
    assert_eq!(check.ep.transaction_count(), 2, "INVITE and BYE linger");

    let mut group = c.benchmark_group("sip");
    group.throughput(Throughput::Elements(1));
    let mut uas = Uas::new();
    group.bench_function("uas_call_invite_ack_bye", |b| {
        b.iter(|| black_box(uas.call()))
    });
    group.finish();
    assert_eq!(uas.ep.stats().table_full, 0, "no call refused");
    eprintln!(
        "after {} calls: {} transactions, {} evicted",
        uas.call,
        uas.ep.transaction_count(),
        uas.ep.stats().evicted_completed
    );
}

criterion_group!(benches, sip_transaction);
criterion_main!(benches);
