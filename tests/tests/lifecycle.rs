//! The daemon as a process: config checking and shutdown.

use std::process::Command;
use std::time::Duration;
use switchd_tests::{Daemon, DaemonConfig, RouteAction, binary};

/// `--check-config` accepts the shipped `switchd.toml` and refuses a file
/// with an unknown key, naming it.
#[test]
fn check_config_accepts_the_shipped_file_and_refuses_typos() {
    let shipped = switchd_tests::workspace_root().join("switchd.toml");
    let out = Command::new(binary::switchd())
        .args(["--check-config", "--config"])
        .arg(&shipped)
        .output()
        .expect("run switchd --check-config");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("config ok"),
        "shipped config refused: {out:?}"
    );

    let scratch = switchd_tests::scratch::ScratchDir::new("badcfg");
    let bad = scratch.join("bad.toml");
    std::fs::write(
        &bad,
        "[sip]\nlisten = [\"udp:127.0.0.1:5999\"]\nlisten_typo = 1\n",
    )
    .expect("write config");
    let out = Command::new(binary::switchd())
        .args(["--check-config", "--config"])
        .arg(&bad)
        .output()
        .expect("run switchd --check-config");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a config with an unknown key was accepted"
    );
    assert!(
        stderr.contains("listen_typo"),
        "the error does not name the bad key: {stderr}"
    );
}

/// SIGTERM with no calls up: the daemon exits at once, with success.
#[test]
fn sigterm_without_calls_exits_cleanly() {
    let mut daemon = Daemon::start("sigterm", &DaemonConfig::with_route(RouteAction::Answer));
    let status = daemon.terminate(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit after SIGTERM: {status:?}\nlog:\n{}",
        daemon.log_text()
    );
}
