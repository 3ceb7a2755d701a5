//! A blocking client of the control socket, for tests.
//!
//! Written against the wire format rather than `switchd_control::client`, so
//! a test can also send malformed lines and see exactly what comes back.
//! Events are decoded into `switchd_control::Event`: a line that does not
//! decode fails the test, which checks the daemon against the shared types.

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};
use switchd_control::{Event, EventKind};

/// How long a request waits for its reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection to the control socket.
#[derive(Debug)]
pub struct Control {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    /// Lines read while looking for something else, oldest first.
    buffered: VecDeque<Value>,
    /// Every event seen on this connection, for failure messages.
    seen_events: Vec<Value>,
    /// The start of a line whose end has not arrived yet.
    partial: String,
}

/// A failed reply's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    /// The stable code (`unknown_leg`…).
    pub code: String,
    /// The human message.
    pub message: String,
}

impl Control {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(path)?;
        let writer = stream.try_clone()?;
        Ok(Self {
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
            buffered: VecDeque::new(),
            seen_events: Vec::new(),
            partial: String::new(),
        })
    }

    /// Sends one raw line (a newline is added).
    pub fn send_line(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.writer
            .write_all(&bytes)
            .expect("write to control socket");
    }

    /// The next line as JSON, or `None` after `timeout` (or at end of stream).
    /// Panics on a line that is not JSON: the daemon must never send one.
    fn read_value(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(value) = self.buffered.pop_front() {
            return Some(value);
        }
        let timeout = timeout.max(Duration::from_millis(1));
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .expect("set read timeout");
        // A read that times out mid-line keeps what it got in `partial`.
        match self.reader.read_line(&mut self.partial) {
            Ok(0) => None,
            Ok(_) if !self.partial.ends_with('\n') => None,
            Ok(_) => {
                let line = std::mem::take(&mut self.partial);
                let value: Value = serde_json::from_str(line.trim_end()).unwrap_or_else(|e| {
                    panic!("daemon sent a line that is not JSON ({e}): {line:?}")
                });
                if value.get("event").is_some() {
                    self.seen_events.push(value.clone());
                }
                Some(value)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(e) => panic!("reading the control socket: {e}"),
        }
    }

    /// The next line that is a reply (not an event), keeping events for later.
    pub fn read_reply(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        let mut held = Vec::new();
        let reply = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break None;
            }
            match self.read_value(left) {
                Some(value) if value.get("event").is_some() => held.push(value),
                Some(value) => break Some(value),
                None => break None,
            }
        };
        // Held events go back in front of anything buffered, in order.
        for value in held.into_iter().rev() {
            self.buffered.push_front(value);
        }
        reply
    }

    /// Sends `command` (an object with `cmd` and arguments) with a fresh id
    /// and returns the whole reply object.
    pub fn request(&mut self, mut command: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        command["id"] = json!(id);
        self.send_line(&command.to_string());
        let reply = self
            .read_reply(REPLY_TIMEOUT)
            .unwrap_or_else(|| panic!("no reply within {REPLY_TIMEOUT:?} to {command}"));
        assert_eq!(
            reply["id"],
            json!(id),
            "reply to {command} carries another id: {reply}"
        );
        reply
    }

    /// Sends `command`; `Ok(reply)` or `Err` with the reply's error.
    pub fn call(&mut self, command: Value) -> Result<Value, ControlError> {
        let reply = self.request(command);
        match reply.get("ok") {
            Some(Value::Bool(true)) => Ok(reply),
            Some(Value::Bool(false)) => Err(ControlError {
                code: reply["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                message: reply["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            }),
            _ => panic!("reply without a boolean `ok`: {reply}"),
        }
    }

    /// Sends `command` and panics unless it succeeds.
    pub fn ok(&mut self, command: Value) -> Value {
        let shown = command.to_string();
        self.call(command)
            .unwrap_or_else(|e| panic!("{shown} failed: {e:?}"))
    }

    /// Sends `command` and returns the error code it must fail with.
    pub fn error_code(&mut self, command: Value) -> String {
        let shown = command.to_string();
        match self.call(command) {
            Ok(reply) => panic!("{shown} succeeded but should have failed: {reply}"),
            Err(e) => e.code,
        }
    }

    /// `ping`, which must succeed.
    pub fn ping(&mut self) -> Value {
        self.ok(json!({"cmd": "ping"}))
    }

    /// Subscribes (from now, or from `since` + 1) and returns the reply's `seq`.
    pub fn subscribe(&mut self, since: Option<u64>) -> u64 {
        let command = match since {
            Some(since) => json!({"cmd": "subscribe", "since": since}),
            None => json!({"cmd": "subscribe"}),
        };
        let reply = self.ok(command);
        reply["seq"]
            .as_u64()
            .unwrap_or_else(|| panic!("subscribe reply without seq: {reply}"))
    }

    /// The next event within `timeout`, raw.
    pub fn next_event_raw(&mut self, timeout: Duration) -> Option<Value> {
        let value = self.read_value(timeout)?;
        if value.get("event").is_none() {
            panic!("a reply arrived while waiting for events, with no request pending: {value}");
        }
        Some(value)
    }

    /// The next event within `timeout`, decoded.
    pub fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        self.next_event_raw(timeout).map(|raw| decode_event(&raw))
    }

    /// Waits for the first event named `kind` (`leg.answered`…) about `leg`
    /// (any leg when `None`), skipping others; panics after `timeout` with the
    /// events seen on this connection.
    pub fn wait_event(&mut self, kind: &str, leg: Option<&str>, timeout: Duration) -> Event {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(raw) = (if left.is_zero() {
                None
            } else {
                self.next_event_raw(left)
            }) else {
                panic!(
                    "no {kind} event for leg {leg:?} within {timeout:?}; events seen on this connection:\n{}",
                    self.seen_events
                        .iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            };
            if raw["event"] == kind && leg.is_none_or(|leg| event_leg(&raw) == Some(leg)) {
                return decode_event(&raw);
            }
        }
    }

    /// Every event seen on this connection so far, raw.
    pub fn seen_events(&self) -> &[Value] {
        &self.seen_events
    }
}

/// The leg id an event is about: `"leg": "a1"` or `"leg": {"id": "a1", …}`.
pub fn event_leg(raw: &Value) -> Option<&str> {
    raw["leg"].as_str().or_else(|| raw["leg"]["id"].as_str())
}

/// `raw` as a typed event; panics when the daemon's line does not match the
/// shared types.
pub fn decode_event(raw: &Value) -> Event {
    serde_json::from_value(raw.clone())
        .unwrap_or_else(|e| panic!("event does not match switchd_control::Event ({e}): {raw}"))
}

/// The event's wire name.
pub fn kind_name(event: &Event) -> &'static str {
    event.kind.name()
}

/// The hang-up details of a `leg.hungup` event; panics on another kind.
pub fn hangup(event: &Event) -> (switchd_control::HangupCause, Option<u16>) {
    match &event.kind {
        EventKind::Hungup {
            cause, sip_status, ..
        } => (*cause, *sip_status),
        other => panic!("expected leg.hungup, got {other:?}"),
    }
}
