//! The one error type of the player crate.

use std::path::PathBuf;

/// Everything that can go wrong in `switchd-player`.
///
/// File variants name the file so an operator can fix a bad greeting from the log line
/// alone. Wire variants (telephone-event payloads, SIP INFO bodies) come from a peer: the
/// daemon counts and drops them, it never ends a call because of one.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The prompt file does not exist.
    #[error("{}: no such file", path.display())]
    FileNotFound {
        /// The path asked for.
        path: PathBuf,
    },
    /// Opening, reading or writing a file failed for another reason than its absence.
    #[error("{}: {detail}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The kind of I/O failure.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        detail: String,
    },
    /// A WAV file in a format other than 8 kHz mono 16-bit linear PCM.
    #[error(
        "{}: {sample_rate} Hz {} {bits_per_sample}-bit{}; need 8000 Hz mono 16-bit PCM",
        path.display(),
        channel_word(*channels),
        if *float { " float" } else { "" }
    )]
    WavFormat {
        /// The file.
        path: PathBuf,
        /// Its sample rate in Hz.
        sample_rate: u32,
        /// Its channel count.
        channels: u16,
        /// Its bits per sample.
        bits_per_sample: u16,
        /// Whether its samples are IEEE floats rather than integers.
        float: bool,
    },
    /// A RIFF/WAVE file whose encoding hound cannot read (A-law, μ-law, ADPCM, MP3...).
    #[error("{}: unsupported WAV encoding; need 8000 Hz mono 16-bit PCM", path.display())]
    WavEncoding {
        /// The file.
        path: PathBuf,
    },
    /// Not a WAV file, or a WAV file with broken chunks or a truncated data chunk.
    #[error("{}: malformed WAV file: {detail}", path.display())]
    WavMalformed {
        /// The file.
        path: PathBuf,
        /// What the WAV reader reported.
        detail: String,
    },
    /// A prompt longer than the configured limit.
    #[error(
        "{}: {seconds} s of audio, the limit is {limit_seconds} s",
        path.display(),
        seconds = samples / 8000,
        limit_seconds = max_samples / 8000
    )]
    PromptTooLong {
        /// The file.
        path: PathBuf,
        /// Samples the file holds.
        samples: u64,
        /// Samples allowed.
        max_samples: u64,
    },
    /// A recording failed; it stopped at the error (the call goes on).
    #[error("recording {}: {detail}", path.display())]
    RecordingWrite {
        /// The file being written.
        path: PathBuf,
        /// What the WAV writer or the operating system reported.
        detail: String,
    },
    /// An RFC 4733 telephone-event payload shorter than its 4-byte event block.
    #[error("telephone-event payload of {len} bytes, need at least 4")]
    TelephoneEventTruncated {
        /// Bytes received.
        len: usize,
    },
    /// A character that is not a DTMF digit (0-9, *, #, A-D).
    #[error("{digit:?} is not a DTMF digit")]
    NotADigit {
        /// The character given.
        digit: char,
    },
    /// A SIP INFO body of a content type other than `application/dtmf-relay` or
    /// `application/dtmf`.
    #[error("SIP INFO content type {content_type:?} carries no DTMF we read")]
    InfoContentType {
        /// The content type, cut to 64 characters.
        content_type: String,
    },
    /// A SIP INFO DTMF body that cannot be read.
    #[error("SIP INFO DTMF body: {problem}")]
    InfoBody {
        /// What is wrong with it.
        problem: InfoBodyProblem,
        /// The offending value, cut to 32 characters (empty when nothing was found).
        value: String,
    },
}

/// Why a SIP INFO DTMF body was refused (see [`Error::InfoBody`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InfoBodyProblem {
    /// Longer than the limit a DTMF body can need.
    #[error("body too long")]
    TooLong,
    /// Not UTF-8 text.
    #[error("body is not text")]
    NotText,
    /// No `Signal=` line (dtmf-relay) or no digit at all (dtmf).
    #[error("no signal")]
    MissingSignal,
    /// The signal is not a DTMF digit.
    #[error("signal is not a DTMF digit")]
    BadSignal,
    /// The `Duration=` value is not a number of milliseconds.
    #[error("bad duration")]
    BadDuration,
}

fn channel_word(channels: u16) -> String {
    match channels {
        1 => "mono".to_owned(),
        2 => "stereo".to_owned(),
        n => format!("{n}-channel"),
    }
}

impl Error {
    /// An I/O error on `path`, with `NotFound` turned into [`Error::FileNotFound`].
    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::NotFound {
            Self::FileNotFound {
                path: path.to_owned(),
            }
        } else {
            Self::Io {
                path: path.to_owned(),
                kind: err.kind(),
                detail: err.to_string(),
            }
        }
    }
}

/// Cuts text from a peer to at most `max` characters for an error value.
pub(crate) fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
