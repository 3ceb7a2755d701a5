//! A call into a `park` route held before its answer, with an SDP offer of
//! the test's choosing: for other codecs than [`FarEnd::call_in`]'s PCMU,
//! and for early media (`ring` with 183 before `answer`).

use crate::audio::call::{FarEnd, SETUP_TIMEOUT};
use crate::audio::events;
use crate::audio::rtp::RtpPeer;
use crate::audio::sip::{Sdp, SipMessage};
use crate::audio::ua::{PendingInvite, SipUa};
use crate::control::Control;
use crate::daemon::Daemon;
use serde_json::json;
use std::time::Duration;

/// A far end whose INVITE the daemon parked (`leg.incoming` seen) and has
/// not answered yet.
#[derive(Debug)]
pub struct ParkedCall {
    /// The daemon's leg id.
    pub leg: String,
    /// The far end's signalling.
    pub ua: SipUa,
    /// The far end's media socket.
    pub rtp: RtpPeer,
    /// The INVITE, awaiting its final answer.
    pub invite: PendingInvite,
}

impl ParkedCall {
    /// Calls `user` with the SDP that `offer` writes for the far end's RTP
    /// port, and waits for the daemon to park it (`leg.incoming`).
    pub fn place(
        daemon: &Daemon,
        control: &mut Control,
        user: &str,
        offer: impl FnOnce(u16) -> String,
    ) -> ParkedCall {
        let mut ua = SipUa::bind(daemon.sip_addr(), "caller");
        let rtp = RtpPeer::bind();
        let invite = ua.send_invite(user, &offer(rtp.port()));
        let leg = events::incoming_leg(control, SETUP_TIMEOUT, |raw| {
            raw["leg"]["call_id"] == invite.call_id.as_str()
        });
        ParkedCall {
            leg,
            ua,
            rtp,
            invite,
        }
    }

    /// Waits for a provisional response with `status` to the INVITE.
    pub fn await_provisional(&mut self, status: u16, timeout: Duration) -> SipMessage {
        let call_id = self.invite.call_id.clone();
        self.ua
            .receive(timeout, |m| {
                m.call_id() == Some(call_id.as_str())
                    && m.status() == Some(status)
                    && m.cseq().is_some_and(|(_, method)| method == "INVITE")
            })
            .unwrap_or_else(|| panic!("no {status} to INVITE {call_id} within {timeout:?}"))
    }

    /// Waits for a 183 and returns the SDP it carries (panics without one).
    pub fn await_early_media(&mut self, timeout: Duration) -> Sdp {
        let response = self.await_provisional(183, timeout);
        Sdp::parse(response.body())
            .unwrap_or_else(|| panic!("183 without an audio SDP:\n{}", response.text))
    }

    /// `answer`s the leg over `control`, waits for the 200 (ACKed) and for
    /// `leg.answered`. Panics when the call is refused.
    pub fn answer(mut self, control: &mut Control) -> FarEnd {
        control.ok(json!({"cmd": "answer", "leg": self.leg}));
        let dialog = self
            .ua
            .await_answer(&self.invite, SETUP_TIMEOUT)
            .unwrap_or_else(|status| panic!("the parked call was refused with {status}"));
        events::wait(control, "leg.answered", &self.leg, SETUP_TIMEOUT);
        FarEnd {
            leg: self.leg,
            ua: self.ua,
            rtp: self.rtp,
            dialog,
        }
    }
}
