//! Where the daemon meets the media API of the switch and the control
//! protocol: the control commands that need files turned into
//! [`MediaRequest`]s, the protocol's error codes, the switch's media types.

use super::requests::{MediaFailure, MediaRequest, PromptSource, Voice};
use crate::config::seconds_of;
use std::path::PathBuf;
use std::time::Duration;
use switchd_control::{Command, ErrorCode, RecordMode};
use switchd_player::collector::CollectSpec;
use switchd_player::dtmf::Digit;
use switchd_player::playback::Repeat;

pub(crate) use switchd_switch::{FinishedRecording, RtpTransmit, SocketAction};

/// `collect`'s inter-digit timeout when the command gives none.
const DEFAULT_DIGIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a control command goes.
#[derive(Debug)]
pub(crate) enum Dispatch {
    /// Files first, then the switch's typed method.
    Media(MediaRequest),
    /// Straight to the switch's `handle_command`.
    Switch(Command),
}

/// Sorts out the commands that need files. Arguments were checked by the
/// control codec already (one of `file`/`text`, digit counts, durations,
/// terminator).
pub(crate) fn dispatch(command: Command) -> Dispatch {
    match media_request(command) {
        Ok(request) => Dispatch::Media(request),
        Err(command) => Dispatch::Switch(*command),
    }
}

fn media_request(command: Command) -> Result<MediaRequest, Box<Command>> {
    match command {
        Command::Play(play) => {
            let source = match (play.file, play.text) {
                (Some(file), _) => PromptSource::File(PathBuf::from(file)),
                (None, Some(text)) => PromptSource::Text {
                    text,
                    voice: match play.voice.unwrap_or_default() {
                        switchd_control::Voice::Male => Voice::Male,
                        switchd_control::Voice::Female => Voice::Female,
                    },
                },
                // The codec refuses this; an empty text fails as such.
                (None, None) => PromptSource::Text {
                    text: String::new(),
                    voice: Voice::Female,
                },
            };
            let repeat = match play.loops.unwrap_or(1) {
                0 => Repeat::Forever,
                times => Repeat::Times(times),
            };
            Ok(MediaRequest::Play {
                leg: play.leg,
                source,
                repeat,
            })
        }
        Command::Collect(collect) => {
            let timeout = collect.timeout.map_or(DEFAULT_DIGIT_TIMEOUT, seconds_of);
            let first_digit_timeout = collect.first_digit_timeout.map_or(timeout, seconds_of);
            let spec = CollectSpec {
                max_digits: usize::try_from(collect.max_digits).unwrap_or(usize::MAX),
                timeout,
                first_digit_timeout,
                terminator: collect.terminator.and_then(Digit::from_char),
                retries: collect.retries.unwrap_or(0),
                prompt: collect.prompt.map(PathBuf::from),
                timeout_prompt: collect.timeout_prompt.map(PathBuf::from),
            };
            Ok(MediaRequest::Collect {
                leg: collect.leg,
                spec,
            })
        }
        Command::Record(record) => Ok(MediaRequest::Record {
            leg: record.leg,
            path: PathBuf::from(record.path),
            split: record.mode.unwrap_or_default() == RecordMode::Split,
        }),
        other => Err(Box::new(other)),
    }
}

/// The wire error code of a media failure.
pub(crate) fn error_code(failure: MediaFailure) -> ErrorCode {
    match failure {
        MediaFailure::FileNotFound => ErrorCode::FileNotFound,
        MediaFailure::BadAudioFormat => ErrorCode::BadAudioFormat,
        MediaFailure::TtsUnavailable => ErrorCode::TtsUnavailable,
        MediaFailure::InvalidArgument => ErrorCode::InvalidArgument,
        MediaFailure::Internal => ErrorCode::Internal,
    }
}
