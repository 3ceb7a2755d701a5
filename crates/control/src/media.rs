//! Arguments of the media commands (`play`, `collect`, `record`, `send_dtmf`)
//! and the media values shared by events and leg descriptions.

use serde::{Deserialize, Serialize};

/// Arguments of `play`: exactly one of `file` and `text`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Play {
    /// The leg.
    pub leg: String,
    /// Path of a WAV file to play.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Text to speak through the configured TTS engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// TTS voice (default female); ignored for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<Voice>,
    /// Times to play (default 1); 0 repeats until `stop_play`.
    #[serde(rename = "loop", default, skip_serializing_if = "Option::is_none")]
    pub loops: Option<u32>,
}

/// A TTS voice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Voice {
    /// A male voice.
    Male,
    /// A female voice (the default).
    #[default]
    Female,
}

/// Arguments of `collect`: play a prompt, then gather digits (barge-in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    /// The leg.
    pub leg: String,
    /// Digits after which collection ends, 1..=64.
    pub max_digits: u32,
    /// Seconds allowed between digits (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Seconds allowed before the first digit (default: `timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_digit_timeout: Option<f64>,
    /// Digit that ends collection early (one of `0-9*#`; default none); it is
    /// not part of the collected digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminator: Option<char>,
    /// Further attempts when no digit comes (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// WAV played before collecting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// WAV played when an attempt times out without a digit, before a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_prompt: Option<String>,
}

/// Arguments of `record`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The leg.
    pub leg: String,
    /// WAV file to write (in `split` mode, the stem of the two files).
    pub path: String,
    /// Mixed (default) or split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RecordMode>,
}

/// How `record` writes the two directions of a leg.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordMode {
    /// Both directions mixed into one mono file at `path` (the default).
    #[default]
    Mixed,
    /// `<path stem>-in.wav` (what the leg sends us) and `<path stem>-out.wav`
    /// (what we send the leg).
    Split,
}

/// Arguments of `send_dtmf`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendDtmf {
    /// The leg.
    pub leg: String,
    /// Digits to send, `0-9*#A-D`, at most 32.
    pub digits: String,
    /// Seconds per digit (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
}

/// Why a `collect` ended with digits (`collect.done`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectReason {
    /// `max_digits` digits came.
    MaxDigits,
    /// The terminator came.
    Terminator,
    /// The inter-digit timeout passed after at least one digit.
    Timeout,
}

/// How a DTMF digit reached us (`dtmf` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DtmfMethod {
    /// RFC 4733 telephone-event RTP packets.
    #[serde(rename = "rfc4733")]
    Rfc4733,
    /// SIP INFO (application/dtmf-relay).
    #[serde(rename = "info")]
    Info,
    /// Tones detected in the audio.
    #[serde(rename = "inband")]
    Inband,
}

/// A leg's media counters, in `LegInfo.media` once media is negotiated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegMediaInfo {
    /// RTP packets received.
    pub packets_in: u64,
    /// RTP packets sent.
    pub packets_out: u64,
    /// RTP payload bytes received.
    pub bytes_in: u64,
    /// RTP payload bytes sent.
    pub bytes_out: u64,
    /// Packets lost on the way to us (by sequence-number gaps).
    pub lost: u64,
    /// Interarrival jitter of what we receive (RFC 3550), in milliseconds.
    pub jitter_ms: f64,
    /// Round-trip time from RTCP, once the peer's reports allow measuring it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    /// The leg this one is bridged with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridged_with: Option<String>,
}
