//! Sans-IO SIP for switchd (RFC 3261 and friends).
//!
//! Nothing in this crate opens a socket, spawns a task or reads a clock. The
//! daemon feeds bytes and the current [`Instant`](std::time::Instant) in, and
//! drains what to send ([`Endpoint::poll_transmit`]), what happened
//! ([`Endpoint::poll_event`]) and when to call back
//! ([`Endpoint::poll_timeout`]), in the style of `quinn-proto`.
//!
//! # Layout
//! - [`transport`]: transports, peers and the [`Transmit`] handed to the daemon.
//! - [`message`]: framing (RFC 3261 §18.3), normalising and validating raw
//!   messages in front of `rsip`, the verdicts for malformed input (400, 416,
//!   420, 501, 505…), and printing with bodies kept as bytes.
//! - [`transaction`]: the four transaction state machines of RFC 3261 §17 and
//!   their timers.
//! - [`endpoint`]: the transaction table (limits, matching, stray messages),
//!   the crate's main entry point.
//! - [`dialog`]: dialog state (§12): route set, CSeq, remote target, in-dialog
//!   request building.
//! - [`auth`]: client-side digest authentication (RFC 2617, RFC 8760).
//! - [`sdp`]: SDP parsing and offer/answer (RFC 3264) for audio.
//! - [`error`]: the crate's error type.
#![warn(missing_docs)]

pub mod auth;
pub mod dialog;
pub mod endpoint;
pub mod error;
pub mod message;
pub mod sdp;
pub mod transaction;
pub mod transport;

pub use endpoint::{
    ClientTxId, Endpoint, EndpointConfig, EndpointEvent, EndpointStats, ServerTxId,
};
pub use error::Error;
pub use transport::{Peer, Transmit, Transport};

/// Re-export of the `rsip` crate whose typed messages this crate uses.
pub use rsip;
