//! A full transaction table evicts transactions that only absorb
//! retransmissions (earliest deadline first) before it refuses anything.

// The helpers below sit outside #[test] functions; a fixture that fails to
// build is a bug in the test, so they panic.
#![allow(clippy::unwrap_used)]

use switchd_sip::message::{ParseLimits, Parsed};
use switchd_sip::rsip;
use switchd_sip::{
    ClientTxId, Endpoint, EndpointConfig, EndpointEvent, Error, Peer, ServerTxId, Transmit,
    Transport,
};

#[path = "support/harness.rs"]
mod harness;
use harness::*;

fn with_limit(max_transactions: usize) -> Harness {
    Harness::with(EndpointConfig {
        max_transactions,
        ..config()
    })
}

impl Harness {
    /// Receives a request and answers it at once with `code`.
    fn answered(&mut self, method: &str, branch: &str, code: u16) -> ServerTxId {
        let (tx, _) = self.receive_and_respond(udp(), method, branch, code);
        self.texts();
        tx
    }

    /// Whether a request is reported to the TU as new (not absorbed).
    fn reaches_tu(&mut self, method: &str, branch: &str) -> bool {
        self.receive(udp(), &incoming(method, branch, ""));
        self.texts();
        let events = self.events();
        matches!(events.as_slice(), [EndpointEvent::Request { .. }])
    }
}

fn options(call_id: &str) -> rsip::Request {
    let text = format!(
        "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKdropped\r\n\
         From: <sip:alice@127.0.0.1>;tag=a1\r\n\
         To: <sip:bob@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\r\n"
    );
    match switchd_sip::message::parse(text.as_bytes(), ParseLimits::default()) {
        Ok(Parsed::Request(request)) => request,
        _ => panic!("fixture does not parse"),
    }
}

#[test]
fn a_table_full_of_completed_byes_makes_room_for_an_invite() {
    let mut h = with_limit(3);
    for branch in ["z9hG4bKb1", "z9hG4bKb2", "z9hG4bKb3"] {
        h.answered("BYE", branch, 200);
        h.advance(MS(1000));
    }
    assert_eq!(h.ep.transaction_count(), 3);

    assert!(
        h.reaches_tu("INVITE", "z9hG4bKi1"),
        "the INVITE is accepted"
    );
    assert_eq!(h.ep.stats().evicted_completed, 1);
    assert_eq!(h.ep.stats().table_full, 0);
    assert_eq!(h.ep.transaction_count(), 3);

    // The BYE with the earliest Timer J went first: its retransmission is
    // new to the endpoint and reaches the TU again (the switch answers 481
    // for the dialog it already ended), which evicts the next one.
    assert!(h.reaches_tu("BYE", "z9hG4bKb1"));
    assert_eq!(h.ep.stats().evicted_completed, 2);
    // The newest BYE is still there and absorbs its retransmission.
    h.receive(udp(), &incoming("BYE", "z9hG4bKb3", ""));
    assert!(h.events().is_empty());
    assert!(h.texts()[0].starts_with("SIP/2.0 200"));
    assert_eq!(h.ep.stats().absorbed_requests, 1);
}

#[test]
fn a_table_full_of_live_transactions_answers_503_with_retry_after() {
    let mut h = with_limit(2);
    assert!(h.reaches_tu("INVITE", "z9hG4bKi1"));
    // An INVITE answered 2xx but not yet ACKed still retransmits: live.
    h.answered("INVITE", "z9hG4bKi2", 200);
    h.advance(MS(100));
    h.texts();

    h.receive(udp(), &incoming("BYE", "z9hG4bKb1", ""));
    let texts = h.texts();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].starts_with("SIP/2.0 503"), "{texts:?}");
    assert!(texts[0].contains("Retry-After: 5"), "{texts:?}");
    assert!(h.events().is_empty());
    assert_eq!(h.ep.stats().table_full, 1);
    assert_eq!(h.ep.stats().evicted_completed, 0);
    assert_eq!(h.ep.transaction_count(), 2);
}

#[test]
fn eviction_takes_the_earliest_deadline_not_the_oldest_transaction() {
    let mut h = with_limit(3);
    // Timer J: 32 s after t0.
    h.answered("BYE", "z9hG4bKb1", 200);
    h.advance(MS(1000));
    // A rejected INVITE, then its ACK: Confirmed, Timer I = T4 = 5 s, so
    // it ends before the older BYE.
    h.answered("INVITE", "z9hG4bKi1", 486);
    h.receive(udp(), &incoming("ACK", "z9hG4bKi1", ""));
    assert!(h.events().is_empty(), "the ACK of a non-2xx is absorbed");
    assert!(h.reaches_tu("OPTIONS", "z9hG4bKo1"), "a live third one");

    assert!(h.reaches_tu("BYE", "z9hG4bKb2"));
    assert_eq!(h.ep.stats().evicted_completed, 1);
    // The Confirmed INVITE went, the BYE stayed.
    h.receive(udp(), &incoming("BYE", "z9hG4bKb1", ""));
    assert!(h.events().is_empty(), "the old BYE still absorbs");
    assert_eq!(h.ep.stats().evicted_completed, 1);
}

#[test]
fn an_acked_2xx_invite_is_evictable_and_its_timer_l_still_ends_it() {
    let mut h = with_limit(1);
    h.answered("INVITE", "z9hG4bKi1", 200);
    h.receive(udp(), &incoming("ACK", "z9hG4bKack", ""));
    assert!(matches!(
        h.events().as_slice(),
        [EndpointEvent::Ack { tx: Some(_), .. }]
    ));
    // Timer L still ends it at 64*T1 without an event when nothing needs room.
    let mut idle = with_limit(1);
    idle.answered("INVITE", "z9hG4bKi1", 200);
    idle.receive(udp(), &incoming("ACK", "z9hG4bKack", ""));
    idle.events();
    idle.advance(MS(32_000));
    assert_eq!(idle.ep.transaction_count(), 0);
    assert!(idle.events().is_empty());
    assert!(
        idle.texts().is_empty(),
        "no 2xx retransmission after the ACK"
    );

    assert!(h.reaches_tu("BYE", "z9hG4bKb1"));
    assert_eq!(h.ep.stats().evicted_completed, 1);
    // A retransmitted ACK of the evicted INVITE is now stray, reported as such.
    h.receive(udp(), &incoming("ACK", "z9hG4bKack", ""));
    assert!(matches!(
        h.events().as_slice(),
        [EndpointEvent::Ack { tx: None, .. }]
    ));
}

#[test]
fn send_request_evicts_a_completed_client_transaction_but_not_a_live_one() {
    let mut h = with_limit(1);
    let first: ClientTxId = h.ep.send_request(h.now, options("o1"), udp()).unwrap();
    let sent = h.transmits();
    let ok = answer(
        std::str::from_utf8(&sent[0].payload).unwrap(),
        200,
        "OK",
        Some("z"),
    );
    h.receive(udp(), &ok);
    assert!(matches!(
        h.events().as_slice(),
        [EndpointEvent::Response { tx, .. }] if *tx == first
    ));
    // Completed (Timer K): evicted for the next request.
    let second = h.ep.send_request(h.now, options("o2"), udp()).unwrap();
    assert_eq!(h.ep.stats().evicted_completed, 1);
    assert_eq!(h.ep.transaction_count(), 1);
    // The 200 retransmitted for the evicted one is now stray.
    h.receive(udp(), &ok);
    assert_eq!(h.ep.stats().stray_responses, 1);
    assert!(h.events().is_empty());
    // The second one is still waiting for its answer: no room.
    assert!(matches!(
        h.ep.send_request(h.now, options("o3"), udp()),
        Err(Error::TooManyTransactions { limit: 1 })
    ));
    assert_eq!(h.ep.stats().table_full, 1);
    let _ = second;
}

#[test]
fn eviction_keeps_poll_timeout_consistent() {
    let mut h = with_limit(2);
    h.answered("BYE", "z9hG4bKb1", 200);
    h.answered("BYE", "z9hG4bKb2", 200);
    assert!(h.reaches_tu("OPTIONS", "z9hG4bKo1"));
    assert!(h.reaches_tu("OPTIONS", "z9hG4bKo2"));
    assert_eq!(h.ep.stats().evicted_completed, 2);
    // Only the two live OPTIONS remain and they have no timers (no final
    // yet on a non-INVITE server transaction): nothing left to wake for.
    assert_eq!(h.ep.poll_timeout(), None);
    // Unused by this file, named by the shared harness.
    let _: Option<(Endpoint, Peer, Transport)> = None;
}
