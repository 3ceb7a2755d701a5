//! Server-side transactions and endpoint checks, with simulated time (the
//! client side is in `tests/transactions.rs`).

use super::{Endpoint, EndpointConfig, EndpointEvent, ServerTxId};
use crate::error::Error;
use crate::transport::{Peer, Transmit, Transport};
use std::time::Duration;

#[path = "../../tests/support/harness.rs"]
mod harness;
use harness::*;

#[test]
fn server_sends_100_trying_after_200ms_of_silence() {
    let mut h = Harness::new();
    let (tx, _) = h.receive_request(udp(), "INVITE", "z9hG4bKs1");
    assert_eq!(h.fire(), Some(MS(200)));
    let sent = h.transmits();
    assert_eq!(sent.len(), 1);
    let text = String::from_utf8(sent[0].payload.to_vec()).unwrap();
    assert!(text.starts_with("SIP/2.0 100"), "{text}");
    assert_eq!(sent[0].peer.remote, addr("127.0.0.1:5070"));
    // Request retransmission re-sends the 100 and is not reported.
    h.receive(udp(), &incoming("INVITE", "z9hG4bKs1", ""));
    assert!(h.events().is_empty());
    assert!(h.texts()[0].starts_with("SIP/2.0 100"));
    let _ = tx;

    // The TU answering first means no 100 from the endpoint.
    let mut h = Harness::new();
    let (tx, request) = h.receive_request(udp(), "INVITE", "z9hG4bKs2");
    h.advance(MS(100));
    h.ep.respond(h.now, tx, response(&request, 180)).unwrap();
    assert!(h.texts()[0].starts_with("SIP/2.0 180"));
    h.advance(MS(500));
    assert!(h.texts().is_empty());
}

#[test]
fn server_non_2xx_timer_g_doubles_to_t2_and_h_reports_ack_timeout() {
    let mut h = Harness::new();
    let (tx, request) = h.receive_and_respond(udp(), "INVITE", "z9hG4bKs1", 486);
    let first = h.texts();
    let mut retransmits = Vec::new();
    for (at, texts) in h.fire_all() {
        assert_eq!(texts, first);
        retransmits.push(at);
    }
    let expected: Vec<Duration> = UP_TO_T2.map(MS).to_vec();
    assert_eq!(retransmits, expected);
    assert_eq!(h.elapsed(), Duration::from_secs(32), "Timer H");
    assert!(matches!(h.events().as_slice(), [EndpointEvent::AckTimeout { tx: t }] if *t == tx));
    assert!(matches!(
        h.ep.respond(h.now, tx, response(&request, 500)),
        Err(Error::UnknownTransaction)
    ));
}

#[test]
fn server_non_2xx_ack_is_absorbed_and_timer_i_ends_it() {
    let mut h = Harness::new();
    h.receive_and_respond(udp(), "INVITE", "z9hG4bKs1", 486);
    h.texts();
    h.advance(MS(600));
    assert_eq!(h.texts().len(), 1, "one G retransmission");
    h.receive(udp(), &incoming("ACK", "z9hG4bKs1", ""));
    assert!(
        h.events().is_empty(),
        "ACK for a non-2xx stays in the transaction"
    );
    h.receive(udp(), &incoming("ACK", "z9hG4bKs1", ""));
    assert!(h.events().is_empty());
    assert_eq!(
        h.fire(),
        Some(MS(600) + Duration::from_secs(5)),
        "Timer I = T4"
    );
    assert!(h.texts().is_empty());
    assert_eq!(h.ep.transaction_count(), 0);

    let mut h = Harness::new();
    h.receive_and_respond(tcp(), "INVITE", "z9hG4bKs1", 486);
    h.receive(tcp(), &incoming("ACK", "z9hG4bKs1", ""));
    assert_eq!(h.ep.transaction_count(), 0, "Timer I = 0 on TCP");
}

#[test]
fn server_2xx_retransmitted_until_ack() {
    let mut h = Harness::new();
    let (tx, _) = h.receive_and_respond(udp(), "INVITE", "z9hG4bKs1", 200);
    assert!(h.texts()[0].starts_with("SIP/2.0 200"));
    assert_eq!(h.fire(), Some(MS(500)));
    assert_eq!(h.fire(), Some(MS(1500)));
    assert_eq!(h.texts().len(), 2);
    h.receive(udp(), &incoming("ACK", "z9hG4bKack1", ""));
    assert!(matches!(h.events().as_slice(), [EndpointEvent::Ack { tx: Some(t), .. }] if *t == tx));
    h.receive(udp(), &incoming("ACK", "z9hG4bKack1", ""));
    assert!(h.events().is_empty(), "retransmitted ACK absorbed");
    assert_eq!(h.fire(), Some(Duration::from_secs(32)), "Timer L");
    assert!(h.texts().is_empty() && h.events().is_empty());
    assert_eq!(h.ep.transaction_count(), 0);

    let mut h = Harness::new();
    let (tx, _) = h.receive_and_respond(udp(), "INVITE", "z9hG4bKs1", 200);
    h.advance(Duration::from_secs(40));
    assert!(matches!(h.events().as_slice(), [EndpointEvent::AckTimeout { tx: t }] if *t == tx));
    assert_eq!(
        h.texts().len(),
        11,
        "2xx sent once and retransmitted 10 times"
    );
}

#[test]
fn server_non_invite_timer_j_absorbs_retransmissions() {
    let mut h = Harness::new();
    let (tx, request) = h.receive_request(udp(), "OPTIONS", "z9hG4bKo1");
    h.receive(udp(), &incoming("OPTIONS", "z9hG4bKo1", ""));
    assert!(
        h.texts().is_empty() && h.events().is_empty(),
        "retransmission before any answer"
    );
    h.ep.respond(h.now, tx, response(&request, 200)).unwrap();
    let ok = h.texts();
    h.receive(udp(), &incoming("OPTIONS", "z9hG4bKo1", ""));
    assert_eq!(h.texts(), ok, "last response re-sent");
    assert!(h.events().is_empty());
    assert_eq!(h.fire(), Some(Duration::from_secs(32)), "Timer J = 64*T1");
    assert_eq!(h.ep.transaction_count(), 0);
    assert_eq!(h.ep.stats().absorbed_requests, 2);

    let mut h = Harness::new();
    h.receive_and_respond(tcp(), "OPTIONS", "z9hG4bKo1", 200);
    assert_eq!(h.ep.transaction_count(), 0, "Timer J = 0 on TCP");
}

#[test]
fn server_cancel_answers_200_and_reports_then_487_path() {
    let mut h = Harness::new();
    let (tx, request) = h.receive_request(udp(), "INVITE", "z9hG4bKs1");
    h.receive(udp(), &incoming("CANCEL", "z9hG4bKs1", ""));
    let texts = h.texts();
    assert_eq!(texts.len(), 1);
    assert!(texts[0].starts_with("SIP/2.0 200") && texts[0].contains("CSeq: 1 CANCEL"));
    assert!(matches!(h.events().as_slice(), [EndpointEvent::Cancelled { tx: t }] if *t == tx));
    h.ep.respond(h.now, tx, response(&request, 487)).unwrap();
    assert!(h.texts()[0].starts_with("SIP/2.0 487"));
    h.receive(udp(), &incoming("ACK", "z9hG4bKs1", ""));
    assert!(h.events().is_empty());
    h.receive(udp(), &incoming("CANCEL", "z9hG4bKs1", ""));
    assert!(
        h.texts()[0].starts_with("SIP/2.0 200"),
        "CANCEL retransmission re-answered"
    );
    assert!(h.events().is_empty());
}

#[test]
fn server_cancel_after_200_changes_nothing() {
    let mut h = Harness::new();
    let (tx, _) = h.receive_and_respond(udp(), "INVITE", "z9hG4bKs1", 200);
    h.texts();
    h.receive(udp(), &incoming("CANCEL", "z9hG4bKs1", ""));
    assert!(h.texts()[0].starts_with("SIP/2.0 200"));
    assert!(h.events().is_empty(), "no Cancelled after a final response");
    h.receive(udp(), &incoming("ACK", "z9hG4bKa", ""));
    assert!(matches!(h.events().as_slice(), [EndpointEvent::Ack { tx: Some(t), .. }] if *t == tx));
}

#[test]
fn unmatched_cancel_gets_481_and_stray_ack_is_reported() {
    let mut h = Harness::new();
    h.receive(udp(), &incoming("CANCEL", "z9hG4bKnone", ""));
    assert!(h.texts()[0].starts_with("SIP/2.0 481"));
    assert!(h.events().is_empty());
    h.receive(udp(), &incoming("ACK", "z9hG4bKnone", ""));
    assert!(matches!(
        h.events().as_slice(),
        [EndpointEvent::Ack { tx: None, .. }]
    ));
    assert_eq!(h.ep.stats().stray_acks, 1);
}

#[test]
fn endpoint_checks_refuse_with_483_420_415() {
    let mut h = Harness::new();
    h.receive(
        udp(),
        &incoming("INVITE", "z9hG4bK1", "").replace("Max-Forwards: 70", "Max-Forwards: 0"),
    );
    assert!(h.texts()[0].starts_with("SIP/2.0 483"));
    h.receive(
        udp(),
        &incoming("INVITE", "z9hG4bK2", "Require: 100rel\r\n"),
    );
    let t = h.texts();
    assert!(
        t[0].starts_with("SIP/2.0 420") && t[0].contains("Unsupported: 100rel"),
        "{t:?}"
    );
    let body = incoming("INFO", "z9hG4bK3", "Content-Type: text/html\r\n")
        .replace("Content-Length: 0\r\n\r\n", "Content-Length: 3\r\n\r\n<p>");
    h.receive(udp(), &body);
    let t = h.texts();
    assert!(
        t[0].starts_with("SIP/2.0 415") && t[0].contains("Accept: application/sdp"),
        "{t:?}"
    );
    assert!(h.events().is_empty());
    assert_eq!(h.ep.stats().check_rejections.values().sum::<u64>(), 3);
    // OPTIONS with Max-Forwards 0 still reaches the TU.
    h.receive(
        udp(),
        &incoming("OPTIONS", "z9hG4bK4", "").replace("Max-Forwards: 70", "Max-Forwards: 0"),
    );
    request_event(h.events());
}

#[test]
fn responses_follow_received_and_rport() {
    let mut h = Harness::new();
    let from = peer(Transport::Udp, "127.0.0.1:40000");
    let text = incoming("OPTIONS", "z9hG4bKr1", "").replace(
        "127.0.0.1:5070;branch=z9hG4bKr1",
        "client.invalid:5070;rport;branch=z9hG4bKr1",
    );
    h.receive(from, &text);
    let (tx, request) = request_event(h.events());
    let via = request
        .headers
        .iter()
        .find(|h| matches!(h, rsip::Header::Via(_)))
        .unwrap()
        .to_string();
    assert_eq!(
        via,
        "Via: SIP/2.0/UDP client.invalid:5070;rport=40000;branch=z9hG4bKr1;received=127.0.0.1"
    );
    h.ep.respond(h.now, tx, response(&request, 200)).unwrap();
    assert_eq!(h.transmits()[0].peer.remote, addr("127.0.0.1:40000"));

    // Without rport, the sent-by port.
    let text = incoming("OPTIONS", "z9hG4bKr2", "")
        .replace("127.0.0.1:5070;branch", "client.invalid:5071;branch");
    h.receive(from, &text);
    let (tx, request) = request_event(h.events());
    h.ep.respond(h.now, tx, response(&request, 200)).unwrap();
    assert_eq!(h.transmits()[0].peer.remote, addr("127.0.0.1:5071"));
}

#[test]
fn rfc2543_requests_without_branch_match_by_dialog_fields() {
    let mut h = Harness::new();
    let invite = incoming("INVITE", "x", "").replace(";branch=x", "");
    h.receive(udp(), &invite);
    let (tx, request) = request_event(h.events());
    h.receive(udp(), &invite);
    assert!(
        h.events().is_empty(),
        "retransmission matched without a branch"
    );
    h.ep.respond(h.now, tx, response(&request, 486)).unwrap();
    h.texts();
    h.receive(udp(), &incoming("ACK", "x", "").replace(";branch=x", ""));
    assert!(h.events().is_empty());
    assert_eq!(
        h.fire(),
        Some(Duration::from_secs(5)),
        "ACK matched: Timer I"
    );
}

#[test]
fn garbage_is_counted_and_never_panics() {
    let mut h = Harness::new();
    for junk in [
        "",
        "\r\n",
        "INVITE",
        "SIP/2.0 200 OK\r\n\r\n",
        "\u{0}\u{1}\u{2}",
    ] {
        h.receive(udp(), junk);
    }
    assert!(h.events().is_empty());
    let stats = h.ep.stats();
    assert!(
        stats.parse_rejections.values().sum::<u64>() + stats.stray_responses + stats.unmatchable
            >= 4
    );
}

#[test]
fn rejected_request_gets_its_verdict_sent_back() {
    let mut h = Harness::new();
    let from = peer(Transport::Udp, "127.0.0.1:40001");
    h.receive(
        from,
        &incoming("OPTIONS", "z9hG4bKv", "")
            .replace("sip:bob@127.0.0.1 SIP/2.0", "sip:bob@127.0.0.1 SIP/3.0"),
    );
    let sent = h.transmits();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].peer.remote,
        addr("127.0.0.1:40001"),
        "answered to the source"
    );
    let text = String::from_utf8(sent[0].payload.to_vec()).unwrap();
    assert!(text.starts_with("SIP/2.0 505"), "{text}");
    assert!(h.events().is_empty());
    assert_eq!(
        h.ep.transaction_count(),
        0,
        "rejected messages are forgotten"
    );
    assert_eq!(h.ep.stats().parse_rejections.values().sum::<u64>(), 1);
    assert_eq!(h.ep.stats().responses_out.get("5xx"), Some(&1));
}

#[test]
fn poll_timeout_is_the_earliest_over_many_transactions() {
    let mut h = Harness::new();
    let mut first = None;
    for i in 0..2000u64 {
        h.now = h.t0 + MS(i);
        h.receive(udp(), &incoming("INVITE", &format!("z9hG4bKm{i}"), ""));
        let (tx, request) = request_event(h.events());
        first.get_or_insert((tx, request));
    }
    assert_eq!(
        h.ep.poll_timeout(),
        Some(h.t0 + MS(200)),
        "first INVITE's Trying"
    );
    let (tx, request) = first.unwrap();
    h.ep.respond(h.now, tx, response(&request, 180)).unwrap();
    assert_eq!(
        h.ep.poll_timeout(),
        Some(h.t0 + MS(201)),
        "its timer left the queue"
    );
    assert_eq!(h.ep.transaction_count(), 2000);
}

#[test]
fn mangled_messages_never_panic() {
    let mut h = Harness::new();
    let valid = [
        incoming("INVITE", "z9hG4bKf", "Require: x\r\n"),
        incoming("ACK", "z9hG4bKf", ""),
        incoming("CANCEL", "z9hG4bKf", ""),
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKf\r\n\
         From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\nCall-ID: x\r\n\
         CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
            .to_owned(),
    ];
    for message in &valid {
        let bytes = message.as_bytes();
        for cut in 0..bytes.len() {
            h.ep.handle_datagram(h.now, udp(), &bytes[..cut]);
            let mut flipped = bytes.to_vec();
            flipped[cut] ^= 0x20;
            h.ep.handle_datagram(h.now, udp(), &flipped);
            let mut deleted = bytes.to_vec();
            deleted.remove(cut);
            h.ep.handle_stream_message(h.now, tcp(), &deleted);
        }
    }
    h.advance(Duration::from_secs(60));
    h.events();
    h.transmits();
    assert_eq!(h.ep.transaction_count(), 0, "everything times out");
    assert_eq!(h.ep.poll_timeout(), None);
}

#[test]
fn lingering_transactions_drop_the_parsed_request() {
    let mut h = Harness::new();
    let (tx, request) = h.receive_request(udp(), "BYE", "z9hG4bKb1");
    assert!(!h.ep.servers[&tx].request.headers.is_empty());
    h.ep.respond(h.now, tx, response(&request, 200)).unwrap();
    let lingering = &h.ep.servers[&tx];
    assert!(
        lingering.request.headers.is_empty(),
        "only the response bytes stay"
    );
    assert_eq!(lingering.request.method, rsip::Method::Bye);
    // What stays is enough to absorb a retransmission.
    h.texts();
    h.receive(udp(), &incoming("BYE", "z9hG4bKb1", ""));
    assert!(h.texts()[0].starts_with("SIP/2.0 200"));
}
