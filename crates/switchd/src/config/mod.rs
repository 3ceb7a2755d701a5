//! The daemon's configuration: the TOML file's schema, its defaults and its
//! validation. The file is read here and nowhere else; the other crates get
//! typed settings built from it.

mod listen;
mod validate;

pub use listen::{BadListenAddr, ListenAddr};
pub(crate) use validate::seconds as seconds_of;

use crate::Error;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use switchd_control::command::TrunkSpec;

/// The whole config file. Every section is optional; missing keys take the
/// defaults documented in the shipped `switchd.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[sip]`.
    #[serde(default)]
    pub sip: SipConfig,
    /// `[rtp]`.
    #[serde(default)]
    pub rtp: RtpConfig,
    /// `[calls]`.
    #[serde(default)]
    pub calls: CallsConfig,
    /// `[media]`.
    #[serde(default)]
    pub media: MediaConfig,
    /// `[control]`.
    #[serde(default)]
    pub control: ControlConfig,
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// `[log]`.
    #[serde(default)]
    pub log: LogConfig,
    /// `[[trunk]]`, in file order.
    #[serde(default, rename = "trunk")]
    pub trunks: Vec<TrunkSpec>,
    /// `[[route]]`, in file order; the first match wins, none -> 404.
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    /// The file this was read from, for error messages and SIGHUP.
    #[serde(skip)]
    pub source: PathBuf,
}

/// `[sip]`: transports, timers and limits of the SIP endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Where to listen: `udp:ADDR:PORT` / `tcp:ADDR:PORT`.
    pub listen: Vec<ListenAddr>,
    /// The IP address to put in Via/Contact/SDP instead of one guessed from
    /// the listen addresses and the host's interfaces.
    pub advertise: Option<IpAddr>,
    /// RFC 3261 T1 (RTT estimate), milliseconds.
    pub t1_ms: u64,
    /// RFC 3261 T2 (longest retransmit interval), milliseconds.
    pub t2_ms: u64,
    /// RFC 3261 T4 (longest time in the network), milliseconds.
    pub t4_ms: u64,
    /// Most transactions in the table (memory bound, ~2 KB each once
    /// finished); finished ones are evicted first, then requests get 503.
    /// See `switchd.toml` for the sizing of the default.
    pub max_transactions: usize,
    /// Largest UDP datagram accepted; bigger ones are dropped and counted.
    pub max_udp_message: usize,
    /// Largest message accepted on TCP; a bigger one closes the connection.
    pub max_message_size: usize,
    /// Most TCP connections open at once (both directions).
    pub max_tcp_connections: usize,
    /// Seconds a TCP connection may stay silent in both directions before it is closed.
    pub tcp_idle_timeout: f64,
    /// Seconds allowed to open an outbound TCP connection.
    pub tcp_connect_timeout: f64,
    /// Messages queued for one TCP connection before more are dropped.
    pub tcp_write_queue: usize,
}

impl Default for SipConfig {
    fn default() -> Self {
        let listen = ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"];
        Self {
            listen: listen.iter().filter_map(|text| text.parse().ok()).collect(),
            advertise: None,
            t1_ms: 500,
            t2_ms: 4_000,
            t4_ms: 5_000,
            max_transactions: 100_000,
            max_udp_message: 65_535,
            max_message_size: 65_536,
            max_tcp_connections: 1024,
            tcp_idle_timeout: 300.0,
            tcp_connect_timeout: 5.0,
            tcp_write_queue: 256,
        }
    }
}

/// `[rtp]`: the media port range (even ports RTP, odd ports RTCP).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RtpConfig {
    /// First port; even.
    pub port_min: u16,
    /// Last port.
    pub port_max: u16,
    /// The local IP address RTP sockets are bound to; unset: the IP of the
    /// first `[sip] listen` address (which may be a wildcard).
    pub bind: Option<IpAddr>,
    /// Whether settled same-codec bridge directions are forwarded by an eBPF
    /// program in the kernel instead of passing through the daemon.
    pub kernel_relay: KernelRelayMode,
    /// Interfaces the kernel relay watches (TCX ingress); empty: the one
    /// holding `bind`, or every interface with an IPv4 address for a
    /// wildcard bind.
    pub kernel_relay_interfaces: Vec<String>,
}

impl Default for RtpConfig {
    fn default() -> Self {
        Self {
            port_min: 20_000,
            port_max: 30_000,
            bind: None,
            kernel_relay: KernelRelayMode::default(),
            kernel_relay_interfaces: Vec::new(),
        }
    }
}

/// `[rtp] kernel_relay`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelRelayMode {
    /// Every packet passes through the daemon.
    Off,
    /// Load the kernel relay if the daemon may (`CAP_BPF`, `CAP_NET_ADMIN`);
    /// otherwise say why once and relay in the daemon.
    #[default]
    Auto,
    /// Load the kernel relay or refuse to start.
    On,
}

/// `[media]`: prompts, text-to-speech and media supervision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Seconds without RTP from an answered leg before `leg.media_timeout`.
    pub media_timeout: f64,
    /// The text-to-speech program (espeak-ng's command line); it gets
    /// `-v VOICE -w FILE --stdin` and the text on its standard input.
    pub tts_command: PathBuf,
    /// Directory of synthesized prompts (8 kHz WAV, one per voice and
    /// text), created on first use.
    pub tts_cache: PathBuf,
    /// Most synthesized prompts kept in `tts_cache`; the oldest go first.
    pub tts_cache_entries: usize,
    /// Most decoded prompts kept in memory.
    pub prompt_cache_entries: usize,
    /// Whether a leg is also hung up on its media timeout.
    pub media_timeout_hangup: bool,
    /// When legs without telephone-event get an in-band DTMF detector.
    pub inband_dtmf: InbandDtmfConfig,
    /// A WAV (8 kHz mono 16-bit) that answered legs hear, looped, while in
    /// no bridge, echo, `play` or `collect`; unset or empty: silence. Read
    /// once at start (SIGHUP does not reload it).
    pub hold_prompt: Option<PathBuf>,
}

/// `[media] inband_dtmf`: when legs whose SDP has no telephone-event have
/// their audio decoded and scanned for DTMF tones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InbandDtmfConfig {
    /// While the switch terminates the leg's media (a `collect`, a `play`,
    /// not bridged, bridged across codecs); not on a same-codec bridge or
    /// an echo without a `collect`.
    #[default]
    Auto,
    /// On every such leg, bridged or not.
    Always,
    /// Never: digits come from RFC 4733 and SIP INFO only.
    Never,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            media_timeout: 30.0,
            tts_command: PathBuf::from("espeak-ng"),
            tts_cache: PathBuf::from("/run/switchd/tts"),
            tts_cache_entries: 1000,
            prompt_cache_entries: 256,
            media_timeout_hangup: false,
            inband_dtmf: InbandDtmfConfig::Auto,
            hold_prompt: None,
        }
    }
}

/// `[calls]`: limits and timers of calls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallsConfig {
    /// Most legs alive at once; beyond it INVITEs get 503.
    pub max_legs: usize,
    /// Seconds a parked leg waits for the controller before 480.
    pub park_timeout: f64,
    /// Seconds an `originate` rings when it gives no `ring_timeout`.
    pub default_ring_timeout: f64,
    /// Seconds given to calls to end on SIGTERM before they are hung up.
    pub drain_grace: f64,
    /// Seconds ended legs stay visible in `legs` and `leg`.
    pub ended_leg_retention: f64,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            max_legs: 1000,
            park_timeout: 30.0,
            default_ring_timeout: 60.0,
            drain_grace: 30.0,
            ended_leg_retention: 60.0,
        }
    }
}

/// `[control]`: the control socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// Path of the Unix stream socket.
    pub socket: PathBuf,
    /// Most control connections open at once.
    pub max_connections: usize,
    /// Events kept for clients resuming with `subscribe {since}`.
    pub event_ring: usize,
    /// Longest request line, bytes.
    pub max_line: usize,
    /// Events queued for one slow subscriber before it gets a `gap`.
    pub subscriber_queue: usize,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            socket: PathBuf::from("/run/switchd/control.sock"),
            max_connections: 64,
            event_ring: 10_000,
            // The protocol's documented limit (docs/control-protocol.md).
            max_line: switchd_control::codec::MAX_LINE_LEN,
            subscriber_queue: 1024,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Whether to serve metrics at all.
    pub enabled: bool,
    /// Address of the HTTP listener serving `/metrics`.
    pub listen: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 9560)),
        }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter (`info`, `switchd=debug,info`); `RUST_LOG` overrides it.
    pub level: String,
    /// Line format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable `key=value` lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[[route]]`: an inbound routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Request-URI user: exact, or a glob with `*`.
    pub user: String,
    /// Request-URI host: exact or glob; absent matches any.
    #[serde(default)]
    pub host: Option<String>,
    /// What to do with a matching INVITE.
    pub action: RouteActionConfig,
    /// SIP status for `reject` (400..=699); only allowed with `reject`.
    #[serde(default)]
    pub status: Option<u16>,
}

/// `action` of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteActionConfig {
    /// Answer at once.
    Answer,
    /// Reject with `status`.
    Reject,
    /// Announce `leg.incoming` and wait for the controller.
    Park,
    /// Answer and reflect the caller's audio back (a line test).
    Echo,
}

impl MediaConfig {
    /// The hold prompt's file, if one is set (an empty path means none).
    pub fn hold_prompt_path(&self) -> Option<&Path> {
        self.hold_prompt
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty())
    }
}

impl Config {
    /// Parses and validates config text; `source` names the file in errors.
    pub fn parse(text: &str, source: &Path) -> Result<Self, Error> {
        let mut config: Config = toml::from_str(text).map_err(|error| Error::ConfigSyntax {
            file: source.to_owned(),
            source: Box::new(error),
        })?;
        config.source = source.to_owned();
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            file: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }
}

#[cfg(test)]
mod tests;
