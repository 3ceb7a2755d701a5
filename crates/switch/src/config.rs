//! Settings of the switch and the small types its API exchanges.

use std::ops::RangeInclusive;
use std::time::Duration;
use switchd_control::command::TrunkSpec;
use switchd_player::wav::Prompt;
use switchd_sip::EndpointConfig;

/// What an inbound INVITE matching a route gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Answer at once (200 with an SDP answer).
    Answer,
    /// Reject with this status.
    Reject {
        /// 400..=699.
        status: u16,
    },
    /// Announce as `leg.incoming` and wait for the controller.
    Park,
    /// Answer and reflect the caller's audio back (a media test line).
    Echo,
}

/// An inbound routing rule; the first that matches wins, none -> 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Request-URI user: exact, or a glob with `*`.
    pub user: String,
    /// Request-URI host: exact or glob; `None` matches any.
    pub host: Option<String>,
    /// What to do.
    pub action: RouteAction,
}

/// When a leg whose SDP negotiated no telephone-event gets an in-band
/// (Goertzel) DTMF detector. The detector needs the leg's audio decoded
/// every 20 ms, which a same-codec bridge otherwise never does: it relays
/// packets untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InbandDtmf {
    /// While the switch terminates the leg's media rather than relaying it:
    /// a `collect` runs on it, something plays on it, or it is not bridged
    /// (answered and idle, or bridged across codecs, where the audio is
    /// decoded anyway). A leg relayed untouched (bridged with a same-codec
    /// peer, or echoing) has none unless a `collect` runs on it.
    #[default]
    Auto,
    /// On every leg without telephone-event, bridged or not.
    Always,
    /// Never: digits come only from RFC 4733 telephone-events and SIP INFO.
    Never,
}

/// Settings of the switch.
#[derive(Debug, Clone)]
pub struct SwitchConfig {
    /// SIP endpoint settings (timers, limits, advertised addresses).
    pub endpoint: EndpointConfig,
    /// Inbound routes, in order.
    pub routes: Vec<Route>,
    /// Trunks from the config file.
    pub trunks: Vec<TrunkSpec>,
    /// RTP ports (even ports are RTP, +1 RTCP).
    pub rtp_ports: RangeInclusive<u16>,
    /// Most legs alive at once; beyond it INVITEs get 503 and originate `limit_reached`.
    pub max_legs: usize,
    /// How long a parked leg waits for the controller before 480.
    pub park_timeout: Duration,
    /// Ring timeout when `originate` gives none.
    pub default_ring_timeout: Duration,
    /// How long ended legs stay visible in `legs`/`leg`.
    pub ended_leg_retention: Duration,
    /// Silence on a receiving leg before `leg.media_timeout`.
    pub media_timeout: Duration,
    /// Hang up a leg on its media timeout (cause `recovery_on_timer_expire`).
    pub media_timeout_hangup: bool,
    /// When legs without telephone-event get an in-band DTMF detector.
    pub inband_dtmf: InbandDtmf,
    /// What an answered leg hears, looped, while nothing else is sent to it
    /// (no bridge, echo, `play` or `collect`); `None` (or an empty prompt):
    /// silence. Loaded by the daemon at start (8 kHz mono).
    pub hold_prompt: Option<Prompt>,
    /// Hand settled same-codec bridge directions to the daemon's kernel relay
    /// ([`crate::Switch::poll_offload`]); the daemon sets it when it loaded one.
    pub offload_media: bool,
}

impl Default for SwitchConfig {
    /// Defaults an operator would pick: 1,000 legs, 30 s park, 60 s ring,
    /// ended legs visible for a minute, RTP on 16384..=32767, media timeout
    /// 30 s reported without hanging up, in-band DTMF detection `Auto`,
    /// no hold prompt (idle legs hear silence), every packet relayed by the
    /// switch itself (no kernel relay).
    fn default() -> Self {
        Self {
            endpoint: EndpointConfig::default(),
            routes: Vec::new(),
            trunks: Vec::new(),
            rtp_ports: 16384..=32767,
            max_legs: 1000,
            park_timeout: Duration::from_secs(30),
            default_ring_timeout: Duration::from_secs(60),
            ended_leg_retention: Duration::from_secs(60),
            media_timeout: Duration::from_secs(30),
            media_timeout_hangup: false,
            inband_dtmf: InbandDtmf::Auto,
            hold_prompt: None,
            offload_media: false,
        }
    }
}

/// A host name the switch needs resolved (trunk hosts, `originate` targets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRequest {
    /// Echo it in [`Switch::handle_resolved`](crate::Switch::handle_resolved).
    pub token: u64,
    /// The host name.
    pub host: String,
    /// The port to combine with the address.
    pub port: u16,
}
