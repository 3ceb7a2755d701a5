//! Lines to requests, replies and events, and back.
//!
//! Each line is one JSON object, without the trailing newline (the framing is
//! the caller's, as is the line-length limit: see [`MAX_LINE_LEN`]).
//!
//! Replies are decoded without knowing the command they answer: the body is
//! the first [`ReplyBody`] variant that fits the merged fields (and `Empty`
//! fits any object). [`decode_reply_for`] also checks that the body is the one
//! the command succeeds with, which is what clients want.

use crate::command::{Command, Request, RequestId};
use crate::error::Error;
use crate::event::Event;
use crate::reply::{ErrorCode, Reply, ReplyBody, ReplyError};
use crate::validate::validate_command;
use serde_json::{Map, Value};

/// Longest line either side accepts, in bytes (newline excluded); the daemon
/// answers longer requests with `too_large`.
pub const MAX_LINE_LEN: usize = 1024 * 1024;

/// Longest piece of client text quoted back in an error message.
const MAX_QUOTED: usize = 200;

/// A line from the daemon: a reply or an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A reply (no `event` key).
    Reply(Reply),
    /// An event (the object has an `event` key).
    Event(Event),
}

/// Reads one request line, with every static check of its arguments.
///
/// # Errors
/// The request's id (`Null` when it could not be read) and the error to reply
/// with: `bad_json` (not JSON, or not an object), `bad_request` (`id` or
/// `cmd` missing or mistyped; an argument missing, mistyped or unknown, with
/// serde's message naming it), `unknown_command`, or `invalid_argument` (see
/// [`validate_command`]).
pub fn decode_request(line: &[u8]) -> Result<Request, (RequestId, ReplyError)> {
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        (
            Value::Null,
            error(ErrorCode::BadJson, format!("not JSON: {e}")),
        )
    })?;
    let Value::Object(mut map) = value else {
        return Err((Value::Null, error(ErrorCode::BadJson, "not a JSON object")));
    };
    let id = match map.remove("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id,
        Some(_) => {
            return Err((Value::Null, bad_request("id: must be a string or a number")));
        }
        None => return Err((Value::Null, bad_request("missing field `id`"))),
    };
    let name = match map.get("cmd") {
        Some(Value::String(name)) => name,
        Some(_) => return Err((id, bad_request("cmd: must be a string"))),
        None => return Err((id, bad_request("missing field `cmd`"))),
    };
    if !Command::NAMES.contains(&name.as_str()) {
        let message = format!("unknown command {:?}", quoted(name));
        return Err((id, error(ErrorCode::UnknownCommand, message)));
    }
    let takes_no_arguments = UNIT_COMMANDS.contains(&name.as_str());
    if let Some(extra) = map
        .keys()
        .find(|k| takes_no_arguments && k.as_str() != "cmd")
    {
        let message = format!(
            "unknown field `{}`: `{name}` takes no arguments",
            quoted(extra)
        );
        return Err((id, bad_request(message)));
    }
    let command = match serde_json::from_value::<Command>(Value::Object(map.clone())) {
        Ok(command) => command,
        Err(e) => return Err((id, bad_request(name_the_field(&map, e.to_string())))),
    };
    if let Err(e) = validate_command(&command) {
        return Err((id, e));
    }
    Ok(Request { id, command })
}

/// Commands without arguments: serde ignores extra fields on unit variants,
/// so the decoder refuses them itself.
const UNIT_COMMANDS: [&str; 5] = ["ping", "legs", "unsubscribe", "trunks", "stats"];

/// serde names the field for missing and unknown fields but not for a bad
/// value inside a tagged enum ("invalid type: integer `-1`, expected u64").
/// Then the culprit is the field whose removal changes the outcome; there
/// are at most a handful (unknown ones were refused already).
fn name_the_field(args: &Map<String, Value>, message: String) -> String {
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        return quoted(&message);
    }
    let culprit = args.keys().filter(|k| k.as_str() != "cmd").find(|key| {
        let mut without = args.clone();
        without.remove(key.as_str());
        match serde_json::from_value::<Command>(Value::Object(without)) {
            Ok(_) => true,
            Err(e) => e.to_string() != message,
        }
    });
    match culprit {
        Some(field) => format!("{}: {}", quoted(field), quoted(&message)),
        None => quoted(&message),
    }
}

/// Writes a request as one line (no newline): `{"id":…,"cmd":…,…}`.
pub fn encode_request(request: &Request) -> String {
    let mut fields = object_of(&request.command);
    let cmd = fields.remove("cmd").unwrap_or(Value::Null);
    write_object(&[("id", &request.id), ("cmd", &cmd)], &fields)
}

/// Writes a reply as one line (no newline): the body's fields merged after
/// `id` and `ok`, or `error` after them.
pub fn encode_reply(reply: &Reply) -> String {
    match &reply.result {
        Ok(body) => write_object(
            &[("id", &reply.id), ("ok", &Value::Bool(true))],
            &object_of(body),
        ),
        Err(e) => {
            let mut fields = Map::new();
            fields.insert("error".to_owned(), Value::Object(object_of(e)));
            write_object(&[("id", &reply.id), ("ok", &Value::Bool(false))], &fields)
        }
    }
}

/// Writes an event as one line (no newline): `{"event":…,"seq":…,"time":…,…}`.
pub fn encode_event(event: &Event) -> String {
    let mut fields = object_of(event);
    let name = fields.remove("event").unwrap_or(Value::Null);
    let seq = fields.remove("seq").unwrap_or(Value::Null);
    let time = fields.remove("time").unwrap_or(Value::Null);
    write_object(&[("event", &name), ("seq", &seq), ("time", &time)], &fields)
}

/// Reads a reply line without knowing its command (see the module docs).
///
/// # Errors
/// [`Error::Json`], [`Error::NotObject`], [`Error::MissingField`] (`id`, `ok`,
/// `error`) or [`Error::InvalidField`] (`ok`, `error`, `body`).
pub fn decode_reply(line: &[u8]) -> Result<Reply, Error> {
    reply_from_object(parse_object(line)?)
}

/// Reads the reply to `command`, checking that a success carries the body
/// `command` succeeds with ([`ReplyBody::fits`]).
///
/// # Errors
/// As [`decode_reply`], and [`Error::InvalidField`] (`body`) when the body
/// does not fit.
pub fn decode_reply_for(line: &[u8], command: &Command) -> Result<Reply, Error> {
    let reply = decode_reply(line)?;
    check_fits(&reply, command)?;
    Ok(reply)
}

/// Reads an event line.
///
/// # Errors
/// [`Error::Json`], [`Error::NotObject`], [`Error::MissingField`] (`event`),
/// or [`Error::InvalidField`] (`event`) for an unknown event or bad fields.
pub fn decode_event(line: &[u8]) -> Result<Event, Error> {
    event_from_object(parse_object(line)?)
}

/// Reads a line from the daemon: an event if it has an `event` key, else a reply.
///
/// # Errors
/// As [`decode_event`] or [`decode_reply`].
pub fn decode_incoming(line: &[u8]) -> Result<Incoming, Error> {
    let map = parse_object(line)?;
    if is_event_object(&map) {
        event_from_object(map).map(Incoming::Event)
    } else {
        reply_from_object(map).map(Incoming::Reply)
    }
}

/// Whether a decoded line is an event rather than a reply.
pub(crate) fn is_event_object(map: &Map<String, Value>) -> bool {
    map.contains_key("event")
}

pub(crate) fn parse_object(line: &[u8]) -> Result<Map<String, Value>, Error> {
    match serde_json::from_slice(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::NotObject),
        Err(source) => Err(Error::Json { source }),
    }
}

pub(crate) fn reply_from_object(mut map: Map<String, Value>) -> Result<Reply, Error> {
    let id = map
        .remove("id")
        .ok_or(Error::MissingField { field: "id" })?;
    let ok = match map.remove("ok") {
        Some(Value::Bool(ok)) => ok,
        Some(_) => return Err(invalid_field("ok", "not a boolean")),
        None => return Err(Error::MissingField { field: "ok" }),
    };
    let result = if ok {
        let body = serde_json::from_value::<ReplyBody>(Value::Object(map))
            .map_err(|e| invalid_field("body", e.to_string()))?;
        Ok(body)
    } else {
        let detail = map
            .remove("error")
            .ok_or(Error::MissingField { field: "error" })?;
        let e = serde_json::from_value::<ReplyError>(detail)
            .map_err(|e| invalid_field("error", e.to_string()))?;
        Err(e)
    };
    Ok(Reply { id, result })
}

pub(crate) fn event_from_object(map: Map<String, Value>) -> Result<Event, Error> {
    if !is_event_object(&map) {
        return Err(Error::MissingField { field: "event" });
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| invalid_field("event", e.to_string()))
}

pub(crate) fn check_fits(reply: &Reply, command: &Command) -> Result<(), Error> {
    match &reply.result {
        Ok(body) if !body.fits(command) => Err(invalid_field(
            "body",
            format!("does not fit the reply to `{}`", command.name()),
        )),
        _ => Ok(()),
    }
}

/// The fields of a type that serializes as an object. All our types do; a
/// serializer failure could only come from a non-string map key, which none has.
fn object_of<T: serde::Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// One JSON object with `head` first, in order, then `rest`: the leading keys
/// make lines easy to read and grep.
fn write_object(head: &[(&str, &Value)], rest: &Map<String, Value>) -> String {
    let mut out = String::from("{");
    let pairs = head
        .iter()
        .map(|(k, v)| (*k, *v))
        .chain(rest.iter().map(|(k, v)| (k.as_str(), v)));
    for (n, (key, value)) in pairs.enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(key.to_owned()).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

/// `text` cut to a length fit to quote back in a message.
fn quoted(text: &str) -> String {
    if text.len() <= MAX_QUOTED {
        return text.to_owned();
    }
    let mut end = MAX_QUOTED;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or_default())
}

fn error(code: ErrorCode, message: impl Into<String>) -> ReplyError {
    ReplyError::new(code, message)
}

fn bad_request(message: impl Into<String>) -> ReplyError {
    error(ErrorCode::BadRequest, message)
}

fn invalid_field(field: &'static str, detail: impl Into<String>) -> Error {
    Error::InvalidField {
        field,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod media_tests;
#[cfg(test)]
mod tests;
