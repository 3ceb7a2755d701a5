//! End-to-end audio: a hand-built SIP user agent with an RTP socket of its
//! own, so a test controls exactly what reaches the daemon's media ports and
//! sees exactly what comes back, and the signal analysis that turns received
//! packets into verdicts (dominant frequency, correlation with a source).
//!
//! Everything here stays on loopback: the agent refuses to send to any
//! address that is not a loopback one, whatever an SDP body says.
//!
//! # Layout
//! - [`g711`]: μ-law encoding and decoding (written independently of the
//!   daemon's codec, so each checks the other).
//! - [`alaw`]: A-law encoding and decoding, likewise.
//! - [`codecs`]: far ends offering one codec (PCMU, PCMA or Opus): their
//!   SDP, a paced encoding sender, decoding what they received.
//! - [`analysis`]: tones, Goertzel power, dominant frequency, normalised
//!   cross-correlation, active segments.
//! - [`wav`]: reading WAV files and making them with sox.
//! - [`rtp`]: RTP packets and a receiving peer.
//! - [`sender`]: paced RTP senders of audio and RFC 4733 events.
//! - [`sip`]: SIP messages and SDP bodies.
//! - [`ua`]: a user agent over UDP: calling, answering, in-dialog requests.
//! - [`call`]: an answered leg with its agent and RTP peer, set up either way
//!   (calling into a `park` route, or answering an `originate`).
//! - [`parked`]: a call into a `park` route held before its answer, with an
//!   offer of the test's choosing (other codecs, early media).
//! - [`verdict`]: test tones and the assertion that audio carried one.
//! - [`events`]: waiting for control events by raw name, so events newer
//!   than the shared types can still be awaited.

pub mod alaw;
pub mod analysis;
pub mod call;
pub mod codecs;
pub mod events;
pub mod g711;
pub mod parked;
pub mod rtp;
pub mod sender;
pub mod sip;
pub mod ua;
pub mod verdict;
pub mod wav;

/// The G.711 sample rate.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms packet at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 160;
