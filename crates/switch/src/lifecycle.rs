//! How legs end: hangup in any state, BYE, CANCEL, and the single
//! `leg.hungup` each leg emits.

use crate::leg::{Leg, Side};
use crate::sipmsg;
use crate::switch::{ClientPurpose, Switch};
use crate::timers::TimerKey;
use std::time::Instant;
use switchd_control::{EventKind, HangupCause, LegState};
use switchd_sip::dialog::{response_to, uri_ip};
use switchd_sip::rsip::headers::UntypedHeader;
use switchd_sip::rsip::{self, Header};
use switchd_sip::{Peer, ServerTxId};

impl Switch {
    /// Ends a live leg the way its state calls for: an unanswered inbound
    /// leg is refused with 480 (the caller may try again later; a decline
    /// is what `reject` is for), an unanswered outbound one is cancelled, an
    /// answered one gets BYE. Legs already ending are left alone.
    pub(crate) fn end_leg(&mut self, now: Instant, id: &str, cause: HangupCause) {
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        if matches!(leg.state, LegState::Ending | LegState::Ended) {
            return;
        }
        let answered = leg.state == LegState::Answered;
        if let Side::Inbound(call) = &mut leg.side
            && answered
            && call.awaiting_ack
        {
            // RFC 3261 §15: no BYE before the ACK of our 2xx (or its timeout).
            call.bye_on_ack = true;
            leg.state = LegState::Ending;
            leg.ending_cause = Some(cause);
            self.timers.cancel(&TimerKey::MaxDuration(id.to_owned()));
            return;
        }
        match &mut leg.side {
            Side::Inbound(call) if !answered => {
                let tx = call.tx.take();
                let response = response_to(&call.invite, 480, Some(&leg.local_tag));
                if let Some(tx) = tx {
                    self.respond(now, tx, response);
                }
                self.finish(now, id, cause, Some(480));
            }
            Side::Outbound(call) if !answered => match call.tx {
                Some(tx) => {
                    call.cancelled = true;
                    leg.state = LegState::Ending;
                    leg.ending_cause = Some(cause);
                    self.timers.cancel(&TimerKey::Ring(id.to_owned()));
                    match self.endpoint.cancel(now, tx) {
                        Ok(cancel) => {
                            call.cancel_tx = Some(cancel);
                            self.client_txs.insert(cancel, ClientPurpose::Fire);
                        }
                        Err(_) => self.finish(now, id, cause, None),
                    }
                }
                None => self.finish(now, id, cause, None),
            },
            _ => self.send_bye(now, id, cause),
        }
    }

    /// Sends BYE in the leg's dialog; the leg is `ending` until its answer.
    pub(crate) fn send_bye(&mut self, now: Instant, id: &str, cause: HangupCause) {
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        let fallback = leg.peer;
        let Some(dialog) = leg.dialog.as_mut() else {
            self.finish(now, id, cause, None);
            return;
        };
        let (request, next_hop) = dialog.make_request(rsip::Method::Bye, None);
        leg.state = LegState::Ending;
        leg.ending_cause = Some(cause);
        self.timers.cancel(&TimerKey::MaxDuration(id.to_owned()));
        let Some(peer) = hop_peer(&next_hop, fallback) else {
            self.finish(now, id, cause, None);
            return;
        };
        match self.endpoint.send_request(now, request, peer) {
            Ok(tx) => {
                self.client_txs
                    .insert(tx, ClientPurpose::Bye(id.to_owned()));
                if let Some(leg) = self.legs.get_mut(id) {
                    leg.bye_tx = Some(tx);
                }
            }
            Err(_) => self.finish(now, id, cause, None),
        }
    }

    /// Our BYE got its final response (`None`: it timed out).
    pub(crate) fn on_bye_done(&mut self, now: Instant, id: &str, status: Option<u16>) {
        let cause = self
            .legs
            .get(id)
            .and_then(|l| l.ending_cause)
            .unwrap_or(HangupCause::NormalClearing);
        self.finish(now, id, cause, status);
    }

    /// An INVITE server transaction never saw the ACK for our 2xx: the
    /// dialog is dead (RFC 3261 §13.3.1.4), end it with BYE.
    pub(crate) fn on_ack_timeout(&mut self, now: Instant, tx: ServerTxId) {
        if let Some(id) = self.server_txs.remove(&tx) {
            if let Some(cause) = self.end_ack_wait(&id) {
                self.send_bye(now, &id, cause);
            } else {
                self.end_leg(now, &id, HangupCause::RecoveryOnTimerExpire);
            }
        }
    }

    /// The wait for the ACK of an inbound leg's 2xx is over (ACK or
    /// timeout). For a leg hung up meanwhile, returns the cause its BYE is
    /// to carry.
    pub(crate) fn end_ack_wait(&mut self, id: &str) -> Option<HangupCause> {
        let leg = self.legs.get_mut(id)?;
        let Side::Inbound(call) = &mut leg.side else {
            return None;
        };
        call.awaiting_ack = false;
        std::mem::take(&mut call.bye_on_ack)
            .then(|| leg.ending_cause.unwrap_or(HangupCause::NormalClearing))
    }

    /// The leg is over: emits its one `leg.hungup` and drops everything
    /// keyed by it except the leg itself, kept for `ended_leg_retention`.
    pub(crate) fn finish(
        &mut self,
        now: Instant,
        id: &str,
        cause: HangupCause,
        sip_status: Option<u16>,
    ) {
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        if leg.state == LegState::Ended {
            return;
        }
        leg.state = LegState::Ended;
        leg.ended = Some(now);
        leg.cause = Some(cause);
        leg.sip_status = sip_status;
        let event = EventKind::Hungup {
            leg: id.to_owned(),
            cause,
            sip_status,
            ring_ms: leg.ring_ms(now),
            talk_ms: leg.talk_ms(now),
        };
        if let Some(port) = leg.rtp_port {
            self.ports.release(port);
        }
        let had_dialog = leg.dialog.is_some();
        if let Some(dialog) = leg.dialog.take() {
            self.dialogs.remove(dialog.id());
        }
        if let Some(tx) = leg.bye_tx.take() {
            self.client_txs.remove(&tx);
        }
        match &mut leg.side {
            Side::Inbound(call) => {
                for tx in [call.tx.take(), call.answered_tx.take()]
                    .into_iter()
                    .flatten()
                {
                    self.server_txs.remove(&tx);
                }
            }
            Side::Outbound(call) => {
                if let Some(tx) = call.cancel_tx.take() {
                    self.client_txs.remove(&tx);
                }
                let unanswered_invite = call.invite.take().filter(|_| !had_dialog);
                match (call.tx.take(), unanswered_invite) {
                    (Some(tx), Some(invite)) if self.client_txs.contains_key(&tx) => {
                        let orphan = Box::new((invite, leg.peer));
                        self.client_txs.insert(tx, ClientPurpose::Orphan(orphan));
                    }
                    (Some(tx), _) => {
                        self.client_txs.remove(&tx);
                    }
                    (None, _) => {}
                }
                if let Some(token) = call.resolve_token.take() {
                    self.resolving.remove(&token);
                }
            }
        }
        if let Some(tx) = leg.reinvite_tx.take() {
            self.server_txs.remove(&tx);
        }
        for key in [
            TimerKey::Ring(id.to_owned()),
            TimerKey::MaxDuration(id.to_owned()),
            TimerKey::Park(id.to_owned()),
        ] {
            self.timers.cancel(&key);
        }
        self.media_leg_ended(now, id);
        self.live_legs = self.live_legs.saturating_sub(1);
        self.counters.count_hangup(cause);
        self.ended.push_back((now, id.to_owned()));
        self.events.push_back(event);
        self.forget_ended(now);
    }

    /// Sends a response on a server transaction; a refusal (the transaction
    /// is gone) is counted, not fatal.
    pub(crate) fn respond(&mut self, now: Instant, tx: ServerTxId, response: rsip::Response) {
        if self.endpoint.respond(now, tx, response).is_err() {
            self.counters.sip_send_failures += 1;
        }
    }

    /// Answers `request` with a bodiless `status`, plus `extra` headers.
    pub(crate) fn respond_status(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &rsip::Request,
        status: u16,
        extra: Vec<Header>,
    ) {
        let mut response = response_to(request, status, None);
        for header in extra {
            response.headers.push(header);
        }
        self.respond(now, tx, response);
    }

    /// The Allow header listing what we handle.
    pub(crate) fn allow_header(&self) -> Header {
        let methods: Vec<String> = crate::ALLOWED.iter().map(ToString::to_string).collect();
        Header::Allow(rsip::headers::Allow::new(methods.join(", ")))
    }

    /// The leg of a live dialog.
    pub(crate) fn leg_mut(&mut self, id: &str) -> Option<&mut Leg> {
        self.legs
            .get_mut(id)
            .filter(|l| l.is_live())
            .map(|l| &mut **l)
    }
}

/// Where to send a request whose next hop is `uri`: the URI's address
/// when it is an IP literal, else where the dialog's first request went
/// (names in Contact would need a resolve for every BYE; the peer that
/// sent or took the INVITE is the better guess behind NAT anyway).
pub(crate) fn hop_peer(uri: &rsip::Uri, fallback: Option<Peer>) -> Option<Peer> {
    let Some(ip) = uri_ip(uri) else {
        return fallback;
    };
    let transport = sipmsg::uri_transport(uri)
        .or(fallback.map(|p| p.transport))
        .unwrap_or(switchd_sip::Transport::Udp);
    let local = fallback
        .filter(|p| p.transport == transport)
        .and_then(|p| p.local);
    Some(Peer {
        transport,
        remote: std::net::SocketAddr::new(ip, sipmsg::uri_port(uri)),
        local,
    })
}
