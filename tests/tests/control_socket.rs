//! The control protocol against the real daemon: error codes, idempotent
//! `originate`, and resuming the event stream with `since`.

use serde_json::{Value, json};
use std::time::Duration;
use switchd_control::EventKind;
use switchd_tests::control::decode_event;
use switchd_tests::sipp::Sipp;
use switchd_tests::{Control, Daemon, DaemonConfig, RouteAction};

const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Each way a request can be wrong gets its stable code, and the connection
/// keeps working after each.
#[test]
fn errors_have_stable_codes_and_keep_the_connection() {
    let daemon = Daemon::start("ctlerr", &DaemonConfig::with_route(RouteAction::Answer));
    let mut control = daemon.control();

    control.send_line("{this is not json");
    let reply = control
        .read_reply(Duration::from_secs(5))
        .expect("a reply to a bad line");
    assert_eq!(reply["ok"], false, "{reply}");
    assert_eq!(reply["error"]["code"], "bad_json", "{reply}");
    let pong = control.ping();
    assert!(
        pong["version"].is_string(),
        "ping reply without version: {pong}"
    );

    assert_eq!(
        control.error_code(json!({"cmd": "frobnicate"})),
        "unknown_command"
    );
    assert_eq!(
        control.error_code(json!({"cmd": "hangup", "leg": "no-such-leg"})),
        "unknown_leg"
    );
    assert_eq!(
        control.error_code(json!({"cmd": "answer", "leg": "no-such-leg"})),
        "unknown_leg"
    );
    control.ping();
}

/// Originating the same leg id twice places one call (`existing: true` the
/// second time), and `answer` on that outbound leg is `invalid_state`.
#[test]
fn originate_is_idempotent_and_answer_needs_an_inbound_leg() {
    let daemon = Daemon::start("idem", &DaemonConfig::with_route(RouteAction::Answer));
    // Room for a second call, so a duplicate INVITE would be seen and counted.
    let uas = Sipp::scenario("uas_answer.xml", daemon.dir().path(), "uas")
        .calls(2)
        .timeout(Duration::from_secs(30), false)
        .spawn();
    let mut control = daemon.control();
    control.subscribe(None);
    let originate =
        json!({"cmd": "originate", "to": uas.uri("uas"), "leg": "dup", "ring_timeout": 5});
    let first = control.ok(originate.clone());
    assert_ne!(first["existing"], true, "first originate: {first}");
    let second = control.ok(originate);
    assert_eq!(
        second["existing"], true,
        "second originate of the same id: {second}"
    );
    assert_eq!(
        second["leg"]["call_id"], first["leg"]["call_id"],
        "{first} vs {second}"
    );

    assert_eq!(
        control.error_code(json!({"cmd": "answer", "leg": "dup"})),
        "invalid_state"
    );

    control.wait_event("leg.answered", Some("dup"), EVENT_TIMEOUT);
    control.ok(json!({"cmd": "hangup", "leg": "dup"}));
    control.wait_event("leg.hungup", Some("dup"), EVENT_TIMEOUT);
    // sipp writes its statistics every second.
    std::thread::sleep(Duration::from_millis(1500));
    let seen = uas.snapshot();
    assert_eq!(
        (seen.incoming, seen.successful, seen.failed),
        (1, 1, 0),
        "sipp saw:\n{}",
        seen.report
    );
    let outbound = control.ok(json!({"cmd": "legs"}))["legs"]
        .as_array()
        .map(|legs| {
            legs.iter()
                .filter(|leg| leg["direction"] == "outbound")
                .count()
        })
        .unwrap_or(0);
    assert_eq!(outbound, 1, "outbound legs after two originates of one id");
}

/// Places one call to a busy sipp so that events happen, and waits for its end.
fn busy_call(daemon: &Daemon, watcher: &mut Control, leg: &str) {
    let uas = Sipp::scenario("uas_busy.xml", daemon.dir().path(), leg).spawn();
    watcher.ok(json!({"cmd": "originate", "to": uas.uri("busy"), "leg": leg, "ring_timeout": 5}));
    watcher.wait_event("leg.hungup", Some(leg), EVENT_TIMEOUT);
    uas.wait().assert_all_successful(1);
}

/// Raw events after `seq` until (and including) `last`, on a connection that
/// resumed from `seq`.
fn resumed_until(control: &mut Control, last: u64) -> Vec<Value> {
    let mut out = Vec::new();
    while out
        .last()
        .and_then(|e: &Value| e["seq"].as_u64())
        .is_none_or(|seq| seq < last)
    {
        let event = control
            .next_event_raw(EVENT_TIMEOUT)
            .unwrap_or_else(|| panic!("resumed stream stopped before seq {last}; got {out:?}"));
        out.push(event);
    }
    out
}

/// A client that disconnects and comes back with `since` gets exactly the
/// events it missed, in order.
#[test]
fn resubscribe_with_since_replays_missed_events() {
    let daemon = Daemon::start("resume", &DaemonConfig::with_route(RouteAction::Answer));
    let mut watcher = daemon.control();
    watcher.subscribe(None);

    let mut client = daemon.control();
    let seen_up_to = client.subscribe(None);
    drop(client);

    busy_call(&daemon, &mut watcher, "r1");
    busy_call(&daemon, &mut watcher, "r2");
    let missed: Vec<Value> = watcher
        .seen_events()
        .iter()
        .filter(|e| e["seq"].as_u64().is_some_and(|seq| seq > seen_up_to))
        .cloned()
        .collect();
    assert!(
        missed.len() >= 2,
        "two calls made fewer than two events: {missed:?}"
    );
    let last = missed.last().and_then(|e| e["seq"].as_u64()).unwrap_or(0);

    let mut client = daemon.control();
    client.subscribe(Some(seen_up_to));
    let replayed = resumed_until(&mut client, last);
    assert_eq!(
        replayed, missed,
        "replayed events differ from the ones the watcher saw live"
    );
    let seqs: Vec<u64> = replayed.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seqs out of order: {seqs:?}"
    );
}

/// With a ring of 2 events, resuming from an old `since` yields a `gap`
/// naming the lost seqs first, then the events still kept.
#[test]
fn resubscribe_past_the_ring_reports_a_gap() {
    let config = DaemonConfig::with_route(RouteAction::Answer).set("control", "event_ring", "2");
    let daemon = Daemon::start("gap", &config);
    let mut watcher = daemon.control();
    let start = watcher.subscribe(None);

    busy_call(&daemon, &mut watcher, "g1");
    busy_call(&daemon, &mut watcher, "g2");
    let seen: Vec<u64> = watcher
        .seen_events()
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    let last = seen.last().copied().unwrap_or(0);
    assert!(
        last >= start + 3,
        "two calls made too few events for the test: {seen:?}"
    );

    let mut client = daemon.control();
    client.subscribe(Some(start));
    let first = client
        .next_event_raw(EVENT_TIMEOUT)
        .expect("an event after resubscribing");
    match decode_event(&first).kind {
        EventKind::Gap { from, to } => {
            assert_eq!(from, start + 1, "gap {first}");
            // The ring keeps the last two events.
            assert_eq!(to, last - 2, "gap {first}");
        }
        other => panic!("expected a gap first, got {other:?}"),
    }
    let kept = resumed_until(&mut client, last);
    let kept_seqs: Vec<u64> = kept.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(kept_seqs, vec![last - 1, last], "events after the gap");
}
