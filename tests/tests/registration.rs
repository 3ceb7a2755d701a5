//! Trunk registration against a sipp registrar: digest authentication, the
//! refresh before expiry, and a refusal.
//!
//! The registrar is up before the daemon starts (the daemon registers at
//! once), and the test subscribes with `since: 0` so that events from before
//! its subscription are replayed.

use serde_json::{Value, json};
use std::time::Duration;
use switchd_control::{Event, EventKind};
use switchd_tests::scratch::ScratchDir;
use switchd_tests::sipp::{RunningSipp, Sipp};
use switchd_tests::{Control, Daemon, DaemonConfig, RouteAction, TrunkConfig};

const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A registering trunk named `registrar` towards the sipp on `port`.
fn registering_trunk(port: u16) -> TrunkConfig {
    TrunkConfig {
        name: "registrar".into(),
        host: "127.0.0.1".into(),
        port: Some(port),
        username: Some("trunkuser".into()),
        password: Some("trunkpass".into()),
        register: true,
        ..TrunkConfig::default()
    }
}

/// A sipp registrar playing `scenario` (in a scratch directory of its own),
/// then a daemon, both named `label`, whose trunk registers with it, and a
/// control connection subscribed with `since: 0`.
fn register_with(label: &str, scenario: &str) -> (ScratchDir, RunningSipp, Daemon, Control) {
    let scratch = ScratchDir::new(label);
    let registrar = Sipp::scenario(scenario, scratch.path(), "registrar")
        .timeout(Duration::from_secs(20), true)
        .spawn();
    let config =
        DaemonConfig::with_route(RouteAction::Answer).trunk(registering_trunk(registrar.port()));
    let daemon = Daemon::start(label, &config);
    let mut control = daemon.control();
    control.subscribe(Some(0));
    (scratch, registrar, daemon, control)
}

/// The `trunks` entry named `name`.
fn trunk_info(control: &mut Control, name: &str) -> Value {
    let reply = control.ok(json!({"cmd": "trunks"}));
    reply["trunks"]
        .as_array()
        .and_then(|trunks| trunks.iter().find(|t| t["name"] == name).cloned())
        .unwrap_or_else(|| panic!("no trunk {name} in {reply}"))
}

/// The `expires` of a `trunk.registered` event about `trunk`.
fn registered_expires(event: &Event, trunk: &str) -> u32 {
    match &event.kind {
        EventKind::TrunkRegistered {
            trunk: name,
            expires,
        } if name == trunk => *expires,
        other => panic!("expected trunk.registered for {trunk}, got {other:?}"),
    }
}

/// The registrar challenges with 401 (Digest, qop=auth) and grants 4 s to
/// the authenticated retry: the daemon reports `trunk.registered` with
/// `expires: 4`, registers again (authenticated: sipp verifies it) before
/// the 4 s are over, and `trunks` shows the trunk `registered`.
#[test]
fn registration_with_digest_is_refreshed_before_expiry() {
    let (_scratch, registrar, _daemon, mut control) =
        register_with("regdigest", "uas_register_digest.xml");

    let first = control.wait_event("trunk.registered", None, EVENT_TIMEOUT);
    assert_eq!(registered_expires(&first, "registrar"), 4, "{first:?}");
    let info = trunk_info(&mut control, "registrar");
    assert_eq!(
        info["registration"], "registered",
        "trunks after the first 200: {info}"
    );
    assert_eq!(info["source"], "config", "{info}");
    assert!(
        !info.to_string().contains("trunkpass"),
        "trunks shows the password: {info}"
    );

    let second = control.wait_event("trunk.registered", None, EVENT_TIMEOUT);
    assert_eq!(registered_expires(&second, "registrar"), 4, "{second:?}");
    let apart = second.time.saturating_sub(first.time);
    assert!(
        (1000..4000).contains(&apart),
        "the refresh came {apart} ms after a registration granted for 4 s \
         (want it before expiry, and not at once)"
    );
    let info = trunk_info(&mut control, "registrar");
    assert_eq!(
        info["registration"], "registered",
        "trunks after the refresh: {info}"
    );
    let failures: Vec<&Value> = control
        .seen_events()
        .iter()
        .filter(|e| e["event"] == "trunk.failed")
        .collect();
    assert!(failures.is_empty(), "registration failures: {failures:?}");

    // The scenario ends after its second authenticated REGISTER.
    registrar.wait().assert_all_successful(1);
}

/// A registrar answering 403: `trunk.failed` with `sip_status: 403`, and
/// `trunks` shows the trunk `failed`.
#[test]
fn registration_refused_with_403_fails() {
    let (_scratch, registrar, _daemon, mut control) =
        register_with("regforbid", "uas_register_forbidden.xml");

    let failed = control.wait_event("trunk.failed", None, EVENT_TIMEOUT);
    match &failed.kind {
        EventKind::TrunkFailed {
            trunk, sip_status, ..
        } => {
            assert_eq!(trunk, "registrar", "{failed:?}");
            assert_eq!(*sip_status, Some(403), "{failed:?}");
        }
        other => unreachable!("wait_event returns the kind asked for: {other:?}"),
    }
    let info = trunk_info(&mut control, "registrar");
    assert_eq!(info["registration"], "failed", "trunks after 403: {info}");
    let registered: Vec<&Value> = control
        .seen_events()
        .iter()
        .filter(|e| e["event"] == "trunk.registered")
        .collect();
    assert!(
        registered.is_empty(),
        "registered despite 403: {registered:?}"
    );
    registrar.wait().assert_all_successful(1);
}
