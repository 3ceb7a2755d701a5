//! Starting the real `switchd` with a test config, and stopping it.

use crate::config::{DaemonConfig, FixedParts};
use crate::control::Control;
use crate::ports;
use crate::scratch::ScratchDir;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the daemon may take to answer `ping` after it starts.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A running `switchd`, killed on drop. When the test is failing at that
/// point, its log is printed.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// The SIP port (UDP and TCP) on 127.0.0.1.
    pub sip_port: u16,
    /// The metrics HTTP port on 127.0.0.1.
    pub metrics_port: u16,
    /// The RTP range it was given.
    pub rtp: (u16, u16),
    control_socket: PathBuf,
    log: PathBuf,
    config_path: PathBuf,
    // Last: dropped after the child is gone.
    dir: ScratchDir,
}

impl Daemon {
    /// Writes `config` (with fresh ports) and starts the daemon; returns once
    /// its control socket answers `ping`. Panics with the daemon's log when
    /// it exits or does not become ready within [`READY_TIMEOUT`].
    pub fn start(label: &str, config: &DaemonConfig) -> Self {
        let dir = ScratchDir::new(label);
        let fixed = FixedParts {
            sip_port: ports::free_port(),
            rtp: ports::rtp_range(),
            control_socket: dir.join("control.sock").to_string_lossy().into_owned(),
            metrics_port: ports::free_port(),
        };
        let config_path = dir.join("switchd.toml");
        std::fs::write(&config_path, config.render(&fixed)).expect("write daemon config");
        let log = dir.join("switchd.log");
        let log_file = File::create(&log).expect("create daemon log");
        let log_err = log_file.try_clone().expect("clone log file handle");
        let binary = crate::binary::switchd();
        let filter = std::env::var("SWITCHD_TEST_LOG").unwrap_or_else(|_| "info".into());
        let child = Command::new(&binary)
            .arg("--config")
            .arg(&config_path)
            .env("RUST_LOG", filter)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut daemon = Self {
            child,
            sip_port: fixed.sip_port,
            metrics_port: fixed.metrics_port,
            rtp: fixed.rtp,
            control_socket: PathBuf::from(fixed.control_socket),
            log,
            config_path,
            dir,
        };
        daemon.wait_ready();
        daemon
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last_error = String::from("control socket not created");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "switchd exited during start-up ({status}).\nconfig:\n{}\nlog:\n{}",
                    std::fs::read_to_string(&self.config_path).unwrap_or_default(),
                    self.log_text()
                );
            }
            if self.control_socket.exists() {
                match Control::connect(&self.control_socket) {
                    Ok(mut control) => {
                        if let Some(reply) = ping_once(&mut control) {
                            if reply["ok"] == true {
                                return;
                            }
                            last_error = format!("ping answered {reply}");
                        }
                    }
                    Err(e) => last_error = format!("connect: {e}"),
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "switchd not ready within {READY_TIMEOUT:?} ({last_error}).\nconfig:\n{}\nlog:\n{}",
            std::fs::read_to_string(&self.config_path).unwrap_or_default(),
            self.log_text()
        );
    }

    /// A new control connection.
    pub fn control(&self) -> Control {
        Control::connect(&self.control_socket).unwrap_or_else(|e| {
            panic!(
                "connect to {}: {e}\nlog:\n{}",
                self.control_socket.display(),
                self.log_text()
            )
        })
    }

    /// The control socket's path.
    pub fn control_socket(&self) -> &Path {
        &self.control_socket
    }

    /// The SIP address, `127.0.0.1:port`.
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.sip_port))
    }

    /// The scratch directory (config, log, sipp files of the test).
    pub fn dir(&self) -> &ScratchDir {
        &self.dir
    }

    /// The daemon's log so far, without terminal colour codes.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log)
            .map(|text| strip_ansi(&text))
            .unwrap_or_else(|e| format!("(log unreadable: {e})"))
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to exit;
    /// `None` when it is still running then.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The config file the daemon runs with.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Panics (with the log) unless the process is still running.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("switchd exited ({status}).\nlog:\n{}", self.log_text());
        }
    }
}

/// Sends `ping` and waits a short time for any reply.
fn ping_once(control: &mut Control) -> Option<serde_json::Value> {
    control.send_line(r#"{"id":"ready","cmd":"ping"}"#);
    control.read_reply(Duration::from_secs(1))
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log_text();
            // The tail is what matters, and a failing test's output stays readable.
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines.len().saturating_sub(300);
            eprintln!(
                "----- switchd log ({}, last {} lines) -----\n{}\n----- end of switchd log -----",
                self.log.display(),
                lines.len() - tail,
                lines.get(tail..).unwrap_or_default().join("\n")
            );
        }
    }
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip to the final byte of the sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
