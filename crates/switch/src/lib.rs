//! The sans-IO call logic of switchd.
//!
//! A [`Switch`] owns a SIP [`Endpoint`](switchd_sip::Endpoint) and turns
//! what arrives (SIP messages, control commands, resolved host names, the
//! passing of time) into SIP messages to send, control events and host
//! names to resolve. Like the endpoint it never touches a socket or a
//! clock: every input carries `now`, outputs are drained with
//! [`Switch::poll_transmit`], [`Switch::poll_event`] and
//! [`Switch::poll_resolve`], and [`Switch::poll_timeout`] says when to call
//! [`Switch::handle_timeout`]. Audio goes the same way: RTP/RTCP in with
//! [`Switch::handle_rtp`], out with [`Switch::poll_rtp_transmit`], sockets to
//! bind and release from [`Switch::poll_socket_action`] (see [`media`]).
//!
//! A *leg* is one INVITE dialog from our side. Inbound legs come from
//! INVITEs matched by the [`Route`]s; outbound legs from `originate`. Each
//! leg emits exactly one `leg.hungup`, stays visible for
//! `ended_leg_retention` after it ended, and everything keyed by it (dialog,
//! transactions, timers, RTP port) is dropped when it ends.
//!
//! Choices where the RFCs leave room:
//! - `hangup` of an unanswered inbound leg answers 480 (the caller may try
//!   later; a decline is what `reject`, default 603, is for); the default
//!   cause is `call_rejected`, `originator_cancel` for unanswered outbound
//!   legs and `normal_clearing` once answered.
//! - Methods we know but do not serve get 405 with Allow; the message
//!   layer answers 501 to methods it does not recognise.
//! - `subscribe`/`unsubscribe` are the daemon's; here they are `invalid_state`.
//! - Redirects (3xx) are not followed: they end the leg with `call_failed`.
//! - An INVITE whose body is not SDP gets 415 (with Accept), unparseable
//!   SDP 400, SDP without a common codec 488 (`incompatible_destination`).
//! - An inbound leg's `leg.answered` comes with the ACK of our 2xx (the
//!   answer is only complete then); no ACK in 64*T1 ends it with BYE and
//!   `recovery_on_timer_expire`.
//! - `ring_ms` runs from the first 18x sent or received (or the leg's start)
//!   to the answer or the end; a leg ended by a BYE reports that BYE's final
//!   status (200, 481…) as `sip_status`, or none when it timed out.
//! - In-dialog requests go to the remote target when it is an IP literal,
//!   else to the address the dialog's INVITE came from or went to.
//! - 503 answers carry Retry-After: 5 s when full, 30 s while draining.
//!
//! # Layout
//! - [`config`]: [`SwitchConfig`], [`InbandDtmf`], [`Route`], [`ResolveRequest`].
//! - `switch`: the [`Switch`], its tables and the dispatch of endpoint events.
//! - `inbound`: new INVITEs, routing, park, `ring`/`answer`/`reject`.
//! - `originate` (with `args`, `invite`): checking `originate` and building
//!   the INVITE; `outbound`: following its responses, digest, ring timeout.
//! - `requests`: in-dialog requests, OPTIONS, ACK, CANCEL, refusals.
//! - `lifecycle`: hangup in every state, BYE, and the end of a leg.
//! - `trunks`: the trunk table; `trunks::register`: REGISTER, refresh, backoff.
//! - `commands`: control commands.
//! - [`ports`]: the RTP port pool; `routing`: route globs; `timers`: the
//!   switch's own deadlines; `sipmsg`: header and body helpers; `leg`: the leg.
//! - [`media`]: audio: the media engine inside the switch, RTP in and out,
//!   sockets to bind, bridges, prompts, digit collection, recording, DTMF.
//! - [`stats`]: counters and gauges; [`error`]: why a command failed.
#![warn(missing_docs)]

mod commands;
pub mod config;
pub mod error;
mod inbound;
mod leg;
mod lifecycle;
pub mod media;
mod originate;
mod outbound;
pub mod ports;
mod requests;
mod routing;
mod sipmsg;
pub mod stats;
mod switch;
mod timers;
mod trunks;

pub use config::{InbandDtmf, ResolveRequest, Route, RouteAction, SwitchConfig};
pub use error::SwitchError;
pub use media::{
    FinishedRecording, MediaLegId, OffloadAction, OffloadCounters, OffloadRule, RtpTransmit,
    SocketAction,
};
pub use stats::SwitchStats;
pub use switch::Switch;

use switchd_sip::rsip::Method;
use switchd_sip::sdp::Codec;

/// Codecs we offer and accept, in our order of preference.
pub const CODECS: [Codec; 4] = [Codec::Pcmu, Codec::Pcma, Codec::Opus, Codec::TelephoneEvent];

/// Packetisation time we ask for, in milliseconds.
pub const PTIME_MS: u32 = 20;

/// Methods listed in our Allow headers.
pub const ALLOWED: [Method; 7] = [
    Method::Invite,
    Method::Ack,
    Method::Cancel,
    Method::Bye,
    Method::Options,
    Method::Info,
    Method::Update,
];
