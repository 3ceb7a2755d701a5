//! Waiting for control events by their wire name, undecoded: media events
//! are checked field by field, and an event kind the shared types do not
//! know yet still reaches the test instead of failing the decode.

use crate::control::{Control, decode_event, event_leg};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a test waits for an event its own command or media caused.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

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

/// The id of the first `leg.incoming` that `wanted` accepts within
/// `timeout`; panics when it has none.
pub fn incoming_leg(
    control: &mut Control,
    timeout: Duration,
    mut wanted: impl FnMut(&Value) -> bool,
) -> String {
    let incoming = wait_where(control, "leg.incoming", timeout, |raw| {
        raw["event"] == "leg.incoming" && wanted(raw)
    });
    incoming["leg"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("leg.incoming without an id: {incoming}"))
        .to_string()
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

/// [`wait`] for the event, then [`checked`] against the shared types.
pub fn wait_checked(control: &mut Control, kind: &str, leg: &str, timeout: Duration) -> Value {
    checked(wait(control, kind, leg, timeout))
}

/// Waits for `play.started` and then `play.finished` about `leg`, each
/// within `timeout` and [`checked`].
pub fn play_through(control: &mut Control, leg: &str, timeout: Duration) {
    wait_checked(control, "play.started", leg, timeout);
    wait_checked(control, "play.finished", leg, timeout);
}

/// `raw` after checking it decodes as the shared `switchd_control::Event`
/// (panics when it does not): the daemon's media events against the types.
pub fn checked(raw: Value) -> Value {
    decode_event(&raw);
    raw
}
