//! Server transactions: INVITE (§17.2.1, RFC 6026 Accepted) and non-INVITE
//! (§17.2.2).

use super::key::{AckKey, ServerKey, to_tag};
use super::timer::{Timer, TimerTable};
use super::{Backoff, Outbox, Sent, TimerSettings, wire};
use crate::endpoint::{EndpointEvent, ServerTxId};
use crate::transport::Peer;
use bytes::Bytes;
use std::time::Instant;

/// Server transaction states (Proceeding is also the non-INVITE Trying state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerState {
    /// No final response yet.
    Proceeding,
    /// A final (non-2xx for INVITE) was sent.
    Completed,
    /// The ACK for an INVITE's non-2xx arrived.
    Confirmed,
    /// An INVITE was answered with 2xx (RFC 6026).
    Accepted,
    /// Over; the endpoint drops it.
    Terminated,
}

/// What an ACK matched to this transaction meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    /// The first ACK for our 2xx: the TU hears of it.
    AcknowledgedSuccess,
    /// An ACK for a non-2xx, or a retransmitted ACK: absorbed.
    Absorbed,
}

/// Why a response could not be sent on a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AlreadyFinal;

/// A server transaction.
#[derive(Debug)]
pub(crate) struct ServerTransaction {
    pub id: ServerTxId,
    pub state: ServerState,
    /// Where the request came from.
    pub source: Peer,
    /// Where responses go (§18.2.2, RFC 3581).
    pub response_peer: Peer,
    pub request: rsip::Request,
    pub key: ServerKey,
    /// Set while Accepted: the ACK for our 2xx comes with its own branch.
    pub ack_key: Option<AckKey>,
    pub timers: TimerTable,
    /// The To tag of our last response, reused when answering a CANCEL.
    pub local_tag: Option<String>,
    invite: bool,
    last_response: Option<(Bytes, u16)>,
    backoff: Backoff,
    acked: bool,
}

impl ServerTransaction {
    /// A transaction for a new request; INVITE arms the 100 Trying timer.
    pub(crate) fn new(
        id: ServerTxId,
        request: rsip::Request,
        source: Peer,
        response_peer: Peer,
        key: ServerKey,
        trying_at: Instant,
    ) -> Self {
        let invite = request.method == rsip::Method::Invite;
        let mut timers = TimerTable::default();
        if invite {
            timers.set(Timer::Trying, trying_at);
        }
        ServerTransaction {
            id,
            state: ServerState::Proceeding,
            source,
            response_peer,
            request,
            key,
            ack_key: None,
            timers,
            local_tag: None,
            invite,
            last_response: None,
            backoff: Backoff::default(),
            acked: false,
        }
    }

    /// Whether no final response was sent yet.
    pub(crate) fn is_pending(&self) -> bool {
        self.state == ServerState::Proceeding
    }

    /// Whether the TU has sent nothing yet (the endpoint then sends 100 Trying).
    pub(crate) fn is_silent(&self) -> bool {
        self.state == ServerState::Proceeding && self.last_response.is_none()
    }

    /// Sends a response from the TU (or the endpoint).
    pub(crate) fn respond(
        &mut self,
        now: Instant,
        response: &rsip::Response,
        s: &TimerSettings,
        out: &mut Outbox,
    ) -> Result<(), AlreadyFinal> {
        if self.state != ServerState::Proceeding {
            return Err(AlreadyFinal);
        }
        let code = response.status_code.code();
        let payload = wire::encode_response(response);
        out.send(
            self.response_peer,
            payload.clone(),
            Sent::Response(code),
            false,
        );
        self.last_response = Some((payload, code));
        if let Some(tag) = to_tag(&response.headers) {
            self.local_tag = Some(tag.to_owned());
        }
        self.timers.stop(Timer::Trying);
        let unreliable = !self.response_peer.transport.is_reliable();
        match (code, self.invite) {
            (..=199, _) => {}
            (200..=299, true) => {
                self.state = ServerState::Accepted;
                self.ack_key = AckKey::of(&self.request.headers);
                self.start_retransmitting(now, s, unreliable);
                self.timers.set(Timer::Timeout, now + s.timeout());
            }
            (_, true) => {
                self.state = ServerState::Completed;
                self.start_retransmitting(now, s, unreliable);
                self.timers.set(Timer::Timeout, now + s.timeout());
            }
            (_, false) => {
                self.state = ServerState::Completed;
                if unreliable {
                    self.linger_until(now + s.timeout());
                } else {
                    self.terminate();
                }
            }
        }
        Ok(())
    }

    /// The request arrived again: re-send the last response, if any.
    pub(crate) fn on_request_retransmit(&mut self, out: &mut Outbox) {
        let resend = match self.state {
            ServerState::Proceeding | ServerState::Completed => true,
            ServerState::Accepted => !self.acked,
            ServerState::Confirmed | ServerState::Terminated => false,
        };
        if let (true, Some((payload, code))) = (resend, &self.last_response) {
            out.send(
                self.response_peer,
                payload.clone(),
                Sent::Response(*code),
                true,
            );
        }
    }

    /// An ACK matched this INVITE transaction.
    pub(crate) fn on_ack(&mut self, now: Instant, s: &TimerSettings) -> AckOutcome {
        match self.state {
            ServerState::Completed => {
                self.state = ServerState::Confirmed;
                self.timers.stop_all();
                if self.source.transport.is_reliable() {
                    self.terminate();
                } else {
                    self.linger_until(now + s.t4);
                }
                AckOutcome::Absorbed
            }
            ServerState::Accepted if !self.acked => {
                // Timer L keeps running to absorb ACK (and INVITE)
                // retransmissions, but nothing is left to report: it runs
                // on as a linger, so the transaction becomes evictable.
                self.acked = true;
                let timer_l = self.timers.get(Timer::Timeout);
                self.timers.stop(Timer::Retransmit);
                self.timers.stop(Timer::Timeout);
                if let Some(deadline) = timer_l {
                    self.linger_until(deadline);
                }
                AckOutcome::AcknowledgedSuccess
            }
            _ => AckOutcome::Absorbed,
        }
    }

    /// A deadline of this transaction passed (Trying is the endpoint's).
    pub(crate) fn on_timer(
        &mut self,
        timer: Timer,
        now: Instant,
        s: &TimerSettings,
        out: &mut Outbox,
    ) {
        match timer {
            Timer::Retransmit => {
                let due = self.state == ServerState::Completed
                    || (self.state == ServerState::Accepted && !self.acked);
                if let (true, Some((payload, code))) = (due, &self.last_response) {
                    out.send(
                        self.response_peer,
                        payload.clone(),
                        Sent::Response(*code),
                        true,
                    );
                    self.backoff.next(&mut self.timers, Some(s.t2), now);
                }
            }
            Timer::Timeout => {
                let unacked = self.state == ServerState::Completed
                    || (self.state == ServerState::Accepted && !self.acked);
                self.terminate();
                if unacked {
                    out.events
                        .push_back(EndpointEvent::AckTimeout { tx: self.id });
                }
            }
            Timer::Linger => self.terminate(),
            Timer::Trying => {}
        }
    }

    /// Whether the endpoint should drop this transaction.
    pub(crate) fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }

    /// Arms the linger timer: from now on the transaction only absorbs
    /// retransmissions (re-sending `last_response`), so the parsed request,
    /// by far its largest part, is dropped; the method stays for the counters.
    fn linger_until(&mut self, deadline: Instant) {
        self.timers.set(Timer::Linger, deadline);
        self.request = rsip::Request {
            method: self.request.method,
            uri: rsip::Uri::default(),
            version: rsip::Version::V2,
            headers: rsip::Headers::default(),
            body: Vec::new(),
        };
    }

    fn terminate(&mut self) {
        self.state = ServerState::Terminated;
        self.timers.stop_all();
    }

    fn start_retransmitting(&mut self, now: Instant, s: &TimerSettings, unreliable: bool) {
        if unreliable {
            self.backoff.start(&mut self.timers, s.t1, now);
        }
    }
}
