//! Static checks of the media commands' arguments.

use super::{check_duration, check_id, invalid};
use crate::media::{Collect, Play, Record, SendDtmf};
use crate::reply::{ErrorCode, ReplyError};
use std::path::Path;

/// Longest file path accepted, in bytes (Linux `PATH_MAX`).
pub const MAX_PATH_LEN: usize = 4096;
/// Longest `play` text, in bytes.
pub const MAX_SPEAK_TEXT_LEN: usize = 4096;
/// The range of `collect`'s `max_digits`.
pub const COLLECT_MAX_DIGITS: std::ops::RangeInclusive<u32> = 1..=64;
/// Most `collect` retries: each one replays the prompt, so more is a loop.
pub const MAX_COLLECT_RETRIES: u32 = 16;
/// Most digits in one `send_dtmf`.
pub const MAX_SEND_DIGITS: usize = 32;
/// Longest `send_dtmf` digit, in seconds: RFC 4733 durations are 16-bit
/// timestamp units, and a digit held longer than this is surely a mistake.
pub const MAX_DTMF_DURATION_SECS: f64 = 5.0;

/// Digits `collect` can end on.
const TERMINATORS: &str = "0123456789*#";
/// Digits `send_dtmf` can send (RFC 4733 events 0-15).
const SENDABLE_DIGITS: &str = "0123456789*#ABCD";

pub(super) fn validate_bridge(leg: &str, other: &str) -> Result<(), ReplyError> {
    check_id("leg", leg)?;
    check_id("other", other)?;
    if leg == other {
        return Err(invalid("other: a leg cannot be bridged with itself"));
    }
    Ok(())
}

pub(super) fn validate_play(play: &Play) -> Result<(), ReplyError> {
    check_id("leg", &play.leg)?;
    match (&play.file, &play.text) {
        (Some(file), None) => check_path("file", file),
        (None, Some(text)) => {
            if text.trim().is_empty() {
                return Err(invalid("text: must not be empty"));
            }
            if text.len() > MAX_SPEAK_TEXT_LEN {
                return Err(invalid(format!(
                    "text: longer than {MAX_SPEAK_TEXT_LEN} bytes"
                )));
            }
            if text
                .chars()
                .any(|c| c.is_control() && c != '\t' && c != '\n')
            {
                return Err(invalid("text: contains a control character"));
            }
            Ok(())
        }
        // The contract calls this a malformed request rather than a bad
        // value: like a missing field, it is the shape that is wrong.
        (Some(_), Some(_)) => Err(bad_request("file, text: give one of them, not both")),
        (None, None) => Err(bad_request("file, text: give one of them")),
    }
}

pub(super) fn validate_collect(collect: &Collect) -> Result<(), ReplyError> {
    check_id("leg", &collect.leg)?;
    if !COLLECT_MAX_DIGITS.contains(&collect.max_digits) {
        return Err(invalid(format!(
            "max_digits: {} is not in {}..={}",
            collect.max_digits,
            COLLECT_MAX_DIGITS.start(),
            COLLECT_MAX_DIGITS.end()
        )));
    }
    if let Some(secs) = collect.timeout {
        check_duration("timeout", secs)?;
    }
    if let Some(secs) = collect.first_digit_timeout {
        check_duration("first_digit_timeout", secs)?;
    }
    if let Some(digit) = collect.terminator
        && !TERMINATORS.contains(digit)
    {
        return Err(invalid(format!(
            "terminator: {digit:?} is not one of {TERMINATORS}"
        )));
    }
    if let Some(retries) = collect.retries
        && retries > MAX_COLLECT_RETRIES
    {
        return Err(invalid(format!(
            "retries: {retries} is more than {MAX_COLLECT_RETRIES}"
        )));
    }
    if let Some(prompt) = &collect.prompt {
        check_path("prompt", prompt)?;
    }
    if let Some(prompt) = &collect.timeout_prompt {
        check_path("timeout_prompt", prompt)?;
    }
    Ok(())
}

pub(super) fn validate_record(record: &Record) -> Result<(), ReplyError> {
    check_id("leg", &record.leg)?;
    check_path("path", &record.path)?;
    // Split mode derives two names from the stem; mixed needs a file name too.
    if Path::new(&record.path).file_stem().is_none() || record.path.ends_with('/') {
        return Err(invalid(format!("path: {:?} names no file", record.path)));
    }
    Ok(())
}

pub(super) fn validate_send_dtmf(dtmf: &SendDtmf) -> Result<(), ReplyError> {
    check_id("leg", &dtmf.leg)?;
    if dtmf.digits.is_empty() {
        return Err(invalid("digits: must not be empty"));
    }
    if dtmf.digits.len() > MAX_SEND_DIGITS {
        return Err(invalid(format!("digits: more than {MAX_SEND_DIGITS}")));
    }
    if let Some(bad) = dtmf.digits.chars().find(|c| !SENDABLE_DIGITS.contains(*c)) {
        return Err(invalid(format!(
            "digits: {bad:?} is not one of {SENDABLE_DIGITS}"
        )));
    }
    if let Some(secs) = dtmf.duration
        && (secs.is_nan() || secs <= 0.0 || secs > MAX_DTMF_DURATION_SECS)
    {
        return Err(invalid(format!(
            "duration: {secs} is not in (0, {MAX_DTMF_DURATION_SECS}] seconds"
        )));
    }
    Ok(())
}

/// A file path: non-empty, bounded, without NUL (which no path can hold).
fn check_path(field: &str, path: &str) -> Result<(), ReplyError> {
    if path.is_empty() {
        return Err(invalid(format!("{field}: must not be empty")));
    }
    if path.len() > MAX_PATH_LEN {
        return Err(invalid(format!(
            "{field}: longer than {MAX_PATH_LEN} bytes"
        )));
    }
    if path.contains('\0') {
        return Err(invalid(format!("{field}: contains a NUL byte")));
    }
    Ok(())
}

fn bad_request(message: &str) -> ReplyError {
    ReplyError::new(ErrorCode::BadRequest, message)
}
