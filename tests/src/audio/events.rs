//! Waiting for control events by their wire name, undecoded: media events
//! are checked field by field, and an event kind the shared types do not
//! know yet still reaches the test instead of failing the decode.

use crate::control::{Control, decode_event, event_leg};
use serde_json::Value;
use std::time::{Duration, Instant};

fn seen(control: &Control) -> String {
    control
        .seen_events()
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first event that `wanted` accepts within `timeout`, skipping others;
/// panics naming `what` and the events seen.
pub fn wait_where(
    control: &mut Control,
    what: &str,
    timeout: Duration,
    mut wanted: impl FnMut(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let raw = if left.is_zero() {
            None
        } else {
            control.next_event_raw(left)
        };
        match raw {
            Some(raw) if wanted(&raw) => return raw,
            Some(_) => {}
            None => panic!(
                "no {what} within {timeout:?}; events seen on this connection:\n{}",
                seen(control)
            ),
        }
    }
}

/// The first event named `kind` about `leg` within `timeout`.
pub fn wait(control: &mut Control, kind: &str, leg: &str, timeout: Duration) -> Value {
    wait_where(control, &format!("{kind} for leg {leg}"), timeout, |raw| {
        raw["event"] == kind && event_leg(raw) == Some(leg)
    })
}

/// Every event that arrives within `window`, in order.
pub fn gather(control: &mut Control, window: Duration) -> Vec<Value> {
    let deadline = Instant::now() + window;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        if let Some(raw) = control.next_event_raw(left) {
            out.push(raw);
        }
    }
}

/// The events of `kind` about `leg` among `events`.
pub fn of_kind<'a>(events: &'a [Value], kind: &str, leg: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|raw| raw["event"] == kind && event_leg(raw) == Some(leg))
        .collect()
}

/// `raw` after checking it decodes as the shared `switchd_control::Event`
/// (panics when it does not): the daemon's media events against the types.
pub fn checked(raw: Value) -> Value {
    decode_event(&raw);
    raw
}
