//! Starting the real `switchd` with a test config, and stopping it.

use crate::config::{DaemonConfig, FixedParts};
use crate::control::Control;
use crate::ports;
use crate::scratch::ScratchDir;
use std::fs::File;
use std::net::{IpAddr, SocketAddr};
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
    /// The SIP port (UDP and TCP) on [`sip_ip`](Self::sip_ip).
    pub sip_port: u16,
    /// The address SIP listens on (127.0.0.1 unless the config says otherwise).
    pub sip_ip: IpAddr,
    /// The metrics HTTP port on 127.0.0.1.
    pub metrics_port: u16,
    /// The RTP range it was given.
    pub rtp: (u16, u16),
    control_socket: PathBuf,
    log: PathBuf,
    config_path: PathBuf,
    fixed: FixedParts,
    // Last: dropped after the child is gone.
    dir: ScratchDir,
}

impl Daemon {
    /// Writes `config` (with fresh ports) and starts the daemon; returns once
    /// its control socket answers `ping`. Panics with the daemon's log when
    /// it exits or does not become ready within [`READY_TIMEOUT`].
    pub fn start(label: &str, config: &DaemonConfig) -> Self {
        let dir = ScratchDir::new(label);
        let sip_ip = config.sip_ip();
        let fixed = FixedParts {
            sip_port: ports::free_port_on(sip_ip),
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
            sip_ip,
            metrics_port: fixed.metrics_port,
            rtp: fixed.rtp,
            control_socket: PathBuf::from(&fixed.control_socket),
            log,
            config_path,
            fixed,
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

    /// The SIP address, `127.0.0.1:port` (or the config's `listen_ip`).
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::new(self.sip_ip, self.sip_port)
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
        self.signal("TERM");
        self.wait_exit(timeout)
    }

    /// Sends the signal named `name` (`TERM`, `HUP`) without waiting.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed: {status}");
    }

    /// Waits up to `timeout` for the process to exit; `None` when it is
    /// still running then.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
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

    /// Overwrites the config file with `config`, keeping this daemon's ports
    /// and paths (for SIGHUP). A config that changes `listen_ip` is refused:
    /// the daemon would not rebind anyway.
    pub fn rewrite_config(&self, config: &DaemonConfig) {
        assert_eq!(
            config.sip_ip(),
            self.sip_ip,
            "rewrite_config cannot move the SIP address"
        );
        std::fs::write(&self.config_path, config.render(&self.fixed))
            .expect("rewrite daemon config");
    }

    /// Waits up to `timeout` for a log line containing `needle`; the number
    /// of such lines must grow past `seen_before` (count them first with
    /// [`log_count`](Self::log_count) to wait for a new one). Panics with the
    /// log when none comes.
    pub fn wait_log(&self, needle: &str, seen_before: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.log_count(needle) <= seen_before {
            assert!(
                Instant::now() < deadline,
                "no new log line containing {needle:?} within {timeout:?}.\nlog:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many log lines contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|line| line.contains(needle))
            .count()
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
