//! Sans-IO RTP media engine of switchd.
//!
//! Nothing here opens a socket or reads a clock: packets come in with the `now: Instant`
//! the daemon observed, packets and events go out, and timers are reported as absolute
//! deadlines (`poll_timeout`). The daemon owns sockets, the clock and the wiring.
//!
//! # Layout
//!
//! - [`codec`]: G.711 μ-law/A-law (table-driven, ITU-T exact) and Opus (feature `opus`)
//!   behind the [`codec::Codec`] trait; 8 kHz mono PCM, 20 ms frames, RTP clock scaling.
//! - [`rtp`]: bounds-checked RTP parsing over the `rtp` crate, the sender state
//!   ([`rtp::RtpSender`]: continuous SSRC/sequence/timestamp across source switches), the
//!   receiver state ([`rtp::RtpReceiver`]: RFC 3550 A.1 validation, A.8 jitter, loss) and
//!   RTCP SR/RR ([`rtp::rtcp`]).
//! - [`jitter`]: adaptive jitter buffer for terminated media (decode, mix, record).
//! - [`relay`]: same-codec fast path of a two-party bridge, header rewrite only.
//! - [`source`]: symmetric RTP source learning (NAT) with strict filtering afterwards.
//! - [`engine`]: the media engine the daemon drives: legs, bridges (relay or transcode),
//!   playback, taps, DTMF, RTCP reports, media timeouts, over the pieces above.
//! - [`error`]: the crate's single [`Error`] enum.

#![warn(missing_docs)]

pub mod codec;
pub mod engine;
pub mod error;
pub mod jitter;
pub mod relay;
pub mod rtp;
pub mod source;

pub use error::Error;
