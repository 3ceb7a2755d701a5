//! The daemon as a service: draining on SIGTERM, reloading routes on SIGHUP,
//! and the `switchctl` binary against a running daemon.

use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use switchd_control::HangupCause;
use switchd_tests::control::hangup;
use switchd_tests::scratch::ScratchDir;
use switchd_tests::sipp::Sipp;
use switchd_tests::{Control, Daemon, DaemonConfig, RouteAction, binary};

const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
const LOG_TIMEOUT: Duration = Duration::from_secs(5);
/// The core logs this once it has taken the drain in hand.
const DRAINING_LOG: &str = "draining";
/// The core logs this once it has taken new routes in hand.
const RELOADED_LOG: &str = "reloading routes and trunks";
/// The SIGHUP handler logs this when the file does not load.
const NOT_RELOADED_LOG: &str = "config not reloaded";

/// The `legs` entry with id `id`.
fn leg_info(control: &mut Control, id: &str) -> Value {
    control.ok(json!({"cmd": "leg", "leg": id}))["leg"].clone()
}

/// The id of the one inbound leg answered so far (from `leg.answered`).
fn answered_leg(control: &mut Control) -> String {
    let answered = control.wait_event("leg.answered", None, EVENT_TIMEOUT);
    match answered.kind {
        switchd_control::EventKind::Answered { leg } => leg,
        other => unreachable!("wait_event returns the kind asked for: {other:?}"),
    }
}

/// SIGTERM with a call up and `drain_grace = 2`: a new INVITE gets 503; the
/// call up is ended by the daemon with BYE (sipp answers it) no sooner than
/// the grace, with `leg.hungup` cause `system_shutdown`; then the daemon
/// exits 0.
#[test]
fn sigterm_refuses_new_calls_and_hangs_up_after_the_grace() {
    let config = DaemonConfig::with_route(RouteAction::Answer).set("calls", "drain_grace", "2");
    let mut daemon = Daemon::start("drain", &config);
    let mut control = daemon.control();
    control.subscribe(None);
    let up = Sipp::scenario("uac_until_bye.xml", daemon.dir().path(), "up")
        .remote(daemon.sip_addr())
        .timeout(Duration::from_secs(30), true)
        .spawn();
    let leg = answered_leg(&mut control);

    let drain_logs = daemon.log_count(DRAINING_LOG);
    let terminated_at = Instant::now();
    daemon.signal("TERM");
    daemon.wait_log(DRAINING_LOG, drain_logs, LOG_TIMEOUT);

    let refused = Sipp::scenario("uac_rejected_503.xml", daemon.dir().path(), "late")
        .remote(daemon.sip_addr())
        .timeout(Duration::from_secs(10), true)
        .run();
    refused.assert_all_successful(1);
    assert!(
        terminated_at.elapsed() < Duration::from_millis(1800),
        "the 503 call took until {:?} after SIGTERM: too late to tell the \
         call up was still up (the test machine is too slow)",
        terminated_at.elapsed()
    );
    assert_eq!(
        leg_info(&mut control, &leg)["state"],
        "answered",
        "the call up during the grace"
    );

    // sipp's scenario waits for the daemon's BYE and answers it.
    up.wait().assert_all_successful(1);
    assert!(
        terminated_at.elapsed() < Duration::from_secs(8),
        "sipp got its BYE and ended {:?} after SIGTERM, long after the 2 s grace",
        terminated_at.elapsed()
    );

    let status = daemon.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit after draining: {status:?}\nlog:\n{}",
        daemon.log_text()
    );
    let log = daemon.log_text();
    let hangup_line = format!("event=\"leg.hungup\" leg={leg} ");
    let hung_up = log
        .lines()
        .find(|line| line.contains(&hangup_line))
        .unwrap_or_else(|| panic!("no leg.hungup logged for {leg}:\n{log}"));
    assert!(
        hung_up.contains("cause=\"system_shutdown\""),
        "the call ended otherwise than by the shutdown: {hung_up}"
    );
    // The daemon's own timestamps: from taking the drain in hand to the BYE.
    let drain_line = log
        .lines()
        .find(|line| line.contains(DRAINING_LOG))
        .unwrap_or_default();
    let grace_used = log_seconds(hung_up) - log_seconds(drain_line);
    assert!(
        (1.9..4.0).contains(&grace_used),
        "the call was hung up {grace_used:.3} s after draining began, with a 2 s grace:\n\
         {drain_line}\n{hung_up}"
    );

    // The subscriber must have been told too, before the daemon closed the
    // connection: at shutdown the daemon flushes what is queued for
    // subscribers (this leg.hungup) before it closes their connections.
    let mut ended = None;
    while let Some(raw) = control.next_event_raw(Duration::from_secs(2)) {
        if raw["event"] == "leg.hungup" && raw["leg"] == leg.as_str() {
            ended = Some(switchd_tests::control::decode_event(&raw));
            break;
        }
    }
    let ended = ended.unwrap_or_else(|| {
        panic!(
            "the subscriber never got leg.hungup for {leg} before the daemon \
             exited (the log has it); events seen: {:?}",
            control.seen_events()
        )
    });
    assert_eq!(hangup(&ended).0, HangupCause::SystemShutdown, "{ended:?}");
}

/// The time of day, in seconds, of a log line starting with an RFC 3339
/// timestamp (`2026-11-23T16:57:07.974740Z …`).
fn log_seconds(line: &str) -> f64 {
    let time = line
        .split_once('T')
        .and_then(|(_, rest)| rest.split_once('Z'))
        .map(|(time, _)| time)
        .unwrap_or_else(|| panic!("no timestamp in log line {line:?}"));
    time.split(':')
        .map(|part| {
            part.parse::<f64>()
                .unwrap_or_else(|e| panic!("bad timestamp in {line:?}: {e}"))
        })
        .fold(0.0, |total, part| total * 60.0 + part)
}

/// Rewrites the config so that every call is rejected with 486 and sends
/// SIGHUP: the call up before stays up (sipp's BYE to it later gets 200),
/// and a new call gets 486.
#[test]
fn sighup_reloads_routes_and_keeps_calls_up() {
    let daemon = Daemon::start("reload", &DaemonConfig::with_route(RouteAction::Answer));
    let mut control = daemon.control();
    control.subscribe(None);
    // sipp's stock uac: answered, 5 s of call, then its BYE must get 200.
    let up = Sipp::uac(daemon.sip_addr(), daemon.dir().path(), "up")
        .arg("-d")
        .arg("5000")
        .timeout(Duration::from_secs(30), true)
        .spawn();
    let leg = answered_leg(&mut control);

    let reloads = daemon.log_count(RELOADED_LOG);
    daemon.rewrite_config(&DaemonConfig::with_route(RouteAction::Reject(486)));
    daemon.signal("HUP");
    daemon.wait_log(RELOADED_LOG, reloads, LOG_TIMEOUT);

    let busy = Sipp::scenario("uac_rejected_486.xml", daemon.dir().path(), "after")
        .remote(daemon.sip_addr())
        .timeout(Duration::from_secs(10), true)
        .run();
    busy.assert_all_successful(1);
    assert_eq!(
        leg_info(&mut control, &leg)["state"],
        "answered",
        "the call up across the reload"
    );

    up.wait().assert_all_successful(1);
    let ended = control.wait_event("leg.hungup", Some(&leg), EVENT_TIMEOUT);
    assert_eq!(hangup(&ended).0, HangupCause::NormalClearing, "{ended:?}");
    let stats = control.ok(json!({"cmd": "stats"}));
    assert_eq!(stats["stats"]["calls_inbound"], 1, "stats: {stats}");
}

/// A config file that does not load on SIGHUP is logged, and the running
/// routes stay: a new call is still answered.
#[test]
fn sighup_with_a_broken_config_keeps_the_old_routes() {
    let mut daemon = Daemon::start("badreload", &DaemonConfig::with_route(RouteAction::Answer));
    let rejected = daemon.log_count(NOT_RELOADED_LOG);
    std::fs::write(
        daemon.config_path(),
        "[[route]]\nuser = \"*\"\naction = \"reject\"\nstatus = 486\nthis is not toml\n",
    )
    .expect("write broken config");
    daemon.signal("HUP");
    daemon.wait_log(NOT_RELOADED_LOG, rejected, LOG_TIMEOUT);
    assert_eq!(
        daemon.log_count(RELOADED_LOG),
        0,
        "a broken file was handed to the core"
    );
    daemon.assert_running();

    let outcome = Sipp::uac(daemon.sip_addr(), daemon.dir().path(), "after")
        .timeout(Duration::from_secs(10), true)
        .run();
    outcome.assert_all_successful(1);
}

/// What a `switchctl` run gave.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `switchctl` with `args`, its output in files of `dir` (no pipe to fill
/// up), killed after 10 s.
fn switchctl(dir: &ScratchDir, args: &[&str]) -> Ran {
    let (out_path, err_path) = (dir.join("switchctl.out"), dir.join("switchctl.err"));
    let file = |path: &std::path::Path| {
        std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()))
    };
    let mut child = Command::new(binary::switchctl())
        .args(args)
        .env_remove("SWITCHD_SOCKET")
        .stdin(Stdio::null())
        .stdout(file(&out_path))
        .stderr(file(&err_path))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start switchctl: {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for switchctl: {e}"),
        }
    };
    let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();
    Ran {
        code: status.and_then(|s| s.code()),
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// The real `switchctl` binary against a daemon: `ping` prints the version,
/// `--json legs` prints the daemon's JSON reply, an error reply exits 1 with
/// `error: <code>` on stderr, and an unreachable socket exits 2.
#[test]
fn switchctl_talks_to_the_daemon() {
    let daemon = Daemon::start("switchctl", &DaemonConfig::with_route(RouteAction::Answer));
    // One ended leg, so that `legs` has something to show.
    Sipp::uac(daemon.sip_addr(), daemon.dir().path(), "uac")
        .timeout(Duration::from_secs(10), true)
        .run()
        .assert_all_successful(1);
    let socket = daemon.control_socket().to_str().expect("UTF-8 socket path");
    let version = daemon.control().ping()["version"]
        .as_str()
        .expect("ping reply has a version")
        .to_string();

    let scratch = ScratchDir::new("switchctl");
    let out = switchctl(&scratch, &["--socket", socket, "ping"]);
    assert_eq!(out.code, Some(0), "switchctl ping: {out:?}");
    assert!(
        out.stdout.contains(&version),
        "switchctl ping does not print version {version}: {out:?}"
    );

    let out = switchctl(&scratch, &["--socket", socket, "--json", "legs"]);
    assert_eq!(out.code, Some(0), "switchctl --json legs: {out:?}");
    let reply: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("switchctl --json legs printed no JSON ({e}): {out:?}"));
    assert_eq!(reply["ok"], true, "{reply}");
    let legs = reply["legs"].as_array().cloned().unwrap_or_default();
    assert!(
        legs.len() == 1 && legs.iter().all(|leg| leg["direction"] == "inbound"),
        "legs after one inbound call: {reply}"
    );

    let out = switchctl(&scratch, &["--socket", socket, "hangup", "nosuch"]);
    assert_eq!(out.code, Some(1), "switchctl hangup nosuch: {out:?}");
    assert!(
        out.stderr.contains("error: unknown_leg"),
        "switchctl hangup nosuch: {out:?}"
    );

    let out = switchctl(&scratch, &["--socket", "/nonexistent", "ping"]);
    assert_eq!(
        out.code,
        Some(2),
        "switchctl against a missing socket: {out:?}"
    );
    assert!(
        out.stderr.contains("/nonexistent"),
        "the error does not name the socket: {out:?}"
    );
}
