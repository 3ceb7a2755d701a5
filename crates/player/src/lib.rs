//! Prompts and digits for switchd: greeting playback, call recording, DTMF and digit
//! collection, the media side of the `call` operation's `greeting`, `dtmfmaxdigits`,
//! `dtmfretries`, `dtmftimeout`, `dtmftimeoutgreeting` and `postcallgreeting`.
//!
//! Sans-IO like the rest of the media path: inputs carry the `now: Instant` the daemon
//! observed, outputs are drained with `poll_*`, timers are absolute deadlines from
//! `poll_timeout()`. The only I/O is file access, in plain functions that take a path
//! ([`wav::load_prompt`], [`cache::FileStamp::of`], [`recorder::Recorder`]), which the
//! daemon calls off the hot path.
//!
//! Audio is the media engine's internal format: 8 kHz mono `i16`, 20 ms frames of
//! [`FRAME_SAMPLES`] samples ([`PcmFrame`]), what `switchd_media::codec` encodes and decodes.
//!
//! # Layout
//!
//! - [`wav`]: load and validate a WAV prompt (8 kHz mono 16-bit PCM only, size limit) into a
//!   shared [`wav::Prompt`].
//! - [`cache`]: [`cache::PromptCache`], each file loaded once, bounded LRU, invalidated
//!   when the file's size or mtime changes.
//! - [`playback`]: [`playback::Playback`], a frame source over a prompt, with looping.
//! - [`recorder`]: [`recorder::Recorder`], frames of one or both directions into WAV files.
//! - [`dtmf`]: digits from RFC 4733 telephone-events ([`dtmf::rfc4733`]), SIP INFO bodies
//!   ([`dtmf::info`]) and in-band tones ([`dtmf::goertzel`]), deduplicated by
//!   [`dtmf::DtmfPipeline`]; [`dtmf::tone`] generates the tone pairs.
//! - [`collector`]: [`collector::Collector`], the prompt-and-collect-digits state machine.
//! - [`frames`]: the media engine's frame sources and sinks: [`playback::Playback`], a
//!   recorder tap and an in-band DTMF detector tap, with the daemon's handles to them.
//! - [`error`]: the crate's single [`Error`] enum.

#![warn(missing_docs)]

pub mod cache;
pub mod collector;
pub mod dtmf;
pub mod error;
pub mod frames;
pub mod playback;
pub mod recorder;
pub mod wav;

pub use error::Error;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = switchd_media::codec::FRAME_SAMPLES_8K;

/// The PCM rate of prompts, recordings and the in-band detector, in Hz.
pub const SAMPLE_RATE_HZ: u32 = switchd_media::codec::PCM_RATE_HZ;

/// One 20 ms frame of 8 kHz mono PCM.
pub type PcmFrame = [i16; FRAME_SAMPLES];

/// The length of `samples` of 8 kHz audio.
pub fn samples_to_duration(samples: u64) -> std::time::Duration {
    std::time::Duration::from_micros(samples.saturating_mul(1_000_000) / u64::from(SAMPLE_RATE_HZ))
}
