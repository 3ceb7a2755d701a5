//! An answered leg with a far end the test drives: a [`SipUa`] for the
//! signalling and an [`RtpPeer`] for the media, set up by calling into a
//! `park` route or by answering an `originate`; and the steps audio tests
//! repeat on such legs (send and listen, unbridge, play, stop recording).

use crate::audio::events::{self, EVENT_TIMEOUT};
use crate::audio::parked::ParkedCall;
use crate::audio::rtp::{ReceivedPacket, RtpPeer};
use crate::audio::sender::RtpStream;
use crate::audio::sip::sdp_body;
use crate::audio::ua::{Dialog, SipUa};
use crate::audio::verdict::sound_only;
use crate::config::{DaemonConfig, RouteAction};
use crate::control::Control;
use crate::daemon::Daemon;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// How long call set-up steps may take.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// One answered leg and the far end of it.
#[derive(Debug)]
pub struct FarEnd {
    /// The daemon's leg id.
    pub leg: String,
    /// The far end's signalling.
    pub ua: SipUa,
    /// The far end's media socket.
    pub rtp: RtpPeer,
    /// The dialog, from the far end's side.
    pub dialog: Dialog,
}

impl FarEnd {
    /// Calls `user` through a `park` route, answers the parked leg over
    /// `control` (subscribed already) and waits for `leg.answered`. The SDP
    /// offers PCMU and telephone-event 101.
    pub fn call_in(daemon: &Daemon, control: &mut Control, user: &str) -> FarEnd {
        ParkedCall::place(daemon, control, user, |port| sdp_body(port, true)).answer(control)
    }

    /// `originate`s leg `leg` to a new far end, which answers (PCMU and
    /// telephone-event 101); waits for `leg.answered`.
    pub fn call_out(daemon: &Daemon, control: &mut Control, leg: &str) -> FarEnd {
        let mut ua = SipUa::bind(daemon.sip_addr(), "callee");
        let rtp = RtpPeer::bind();
        control.ok(json!({"cmd": "originate", "to": ua.uri(), "leg": leg, "ring_timeout": 10}));
        let dialog = ua.accept_invite(&sdp_body(rtp.port(), true), SETUP_TIMEOUT);
        events::wait(control, "leg.answered", leg, SETUP_TIMEOUT);
        FarEnd {
            leg: leg.to_string(),
            ua,
            rtp,
            dialog,
        }
    }

    /// Sends 100 ms of silence, as phones talk first, so that a daemon
    /// latching onto the first packet's source has one; returns the stream
    /// to go on with.
    pub fn prime(&self) -> RtpStream {
        let mut stream = self.stream();
        stream.send_silence(Duration::from_millis(100));
        stream
    }

    /// The daemon's RTP address for this leg (from its SDP).
    pub fn daemon_rtp(&self) -> SocketAddr {
        self.dialog.remote_sdp.rtp_addr()
    }

    /// The daemon's RTCP address for this leg (the port above RTP).
    pub fn daemon_rtcp(&self) -> SocketAddr {
        let rtp = self.daemon_rtp();
        SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1))
    }

    /// A sender from the far end's RTP socket to the daemon.
    pub fn stream(&self) -> RtpStream {
        self.rtp.stream_to(self.daemon_rtp())
    }

    /// The telephone-event payload type the daemon answered with.
    pub fn telephone_event(&self) -> Option<u8> {
        self.dialog.remote_sdp.telephone_event()
    }

    /// Sends SIP INFO with `application/dtmf-relay` for `digit`; returns
    /// the status it got.
    pub fn send_info_dtmf(&mut self, digit: char, duration_ms: u32) -> u16 {
        let body = format!("Signal={digit}\r\nDuration={duration_ms}\r\n");
        self.ua.request(
            &mut self.dialog,
            "INFO",
            Some(("application/dtmf-relay", &body)),
            SETUP_TIMEOUT,
        )
    }

    /// What the far end received, after asserting that all of it came from
    /// the daemon's RTP port for this leg; `who` names the far end in the
    /// failure.
    pub fn packets_from_its_leg(&self, who: &str) -> Vec<ReceivedPacket> {
        let packets = self.rtp.packets();
        assert!(
            packets.iter().all(|p| p.from == self.daemon_rtp()),
            "{who} got RTP from somewhere other than its leg's port {}",
            self.daemon_rtp()
        );
        packets
    }

    /// `play`s `file` to the leg (panics when refused) and returns what the
    /// far end heard from then until 100 ms after `play.finished`.
    pub fn hear_played(&self, control: &mut Control, file: &Path) -> Vec<i16> {
        self.rtp.clear();
        play_file(control, &self.leg, file)
            .unwrap_or_else(|e| panic!("play {}: {e}", file.display()));
        events::wait_checked(control, "play.finished", &self.leg, EVENT_TIMEOUT);
        std::thread::sleep(Duration::from_millis(100));
        self.rtp.audio()
    }

    /// Sends BYE; returns the status it got.
    pub fn hang_up(&mut self) -> u16 {
        self.ua
            .request(&mut self.dialog, "BYE", None, SETUP_TIMEOUT)
    }
}

/// Two answered legs, one called in (`a`, through a `park` route) and one
/// originated (`b1`), bridged together with `bridge`.
pub fn bridged_pair(daemon: &Daemon, control: &mut Control) -> (FarEnd, FarEnd) {
    let a = FarEnd::call_in(daemon, control, "bridge");
    let b = FarEnd::call_out(daemon, control, "b1");
    let reply = control.ok(json!({"cmd": "bridge", "leg": a.leg, "other": b.leg}));
    assert_eq!(reply["leg"]["id"], a.leg.as_str(), "bridge reply: {reply}");
    (a, b)
}

/// A daemon parking every call, and a control connection subscribed to its
/// events.
pub fn parking_daemon(label: &str) -> (Daemon, Control) {
    let daemon = Daemon::start(label, &DaemonConfig::with_route(RouteAction::Park));
    let mut control = daemon.control();
    control.subscribe(None);
    (daemon, control)
}

/// Forgets what `listener` received, sends `samples` on `sender` (paced)
/// and waits 300 ms for the last of it to arrive, so that what `listener`
/// holds then is the answer to exactly these samples.
pub fn clear_and_send(listener: &RtpPeer, sender: &mut RtpStream, samples: &[i16]) {
    listener.clear();
    sender.send_audio(samples);
    std::thread::sleep(Duration::from_millis(300));
}

/// `unbridge`s `leg`, lets `settle` pass, sends `samples` as
/// [`clear_and_send`] does, and returns the sound (20 ms frames above
/// [`SOUND_RMS`](crate::audio::verdict::SOUND_RMS)) that `listener`
/// received: none is expected once the leg is unbridged.
pub fn sound_after_unbridge(
    control: &mut Control,
    leg: &str,
    settle: Duration,
    sender: &mut RtpStream,
    listener: &RtpPeer,
    samples: &[i16],
) -> Vec<i16> {
    control.ok(json!({"cmd": "unbridge", "leg": leg}));
    std::thread::sleep(settle);
    clear_and_send(listener, sender, samples);
    sound_only(&listener.audio())
}

/// Asserts that the `leg` command reports `leg` in `state`, naming the
/// reply when it does not.
pub fn assert_leg_state(control: &mut Control, leg: &str, state: &str) {
    let reply = control.ok(json!({"cmd": "leg", "leg": leg}));
    assert_eq!(reply["leg"]["state"], state, "{reply}");
}

/// `stop_record`s `leg` and returns its `record.finished`, [`checked`](events::checked).
pub fn stop_recording(control: &mut Control, leg: &str) -> Value {
    control.ok(json!({"cmd": "stop_record", "leg": leg}));
    events::wait_checked(control, "record.finished", leg, EVENT_TIMEOUT)
}

/// `play`s the WAV at `file` on `leg`: the reply, or `"code: message"`.
pub fn play_file(control: &mut Control, leg: &str, file: &Path) -> Result<Value, String> {
    control
        .call(json!({"cmd": "play", "leg": leg, "file": file.to_string_lossy()}))
        .map_err(|e| format!("{}: {}", e.code, e.message))
}
