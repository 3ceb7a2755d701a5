//! Outbound legs after the INVITE left: provisional and final responses,
//! digest challenges, ring timeout, and the causes final responses map to.

use crate::leg::Side;
use crate::lifecycle::hop_peer;
use crate::sipmsg::{self, SdpBody};
use crate::switch::{ClientPurpose, Switch};
use crate::timers::TimerKey;
use std::time::Instant;
use switchd_control::{EventKind, HangupCause, LegState};
use switchd_sip::dialog::Dialog;
use switchd_sip::rsip;
use switchd_sip::{ClientTxId, Peer};

/// Challenges answered per call: a server that keeps challenging after
/// this is refusing us.
const MAX_AUTH_ATTEMPTS: u8 = 2;

/// The cause a final error response to our INVITE stands for.
pub(crate) fn cause_of_status(status: u16) -> HangupCause {
    match status {
        486 | 600 => HangupCause::UserBusy,
        480 => HangupCause::NoUserResponse,
        404 | 604 => HangupCause::UnallocatedNumber,
        401 | 403 | 407 | 603 => HangupCause::CallRejected,
        487 => HangupCause::OriginatorCancel,
        488 | 606 => HangupCause::IncompatibleDestination,
        408 => HangupCause::RecoveryOnTimerExpire,
        500..=599 => HangupCause::NormalTemporaryFailure,
        _ => HangupCause::CallFailed,
    }
}

impl Switch {
    pub(crate) fn on_invite_response(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        id: &str,
        response: rsip::Response,
    ) {
        let status = sipmsg::status(&response);
        match status {
            100..=199 => self.on_provisional(now, id, status, &response),
            200..=299 => self.on_invite_ok(now, tx, id, &response),
            401 | 407 if self.retry_with_credentials(now, tx, id, &response) => {}
            _ => {
                self.client_txs.remove(&tx);
                let Some(leg) = self.leg_mut(id) else { return };
                if let Side::Outbound(call) = &mut leg.side {
                    call.tx = None;
                }
                let cause = match (status, leg.ending_cause) {
                    (487, Some(cause)) => cause,
                    _ => cause_of_status(status),
                };
                self.finish(now, id, cause, Some(status));
            }
        }
    }

    fn on_provisional(&mut self, now: Instant, id: &str, status: u16, response: &rsip::Response) {
        let Some(leg) = self.leg_mut(id) else { return };
        if leg.state == LegState::Ending {
            return;
        }
        if status == 100 {
            if leg.state == LegState::New {
                leg.state = LegState::Trying;
                self.events
                    .push_back(EventKind::Trying { leg: id.to_owned() });
            }
            return;
        }
        leg.ring_started.get_or_insert(now);
        let early = match sipmsg::sdp_of(&response.headers, &response.body) {
            SdpBody::Sdp(answer) if leg.media.is_none() => match leg.sdp.accept_answer(&answer) {
                Ok(negotiated) => {
                    leg.media = Some(negotiated);
                    true
                }
                Err(_) => false,
            },
            _ => false,
        };
        if early {
            leg.state = LegState::Early;
            self.events
                .push_back(EventKind::EarlyMedia { leg: id.to_owned() });
            self.media_negotiated(now, id);
        } else if matches!(leg.state, LegState::New | LegState::Trying) {
            leg.state = LegState::Ringing;
            self.events
                .push_back(EventKind::Ringing { leg: id.to_owned() });
        }
    }

    /// A 2xx: ACK it, then the call is up; if we were cancelling, or it is
    /// a second fork, ACK and BYE it.
    fn on_invite_ok(&mut self, now: Instant, tx: ClientTxId, id: &str, response: &rsip::Response) {
        let Some(leg) = self.leg_mut(id) else { return };
        let fallback = leg.peer;
        let Side::Outbound(call) = &mut leg.side else {
            return;
        };
        let Some(invite) = call.invite.as_ref() else {
            return;
        };
        let Ok(mut dialog) = Dialog::new_uac(invite, response) else {
            // Without a usable To-tag or Contact there is nothing to ACK or BYE.
            self.client_txs.remove(&tx);
            return self.finish(
                now,
                id,
                HangupCause::CallFailed,
                Some(sipmsg::status(response)),
            );
        };
        let invite_cseq = sipmsg::cseq_number(&invite.headers).unwrap_or(1);
        let (ack, hop) = dialog.make_ack(invite_cseq);
        let Some(peer) = hop_peer(&hop, fallback) else {
            return;
        };
        if self.endpoint.send_ack(now, tx, ack, peer).is_err() {
            self.counters.sip_send_failures += 1;
        }
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        if leg.dialog.is_some() {
            // Another fork answered after the first: end that dialog at once.
            let (bye, hop) = dialog.make_request(rsip::Method::Bye, None);
            if let Some(peer) = hop_peer(&hop, fallback)
                && let Ok(bye_tx) = self.endpoint.send_request(now, bye, peer)
            {
                self.client_txs.insert(bye_tx, ClientPurpose::Fire);
            }
            return;
        }
        let sdp = sipmsg::sdp_of(&response.headers, &response.body);
        let media_ok = match sdp {
            SdpBody::Sdp(answer) => match leg.sdp.accept_answer(&answer) {
                Ok(negotiated) => {
                    leg.media = Some(negotiated);
                    true
                }
                Err(_) => leg.media.is_some(),
            },
            _ => leg.media.is_some(),
        };
        self.dialogs.insert(dialog.id().clone(), id.to_owned());
        leg.dialog = Some(dialog);
        self.timers.cancel(&TimerKey::Ring(id.to_owned()));
        if leg.state == LegState::Ending {
            // Our CANCEL crossed the 2xx: the call is up, so it needs a BYE.
            let cause = leg.ending_cause.unwrap_or(HangupCause::OriginatorCancel);
            return self.send_bye(now, id, cause);
        }
        leg.state = LegState::Answered;
        leg.answered = Some(now);
        let max_duration = match &leg.side {
            Side::Outbound(call) => call.max_duration,
            Side::Inbound(_) => None,
        };
        if !media_ok {
            return self.send_bye(now, id, HangupCause::IncompatibleDestination);
        }
        self.media_negotiated(now, id);
        if let Some(limit) = max_duration {
            self.timers
                .set(TimerKey::MaxDuration(id.to_owned()), now + limit);
        }
        self.events
            .push_back(EventKind::Answered { leg: id.to_owned() });
    }

    /// ACKs a 2xx nobody wants any more (the leg ended before it came) and
    /// ends its dialog with BYE, so the callee is not left in a call.
    pub(crate) fn ack_and_bye(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        invite: &rsip::Request,
        response: &rsip::Response,
        fallback: Option<Peer>,
    ) {
        let Ok(mut dialog) = Dialog::new_uac(invite, response) else {
            return;
        };
        let invite_cseq = sipmsg::cseq_number(&invite.headers).unwrap_or(1);
        let (ack, hop) = dialog.make_ack(invite_cseq);
        let acked = hop_peer(&hop, fallback)
            .is_some_and(|peer| self.endpoint.send_ack(now, tx, ack, peer).is_ok());
        let (bye, hop) = dialog.make_request(rsip::Method::Bye, None);
        let bye_tx = hop_peer(&hop, fallback)
            .and_then(|peer| self.endpoint.send_request(now, bye, peer).ok());
        if let Some(bye_tx) = bye_tx {
            self.client_txs.insert(bye_tx, ClientPurpose::Fire);
        }
        if !acked || bye_tx.is_none() {
            self.counters.sip_send_failures += 1;
        }
    }

    /// Answers a 401/407 with digest credentials as a new INVITE
    /// transaction; false when the call cannot (no credentials, too many
    /// attempts, or the same challenge again).
    fn retry_with_credentials(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        id: &str,
        response: &rsip::Response,
    ) -> bool {
        let credentials = self
            .legs
            .get(id)
            .and_then(|l| l.trunk.as_deref())
            .and_then(|name| self.trunks.credentials(name));
        let Some(credentials) = credentials else {
            return false;
        };
        let Some(leg) = self.leg_mut(id) else {
            return false;
        };
        if leg.state == LegState::Ending {
            return false;
        }
        let Some(peer) = leg.peer else { return false };
        let Side::Outbound(call) = &mut leg.side else {
            return false;
        };
        if call.auth_attempts >= MAX_AUTH_ATTEMPTS {
            return false;
        }
        let (Some(auth), Some(invite)) = (call.auth.as_mut(), call.invite.as_ref()) else {
            return false;
        };
        let Ok(retry) = auth.authorize(invite, response, &credentials) else {
            return false;
        };
        call.auth_attempts += 1;
        call.invite = Some(retry.clone());
        self.client_txs.remove(&tx);
        match self.endpoint.send_request(now, retry, peer) {
            Ok(new_tx) => {
                if let Some(Side::Outbound(call)) = self.legs.get_mut(id).map(|l| &mut l.side) {
                    call.tx = Some(new_tx);
                }
                self.client_txs
                    .insert(new_tx, ClientPurpose::Invite(id.to_owned()));
                true
            }
            Err(_) => {
                self.counters.sip_send_failures += 1;
                false
            }
        }
    }

    /// Timer B: no final response at all. After our CANCEL that is the
    /// cancel's outcome; otherwise the far end never answered at the SIP layer.
    pub(crate) fn on_invite_timeout(&mut self, now: Instant, id: &str) {
        let Some(leg) = self.leg_mut(id) else { return };
        if leg.state == LegState::Answered {
            return;
        }
        let cause = leg
            .ending_cause
            .unwrap_or(HangupCause::RecoveryOnTimerExpire);
        if let Side::Outbound(call) = &mut leg.side {
            call.tx = None;
        }
        self.finish(now, id, cause, None);
    }

    pub(crate) fn on_ring_timeout(&mut self, now: Instant, id: &str) {
        let ringing = self.legs.get(id).is_some_and(|l| {
            matches!(l.side, Side::Outbound(_))
                && matches!(
                    l.state,
                    LegState::New | LegState::Trying | LegState::Ringing | LegState::Early
                )
        });
        if ringing {
            self.end_leg(now, id, HangupCause::NoAnswer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_map_to_causes() {
        let cases = [
            (486, HangupCause::UserBusy),
            (600, HangupCause::UserBusy),
            (480, HangupCause::NoUserResponse),
            (404, HangupCause::UnallocatedNumber),
            (604, HangupCause::UnallocatedNumber),
            (403, HangupCause::CallRejected),
            (603, HangupCause::CallRejected),
            (488, HangupCause::IncompatibleDestination),
            (606, HangupCause::IncompatibleDestination),
            (408, HangupCause::RecoveryOnTimerExpire),
            (503, HangupCause::NormalTemporaryFailure),
            (500, HangupCause::NormalTemporaryFailure),
            (302, HangupCause::CallFailed),
            (415, HangupCause::CallFailed),
        ];
        for (status, cause) in cases {
            assert_eq!(cause_of_status(status), cause, "{status}");
        }
    }
}
