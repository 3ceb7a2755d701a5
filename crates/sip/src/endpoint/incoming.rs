//! What arrives: parsing verdicts, requests (new, retransmitted, ACK,
//! CANCEL) and responses, matched to transactions.

use super::{Endpoint, EndpointEvent, ServerTxId, build, checks};
use crate::message::{ParseLimits, Parsed, ViaInfo, stamp_received, top_via};
use crate::transaction::client::ClientState;
use crate::transaction::key::{AckKey, ClientKey, ServerKey, cseq, method_name};
use crate::transaction::server::{AckOutcome, ServerTransaction};
use crate::transaction::timer::{TimerTable, TxRef};
use crate::transaction::{Sent, wire};
use crate::transport::Peer;
use std::net::SocketAddr;
use std::time::Instant;

/// Retry-After sent with 503 when the transaction table is full, in seconds.
const RETRY_AFTER_SECS: u32 = 5;

impl Endpoint {
    pub(super) fn handle_message(
        &mut self,
        now: Instant,
        peer: Peer,
        bytes: &[u8],
        limits: ParseLimits,
    ) {
        match wire::parse(bytes, limits) {
            Ok(Parsed::Request(request)) => self.handle_request(now, peer, request),
            Ok(Parsed::Response(response)) => self.handle_response(now, response),
            Err(rejection) => {
                self.out.stats.count_parse_rejection(rejection.reason);
                if let Some(answer) = rejection.response {
                    let code = status_of(&answer);
                    self.out.send(peer, answer, Sent::Response(code), false);
                }
            }
        }
    }

    fn handle_request(&mut self, now: Instant, peer: Peer, mut request: rsip::Request) {
        self.out
            .stats
            .count_request_in(method_name(&request.method));
        let Ok(via) = top_via(&request.headers) else {
            self.out.stats.unmatchable += 1;
            return;
        };
        // Cannot fail: the same top Via has just been read.
        let _ = stamp_received(&mut request, peer.remote.ip(), peer.remote.port());
        let response_peer = response_destination(peer, &via);
        let Some(key) = ServerKey::of_request(&request, &via) else {
            self.out.stats.unmatchable += 1;
            return;
        };
        if request.method == rsip::Method::Ack {
            self.handle_ack(now, peer, request, &key);
            return;
        }
        if let Some(&id) = self.server_index.get(&key) {
            self.out.stats.absorbed_requests += 1;
            self.with_server(id, |tx, _, out| tx.on_request_retransmit(out));
            return;
        }
        if request.method == rsip::Method::Cancel {
            self.handle_cancel(now, peer, response_peer, request, &via, key);
            return;
        }
        if !self.make_room() {
            self.out.stats.table_full += 1;
            let busy = build::with_header(
                build::response_to(
                    &request,
                    503,
                    Some(&self.tag()),
                    self.config.user_agent.as_deref(),
                ),
                rsip::Header::RetryAfter(RETRY_AFTER_SECS.to_string().into()),
            );
            self.out.send(
                response_peer,
                wire::encode_response(&busy),
                Sent::Response(503),
                false,
            );
            return;
        }
        let policy = checks::CheckPolicy {
            supported: &self.config.supported_extensions,
            accepted_content_types: &self.config.accepted_content_types,
        };
        let refusal = checks::check_request(&request, policy);
        let id = self.create_server(now, request.clone(), peer, response_peer, key);
        match refusal {
            Some(refusal) => {
                self.out.stats.count_check_rejection(refusal.reason);
                let base = build::response_to(
                    &request,
                    refusal.code,
                    Some(&self.tag()),
                    self.config.user_agent.as_deref(),
                );
                let answer = refusal.apply(base);
                let _ = self.with_server(id, |tx, s, out| tx.respond(now, &answer, s, out));
            }
            None => self.out.events.push_back(EndpointEvent::Request {
                tx: id,
                request,
                peer,
            }),
        }
    }

    /// ACK: for a non-2xx it shares the INVITE's branch and is absorbed by
    /// that transaction; for a 2xx it has its own branch and is matched by
    /// Call-ID, CSeq and From tag to the Accepted INVITE.
    fn handle_ack(&mut self, now: Instant, peer: Peer, request: rsip::Request, key: &ServerKey) {
        let by_dialog =
            || AckKey::of(&request.headers).and_then(|k| self.ack_index.get(&k).copied());
        let Some(id) = self.server_index.get(key).copied().or_else(by_dialog) else {
            self.out.stats.stray_acks += 1;
            self.out.events.push_back(EndpointEvent::Ack {
                tx: None,
                request,
                peer,
            });
            return;
        };
        if self.with_server(id, |tx, s, _| tx.on_ack(now, s))
            == Some(AckOutcome::AcknowledgedSuccess)
        {
            self.out.events.push_back(EndpointEvent::Ack {
                tx: Some(id),
                request,
                peer,
            });
        }
    }

    /// CANCEL is its own transaction: 200 when it matches an INVITE server
    /// transaction (and `Cancelled` if that INVITE is still unanswered), 481
    /// otherwise (§9.2). A full table does not refuse it.
    fn handle_cancel(
        &mut self,
        now: Instant,
        peer: Peer,
        response_peer: Peer,
        request: rsip::Request,
        via: &ViaInfo,
        key: ServerKey,
    ) {
        let invite = ServerKey::with_method(&request, via, "INVITE")
            .and_then(|k| self.server_index.get(&k).copied());
        let invite_state = invite
            .and_then(|id| self.servers.get(&id))
            .map(|tx| (tx.is_pending(), tx.local_tag.clone()));
        let (code, pending, tag) = match invite_state {
            Some((pending, tag)) => (200, pending, tag.unwrap_or_else(|| self.tag())),
            None => (481, false, self.tag()),
        };
        let answer = build::response_to(
            &request,
            code,
            Some(&tag),
            self.config.user_agent.as_deref(),
        );
        if !self.make_room() {
            // Answered without a transaction rather than refused: a CANCEL
            // frees resources, and its retransmissions are simply answered again.
            let code = answer.status_code.code();
            let payload = wire::encode_response(&answer);
            self.out
                .send(response_peer, payload, Sent::Response(code), false);
        } else {
            let id = self.create_server(now, request, peer, response_peer, key);
            let _ = self.with_server(id, |tx, s, out| tx.respond(now, &answer, s, out));
        }
        if let (Some(invite), true) = (invite, pending) {
            self.out
                .events
                .push_back(EndpointEvent::Cancelled { tx: invite });
        }
    }

    fn create_server(
        &mut self,
        now: Instant,
        request: rsip::Request,
        peer: Peer,
        response_peer: Peer,
        key: ServerKey,
    ) -> ServerTxId {
        let id = ServerTxId(self.next_id());
        let tx = ServerTransaction::new(
            id,
            request,
            peer,
            response_peer,
            key.clone(),
            now + self.config.trying_delay,
        );
        self.timers
            .sync(TxRef::Server(id), &TimerTable::default(), &tx.timers);
        self.servers.insert(id, Box::new(tx));
        self.server_index.insert(Box::new(key), id);
        id
    }

    fn handle_response(&mut self, now: Instant, response: rsip::Response) {
        self.out
            .stats
            .count_response_in(response.status_code.code());
        let key = top_via(&response.headers)
            .ok()
            .and_then(|via| via.branch().map(str::to_owned))
            .zip(cseq(&response.headers).map(|(_, m)| m.to_ascii_uppercase()))
            .map(|(branch, method)| ClientKey { branch, method });
        let Some(id) = key.and_then(|k| self.client_index.get(&k).copied()) else {
            self.out.stats.stray_responses += 1;
            return;
        };
        self.with_client(id, |tx, s, out| tx.on_response(now, response, s, out));
        self.release_held_cancel(now, id);
    }

    /// A CANCEL held for INVITE `id` goes out on its first provisional, and
    /// is dropped unsent if a final came first (§9.1).
    fn release_held_cancel(&mut self, now: Instant, id: super::ClientTxId) {
        let Some(invite) = self.clients.get_mut(&id) else {
            return;
        };
        let Some(cancel) = invite.pending_cancel else {
            return;
        };
        match invite.state {
            ClientState::Proceeding => {
                invite.pending_cancel = None;
                self.with_client(cancel, |tx, s, out| tx.start(now, s, out));
                self.with_client(id, |tx, s, _| tx.guard_cancel(now, s));
            }
            ClientState::Calling | ClientState::Held => {}
            _ => {
                invite.pending_cancel = None;
                self.with_client(cancel, |tx, _, _| tx.terminate());
            }
        }
    }

    /// A fresh To tag.
    pub(super) fn tag(&mut self) -> String {
        build::token(&mut self.rng, 10)
    }
}

/// Where responses to a request go (RFC 3261 §18.2.2, RFC 3581): the same
/// connection on TCP; on UDP the source address (which `received` names
/// whenever it differs from sent-by), at the source port when `rport` was
/// asked, else at the sent-by port.
fn response_destination(source: Peer, via: &ViaInfo) -> Peer {
    if source.transport.is_reliable() {
        return source;
    }
    let port = if via.rport().is_some() {
        source.remote.port()
    } else {
        via.port.unwrap_or(5060)
    };
    Peer {
        remote: SocketAddr::new(source.remote.ip(), port),
        ..source
    }
}

/// The status code on a response's start line, for the counters.
fn status_of(response: &[u8]) -> u16 {
    response
        .split(|b| *b == b' ')
        .nth(1)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}
