//! The command line, and what each subcommand asks of the daemon.

use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;
use switchd_control::{Command, HangupCause, Originate, TrunkSpec};

mod media;

pub use media::MediaCmd;

/// Where switchd listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/switchd/control.sock";

/// Talk to switchd over its control socket.
#[derive(Debug, Parser)]
#[command(name = "switchctl", version, about)]
pub struct Cli {
    /// The daemon's control socket.
    #[arg(long, global = true, env = "SWITCHD_SOCKET", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Print the daemon's raw JSON lines instead of human-readable output.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The subcommands: one per protocol command (`events` subscribes).
#[derive(Debug, Clone, Subcommand, PartialEq)]
pub enum Cmd {
    /// Check that the daemon answers, and show its version.
    Ping,
    /// Place an outbound call.
    Originate {
        /// Callee: a sip:/sips: URI or a number (routed through a trunk).
        to: String,
        /// Leg id of your choosing; originating an existing id returns that leg.
        #[arg(long)]
        leg: Option<String>,
        /// Caller: a sip: URI or a number.
        #[arg(long)]
        from: Option<String>,
        /// Display name in From.
        #[arg(long)]
        display_name: Option<String>,
        /// Trunk to send through.
        #[arg(long)]
        trunk: Option<String>,
        /// Withhold the caller's identity (Privacy: id).
        #[arg(long)]
        privacy: bool,
        /// Seconds to ring before giving up (default 60).
        #[arg(long, value_name = "SECONDS")]
        ring_timeout: Option<f64>,
        /// Seconds after answer before hanging up (default unlimited).
        #[arg(long, value_name = "SECONDS")]
        max_duration: Option<f64>,
        /// Extra header, `Name: value` (repeatable).
        #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
        headers: Vec<(String, String)>,
    },
    /// Send 180 Ringing (or 183 with early media) on a parked inbound leg.
    Ring {
        /// The leg.
        leg: String,
        /// 180 or 183.
        #[arg(long)]
        status: Option<u16>,
    },
    /// Answer a parked inbound leg.
    Answer {
        /// The leg.
        leg: String,
    },
    /// Reject a parked inbound leg.
    Reject {
        /// The leg.
        leg: String,
        /// SIP status, 400..=699 (default 603).
        #[arg(long)]
        status: Option<u16>,
    },
    /// End a leg in any state.
    Hangup {
        /// The leg.
        leg: String,
        /// Cause to report, e.g. normal_clearing (the default), user_busy, call_rejected.
        #[arg(long, value_parser = parse_cause)]
        cause: Option<HangupCause>,
    },
    /// List live legs (and ones ended in the last minute).
    Legs,
    /// Show one leg.
    Leg {
        /// The leg.
        leg: String,
    },
    /// List trunks and their registration state.
    Trunks,
    /// Add a trunk (or replace one added with switchctl under the same name).
    TrunkAdd {
        /// Unique name.
        name: String,
        /// Host name or IP address.
        #[arg(long)]
        host: String,
        /// Port (default 5060).
        #[arg(long)]
        port: Option<u16>,
        /// udp (default) or tcp.
        #[arg(long)]
        transport: Option<String>,
        /// User for From and REGISTER.
        #[arg(long)]
        username: Option<String>,
        /// Digest password (visible to other local users in the process list).
        #[arg(long)]
        password: Option<String>,
        /// Digest user name, when it differs from --username.
        #[arg(long)]
        auth_user: Option<String>,
        /// Register with the trunk and keep the registration fresh.
        #[arg(long)]
        register: bool,
        /// Requested registration lifetime in seconds (default 3600).
        #[arg(long, value_name = "SECONDS")]
        register_expires: Option<u32>,
    },
    /// Remove a trunk.
    TrunkRemove {
        /// The trunk's name.
        name: String,
    },
    /// Show counters and gauges.
    Stats,
    /// Media subcommands (bridge, play, collect, record…), at the top level.
    #[command(flatten)]
    Media(MediaCmd),
    /// Follow the event stream until interrupted, one line per event.
    Events {
        /// Resume after this seq (replays what the daemon still keeps).
        #[arg(long)]
        since: Option<u64>,
    },
}

impl Cmd {
    /// The protocol command this subcommand sends (`events` sends `subscribe`).
    pub fn to_command(&self) -> Command {
        match self.clone() {
            Cmd::Ping => Command::Ping,
            Cmd::Originate {
                to,
                leg,
                from,
                display_name,
                trunk,
                privacy,
                ring_timeout,
                max_duration,
                headers,
            } => Command::Originate(Originate {
                to,
                leg,
                from,
                display_name,
                trunk,
                privacy,
                ring_timeout,
                max_duration,
                headers: headers.into_iter().collect::<BTreeMap<_, _>>(),
            }),
            Cmd::Ring { leg, status } => Command::Ring { leg, status },
            Cmd::Answer { leg } => Command::Answer { leg },
            Cmd::Reject { leg, status } => Command::Reject { leg, status },
            Cmd::Hangup { leg, cause } => Command::Hangup { leg, cause },
            Cmd::Legs => Command::Legs,
            Cmd::Leg { leg } => Command::Leg { leg },
            Cmd::Trunks => Command::Trunks,
            Cmd::TrunkAdd {
                name,
                host,
                port,
                transport,
                username,
                password,
                auth_user,
                register,
                register_expires,
            } => Command::TrunkAdd(TrunkSpec {
                name,
                host,
                port,
                transport,
                username,
                password,
                auth_user,
                register,
                register_expires,
            }),
            Cmd::TrunkRemove { name } => Command::TrunkRemove { name },
            Cmd::Stats => Command::Stats,
            Cmd::Media(media) => media.to_command(),
            Cmd::Events { since } => Command::Subscribe { since },
        }
    }
}

/// `Name: value` to a pair; the name is trimmed, as is the value's leading space.
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not `Name: value`"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{text:?} has no header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// A cause by its wire name (`user_busy`), as the protocol spells it.
fn parse_cause(text: &str) -> Result<HangupCause, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
