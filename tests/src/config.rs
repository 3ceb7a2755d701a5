//! The config a test daemon runs with, rendered to the TOML of `switchd.toml`.
//!
//! The fixed parts (listen addresses, RTP range, control socket, metrics)
//! are filled in by [`Daemon::start`](crate::Daemon::start) with fresh ports;
//! a test chooses routes, trunks and any further keys.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// What a route does with an inbound call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Answer with 200 and an SDP answer.
    Answer,
    /// Reject with this status.
    Reject(u16),
    /// Park it and emit `leg.incoming`; the controller decides.
    Park,
}

/// One `[[route]]`.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// User part to match, `*` for any.
    pub user: String,
    /// Host part to match, `*` for any.
    pub host: String,
    /// What to do.
    pub action: RouteAction,
}

/// One `[[trunk]]`.
#[derive(Debug, Clone, Default)]
pub struct TrunkConfig {
    /// Unique name.
    pub name: String,
    /// Host (loopback in tests).
    pub host: String,
    /// Port.
    pub port: Option<u16>,
    /// `udp` or `tcp`.
    pub transport: Option<String>,
    /// User for From and digest.
    pub username: Option<String>,
    /// Digest password.
    pub password: Option<String>,
    /// Whether to REGISTER.
    pub register: bool,
}

/// A test daemon's config, minus the parts the harness fills in.
#[derive(Debug, Clone, Default)]
pub struct DaemonConfig {
    /// Routes, tried in order.
    pub routes: Vec<RouteConfig>,
    /// Trunks.
    pub trunks: Vec<TrunkConfig>,
    /// Further keys by section (`"calls"` → `park_timeout = 5`), each value
    /// already TOML (`"5"`, `"\"x\""`). Keys given here for the harness's own
    /// sections (`sip`, `rtp`, `control`, `metrics`) are added to them.
    pub extra: BTreeMap<String, Vec<(String, String)>>,
    /// The loopback address SIP listens on and advertises (`::1` for IPv6
    /// tests); 127.0.0.1 when `None`.
    pub listen_ip: Option<IpAddr>,
}

impl DaemonConfig {
    /// A config with one catch-all route doing `action`.
    pub fn with_route(action: RouteAction) -> Self {
        let mut config = Self::default();
        config.routes.push(RouteConfig {
            user: "*".into(),
            host: "*".into(),
            action,
        });
        config
    }

    /// Adds `key = value` (value in TOML syntax) to `[section]`.
    pub fn set(mut self, section: &str, key: &str, value: impl Into<String>) -> Self {
        self.extra
            .entry(section.to_string())
            .or_default()
            .push((key.to_string(), value.into()));
        self
    }

    /// Sets `[media] hold_prompt`: the WAV idle answered legs hear, looped.
    pub fn hold_prompt(self, path: &std::path::Path) -> Self {
        let value = toml_string(&path.to_string_lossy());
        self.set("media", "hold_prompt", value)
    }

    /// Listens for SIP (UDP and TCP) on `ip` instead of 127.0.0.1, and
    /// advertises it.
    pub fn listen_on(mut self, ip: IpAddr) -> Self {
        self.listen_ip = Some(ip);
        self
    }

    /// The address SIP listens on.
    pub fn sip_ip(&self) -> IpAddr {
        self.listen_ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// Adds a trunk.
    pub fn trunk(mut self, trunk: TrunkConfig) -> Self {
        self.trunks.push(trunk);
        self
    }

    /// The TOML text, with the harness's ports and paths.
    pub fn render(&self, fixed: &FixedParts) -> String {
        let ip = self.sip_ip();
        let listen_host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        let mut sections: Vec<(String, Vec<(String, String)>)> = vec![
            (
                "sip".into(),
                vec![
                    (
                        "listen".into(),
                        format!(
                            "[\"udp:{listen_host}:{0}\", \"tcp:{listen_host}:{0}\"]",
                            fixed.sip_port
                        ),
                    ),
                    // Never guessed from the host's interfaces: tests stay on loopback.
                    ("advertise".into(), toml_string(&ip.to_string())),
                ],
            ),
            (
                "rtp".into(),
                vec![
                    ("port_min".into(), fixed.rtp.0.to_string()),
                    ("port_max".into(), fixed.rtp.1.to_string()),
                ],
            ),
            (
                "control".into(),
                vec![("socket".into(), toml_string(&fixed.control_socket))],
            ),
            (
                "metrics".into(),
                vec![(
                    "listen".into(),
                    toml_string(&format!("127.0.0.1:{}", fixed.metrics_port)),
                )],
            ),
        ];
        for (section, keys) in &self.extra {
            match sections.iter_mut().find(|(name, _)| name == section) {
                Some((_, existing)) => existing.extend(keys.iter().cloned()),
                None => sections.push((section.clone(), keys.clone())),
            }
        }
        let mut out = String::new();
        for (section, keys) in &sections {
            let _ = writeln!(out, "[{section}]");
            for (key, value) in keys {
                let _ = writeln!(out, "{key} = {value}");
            }
            out.push('\n');
        }
        for trunk in &self.trunks {
            out.push_str("[[trunk]]\n");
            let _ = writeln!(out, "name = {}", toml_string(&trunk.name));
            let _ = writeln!(out, "host = {}", toml_string(&trunk.host));
            if let Some(port) = trunk.port {
                let _ = writeln!(out, "port = {port}");
            }
            for (key, value) in [
                ("transport", &trunk.transport),
                ("username", &trunk.username),
                ("password", &trunk.password),
            ] {
                if let Some(value) = value {
                    let _ = writeln!(out, "{key} = {}", toml_string(value));
                }
            }
            let _ = writeln!(out, "register = {}\n", trunk.register);
        }
        for route in &self.routes {
            out.push_str("[[route]]\n");
            let _ = writeln!(out, "user = {}", toml_string(&route.user));
            let _ = writeln!(out, "host = {}", toml_string(&route.host));
            match route.action {
                RouteAction::Answer => out.push_str("action = \"answer\"\n"),
                RouteAction::Park => out.push_str("action = \"park\"\n"),
                RouteAction::Reject(status) => {
                    let _ = writeln!(out, "action = \"reject\"\nstatus = {status}");
                }
            }
            out.push('\n');
        }
        out
    }
}

/// The parts of the config the harness chooses.
#[derive(Debug, Clone)]
pub struct FixedParts {
    /// SIP port, UDP and TCP, on the config's `sip_ip`.
    pub sip_port: u16,
    /// RTP port range.
    pub rtp: (u16, u16),
    /// Control socket path.
    pub control_socket: String,
    /// Metrics HTTP port on 127.0.0.1.
    pub metrics_port: u16,
}

/// `s` as a TOML basic string.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
