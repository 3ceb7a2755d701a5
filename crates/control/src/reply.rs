//! Replies, their result bodies and the stable error codes.

use crate::command::RequestId;
use crate::event::{LegInfo, TrunkInfo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One reply line.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The request's id.
    pub id: RequestId,
    /// The result, or why there is none.
    pub result: Result<ReplyBody, ReplyError>,
}

/// The body of a successful reply; its fields are merged into the reply object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "one short-lived body per request; boxing `Leg` would only burden every builder"
)]
pub enum ReplyBody {
    /// `ping`.
    Pong {
        /// The daemon's version.
        version: String,
    },
    /// `originate`, `leg`, `answer`, `reject`, `hangup`, `ring` and the media
    /// commands (`bridge`, `play`, `collect`…): the leg after the command.
    Leg {
        /// The leg.
        leg: LegInfo,
        /// For `originate`: true when the id already existed and no new call was placed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        existing: bool,
    },
    /// `legs`.
    Legs {
        /// Live legs, and ones ended recently.
        legs: Vec<LegInfo>,
    },
    /// `subscribe`: events follow on this connection.
    Subscribed {
        /// The last seq assigned when the subscription started; events after it follow.
        seq: u64,
    },
    /// `trunks`.
    Trunks {
        /// The trunks.
        trunks: Vec<TrunkInfo>,
    },
    /// `stats`.
    Stats {
        /// Counters and gauges by name.
        stats: BTreeMap<String, u64>,
    },
    /// Commands with nothing to return (`unsubscribe`, `trunk_add`, `trunk_remove`).
    Empty {},
}

impl ReplyBody {
    /// Whether this is the body `command` succeeds with (`Leg` for `ring`,
    /// `Legs` for `legs`, `Empty` for `trunk_add`…). Bodies are decoded
    /// without knowing their command (the first variant that fits wins, and
    /// `Empty` fits any object), so clients check with this.
    pub fn fits(&self, command: &crate::Command) -> bool {
        use crate::Command as C;
        match self {
            ReplyBody::Pong { .. } => matches!(command, C::Ping),
            ReplyBody::Leg { .. } => matches!(
                command,
                C::Originate(_)
                    | C::Ring { .. }
                    | C::Answer { .. }
                    | C::Reject { .. }
                    | C::Hangup { .. }
                    | C::Leg { .. }
                    | C::Bridge { .. }
                    | C::Unbridge { .. }
                    | C::Play(_)
                    | C::StopPlay { .. }
                    | C::Collect(_)
                    | C::Record(_)
                    | C::StopRecord { .. }
                    | C::SendDtmf(_)
                    | C::Echo { .. }
            ),
            ReplyBody::Legs { .. } => matches!(command, C::Legs),
            ReplyBody::Subscribed { .. } => matches!(command, C::Subscribe { .. }),
            ReplyBody::Trunks { .. } => matches!(command, C::Trunks),
            ReplyBody::Stats { .. } => matches!(command, C::Stats),
            ReplyBody::Empty {} => {
                matches!(
                    command,
                    C::Unsubscribe | C::TrunkAdd(_) | C::TrunkRemove { .. }
                )
            }
        }
    }
}

/// A failed request's error: `{"code":"unknown_leg","message":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ReplyError {
    /// Stable, machine-readable.
    pub code: ErrorCode,
    /// For humans; wording may change.
    pub message: String,
}

impl ReplyError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The stable error codes (documented in `docs/control-protocol.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line is not JSON, or not a JSON object.
    BadJson,
    /// `id` or `cmd` is missing, or an argument is missing, mistyped or unknown.
    BadRequest,
    /// `cmd` names no command.
    UnknownCommand,
    /// An argument is well-formed but not acceptable (bad URI, status out of range…).
    InvalidArgument,
    /// No leg with that id.
    UnknownLeg,
    /// The leg is not in a state where the command applies (answering an outbound leg…).
    InvalidState,
    /// No trunk with that name.
    UnknownTrunk,
    /// A trunk with that name exists and came from the config file.
    TrunkExists,
    /// A table is full (legs, transactions): try later.
    LimitReached,
    /// The daemon is draining for shutdown and takes no new calls.
    ShuttingDown,
    /// A request line over the size limit.
    TooLarge,
    /// A fault inside the daemon; the request may not have been applied.
    Internal,
    /// A file to play is missing or unreadable.
    FileNotFound,
    /// A file to play is not a WAV the daemon can play (the message names
    /// the file and its format).
    BadAudioFormat,
    /// `play` with `text`, but no TTS engine is configured or installed.
    TtsUnavailable,
    /// The leg has no negotiated media yet.
    MediaUnavailable,
}

impl ErrorCode {
    /// The wire name, also used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownCommand => "unknown_command",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::UnknownLeg => "unknown_leg",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::UnknownTrunk => "unknown_trunk",
            ErrorCode::TrunkExists => "trunk_exists",
            ErrorCode::LimitReached => "limit_reached",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Internal => "internal",
            ErrorCode::FileNotFound => "file_not_found",
            ErrorCode::BadAudioFormat => "bad_audio_format",
            ErrorCode::TtsUnavailable => "tts_unavailable",
            ErrorCode::MediaUnavailable => "media_unavailable",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
