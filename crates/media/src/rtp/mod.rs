//! RTP and RTCP: wire format and per-stream state.
//!
//! The wire format is the `rtp`/`rtcp` crates' (webrtc-rs); [`packet`] puts a bounds check of
//! our own in front of them because their parsers index past the end of some malformed
//! header extensions. The state machines are ours:
//!
//! - [`sender`]: one outgoing stream, continuous whatever feeds it.
//! - [`receiver`]: one incoming stream's statistics (RFC 3550 A.1, A.3, A.8).
//! - [`rtcp`]: sender/receiver reports built from those statistics, and parsed.

pub mod packet;
pub mod receiver;
pub mod rtcp;
pub mod sender;

pub use packet::{RtpHeader, RtpPacket, is_rtcp, parse_rtp, serialize_rtp};
pub use receiver::{RtpReceiver, SequenceOutcome};
pub use sender::{OutgoingHeader, RtpSender, SenderConfig};

use std::time::Duration;

/// `elapsed` in ticks of a `clock_rate` Hz RTP clock, wrapping like RTP timestamps do.
pub(crate) fn duration_to_ticks(elapsed: Duration, clock_rate: u32) -> u32 {
    let ticks = elapsed.as_nanos().saturating_mul(u128::from(clock_rate)) / 1_000_000_000;
    // Truncation is the RTP timestamp's own modulo-2^32 arithmetic.
    ticks as u32
}

/// True when sequence number `a` is after `b` in RFC 1982 serial arithmetic.
pub(crate) fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}
