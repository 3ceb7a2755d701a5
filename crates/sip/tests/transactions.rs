//! Transaction layer and endpoint, driven with simulated time.

// The helpers below sit outside #[test] functions; a fixture that fails to
// build is a bug in the test, so they panic.
#![allow(clippy::unwrap_used)]

use std::time::Duration;
use switchd_sip::message::{ParseLimits, Parsed};
use switchd_sip::rsip;
use switchd_sip::{
    ClientTxId, Endpoint, EndpointConfig, EndpointEvent, Error, Peer, ServerTxId, Transmit,
    Transport,
};

#[path = "support/harness.rs"]
mod harness;
use harness::*;

impl Harness {
    /// Sends a request built from `text` (no Via) and returns its id and wire text.
    fn send(&mut self, text: &str, to: Peer) -> (ClientTxId, String) {
        let request = parse_request(text).unwrap();
        let id = self.ep.send_request(self.now, request, to).unwrap();
        let sent = self.texts();
        assert_eq!(sent.len(), 1, "one request sent: {sent:?}");
        (id, sent.into_iter().next().unwrap())
    }
}

/// A request parsed by the crate's own parser.
fn parse_request(text: &str) -> Result<rsip::Request, &'static str> {
    match switchd_sip::message::parse(text.as_bytes(), ParseLimits::default()) {
        Ok(Parsed::Request(request)) => Ok(request),
        Ok(Parsed::Response(_)) => Err("a response"),
        Err(rejection) => Err(rejection.reason),
    }
}

fn invite_text() -> String {
    "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
     Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKdropped\r\n\
     From: <sip:alice@127.0.0.1>;tag=a1\r\n\
     To: <sip:bob@127.0.0.1>\r\n\
     Call-ID: c1@127.0.0.1\r\n\
     CSeq: 1 INVITE\r\n\
     Contact: <sip:alice@127.0.0.1:5060>\r\n\r\n"
        .to_owned()
}

fn options_text() -> String {
    invite_text()
        .replace("INVITE sip", "OPTIONS sip")
        .replace("1 INVITE", "1 OPTIONS")
}

/// The TU's ACK for a 2xx (to tag b1) to the INVITE of `invite_text`.
fn tu_ack() -> rsip::Request {
    parse_request(
        "ACK sip:bob@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\n\
         To: <sip:bob@127.0.0.1>;tag=b1\r\nCall-ID: c1@127.0.0.1\r\nCSeq: 1 ACK\r\n\r\n",
    )
    .unwrap()
}

/// The Via line of a request's wire text.
fn via_line(text: &str) -> &str {
    text.lines().find(|l| l.starts_with("Via:")).unwrap()
}

// ---------------------------------------------------------------- client side

#[test]
fn invite_client_timer_a_doubles_and_b_times_out() {
    let mut h = Harness::new();
    let (tx, sent) = h.send(&invite_text(), udp());
    assert!(
        sent.contains("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK"),
        "{sent}"
    );
    assert!(
        !sent.contains("z9hG4bKdropped"),
        "our Via replaces the TU's"
    );
    assert!(
        sent.contains(";rport\r\n")
            && sent.contains("Max-Forwards: 70")
            && sent.contains("Content-Length: 0")
    );
    let mut retransmits = Vec::new();
    for (at, texts) in h.fire_all() {
        assert_eq!(
            texts,
            vec![sent.clone()],
            "retransmission is byte-identical"
        );
        retransmits.push(at);
    }
    let expected: Vec<Duration> = [500, 1500, 3500, 7500, 15500, 31500].map(MS).to_vec();
    assert_eq!(retransmits, expected);
    assert_eq!(h.elapsed(), Duration::from_secs(32), "Timer B = 64*T1");
    assert!(matches!(h.events().as_slice(), [EndpointEvent::ClientTimeout { tx: t }] if *t == tx));
    assert_eq!(h.ep.transaction_count(), 0);
}

#[test]
fn invite_client_on_tcp_never_retransmits() {
    let mut h = Harness::new();
    let (_, sent) = h.send(&invite_text(), tcp());
    assert!(sent.contains("Via: SIP/2.0/TCP 127.0.0.1:5060;"));
    assert_eq!(h.fire(), Some(Duration::from_secs(32)));
    assert!(h.texts().is_empty());
    assert!(matches!(
        h.events().as_slice(),
        [EndpointEvent::ClientTimeout { .. }]
    ));
}

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_f_times_out() {
    let mut h = Harness::new();
    let (tx, _) = h.send(&options_text(), udp());
    let retransmits: Vec<Duration> = h.fire_all().into_iter().map(|(at, _)| at).collect();
    let expected: Vec<Duration> = UP_TO_T2.map(MS).to_vec();
    assert_eq!(retransmits, expected);
    assert_eq!(h.elapsed(), Duration::from_secs(32), "Timer F = 64*T1");
    assert!(matches!(h.events().as_slice(), [EndpointEvent::ClientTimeout { tx: t }] if *t == tx));
}

#[test]
fn non_invite_client_after_provisional_retransmits_every_t2() {
    let mut h = Harness::new();
    let (_, sent) = h.send(&options_text(), udp());
    h.receive(udp(), &answer(&sent, 100, "Trying", None));
    assert!(matches!(
        h.events().as_slice(),
        [EndpointEvent::Response { .. }]
    ));
    // E was armed at 500 ms; from then on the interval is T2.
    assert_eq!(h.fire(), Some(MS(500)));
    assert_eq!(h.texts().len(), 1);
    assert_eq!(h.fire(), Some(MS(4500)));
    assert_eq!(h.texts().len(), 1);
    assert_eq!(h.fire(), Some(MS(8500)));
}

#[test]
fn non_invite_client_timer_k_absorbs_retransmitted_finals() {
    let mut h = Harness::new();
    let (_, sent) = h.send(&options_text(), udp());
    let ok = answer(&sent, 200, "OK", Some("b1"));
    h.receive(udp(), &ok);
    assert!(
        matches!(h.events().as_slice(), [EndpointEvent::Response { response, .. }] if response.status_code.code() == 200)
    );
    h.receive(udp(), &ok);
    assert!(h.events().is_empty(), "retransmitted final absorbed");
    assert_eq!(h.fire(), Some(Duration::from_secs(5)), "Timer K = T4");
    assert_eq!(h.ep.transaction_count(), 0);
    assert_eq!(h.ep.stats().retransmissions, 0);

    let mut h = Harness::new();
    let (_, sent) = h.send(&options_text(), tcp());
    h.receive(tcp(), &answer(&sent, 200, "OK", Some("b1")));
    assert_eq!(h.ep.transaction_count(), 0, "Timer K = 0 on TCP");
    assert_eq!(h.ep.poll_timeout(), None);
}

#[test]
fn invite_client_acks_non_2xx_itself_and_again_on_retransmission() {
    let mut h = Harness::new();
    let (tx, sent) = h.send(&invite_text(), udp());
    let busy = answer(&sent, 486, "Busy Here", Some("b1"));
    h.receive(udp(), &busy);
    assert!(matches!(h.events().as_slice(), [EndpointEvent::Response { tx: t, .. }] if *t == tx));
    let acks = h.texts();
    assert_eq!(acks.len(), 1);
    let ack = &acks[0];
    assert!(
        ack.starts_with("ACK sip:bob@127.0.0.1 SIP/2.0\r\n"),
        "{ack}"
    );
    let via = via_line(&sent);
    assert!(
        ack.contains(via),
        "ACK reuses the INVITE's Via (same branch)"
    );
    assert!(ack.contains("CSeq: 1 ACK") && ack.contains("tag=b1"));
    h.receive(udp(), &busy);
    assert_eq!(h.texts(), acks, "retransmitted final re-ACKed");
    assert!(h.events().is_empty());
    assert_eq!(h.fire(), Some(Duration::from_secs(32)), "Timer D");
    assert_eq!(h.ep.transaction_count(), 0);
}

#[test]
fn invite_client_reacks_retransmitted_2xx_with_the_tu_ack() {
    let mut h = Harness::new();
    let (tx, sent) = h.send(&invite_text(), udp());
    let ok = answer(&sent, 200, "OK", Some("b1"));
    h.receive(udp(), &ok);
    assert!(matches!(
        h.events().as_slice(),
        [EndpointEvent::Response { .. }]
    ));
    assert!(h.texts().is_empty(), "ACK for 2xx is the TU's");
    let ack = tu_ack();
    h.ep.send_ack(h.now, tx, ack, udp()).unwrap();
    let first = h.texts();
    assert_eq!(first.len(), 1);
    assert!(
        !first[0].contains(via_line(&sent)),
        "ACK has its own branch"
    );
    h.receive(udp(), &ok);
    assert_eq!(
        h.texts(),
        first,
        "retransmitted 2xx re-ACKed with the same ACK"
    );
    assert!(h.events().is_empty(), "retransmitted 2xx not reported");
    // A 2xx from another fork is reported.
    h.receive(udp(), &answer(&sent, 200, "OK", Some("b2")));
    assert!(matches!(
        h.events().as_slice(),
        [EndpointEvent::Response { .. }]
    ));
    assert_eq!(h.fire(), Some(Duration::from_secs(32)), "Timer M");
    assert_eq!(h.ep.transaction_count(), 0);
    h.receive(udp(), &ok);
    assert!(
        h.texts().is_empty(),
        "after the transaction, stray 2xx dropped"
    );
    assert_eq!(h.ep.stats().stray_responses, 1);
}

#[test]
fn cancel_then_487_is_acked_by_the_transaction() {
    let mut h = Harness::new();
    let (invite, sent) = h.send(&invite_text(), udp());
    h.receive(udp(), &answer(&sent, 180, "Ringing", Some("b1")));
    h.events();
    let cancel = h.ep.cancel(h.now, invite).unwrap();
    let texts = h.texts();
    assert_eq!(texts.len(), 1);
    let cancel_text = &texts[0];
    let via = via_line(&sent);
    assert!(cancel_text.starts_with("CANCEL sip:bob@127.0.0.1 SIP/2.0"));
    assert!(cancel_text.contains(via) && cancel_text.contains("CSeq: 1 CANCEL"));
    assert!(matches!(
        h.ep.cancel(h.now, invite),
        Err(Error::NotCancellable)
    ));
    h.receive(udp(), &answer(cancel_text, 200, "OK", Some("b1")));
    assert!(matches!(h.events().as_slice(), [EndpointEvent::Response { tx, .. }] if *tx == cancel));
    h.receive(udp(), &answer(&sent, 487, "Request Terminated", Some("b1")));
    assert!(
        matches!(h.events().as_slice(), [EndpointEvent::Response { tx, response }]
        if *tx == invite && response.status_code.code() == 487)
    );
    let acks = h.texts();
    assert_eq!(acks.len(), 1);
    assert!(acks[0].starts_with("ACK ") && acks[0].contains(via));
}

#[test]
fn cancel_is_held_until_a_provisional_arrives() {
    let mut h = Harness::new();
    let (invite, sent) = h.send(&invite_text(), udp());
    let cancel = h.ep.cancel(h.now, invite).unwrap();
    assert!(
        h.texts().is_empty(),
        "no CANCEL before a provisional (§9.1)"
    );
    h.receive(udp(), &answer(&sent, 100, "Trying", None));
    let texts = h.texts();
    assert_eq!(texts.len(), 1);
    assert!(texts[0].starts_with("CANCEL "));
    assert!(h.ep.poll_timeout().is_some());
    let _ = cancel;
}

#[test]
fn cancel_held_is_dropped_when_the_invite_completes_first() {
    let mut h = Harness::new();
    let (invite, sent) = h.send(&invite_text(), tcp());
    h.ep.cancel(h.now, invite).unwrap();
    h.receive(tcp(), &answer(&sent, 603, "Decline", Some("b1")));
    let texts = h.texts();
    assert_eq!(texts.len(), 1, "only the ACK: {texts:?}");
    assert!(texts[0].starts_with("ACK "));
    assert_eq!(h.ep.transaction_count(), 0);
}

#[test]
fn client_200_after_cancel_is_still_reported_and_acked() {
    let mut h = Harness::new();
    let (invite, sent) = h.send(&invite_text(), udp());
    h.receive(udp(), &answer(&sent, 180, "Ringing", Some("b1")));
    h.ep.cancel(h.now, invite).unwrap();
    h.texts();
    h.events();
    let ok = answer(&sent, 200, "OK", Some("b1"));
    h.receive(udp(), &ok);
    assert!(
        matches!(h.events().as_slice(), [EndpointEvent::Response { tx, response }]
        if *tx == invite && response.status_code.code() == 200)
    );
    let ack = tu_ack();
    h.ep.send_ack(h.now, invite, ack, udp()).unwrap();
    assert_eq!(h.texts().len(), 1);
    h.receive(udp(), &ok);
    assert!(
        h.texts()[0].starts_with("ACK "),
        "retransmitted 200 re-ACKed"
    );
}

#[test]
fn send_request_refuses_ack_cancel_and_unknown_families() {
    let mut h = Harness::with(EndpointConfig {
        advertised: vec![],
        ..config()
    });
    let req = parse_request(invite_text().as_str()).unwrap();
    assert!(matches!(
        h.ep.send_request(h.now, req, udp()),
        Err(Error::NoAdvertisedAddress { .. })
    ));
    let ack = parse_request(
        invite_text()
            .replace("INVITE sip", "ACK sip")
            .replace("1 INVITE", "1 ACK")
            .as_str(),
    )
    .unwrap();
    assert!(matches!(
        h.ep.send_request(h.now, ack, udp()),
        Err(Error::WrongMethodForCall { .. })
    ));
}

// ------------------------------------------------- both sides (server side: src/endpoint/tests.rs)

#[test]
fn full_table_answers_503_and_refuses_send_request() {
    let mut h = Harness::with(EndpointConfig {
        max_transactions: 1,
        ..config()
    });
    h.receive(udp(), &incoming("INVITE", "z9hG4bKs1", ""));
    request_event(h.events());
    h.receive(udp(), &incoming("OPTIONS", "z9hG4bKs2", ""));
    let texts = h.texts();
    assert!(
        texts[0].starts_with("SIP/2.0 503") && texts[0].contains("Retry-After: 5"),
        "{texts:?}"
    );
    assert!(h.events().is_empty());
    let req = parse_request(options_text().as_str()).unwrap();
    assert!(matches!(
        h.ep.send_request(h.now, req, udp()),
        Err(Error::TooManyTransactions { limit: 1 })
    ));
    assert_eq!(h.ep.stats().table_full, 2);
    assert_eq!(h.ep.transaction_count(), 1);
    // A CANCEL is still answered (without a transaction) and reported.
    h.receive(udp(), &incoming("CANCEL", "z9hG4bKs1", ""));
    assert!(h.texts()[0].starts_with("SIP/2.0 200"));
    assert!(matches!(
        h.events().as_slice(),
        [EndpointEvent::Cancelled { .. }]
    ));
    assert_eq!(h.ep.transaction_count(), 1);
}

#[test]
fn send_request_needs_the_matching_headers() {
    let mut h = Harness::new();
    let no_cseq = parse_request(&invite_text()).map(|mut r| {
        r.headers.retain(|h| !matches!(h, rsip::Header::CSeq(_)));
        r
    });
    assert!(matches!(
        h.ep.send_request(h.now, no_cseq.unwrap(), udp()),
        Err(Error::MissingHeader { name: "CSeq" })
    ));
    assert!(h.texts().is_empty());
    assert_eq!(h.ep.transaction_count(), 0);
}

#[test]
fn transport_error_ends_client_transactions_to_that_peer() {
    let mut h = Harness::new();
    let (invite, _) = h.send(&invite_text(), tcp());
    let (other, _) = h.send(&options_text(), udp());
    h.ep.handle_transport_error(h.now, tcp());
    assert!(
        matches!(h.events().as_slice(), [EndpointEvent::ClientTimeout { tx }] if *tx == invite)
    );
    assert_eq!(
        h.ep.transaction_count(),
        1,
        "{other:?} to another peer lives on"
    );
}
