//! Requests we receive, other than a new INVITE: in-dialog requests (BYE,
//! re-INVITE, UPDATE, INFO, OPTIONS), out-of-dialog OPTIONS, ACK, and what
//! we refuse.
//!
//! Methods the message layer knows but we do not serve (REGISTER,
//! SUBSCRIBE, NOTIFY, MESSAGE, REFER, PUBLISH) get 405 with Allow: the
//! method exists, this endpoint just does not take it, and Allow tells the
//! peer what it does take. 501 stays what the message layer answers to
//! methods it does not recognise at all.

use crate::leg::Side;
use crate::sipmsg::{self, SDP, SdpBody};
use crate::switch::Switch;
use std::time::Instant;
use switchd_control::{EventKind, HangupCause, LegState};
use switchd_sip::dialog::{dialog_id_of_request, response_to};
use switchd_sip::rsip::headers::UntypedHeader;
use switchd_sip::rsip::{self, Header, Method};
use switchd_sip::sdp::{Direction, LocalMedia};
use switchd_sip::{Peer, ServerTxId};

impl Switch {
    pub(crate) fn on_request(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        request: rsip::Request,
        peer: Peer,
    ) {
        if let Some(dialog_id) = dialog_id_of_request(&request) {
            match self.dialogs.get(&dialog_id).cloned() {
                Some(leg) => self.on_in_dialog(now, tx, &leg, request),
                None => self.respond_status(now, tx, &request, 481, Vec::new()),
            }
            return;
        }
        match request.method {
            Method::Invite => self.on_invite(now, tx, request, peer),
            Method::Options => {
                let extra = self.capability_headers();
                self.respond_status(now, tx, &request, 200, extra);
            }
            // They only make sense inside a dialog or transaction we do not have.
            Method::Bye | Method::Cancel | Method::Info | Method::Update | Method::PRack => {
                self.respond_status(now, tx, &request, 481, Vec::new());
            }
            _ => {
                let allow = self.allow_header();
                self.respond_status(now, tx, &request, 405, vec![allow]);
            }
        }
    }

    /// Allow, Accept and Supported, for OPTIONS answers (RFC 3261 §11.2).
    fn capability_headers(&self) -> Vec<Header> {
        vec![
            self.allow_header(),
            Header::Accept(rsip::headers::Accept::new(SDP)),
            // No option tags: we support none of the extensions (100rel, timer…).
            Header::Supported(rsip::headers::Supported::new("")),
        ]
    }

    fn on_in_dialog(&mut self, now: Instant, tx: ServerTxId, id: &str, request: rsip::Request) {
        let Some(leg) = self.leg_mut(id) else {
            self.respond_status(now, tx, &request, 481, Vec::new());
            return;
        };
        let Some(dialog) = leg.dialog.as_mut() else {
            self.respond_status(now, tx, &request, 481, Vec::new());
            return;
        };
        if dialog.handle_remote_request(&request).is_err() {
            self.respond_status(now, tx, &request, 500, Vec::new());
            return;
        }
        match request.method {
            Method::Bye => self.on_bye(now, tx, id, &request),
            Method::Invite => self.on_reinvite(now, tx, id, &request),
            Method::Update => self.on_update(now, tx, id, &request),
            Method::Options => self.respond_status(now, tx, &request, 200, Vec::new()),
            Method::Info => self.on_info(now, tx, id, &request),
            // We never send reliable provisionals, so no PRACK can match.
            Method::PRack => self.respond_status(now, tx, &request, 481, Vec::new()),
            _ => {
                let allow = self.allow_header();
                self.respond_status(now, tx, &request, 405, vec![allow]);
            }
        }
    }

    fn on_bye(&mut self, now: Instant, tx: ServerTxId, id: &str, request: &rsip::Request) {
        self.respond_status(now, tx, request, 200, Vec::new());
        // A BYE in an early dialog also ends the INVITE we have not answered.
        let pending = self.legs.get_mut(id).and_then(|l| {
            let tag = l.local_tag.clone();
            match &mut l.side {
                Side::Inbound(call) => call
                    .tx
                    .take()
                    .map(|tx| (tx, response_to(&call.invite, 487, Some(&tag)))),
                Side::Outbound(_) => None,
            }
        });
        if let Some((invite_tx, response)) = pending {
            self.respond(now, invite_tx, response);
        }
        // BYEs crossing: ours said why the call ends.
        let cause = self
            .legs
            .get(id)
            .and_then(|l| l.ending_cause)
            .unwrap_or(HangupCause::NormalClearing);
        self.finish(now, id, cause, Some(200));
    }

    /// A re-INVITE: hold, unhold or a new media address. Answered from our
    /// SDP session; without an offer we offer in the 2xx and take the
    /// answer from the ACK.
    fn on_reinvite(&mut self, now: Instant, tx: ServerTxId, id: &str, request: &rsip::Request) {
        let glare = self.legs.get(id).is_some_and(|l| {
            l.state != LegState::Answered
                || matches!(&l.side, Side::Inbound(call) if call.awaiting_ack)
                || l.reinvite_tx.is_some()
        });
        if glare {
            // RFC 3261 §14.2: an INVITE of ours (or its ACK) is still pending.
            self.respond_status(now, tx, request, 491, Vec::new());
            return;
        }
        if let Some(response) = self.media_response(now, id, request) {
            let is_ok = sipmsg::status(&response) == 200;
            self.respond(now, tx, response);
            self.media_negotiated(now, id);
            if is_ok && let Some(leg) = self.legs.get_mut(id) {
                leg.reinvite_tx = Some(tx);
                self.server_txs.insert(tx, id.to_owned());
            }
        }
    }

    fn on_update(&mut self, now: Instant, tx: ServerTxId, id: &str, request: &rsip::Request) {
        let has_body = !matches!(
            sipmsg::sdp_of(&request.headers, &request.body),
            SdpBody::None
        );
        if !has_body {
            self.respond_status(now, tx, request, 200, Vec::new());
            return;
        }
        if let Some(response) = self.media_response(now, id, request) {
            self.respond(now, tx, response);
            self.media_negotiated(now, id);
        }
    }

    /// The response to a session-modifying request: 200 with our answer
    /// (or our offer when it had none), 488 when it cannot be answered.
    fn media_response(
        &mut self,
        now: Instant,
        id: &str,
        request: &rsip::Request,
    ) -> Option<rsip::Response> {
        let local = self.local_media(id)?;
        let contact = self.leg_contact(id)?;
        let leg = self.legs.get_mut(id)?;
        let body = match sipmsg::sdp_of(&request.headers, &request.body) {
            SdpBody::Sdp(offer) => match leg.sdp.answer(&offer, &local) {
                Ok((answer, negotiated)) => {
                    leg.media = Some(negotiated);
                    answer.to_bytes()
                }
                Err(_) => return Some(response_to(request, 488, None)),
            },
            SdpBody::None => {
                leg.awaiting_ack_answer = true;
                leg.sdp.create_offer(&local).to_bytes()
            }
            SdpBody::NotSdp | SdpBody::Malformed => return Some(response_to(request, 488, None)),
        };
        let _ = now;
        let mut response = response_to(request, 200, None);
        response
            .headers
            .push(Header::Contact(rsip::headers::Contact::new(format!(
                "<{contact}>"
            ))));
        sipmsg::set_body(&mut response.headers, &mut response.body, Some((SDP, body)));
        Some(response)
    }

    /// Our media for a leg: the advertised address towards its peer and its RTP port.
    pub(crate) fn local_media(&self, id: &str) -> Option<LocalMedia> {
        let leg = self.legs.get(id)?;
        let address = self.local_address(leg.peer.as_ref()?)?.ip();
        Some(LocalMedia {
            address,
            port: leg.rtp_port?,
            codecs: crate::CODECS.to_vec(),
            direction: Direction::SendRecv,
            ptime_ms: crate::PTIME_MS,
        })
    }

    /// Our Contact URI in a leg's dialog.
    fn leg_contact(&self, id: &str) -> Option<rsip::Uri> {
        let leg = self.legs.get(id)?;
        let peer = leg.peer?;
        Some(sipmsg::contact_uri(
            None,
            self.local_address(&peer)?,
            peer.transport,
        ))
    }

    /// A CANCEL matched a pending INVITE of ours: 487 and `originator_cancel`.
    pub(crate) fn on_cancelled(&mut self, now: Instant, tx: ServerTxId) {
        let Some(id) = self.server_txs.get(&tx).cloned() else {
            return;
        };
        let Some(leg) = self.leg_mut(&id) else { return };
        let tag = leg.local_tag.clone();
        let Side::Inbound(call) = &mut leg.side else {
            return;
        };
        if call.tx != Some(tx) {
            return;
        }
        call.tx = None;
        let response = response_to(&call.invite, 487, Some(&tag));
        self.server_txs.remove(&tx);
        self.respond(now, tx, response);
        self.finish(now, &id, HangupCause::OriginatorCancel, Some(487));
    }

    /// An ACK: the initial INVITE's completes the answer (`leg.answered`);
    /// one carrying SDP completes an offer we made in a 2xx.
    pub(crate) fn on_ack(&mut self, now: Instant, tx: Option<ServerTxId>, request: &rsip::Request) {
        let id = tx
            .and_then(|tx| self.server_txs.remove(&tx))
            .or_else(|| dialog_id_of_request(request).and_then(|d| self.dialogs.get(&d).cloned()));
        let Some(id) = id else { return };
        if self
            .legs
            .get(&id)
            .is_some_and(|l| l.state == LegState::Ending)
            && let Some(cause) = self.end_ack_wait(&id)
        {
            self.send_bye(now, &id, cause);
            return;
        }
        let Some(leg) = self.leg_mut(&id) else { return };
        if tx.is_some() && leg.reinvite_tx == tx {
            leg.reinvite_tx = None;
        }
        let mut media_failed = false;
        if leg.awaiting_ack_answer {
            leg.awaiting_ack_answer = false;
            match sipmsg::sdp_of(&request.headers, &request.body) {
                SdpBody::Sdp(answer) => match leg.sdp.accept_answer(&answer) {
                    Ok(negotiated) => leg.media = Some(negotiated),
                    Err(_) => media_failed = leg.media.is_none(),
                },
                _ => media_failed = leg.media.is_none(),
            }
        }
        let first_ack = match &mut leg.side {
            Side::Inbound(call)
                if call.awaiting_ack && (tx.is_none() || tx == call.answered_tx) =>
            {
                call.awaiting_ack = false;
                true
            }
            _ => false,
        };
        self.media_negotiated(now, &id);
        if media_failed {
            self.send_bye(now, &id, HangupCause::IncompatibleDestination);
        } else if first_ack {
            self.events.push_back(EventKind::Answered { leg: id });
        }
    }
}
