//! Calls over IPv6 loopback: a daemon listening on `udp:[::1]` and
//! `tcp:[::1]` and advertising `::1`, with sipp bound to `::1` on the other
//! side (`sipp -i ::1 [::1]:port`).

use serde_json::json;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;
use switchd_control::HangupCause;
use switchd_tests::control::hangup;
use switchd_tests::sipp::Sipp;
use switchd_tests::{Daemon, DaemonConfig, RouteAction};

const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
const LOOPBACK_V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

fn daemon_on_v6(label: &str) -> Daemon {
    let daemon = Daemon::start(
        label,
        &DaemonConfig::with_route(RouteAction::Answer).listen_on(LOOPBACK_V6),
    );
    assert!(
        daemon.sip_addr().is_ipv6(),
        "the harness did not move SIP to ::1: {}",
        daemon.sip_addr()
    );
    daemon
}

/// sipp's stock uac over UDP on ::1: 20 calls, all answered and ended by
/// BYE; the legs show IPv6 addresses.
#[test]
fn inbound_calls_over_udp_v6_are_answered() {
    let daemon = daemon_on_v6("v6udp");
    Sipp::uac(daemon.sip_addr(), daemon.dir().path(), "uac")
        .local_ip(LOOPBACK_V6)
        .calls(20)
        .rate(20.0)
        .timeout(Duration::from_secs(30), true)
        .run()
        .assert_all_successful(20);
    let mut control = daemon.control();
    let stats = control.ok(json!({"cmd": "stats"}));
    assert_eq!(stats["stats"]["calls_inbound"], 20, "stats: {stats}");
    let legs = control.ok(json!({"cmd": "legs"}));
    let first = &legs["legs"][0];
    assert!(
        first["from"]
            .as_str()
            .is_some_and(|from| from.contains("[::1]")),
        "an inbound leg over IPv6 does not come from [::1]: {first}"
    );
}

/// The same over TCP on ::1 (`-t t1`: one connection), 10 calls.
#[test]
fn inbound_calls_over_tcp_v6_are_answered() {
    let daemon = daemon_on_v6("v6tcp");
    Sipp::uac(daemon.sip_addr(), daemon.dir().path(), "uac")
        .local_ip(LOOPBACK_V6)
        .arg("-t")
        .arg("t1")
        .calls(10)
        .rate(10.0)
        .timeout(Duration::from_secs(30), true)
        .run()
        .assert_all_successful(10);
    let stats = daemon.control().ok(json!({"cmd": "stats"}));
    assert_eq!(stats["stats"]["calls_inbound"], 10, "stats: {stats}");
}

/// `originate` to `sip:uas@[::1]:port`, a sipp on ::1 that answers: the leg
/// is answered, and our `hangup` ends it with BYE (sipp answers it 200).
#[test]
fn originate_to_a_v6_callee_is_answered() {
    let daemon = daemon_on_v6("v6orig");
    let uas = Sipp::scenario("uas_answer.xml", daemon.dir().path(), "uas")
        .local_ip(LOOPBACK_V6)
        .spawn();
    let to = uas.uri("uas");
    assert!(to.contains("@[::1]:"), "not an IPv6 URI: {to}");
    let mut control = daemon.control();
    control.subscribe(None);
    control.ok(json!({"cmd": "originate", "to": to, "leg": "v6", "ring_timeout": 5}));
    control.wait_event("leg.answered", Some("v6"), EVENT_TIMEOUT);
    control.ok(json!({"cmd": "hangup", "leg": "v6"}));
    let ended = control.wait_event("leg.hungup", Some("v6"), EVENT_TIMEOUT);
    assert_eq!(
        hangup(&ended),
        (HangupCause::NormalClearing, Some(200)),
        "{ended:?}"
    );
    uas.wait().assert_all_successful(1);
}
