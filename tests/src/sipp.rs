//! Running sipp scenarios and reading how many calls succeeded.
//!
//! sipp writes its statistics to a CSV file (`-trace_stat -stf`), whose last
//! line holds the cumulative `SuccessfulCall(C)` and `FailedCall(C)`; its
//! exit code is 0 when every call succeeded and 1 when some failed.

use crate::ports;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Which scenario sipp plays.
#[derive(Debug, Clone)]
pub enum Scenario {
    /// A scenario built into sipp (`-sn uac`, `-sn uas`).
    Builtin(&'static str),
    /// An XML file (`-sf`), e.g. from [`crate::scenario_path`].
    File(PathBuf),
}

/// A sipp run being set up.
#[derive(Debug, Clone)]
pub struct Sipp {
    scenario: Scenario,
    remote: Option<SocketAddr>,
    /// sipp's SIP port on [`local_ip`](Self::local_ip).
    pub port: u16,
    /// The loopback address sipp binds (`-i`), 127.0.0.1 unless changed.
    pub local_ip: IpAddr,
    calls: u32,
    rate: Option<f64>,
    limit: Option<u32>,
    timeout: Duration,
    timeout_is_error: bool,
    extra: Vec<String>,
    dir: PathBuf,
    name: String,
}

/// What a finished sipp run reports.
#[derive(Debug, Clone)]
pub struct SippOutcome {
    /// sipp's exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
    /// `SuccessfulCall(C)` from the last statistics line.
    pub successful: u64,
    /// `FailedCall(C)` from the last statistics line.
    pub failed: u64,
    /// Calls sipp received (`IncomingCall(C)`, for uas scenarios).
    pub incoming: u64,
    /// Calls sipp placed (`OutgoingCall(C)`, for uac scenarios).
    pub outgoing: u64,
    /// sipp's error log, screen dump and output, for failure messages.
    pub report: String,
}

impl SippOutcome {
    /// Panics with sipp's report unless it exited 0 with `calls` successful
    /// calls and none failed.
    pub fn assert_all_successful(&self, calls: u64) {
        assert!(
            self.exit_code == Some(0) && self.successful == calls && self.failed == 0,
            "sipp: exit {:?}, {} successful, {} failed, expected {calls} successful\n{}",
            self.exit_code,
            self.successful,
            self.failed,
            self.report
        );
    }
}

impl Sipp {
    /// sipp playing `scenario`; its files go to `dir`, named after `name`.
    pub fn new(scenario: Scenario, dir: &Path, name: &str) -> Self {
        Self {
            scenario,
            remote: None,
            port: ports::free_port(),
            local_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            calls: 1,
            rate: None,
            limit: None,
            timeout: Duration::from_secs(60),
            timeout_is_error: true,
            extra: Vec::new(),
            dir: dir.to_path_buf(),
            name: name.to_string(),
        }
    }

    /// The built-in uac calling `remote`.
    pub fn uac(remote: SocketAddr, dir: &Path, name: &str) -> Self {
        Self::new(Scenario::Builtin("uac"), dir, name).remote(remote)
    }

    /// A scenario file from `tests/scenarios/`.
    pub fn scenario(file: &str, dir: &Path, name: &str) -> Self {
        Self::new(Scenario::File(crate::scenario_path(file)), dir, name)
    }

    /// Where requests go (uac scenarios).
    pub fn remote(mut self, remote: SocketAddr) -> Self {
        self.remote = Some(remote);
        self
    }

    /// `-i`: bind `ip` (`::1` for IPv6) instead of 127.0.0.1, on a port
    /// free there.
    pub fn local_ip(mut self, ip: IpAddr) -> Self {
        self.local_ip = ip;
        self.port = ports::free_port_on(ip);
        self
    }

    /// `-m`: stop after this many calls.
    pub fn calls(mut self, calls: u32) -> Self {
        self.calls = calls;
        self
    }

    /// `-r`: calls per second.
    pub fn rate(mut self, rate: f64) -> Self {
        self.rate = Some(rate);
        self
    }

    /// `-l`: simultaneous calls at most.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// `-timeout`: the whole run's limit (default 60 s); with `is_error`
    /// (the default) reaching it is a failure (`-timeout_error`).
    pub fn timeout(mut self, timeout: Duration, is_error: bool) -> Self {
        self.timeout = timeout;
        self.timeout_is_error = is_error;
        self
    }

    /// Further arguments (`-s`, `-au`, `-key`…).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra.push(arg.into());
        self
    }

    /// Where its requests should reach it: `sip:<user>@127.0.0.1:<port>`
    /// (`sip:<user>@[::1]:<port>` on IPv6).
    pub fn uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", SocketAddr::new(self.local_ip, self.port))
    }

    fn file(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("sipp-{}-{suffix}", self.name))
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(crate::binary::sipp());
        match &self.scenario {
            Scenario::Builtin(name) => cmd.args(["-sn", name]),
            Scenario::File(path) => cmd.arg("-sf").arg(path),
        };
        if let Some(remote) = self.remote {
            cmd.arg(remote.to_string());
        }
        let (media, _) = ports::rtp_range();
        let (local_ip, port) = (self.local_ip.to_string(), self.port.to_string());
        cmd.args(["-i", &local_ip, "-p", &port])
            .args([
                "-mp",
                &media.to_string(),
                "-cp",
                &ports::free_port().to_string(),
            ])
            .args(["-m", &self.calls.to_string()])
            .args(["-timeout", &format!("{}s", self.timeout.as_secs().max(1))])
            .arg("-nostdin")
            .args(["-trace_stat", "-fd", "1", "-stf"])
            .arg(self.file("stat.csv"))
            .args(["-trace_err", "-error_file"])
            .arg(self.file("errors.log"))
            .args(["-trace_screen", "-screen_file"])
            .arg(self.file("screen.log"));
        if self.timeout_is_error {
            cmd.arg("-timeout_error");
        }
        if let Some(rate) = self.rate {
            cmd.args(["-r", &rate.to_string()]);
        }
        if let Some(limit) = self.limit {
            cmd.args(["-l", &limit.to_string()]);
        }
        cmd.args(&self.extra);
        let out = std::fs::File::create(self.file("out.log")).expect("create sipp output file");
        let err = out.try_clone().expect("clone sipp output handle");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        cmd
    }

    /// Runs to the end and reports.
    pub fn run(self) -> SippOutcome {
        self.spawn().wait()
    }

    /// Starts in the background; a sipp without a remote (a uas) is waited
    /// for until it holds its SIP port, so a call sent to it right after is
    /// received.
    pub fn spawn(self) -> RunningSipp {
        let child = self.command().spawn().expect("start sipp");
        let serves = self.remote.is_none();
        let running = RunningSipp { child, sipp: self };
        // A uac sends first; only a sipp that waits for calls must be ready.
        if serves {
            running.wait_bound();
        }
        running
    }
}

/// A sipp run in the background; killed on drop.
#[derive(Debug)]
pub struct RunningSipp {
    child: Child,
    sipp: Sipp,
}

impl RunningSipp {
    /// The URI that reaches this sipp with `user`.
    pub fn uri(&self, user: &str) -> String {
        self.sipp.uri(user)
    }

    /// sipp's SIP port.
    pub fn port(&self) -> u16 {
        self.sipp.port
    }

    /// Waits until sipp's port is taken, UDP or TCP (binding it fails), for
    /// at most 5 s.
    fn wait_bound(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let (ip, port) = (self.sipp.local_ip, self.sipp.port);
        while Instant::now() < deadline {
            if UdpSocket::bind((ip, port)).is_err() || TcpListener::bind((ip, port)).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "sipp did not bind port {} within 5 s:\n{}",
            self.sipp.port,
            self.report()
        );
    }

    /// Waits for sipp to exit (its own `-timeout` bounds this; a margin of
    /// 30 s more and it is killed) and reports.
    pub fn wait(mut self) -> SippOutcome {
        let deadline = Instant::now() + self.sipp.timeout + Duration::from_secs(30);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    break self.child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!("waiting for sipp: {e}"),
            }
        };
        self.outcome(status)
    }

    /// The counts of the last statistics line sipp wrote while running
    /// (`-fd 1`: at most a second old), with no exit code.
    pub fn snapshot(&self) -> SippOutcome {
        self.outcome(None)
    }

    fn outcome(&self, status: Option<ExitStatus>) -> SippOutcome {
        let stats = read_last_stats(&self.sipp.file("stat.csv"));
        let get = |name: &str| {
            stats
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse().ok())
        };
        SippOutcome {
            exit_code: status.and_then(|s| s.code()),
            successful: get("SuccessfulCall(C)").unwrap_or(0),
            failed: get("FailedCall(C)").unwrap_or(0),
            incoming: get("IncomingCall(C)").unwrap_or(0),
            outgoing: get("OutgoingCall(C)").unwrap_or(0),
            report: self.report(),
        }
    }

    /// sipp's error log, last screen and output.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for suffix in ["errors.log", "screen.log", "out.log"] {
            let path = self.sipp.file(suffix);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let tail: String = {
                let lines: Vec<&str> = text.lines().collect();
                let from = lines.len().saturating_sub(80);
                lines.get(from..).unwrap_or_default().join("\n")
            };
            out.push_str(&format!(
                "--- sipp {} ({}) ---\n{tail}\n",
                suffix,
                path.display()
            ));
        }
        out
    }
}

impl Drop for RunningSipp {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The header and last line of sipp's statistics CSV, as name/value pairs.
fn read_last_stats(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let Some(last) = lines.next_back() else {
        return Vec::new();
    };
    header
        .split(';')
        .map(str::to_string)
        .zip(last.split(';').map(str::to_string))
        .collect()
}
