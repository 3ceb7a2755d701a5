//! Client transactions: INVITE (§17.1.1, RFC 6026 Accepted) and non-INVITE
//! (§17.1.2).

use super::key::{ClientKey, method_name, to_tag};
use super::timer::{Timer, TimerTable};
use super::{Backoff, Outbox, Sent, TimerSettings, wire};
use crate::endpoint::{ClientTxId, EndpointEvent};
use crate::transport::Peer;
use bytes::Bytes;
use rsip::headers::UntypedHeader;
use std::time::{Duration, Instant};

/// Forks (distinct To tags of 2xx) remembered per INVITE; later ones are dropped.
const MAX_FORKS: usize = 16;

/// Timer D on unreliable transports (RFC 3261 §17.1.1.2: at least 32 s).
const TIMER_D: Duration = Duration::from_secs(32);

/// Client transaction states (Calling is also the non-INVITE Trying state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientState {
    /// A CANCEL waiting for its INVITE's first provisional (§9.1).
    Held,
    /// Request sent, nothing heard.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A final non-2xx (INVITE) or any final (non-INVITE) arrived.
    Completed,
    /// A 2xx to an INVITE arrived (RFC 6026).
    Accepted,
    /// Over; the endpoint drops it.
    Terminated,
}

/// One fork of an INVITE answered with 2xx, and the ACK the TU gave for it.
#[derive(Debug)]
struct Fork {
    to_tag: String,
    ack: Option<(Bytes, Peer)>,
}

/// A client transaction.
#[derive(Debug)]
pub(crate) struct ClientTransaction {
    pub id: ClientTxId,
    pub state: ClientState,
    pub peer: Peer,
    /// The request as sent (with our Via), for CANCEL and ACK.
    pub request: rsip::Request,
    pub key: ClientKey,
    pub timers: TimerTable,
    /// A CANCEL held until this INVITE sees a provisional.
    pub pending_cancel: Option<ClientTxId>,
    invite: bool,
    method: &'static str,
    encoded: Bytes,
    backoff: Backoff,
    non2xx_ack: Option<Bytes>,
    forks: Vec<Fork>,
}

impl ClientTransaction {
    /// A transaction for `request` (already carrying our Via), not yet sent.
    pub(crate) fn new(id: ClientTxId, request: rsip::Request, peer: Peer, key: ClientKey) -> Self {
        let encoded = wire::encode_request(&request);
        let method = method_name(&request.method);
        ClientTransaction {
            id,
            state: ClientState::Held,
            peer,
            invite: request.method == rsip::Method::Invite,
            request,
            key,
            timers: TimerTable::default(),
            pending_cancel: None,
            method,
            encoded,
            backoff: Backoff::default(),
            non2xx_ack: None,
            forks: Vec::new(),
        }
    }

    /// Whether this is an INVITE transaction.
    pub(crate) fn is_invite(&self) -> bool {
        self.invite
    }

    /// Sends the request and arms A/E and B/F.
    pub(crate) fn start(&mut self, now: Instant, s: &TimerSettings, out: &mut Outbox) {
        if self.state != ClientState::Held {
            return;
        }
        self.state = ClientState::Calling;
        out.send(
            self.peer,
            self.encoded.clone(),
            Sent::Request(self.method),
            false,
        );
        if !self.peer.transport.is_reliable() {
            self.backoff.start(&mut self.timers, s.t1, now);
        }
        self.timers.set(Timer::Timeout, now + s.timeout());
    }

    /// A CANCEL for this INVITE went out: if no final arrives within 64*T1,
    /// give up on the INVITE (§9.1).
    pub(crate) fn guard_cancel(&mut self, now: Instant, s: &TimerSettings) {
        if matches!(self.state, ClientState::Calling | ClientState::Proceeding) {
            self.timers.set(Timer::Timeout, now + s.timeout());
        }
    }

    /// A response matched this transaction.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        response: rsip::Response,
        s: &TimerSettings,
        out: &mut Outbox,
    ) {
        let code = response.status_code.code();
        let live = matches!(self.state, ClientState::Calling | ClientState::Proceeding);
        match code {
            100..=199 if live => {
                self.state = ClientState::Proceeding;
                if self.invite {
                    // Timer B only guards the Calling state (§17.1.1.2).
                    self.timers.stop(Timer::Retransmit);
                    self.timers.stop(Timer::Timeout);
                }
                self.report(response, out);
            }
            200..=299 if self.invite && live => {
                self.state = ClientState::Accepted;
                self.timers.stop_all();
                self.linger_until(now + s.timeout());
                self.remember_fork(&response);
                self.report(response, out);
            }
            200..=299 if self.invite && self.state == ClientState::Accepted => {
                self.on_accepted_2xx(response, out);
            }
            200..=699 if live => {
                self.state = ClientState::Completed;
                self.timers.stop_all();
                if self.invite {
                    let ack = wire::encode_request(&self.non2xx_ack_for(&response));
                    out.send(self.peer, ack.clone(), Sent::Request("ACK"), false);
                    self.non2xx_ack = Some(ack);
                }
                self.linger_or_end(now, s);
                self.report(response, out);
            }
            300..=699 if self.invite && self.state == ClientState::Completed => {
                if let Some(ack) = &self.non2xx_ack {
                    out.send(self.peer, ack.clone(), Sent::Request("ACK"), true);
                }
            }
            // Retransmitted finals in Completed (non-INVITE), late or odd
            // responses: absorbed.
            _ => {}
        }
    }

    /// A deadline of this transaction passed.
    pub(crate) fn on_timer(
        &mut self,
        timer: Timer,
        now: Instant,
        s: &TimerSettings,
        out: &mut Outbox,
    ) {
        match timer {
            Timer::Retransmit => {
                let cap = match (self.invite, self.state) {
                    (true, ClientState::Calling) => None,
                    (false, ClientState::Calling) => Some(s.t2),
                    (false, ClientState::Proceeding) => {
                        // After a provisional, E fires every T2 (§17.1.2.2).
                        self.backoff = Backoff::at(s.t2);
                        Some(s.t2)
                    }
                    _ => return,
                };
                out.send(
                    self.peer,
                    self.encoded.clone(),
                    Sent::Request(self.method),
                    true,
                );
                self.backoff.next(&mut self.timers, cap, now);
            }
            Timer::Timeout => {
                if matches!(self.state, ClientState::Calling | ClientState::Proceeding) {
                    self.terminate();
                    out.events
                        .push_back(EndpointEvent::ClientTimeout { tx: self.id });
                }
            }
            Timer::Linger => self.terminate(),
            Timer::Trying => {}
        }
    }

    /// Keeps the TU's ACK for the 2xx whose To tag it carries; `false` when
    /// no such 2xx arrived on this transaction.
    pub(crate) fn store_ack(&mut self, ack: &rsip::Request, payload: Bytes, peer: Peer) -> bool {
        if self.state != ClientState::Accepted {
            return false;
        }
        let tag = to_tag(&ack.headers).unwrap_or("");
        match self.forks.iter_mut().find(|f| f.to_tag == tag) {
            Some(fork) => {
                fork.ack = Some((payload, peer));
                true
            }
            None => false,
        }
    }

    /// Whether no final response has arrived yet (a held CANCEL included).
    pub(crate) fn awaits_final(&self) -> bool {
        matches!(
            self.state,
            ClientState::Held | ClientState::Calling | ClientState::Proceeding
        )
    }

    /// Whether the endpoint should drop this transaction.
    pub(crate) fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }

    /// Ends a held CANCEL whose INVITE completed first: it is never sent.
    pub(crate) fn terminate(&mut self) {
        self.state = ClientState::Terminated;
        self.timers.stop_all();
    }

    fn on_accepted_2xx(&mut self, response: rsip::Response, out: &mut Outbox) {
        let tag = to_tag(&response.headers).unwrap_or("");
        if let Some(fork) = self.forks.iter().find(|f| f.to_tag == tag) {
            if let Some((ack, peer)) = &fork.ack {
                out.send(*peer, ack.clone(), Sent::Request("ACK"), true);
            }
            return;
        }
        if self.remember_fork(&response) {
            self.report(response, out);
        }
    }

    fn remember_fork(&mut self, response: &rsip::Response) -> bool {
        if self.forks.len() >= MAX_FORKS {
            return false;
        }
        let to_tag = to_tag(&response.headers).unwrap_or("").to_owned();
        self.forks.push(Fork { to_tag, ack: None });
        true
    }

    fn linger_or_end(&mut self, now: Instant, s: &TimerSettings) {
        if self.peer.transport.is_reliable() {
            self.terminate();
        } else {
            let linger = if self.invite { TIMER_D } else { s.t4 };
            self.linger_until(now + linger);
        }
    }

    /// Arms the linger timer (D, K, M): the request is never re-sent nor
    /// cancelled again, so its parsed form and wire bytes are dropped; what
    /// is left is what re-ACKing needs (the non-2xx ACK, the forks' ACKs).
    fn linger_until(&mut self, deadline: Instant) {
        self.timers.set(Timer::Linger, deadline);
        self.encoded = Bytes::new();
        self.request = rsip::Request {
            method: self.request.method,
            uri: rsip::Uri::default(),
            version: rsip::Version::V2,
            headers: rsip::Headers::default(),
            body: Vec::new(),
        };
    }

    fn report(&self, response: rsip::Response, out: &mut Outbox) {
        out.events.push_back(EndpointEvent::Response {
            tx: self.id,
            response,
        });
    }

    /// The ACK for a non-2xx final (§17.1.1.3).
    fn non2xx_ack_for(&self, response: &rsip::Response) -> rsip::Request {
        let mut headers = rsip::Headers::default();
        let original = &self.request.headers;
        if let Some(via) = original.iter().find(|h| matches!(h, rsip::Header::Via(_))) {
            headers.push(via.clone());
        }
        for header in original.iter() {
            if matches!(header, rsip::Header::Route(_)) {
                headers.push(header.clone());
            }
        }
        headers.push(rsip::Header::MaxForwards(rsip::headers::MaxForwards::new(
            "70",
        )));
        for header in original.iter() {
            if matches!(header, rsip::Header::From(_) | rsip::Header::CallId(_)) {
                headers.push(header.clone());
            }
        }
        if let Some(to) = response
            .headers
            .iter()
            .find(|h| matches!(h, rsip::Header::To(_)))
        {
            headers.push(to.clone());
        }
        let seq = super::key::cseq(original).map_or(1, |(n, _)| n);
        headers.push(rsip::Header::CSeq(rsip::headers::CSeq::new(format!(
            "{seq} ACK"
        ))));
        headers.push(rsip::Header::ContentLength(
            rsip::headers::ContentLength::new("0"),
        ));
        rsip::Request {
            method: rsip::Method::Ack,
            uri: self.request.uri.clone(),
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        }
    }
}
