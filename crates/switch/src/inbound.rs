//! Inbound calls: a new INVITE is refused, answered or parked by the
//! routes; a parked one waits for `ring`, `answer`, `reject` or `hangup`.

use crate::RouteAction;
use crate::error::SwitchError;
use crate::leg::{InboundCall, Leg, Side, state_name};
use crate::routing;
use crate::sipmsg::{self, SDP, SdpBody};
use crate::switch::Switch;
use crate::timers::TimerKey;
use std::time::Instant;
use switchd_control::{EventKind, HangupCause, LegState};
use switchd_sip::dialog::{Dialog, HeaderKind, NameAddr, first_value, new_tag, response_to};
use switchd_sip::rsip::headers::UntypedHeader;
use switchd_sip::rsip::{self, Header};
use switchd_sip::{Peer, ServerTxId};

/// Retry-After (seconds) when we are full: a moment is enough.
const RETRY_AFTER_FULL: u32 = 5;
/// Retry-After (seconds) while draining: the restart takes longer.
const RETRY_AFTER_DRAINING: u32 = 30;

impl Switch {
    pub(crate) fn on_invite(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: rsip::Request,
        peer: Peer,
    ) {
        if self.draining {
            self.counters.inbound_refused += 1;
            return self.refuse_busy(now, tx, &request, RETRY_AFTER_DRAINING);
        }
        if self.live_legs >= self.settings.max_legs {
            self.counters.limit_rejections += 1;
            return self.refuse_busy(now, tx, &request, RETRY_AFTER_FULL);
        }
        let user = sipmsg::uri_user(&request.uri).to_owned();
        let host = sipmsg::uri_host(&request.uri);
        let action = match routing::route(&self.routes, &user, &host) {
            None => {
                self.counters.inbound_refused += 1;
                return self.respond_status(now, tx, &request, 404, Vec::new());
            }
            Some(RouteAction::Reject { status }) => {
                let status = if (400..=699).contains(status) {
                    *status
                } else {
                    603
                };
                self.counters.inbound_refused += 1;
                return self.respond_status(now, tx, &request, status, Vec::new());
            }
            Some(action) => action.clone(),
        };
        let offer = match sipmsg::sdp_of(&request.headers, &request.body) {
            SdpBody::None => None,
            SdpBody::Sdp(offer) => Some(offer),
            SdpBody::NotSdp => {
                self.counters.inbound_refused += 1;
                let accept = Header::Accept(rsip::headers::Accept::new(SDP));
                return self.respond_status(now, tx, &request, 415, vec![accept]);
            }
            SdpBody::Malformed => {
                self.counters.inbound_refused += 1;
                return self.respond_status(now, tx, &request, 400, Vec::new());
            }
        };
        let Some(local) = self.local_address(&peer) else {
            return self.refuse_busy(now, tx, &request, RETRY_AFTER_FULL);
        };
        let tag = new_tag();
        let contact = sipmsg::contact_uri(None, local, peer.transport);
        let Ok(dialog) = Dialog::new_uas(&request, &tag, &contact) else {
            self.counters.inbound_refused += 1;
            return self.respond_status(now, tx, &request, 400, Vec::new());
        };
        let Some(port) = self.allocate_rtp_port(now) else {
            self.counters.limit_rejections += 1;
            return self.refuse_busy(now, tx, &request, RETRY_AFTER_FULL);
        };
        let id = self.new_leg_id();
        let from = first_value(&request.headers, HeaderKind::From)
            .and_then(|f| NameAddr::parse(f).ok())
            .map_or_else(String::new, |n| n.uri);
        self.dialogs.insert(dialog.id().clone(), id.clone());
        let side = Side::Inbound(Box::new(InboundCall {
            tx: Some(tx),
            invite: request.clone(),
            offer,
            early_answer: None,
            awaiting_ack: false,
            bye_on_ack: false,
            answered_tx: None,
        }));
        let leg = Leg {
            from,
            to: request.uri.to_string(),
            call_id: dialog.id().call_id.clone(),
            peer: Some(peer),
            local_tag: tag,
            dialog: Some(dialog),
            ..Leg::new(id.clone(), side, LegState::Trying, now, port)
        };
        self.legs.insert(id.clone(), Box::new(leg));
        self.media_port_allocated(now, &id, port);
        self.server_txs.insert(tx, id.clone());
        self.live_legs += 1;
        self.counters.calls_inbound += 1;
        match action {
            RouteAction::Park => {
                self.timers
                    .set(TimerKey::Park(id.clone()), now + self.settings.park_timeout);
                if let Some(leg) = self.legs.get(&id) {
                    self.events
                        .push_back(EventKind::Incoming { leg: leg.info(now) });
                }
            }
            RouteAction::Echo => {
                if let Some(audio) = self.media.legs.get_mut(&id) {
                    audio.echo_on_media = true;
                }
                self.answer_inbound(now, &id);
            }
            _ => self.answer_inbound(now, &id),
        }
    }

    fn refuse_busy(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: &rsip::Request,
        retry_after: u32,
    ) {
        let header = Header::RetryAfter(rsip::headers::RetryAfter::new(retry_after.to_string()));
        self.respond_status(now, tx, request, 503, vec![header]);
    }

    /// The pending INVITE of an unanswered inbound leg, or why there is none.
    fn pending_inbound(&self, id: &str, command: &'static str) -> Result<ServerTxId, SwitchError> {
        let leg = self
            .legs
            .get(id)
            .ok_or_else(|| SwitchError::UnknownLeg { leg: id.to_owned() })?;
        match &leg.side {
            Side::Inbound(call) if leg.is_live() && leg.state != LegState::Answered => {
                call.tx.ok_or(SwitchError::InvalidState {
                    leg: id.to_owned(),
                    state: state_name(leg.state),
                    command,
                })
            }
            _ => Err(SwitchError::InvalidState {
                leg: id.to_owned(),
                state: state_name(leg.state),
                command,
            }),
        }
    }

    /// Answers an inbound leg: 200 with our SDP answer, or with an offer
    /// when the INVITE had none (the answer then comes in the ACK).
    pub(crate) fn answer_inbound(&mut self, now: Instant, id: &str) {
        let Ok(tx) = self.pending_inbound(id, "answer") else {
            return;
        };
        let Some(local) = self.local_media(id) else {
            return self.reject_inbound(now, id, 500, HangupCause::NormalTemporaryFailure);
        };
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        let Side::Inbound(call) = &mut leg.side else {
            return;
        };
        let body = match (&call.early_answer, &call.offer) {
            (Some(early), _) => early.clone(),
            (None, Some(offer)) => match leg.sdp.answer(offer, &local) {
                Ok((answer, negotiated)) => {
                    leg.media = Some(negotiated);
                    answer.to_bytes()
                }
                Err(_) => {
                    return self.reject_inbound(now, id, 488, HangupCause::IncompatibleDestination);
                }
            },
            (None, None) => {
                leg.awaiting_ack_answer = true;
                leg.sdp.create_offer(&local).to_bytes()
            }
        };
        let mut response = invite_response(&call.invite, 200, &leg.local_tag, leg.dialog.as_ref());
        sipmsg::set_body(&mut response.headers, &mut response.body, Some((SDP, body)));
        call.tx = None;
        call.answered_tx = Some(tx);
        call.awaiting_ack = true;
        leg.state = LegState::Answered;
        leg.answered = Some(now);
        if let Some(dialog) = leg.dialog.as_mut() {
            dialog.confirm();
        }
        self.timers.cancel(&TimerKey::Park(id.to_owned()));
        self.respond(now, tx, response);
        self.media_negotiated(now, id);
    }

    /// `ring`: 180, or 183 with our SDP answer (early media).
    pub(crate) fn ring_inbound(
        &mut self,
        now: Instant,
        id: &str,
        status: u16,
    ) -> Result<(), SwitchError> {
        if status != 180 && status != 183 {
            return Err(SwitchError::invalid(
                "status",
                format!("{status}: ring takes 180 or 183"),
            ));
        }
        let tx = self.pending_inbound(id, "ring")?;
        let local = self.local_media(id);
        let Some(leg) = self.legs.get_mut(id) else {
            return Err(SwitchError::UnknownLeg { leg: id.to_owned() });
        };
        let Side::Inbound(call) = &mut leg.side else {
            return Err(SwitchError::InvalidState {
                leg: id.to_owned(),
                state: state_name(leg.state),
                command: "ring",
            });
        };
        let mut response =
            invite_response(&call.invite, status, &leg.local_tag, leg.dialog.as_ref());
        let event = if status == 183 {
            let (Some(offer), Some(local)) = (&call.offer, local) else {
                return Err(SwitchError::InvalidState {
                    leg: id.to_owned(),
                    state: "without an SDP offer",
                    command: "ring 183",
                });
            };
            let body = match &call.early_answer {
                Some(body) => body.clone(),
                None => {
                    let (answer, negotiated) = leg.sdp.answer(offer, &local).map_err(|e| {
                        SwitchError::invalid("status", format!("183 impossible: {e}"))
                    })?;
                    leg.media = Some(negotiated);
                    answer.to_bytes()
                }
            };
            call.early_answer = Some(body.clone());
            sipmsg::set_body(&mut response.headers, &mut response.body, Some((SDP, body)));
            leg.state = LegState::Early;
            EventKind::EarlyMedia { leg: id.to_owned() }
        } else {
            leg.state = LegState::Ringing;
            EventKind::Ringing { leg: id.to_owned() }
        };
        leg.ring_started.get_or_insert(now);
        self.events.push_back(event);
        self.respond(now, tx, response);
        self.media_negotiated(now, id);
        Ok(())
    }

    /// Refuses an unanswered inbound leg with `status` and ends it.
    pub(crate) fn reject_inbound(
        &mut self,
        now: Instant,
        id: &str,
        status: u16,
        cause: HangupCause,
    ) {
        let Ok(tx) = self.pending_inbound(id, "reject") else {
            return;
        };
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        let Side::Inbound(call) = &mut leg.side else {
            return;
        };
        call.tx = None;
        let response = response_to(&call.invite, status, Some(&leg.local_tag));
        self.respond(now, tx, response);
        self.finish(now, id, cause, Some(status));
    }

    /// Checks that `command` applies to an unanswered inbound leg.
    pub(crate) fn check_pending_inbound(
        &self,
        id: &str,
        command: &'static str,
    ) -> Result<(), SwitchError> {
        self.pending_inbound(id, command).map(|_| ())
    }

    pub(crate) fn on_park_timeout(&mut self, now: Instant, id: &str) {
        if self.pending_inbound(id, "park").is_ok() {
            self.reject_inbound(now, id, 480, HangupCause::ParkTimeout);
        }
    }
}

/// A response to an inbound leg's INVITE with our tag and, once the dialog
/// exists, our Contact (RFC 3261 §12.1.1: 1xx and 2xx that make a dialog).
fn invite_response(
    invite: &rsip::Request,
    status: u16,
    local_tag: &str,
    dialog: Option<&Dialog>,
) -> rsip::Response {
    let mut response = response_to(invite, status, Some(local_tag));
    if let Some(dialog) = dialog {
        response
            .headers
            .push(Header::Contact(rsip::headers::Contact::new(format!(
                "<{}>",
                dialog.local_contact()
            ))));
    }
    response
}
