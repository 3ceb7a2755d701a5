//! A leg: one SIP call (an INVITE dialog) from our point of view, its
//! state, timestamps and media.

use std::time::{Duration, Instant};
use switchd_control::{HangupCause, LegDirection, LegInfo, LegState};
use switchd_sip::dialog::Dialog;
use switchd_sip::rsip;
use switchd_sip::sdp::{Codec, Negotiated, SdpSession, SessionDescription};
use switchd_sip::{ClientTxId, Peer, ServerTxId};

/// Inbound-only state: the INVITE we answer.
#[derive(Debug)]
pub(crate) struct InboundCall {
    /// The INVITE's server transaction, until a final response is sent.
    pub tx: Option<ServerTxId>,
    /// The INVITE, kept to build responses until the final one is sent.
    pub invite: rsip::Request,
    /// The caller's SDP offer, if the INVITE had one.
    pub offer: Option<Box<SessionDescription>>,
    /// The SDP answer sent in a 183, repeated in the 2xx.
    pub early_answer: Option<Vec<u8>>,
    /// The 2xx we sent has not been ACKed yet.
    pub awaiting_ack: bool,
    /// The tx of the 2xx still waiting for its ACK.
    pub answered_tx: Option<ServerTxId>,
    /// The leg was hung up while its 2xx waited for the ACK: the BYE goes
    /// out when the ACK comes, or when it never does (RFC 3261 §15).
    pub bye_on_ack: bool,
}

/// Outbound-only state: the INVITE we sent.
#[derive(Debug)]
pub(crate) struct OutboundCall {
    /// The INVITE's client transaction (the latest, after a digest retry).
    pub tx: Option<ClientTxId>,
    /// The INVITE as last sent, for digest retries and the dialog.
    pub invite: Option<rsip::Request>,
    /// What the INVITE is built from, until the next hop is known.
    pub plan: Option<Box<crate::originate::Plan>>,
    /// Digest state for challenges (trunk calls with credentials).
    pub auth: Option<switchd_sip::auth::DigestClient>,
    /// Challenges answered so far; bounded so a looping server cannot keep us busy.
    pub auth_attempts: u8,
    /// How long an answered call may last.
    pub max_duration: Option<Duration>,
    /// We sent CANCEL.
    pub cancelled: bool,
    /// Our CANCEL's client transaction (held by the endpoint until a
    /// provisional arrives, so it may never get an answer).
    pub cancel_tx: Option<ClientTxId>,
    /// The pending resolution of the next hop.
    pub resolve_token: Option<u64>,
    /// Transport and port of the next hop while its name is resolved.
    pub hop: Option<(switchd_sip::Transport, u16)>,
}

/// Which side started the leg, with that side's state.
#[derive(Debug)]
pub(crate) enum Side {
    /// An INVITE we received.
    Inbound(Box<InboundCall>),
    /// An INVITE we sent.
    Outbound(Box<OutboundCall>),
}

/// One leg.
#[derive(Debug)]
pub(crate) struct Leg {
    pub id: String,
    pub side: Side,
    pub state: LegState,
    pub from: String,
    pub to: String,
    pub call_id: String,
    pub trunk: Option<String>,
    /// Where in-dialog requests go when the remote target is a name.
    pub peer: Option<Peer>,
    pub local_tag: String,
    pub dialog: Option<Dialog>,
    pub sdp: SdpSession,
    pub rtp_port: Option<u16>,
    pub media: Option<Negotiated>,
    pub created: Instant,
    pub ring_started: Option<Instant>,
    pub answered: Option<Instant>,
    pub ended: Option<Instant>,
    pub cause: Option<HangupCause>,
    pub sip_status: Option<u16>,
    /// Why we are ending, reported once the CANCEL/BYE completes.
    pub ending_cause: Option<HangupCause>,
    /// Our BYE's client transaction.
    pub bye_tx: Option<ClientTxId>,
    /// We put an offer in a 2xx; the answer comes in the ACK.
    pub awaiting_ack_answer: bool,
    /// A re-INVITE we answered with 2xx, waiting for its ACK.
    pub reinvite_tx: Option<ServerTxId>,
}

impl Leg {
    /// A leg just created on `rtp_port`: no party, dialog, media, timestamps
    /// (beyond `created`) or pending requests yet; callers fill in the rest
    /// with struct-update syntax.
    pub(crate) fn new(
        id: String,
        side: Side,
        state: LegState,
        created: Instant,
        rtp_port: u16,
    ) -> Leg {
        Leg {
            id,
            side,
            state,
            from: String::new(),
            to: String::new(),
            call_id: String::new(),
            trunk: None,
            peer: None,
            local_tag: String::new(),
            dialog: None,
            sdp: SdpSession::new(rand::random()),
            rtp_port: Some(rtp_port),
            media: None,
            created,
            ring_started: None,
            answered: None,
            ended: None,
            cause: None,
            sip_status: None,
            ending_cause: None,
            bye_tx: None,
            awaiting_ack_answer: false,
            reinvite_tx: None,
        }
    }

    pub(crate) fn direction(&self) -> LegDirection {
        match self.side {
            Side::Inbound(_) => LegDirection::Inbound,
            Side::Outbound(_) => LegDirection::Outbound,
        }
    }

    pub(crate) fn is_live(&self) -> bool {
        self.state != LegState::Ended
    }

    /// Milliseconds rung: from the first provisional (or creation) to answer or `now`.
    pub(crate) fn ring_ms(&self, now: Instant) -> u64 {
        let start = self.ring_started.unwrap_or(self.created);
        millis(
            self.answered
                .unwrap_or(now)
                .saturating_duration_since(start),
        )
    }

    /// Milliseconds talked: from answer to `now` (0 if never answered).
    pub(crate) fn talk_ms(&self, now: Instant) -> u64 {
        self.answered
            .map_or(0, |a| millis(now.saturating_duration_since(a)))
    }

    /// The leg's description without media counters (the switch adds them).
    pub(crate) fn info(&self, now: Instant) -> LegInfo {
        let until = self.ended.unwrap_or(now);
        LegInfo {
            id: self.id.clone(),
            direction: self.direction(),
            state: self.state,
            from: self.from.clone(),
            to: self.to.clone(),
            call_id: self.call_id.clone(),
            trunk: self.trunk.clone(),
            rtp_port: self.rtp_port,
            codec: self.media.as_ref().map(|m| codec_name(m.codec).to_owned()),
            age_ms: millis(now.saturating_duration_since(self.created)),
            talk_ms: self.answered.map(|_| self.talk_ms(until)),
            cause: self.cause,
            sip_status: self.sip_status,
            media: None,
        }
    }
}

/// The wire name of a leg state, for error messages.
pub(crate) fn state_name(state: LegState) -> &'static str {
    match state {
        LegState::New => "new",
        LegState::Trying => "trying",
        LegState::Ringing => "ringing",
        LegState::Early => "early",
        LegState::Answered => "answered",
        LegState::Ending => "ending",
        LegState::Ended => "ended",
    }
}

/// The name `leg` reports for a codec.
pub(crate) fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::Pcmu => "PCMU",
        Codec::Pcma => "PCMA",
        Codec::Opus => "opus",
        Codec::TelephoneEvent => "telephone-event",
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
