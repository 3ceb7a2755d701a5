//! Calls through the real daemon: sipp calling in, and `originate` calling
//! out to sipp, each test with a daemon of its own.

use serde_json::json;
use std::time::Duration;
use switchd_control::{EventKind, HangupCause, LegDirection, LegState};
use switchd_tests::control::hangup;
use switchd_tests::sipp::{RunningSipp, Sipp};
use switchd_tests::{Control, Daemon, DaemonConfig, RouteAction, TrunkConfig};

const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A daemon answering calls, a sipp callee playing `scenario` (as user
/// `uas`), and a control connection subscribed to the daemon's events.
fn daemon_and_callee(label: &str, scenario: &str) -> (Daemon, RunningSipp, Control) {
    let daemon = Daemon::start(label, &DaemonConfig::with_route(RouteAction::Answer));
    let uas = Sipp::scenario(scenario, daemon.dir().path(), "uas").spawn();
    let mut control = daemon.control();
    control.subscribe(None);
    (daemon, uas, control)
}

/// `hangup`s `leg` and asserts that it ends with `normal_clearing`.
fn hang_up_normally(control: &mut Control, leg: &str) {
    control.ok(json!({"cmd": "hangup", "leg": leg}));
    let ended = control.wait_event("leg.hungup", Some(leg), EVENT_TIMEOUT);
    assert_eq!(hangup(&ended).0, HangupCause::NormalClearing, "{ended:?}");
}

/// sipp's stock uac places 200 calls at 50/s into an `answer` route: every
/// call succeeds, and the daemon shows 200 inbound legs ended by BYE.
#[test]
fn two_hundred_inbound_calls_are_answered() {
    let daemon = Daemon::start("uac200", &DaemonConfig::with_route(RouteAction::Answer));
    let outcome = Sipp::uac(daemon.sip_addr(), daemon.dir().path(), "uac")
        .calls(200)
        .rate(50.0)
        .limit(100)
        .run();
    outcome.assert_all_successful(200);

    // The daemon may still be finishing the last BYE transactions.
    let mut control = daemon.control();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let reply = control.ok(json!({"cmd": "legs"}));
        let legs = reply["legs"].as_array().cloned().unwrap_or_default();
        let live = legs.iter().filter(|leg| leg["state"] != "ended").count();
        let ended_normally = legs
            .iter()
            .filter(|leg| {
                leg["direction"] == "inbound"
                    && leg["state"] == "ended"
                    && leg["cause"] == "normal_clearing"
            })
            .count();
        if live == 0 && ended_normally == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after 200 calls: {live} legs still live, {ended_normally} ended by BYE (want 0 and 200); legs: {}",
            serde_json::to_string(&legs).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let stats = control.ok(json!({"cmd": "stats"}));
    assert_eq!(stats["stats"]["calls_inbound"], 200, "stats: {stats}");
    assert_eq!(
        stats["stats"]["hangups.normal_clearing"], 200,
        "stats: {stats}"
    );
    assert_eq!(stats["stats"]["legs_active"], 0, "stats: {stats}");

    // The Prometheus endpoint reports the same (it is refreshed periodically).
    let want = "switchd_calls_total{direction=\"inbound\"} 200";
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let page = switchd_tests::metrics::scrape(daemon.metrics_port);
        if page.lines().any(|line| line == want) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `{want}` in /metrics:\n{page}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The same over TCP: sipp's uac on one connection (`-t t1`), 20 calls.
#[test]
fn inbound_calls_over_tcp_are_answered() {
    let daemon = Daemon::start("uactcp", &DaemonConfig::with_route(RouteAction::Answer));
    let outcome = Sipp::uac(daemon.sip_addr(), daemon.dir().path(), "uac")
        .arg("-t")
        .arg("t1")
        .calls(20)
        .rate(20.0)
        .run();
    outcome.assert_all_successful(20);
    let stats = daemon.control().ok(json!({"cmd": "stats"}));
    assert_eq!(stats["stats"]["calls_inbound"], 20, "stats: {stats}");
}

/// `originate` to an answering sipp: trying, ringing, answered; then our
/// `hangup` sends BYE and the leg ends with `normal_clearing`.
#[test]
fn originate_answered_then_hung_up_by_us() {
    let (_daemon, uas, mut control) = daemon_and_callee("origbye", "uas_answer.xml");
    let reply = control
        .ok(json!({"cmd": "originate", "to": uas.uri("uas"), "leg": "a1", "ring_timeout": 5}));
    assert_eq!(reply["leg"]["id"], "a1", "originate reply: {reply}");
    assert_eq!(
        reply["leg"]["direction"], "outbound",
        "originate reply: {reply}"
    );

    control.wait_event("leg.trying", Some("a1"), EVENT_TIMEOUT);
    control.wait_event("leg.ringing", Some("a1"), EVENT_TIMEOUT);
    control.wait_event("leg.answered", Some("a1"), EVENT_TIMEOUT);
    let leg = control.ok(json!({"cmd": "leg", "leg": "a1"}));
    assert_eq!(leg["leg"]["state"], "answered", "leg after answer: {leg}");

    hang_up_normally(&mut control, "a1");
    uas.wait().assert_all_successful(1);
}

/// `originate` to a sipp that answers and then sends BYE itself.
#[test]
fn originate_answered_then_hung_up_by_peer() {
    let (_daemon, uas, mut control) = daemon_and_callee("origpeer", "uas_bye.xml");
    control.ok(json!({"cmd": "originate", "to": uas.uri("uas"), "leg": "b1", "ring_timeout": 5}));

    control.wait_event("leg.trying", Some("b1"), EVENT_TIMEOUT);
    control.wait_event("leg.ringing", Some("b1"), EVENT_TIMEOUT);
    control.wait_event("leg.answered", Some("b1"), EVENT_TIMEOUT);
    let ended = control.wait_event("leg.hungup", Some("b1"), EVENT_TIMEOUT);
    match ended.kind {
        EventKind::Hungup { cause, talk_ms, .. } => {
            assert_eq!(cause, HangupCause::NormalClearing, "{ended:?}");
            // sipp waits 300 ms between its ACK and its BYE.
            assert!(
                talk_ms >= 200,
                "talk_ms {talk_ms} for a call that lasted ~300 ms"
            );
        }
        _ => unreachable!("wait_event returns the kind asked for"),
    }
    uas.wait().assert_all_successful(1);
}

/// A callee answering 486: the leg ends `user_busy` with sip_status 486.
#[test]
fn originate_to_busy_callee() {
    let (_daemon, uas, mut control) = daemon_and_callee("busy", "uas_busy.xml");
    control.ok(json!({"cmd": "originate", "to": uas.uri("uas"), "leg": "c1", "ring_timeout": 5}));
    let ended = control.wait_event("leg.hungup", Some("c1"), EVENT_TIMEOUT);
    assert_eq!(
        hangup(&ended),
        (HangupCause::UserBusy, Some(486)),
        "{ended:?}"
    );
    uas.wait().assert_all_successful(1);
}

/// A callee that rings and never answers: after `ring_timeout` the daemon
/// sends CANCEL (sipp requires it, answers 200 and 487) and the leg ends
/// `no_answer`.
#[test]
fn originate_unanswered_is_cancelled_after_ring_timeout() {
    let (_daemon, uas, mut control) = daemon_and_callee("noanswer", "uas_ring_cancel.xml");
    let started = std::time::Instant::now();
    control.ok(json!({"cmd": "originate", "to": uas.uri("uas"), "leg": "d1", "ring_timeout": 2}));
    control.wait_event("leg.ringing", Some("d1"), EVENT_TIMEOUT);
    let ended = control.wait_event("leg.hungup", Some("d1"), EVENT_TIMEOUT);
    let elapsed = started.elapsed();
    assert_eq!(hangup(&ended).0, HangupCause::NoAnswer, "{ended:?}");
    assert!(
        elapsed >= Duration::from_millis(1800),
        "the leg ended after {elapsed:?}, before its 2 s ring timeout"
    );
    uas.wait().assert_all_successful(1);
}

/// A number sent through a trunk that challenges with 401: the daemon
/// retries with digest credentials (sipp verifies them) and the call is
/// answered.
#[test]
fn originate_through_trunk_with_digest_auth() {
    let scratch = switchd_tests::scratch::ScratchDir::new("trunksipp");
    let uas = Sipp::scenario("uas_auth.xml", scratch.path(), "trunk").spawn();
    let config = DaemonConfig::with_route(RouteAction::Answer).trunk(TrunkConfig {
        name: "carrier".into(),
        host: "127.0.0.1".into(),
        port: Some(uas.port()),
        username: Some("trunkuser".into()),
        password: Some("trunkpass".into()),
        ..TrunkConfig::default()
    });
    let daemon = Daemon::start("trunk", &config);
    let mut control = daemon.control();
    control.subscribe(None);
    let reply = control.ok(json!({"cmd": "originate", "to": "5551234", "trunk": "carrier", "leg": "t1", "ring_timeout": 5}));
    assert_eq!(reply["leg"]["trunk"], "carrier", "originate reply: {reply}");
    control.wait_event("leg.answered", Some("t1"), EVENT_TIMEOUT);
    hang_up_normally(&mut control, "t1");
    uas.wait().assert_all_successful(1);
}

/// A `park` route: the controller sees `leg.incoming`, answers, and sipp's
/// call completes (its BYE ends the leg normally).
#[test]
fn parked_call_answered_by_controller() {
    let daemon = Daemon::start("park", &DaemonConfig::with_route(RouteAction::Park));
    let mut control = daemon.control();
    control.subscribe(None);
    let uac = Sipp::uac(daemon.sip_addr(), daemon.dir().path(), "uac")
        .arg("-d")
        .arg("500")
        .timeout(Duration::from_secs(20), true)
        .spawn();
    let incoming = control.wait_event("leg.incoming", None, EVENT_TIMEOUT);
    let EventKind::Incoming { leg } = incoming.kind else {
        unreachable!("wait_event returns the kind asked for")
    };
    assert_eq!(leg.direction, LegDirection::Inbound, "{leg:?}");
    assert!(
        matches!(leg.state, LegState::New | LegState::Trying),
        "a parked leg before any command: {leg:?}"
    );
    let id = leg.id.clone();
    let reply = control.ok(json!({"cmd": "answer", "leg": id}));
    assert_eq!(reply["leg"]["id"], id.as_str(), "answer reply: {reply}");
    control.wait_event("leg.answered", Some(&id), EVENT_TIMEOUT);
    let ended = control.wait_event("leg.hungup", Some(&id), EVENT_TIMEOUT);
    assert_eq!(hangup(&ended).0, HangupCause::NormalClearing, "{ended:?}");
    uac.wait().assert_all_successful(1);
}
