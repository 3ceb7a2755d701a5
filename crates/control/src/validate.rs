//! The argument checks that need no daemon state, run by
//! [`decode_request`](crate::codec::decode_request) so every front end (socket,
//! REST, switchctl) refuses the same values with the same `invalid_argument`.
//!
//! Text that ends up in SIP headers is checked for control characters here,
//! because a CR or LF in it would let a client inject headers.

use crate::command::{Command, Originate, TrunkSpec};
use crate::reply::{ErrorCode, ReplyError};

mod media;

pub use media::{
    COLLECT_MAX_DIGITS, MAX_COLLECT_RETRIES, MAX_DTMF_DURATION_SECS, MAX_PATH_LEN, MAX_SEND_DIGITS,
    MAX_SPEAK_TEXT_LEN,
};

/// Longest leg id or trunk name, in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Longest URI, number, display name, host or credential, in bytes.
pub const MAX_TEXT_LEN: usize = 1024;
/// Most extra headers on one `originate`.
pub const MAX_EXTRA_HEADERS: usize = 32;
/// Longest duration argument accepted, in seconds (one week): larger values
/// are surely mistakes, and bounding them keeps `Duration` conversion safe.
pub const MAX_DURATION_SECS: f64 = 7.0 * 86_400.0;

/// Headers the daemon builds itself; `originate` refuses them in `headers`
/// (full and compact forms, compared case-insensitively).
pub const RESERVED_HEADERS: &[&str] = &[
    "via",
    "v",
    "from",
    "f",
    "to",
    "t",
    "call-id",
    "i",
    "cseq",
    "contact",
    "m",
    "max-forwards",
    "content-length",
    "l",
    "content-type",
    "c",
    "content-encoding",
    "e",
    "route",
    "record-route",
    "authorization",
    "proxy-authorization",
    "privacy",
    "p-asserted-identity",
];

/// Checks `command`'s arguments against the static rules of the protocol.
///
/// # Errors
/// `invalid_argument`, with a message starting with the field's name; for
/// `play` without exactly one of `file` and `text`, `bad_request`.
pub fn validate_command(command: &Command) -> Result<(), ReplyError> {
    match command {
        Command::Originate(originate) => validate_originate(originate),
        Command::Ring { leg, status } => {
            check_id("leg", leg)?;
            match status {
                None | Some(180) | Some(183) => Ok(()),
                Some(other) => Err(invalid(format!("status: {other} is not 180 or 183"))),
            }
        }
        Command::Reject { leg, status } => {
            check_id("leg", leg)?;
            match status {
                Some(s) if !(400..=699).contains(s) => {
                    Err(invalid(format!("status: {s} is not in 400..=699")))
                }
                _ => Ok(()),
            }
        }
        Command::Answer { leg } | Command::Hangup { leg, .. } | Command::Leg { leg } => {
            check_id("leg", leg)
        }
        Command::TrunkAdd(spec) => validate_trunk(spec),
        Command::TrunkRemove { name } => check_id("name", name),
        Command::Bridge { leg, other } => media::validate_bridge(leg, other),
        Command::Unbridge { leg }
        | Command::StopPlay { leg }
        | Command::StopRecord { leg }
        | Command::Echo { leg } => check_id("leg", leg),
        Command::Play(play) => media::validate_play(play),
        Command::Collect(collect) => media::validate_collect(collect),
        Command::Record(record) => media::validate_record(record),
        Command::SendDtmf(dtmf) => media::validate_send_dtmf(dtmf),
        Command::Ping
        | Command::Legs
        | Command::Subscribe { .. }
        | Command::Unsubscribe
        | Command::Trunks
        | Command::Stats => Ok(()),
    }
}

fn validate_originate(o: &Originate) -> Result<(), ReplyError> {
    check_text("to", &o.to)?;
    if o.to.is_empty() {
        return Err(invalid("to: must not be empty"));
    }
    if let Some(leg) = &o.leg {
        check_id("leg", leg)?;
    }
    if let Some(from) = &o.from {
        check_text("from", from)?;
    }
    if let Some(name) = &o.display_name {
        check_text("display_name", name)?;
    }
    if let Some(trunk) = &o.trunk {
        check_id("trunk", trunk)?;
    }
    if let Some(secs) = o.ring_timeout {
        check_duration("ring_timeout", secs)?;
    }
    if let Some(secs) = o.max_duration {
        check_duration("max_duration", secs)?;
    }
    if o.headers.len() > MAX_EXTRA_HEADERS {
        return Err(invalid(format!("headers: more than {MAX_EXTRA_HEADERS}")));
    }
    for (name, value) in &o.headers {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(invalid(format!("headers: {name:?} is not a header name")));
        }
        if RESERVED_HEADERS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
        {
            return Err(invalid(format!("headers: {name} is set by the daemon")));
        }
        check_text("headers", value)?;
    }
    Ok(())
}

fn validate_trunk(spec: &TrunkSpec) -> Result<(), ReplyError> {
    check_id("name", &spec.name)?;
    check_text("host", &spec.host)?;
    if spec.host.is_empty() || spec.host.chars().any(char::is_whitespace) {
        return Err(invalid("host: must be a host name or address"));
    }
    if spec.port == Some(0) {
        return Err(invalid("port: must not be 0"));
    }
    match spec.transport.as_deref() {
        None | Some("udp") | Some("tcp") => {}
        Some(other) => return Err(invalid(format!("transport: {other:?} is not udp or tcp"))),
    }
    for (field, value) in [
        ("username", &spec.username),
        ("password", &spec.password),
        ("auth_user", &spec.auth_user),
    ] {
        if let Some(value) = value {
            check_text(field, value)?;
        }
    }
    if spec.register_expires == Some(0) {
        return Err(invalid("register_expires: must not be 0"));
    }
    Ok(())
}

/// Leg ids and names: non-empty, short, no control characters.
fn check_id(field: &str, id: &str) -> Result<(), ReplyError> {
    if id.is_empty() {
        return Err(invalid(format!("{field}: must not be empty")));
    }
    if id.len() > MAX_ID_LEN {
        return Err(invalid(format!("{field}: longer than {MAX_ID_LEN} bytes")));
    }
    if id.chars().any(char::is_control) {
        return Err(invalid(format!("{field}: contains a control character")));
    }
    Ok(())
}

/// Free text bound for SIP: bounded, no control characters (tab allowed).
fn check_text(field: &str, text: &str) -> Result<(), ReplyError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(invalid(format!(
            "{field}: longer than {MAX_TEXT_LEN} bytes"
        )));
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(invalid(format!("{field}: contains a control character")));
    }
    Ok(())
}

fn check_duration(field: &str, secs: f64) -> Result<(), ReplyError> {
    if secs.is_nan() || secs <= 0.0 || secs > MAX_DURATION_SECS {
        return Err(invalid(format!(
            "{field}: {secs} is not in (0, {MAX_DURATION_SECS}] seconds"
        )));
    }
    Ok(())
}

/// RFC 3261 §25.1 `token`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn invalid(message: impl Into<String>) -> ReplyError {
    ReplyError::new(ErrorCode::InvalidArgument, message)
}
