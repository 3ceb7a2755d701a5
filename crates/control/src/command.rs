//! Requests and the commands they carry.

use crate::media::{Collect, Play, Record, SendDtmf};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The client's request id, echoed in the reply: any JSON string or number.
pub type RequestId = serde_json::Value;

/// One request line: `{"id": …, "cmd": "…", …arguments}`; read and written
/// by [`codec`](crate::codec), which reports each way a line can be wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Echoed in the reply.
    pub id: RequestId,
    /// The command and its arguments.
    pub command: Command,
}

/// The commands. Durations are in seconds (fractions allowed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Liveness and version.
    Ping,
    /// Places an outbound call.
    Originate(Originate),
    /// Sends a provisional response (180, or 183 with SDP) on a parked inbound leg.
    Ring {
        /// The leg.
        leg: String,
        /// 180 (default) or 183 (early media, with an SDP answer).
        #[serde(default)]
        status: Option<u16>,
    },
    /// Answers a parked inbound leg (200 with an SDP answer).
    Answer {
        /// The leg.
        leg: String,
    },
    /// Rejects a parked inbound leg.
    Reject {
        /// The leg.
        leg: String,
        /// SIP status, 400..=699 (default 603).
        #[serde(default)]
        status: Option<u16>,
    },
    /// Ends a leg in any state: CANCEL, reject (480), or BYE as fits.
    Hangup {
        /// The leg.
        leg: String,
        /// Cause to report (default `normal_clearing`).
        #[serde(default)]
        cause: Option<crate::HangupCause>,
    },
    /// Lists live legs (and ones ended in the last minute).
    Legs,
    /// Status of one leg.
    Leg {
        /// The leg.
        leg: String,
    },
    /// Streams events on this connection from now, or from `since` + 1.
    Subscribe {
        /// The last `seq` the client saw.
        #[serde(default)]
        since: Option<u64>,
    },
    /// Stops the event stream on this connection.
    Unsubscribe,
    /// Lists trunks and their registration state.
    Trunks,
    /// Adds a trunk (or replaces one added over the socket with the same name).
    TrunkAdd(TrunkSpec),
    /// Removes a trunk.
    TrunkRemove {
        /// The trunk's name.
        name: String,
    },
    /// Counters and gauges.
    Stats,
    /// Connects two answered (or early) legs' audio to each other.
    Bridge {
        /// The leg.
        leg: String,
        /// The leg to bridge it with.
        other: String,
    },
    /// Ends the leg's bridge (or echo); both legs stay up.
    Unbridge {
        /// The leg.
        leg: String,
    },
    /// Plays a WAV file or TTS text to the leg.
    Play(Play),
    /// Stops what `play` started.
    StopPlay {
        /// The leg.
        leg: String,
    },
    /// Plays a prompt and collects DTMF digits.
    Collect(Collect),
    /// Records the leg's audio to a WAV file.
    Record(Record),
    /// Stops the leg's recording.
    StopRecord {
        /// The leg.
        leg: String,
    },
    /// Sends DTMF digits to the leg.
    SendDtmf(SendDtmf),
    /// Reflects the leg's audio back to it (until `unbridge`).
    Echo {
        /// The leg.
        leg: String,
    },
}

impl Command {
    /// Every command's wire name (the values of `cmd`).
    pub const NAMES: [&'static str; 23] = [
        "ping",
        "originate",
        "ring",
        "answer",
        "reject",
        "hangup",
        "legs",
        "leg",
        "subscribe",
        "unsubscribe",
        "trunks",
        "trunk_add",
        "trunk_remove",
        "stats",
        "bridge",
        "unbridge",
        "play",
        "stop_play",
        "collect",
        "record",
        "stop_record",
        "send_dtmf",
        "echo",
    ];

    /// The command's wire name, for logs and metric labels.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Ping => "ping",
            Command::Originate(_) => "originate",
            Command::Ring { .. } => "ring",
            Command::Answer { .. } => "answer",
            Command::Reject { .. } => "reject",
            Command::Hangup { .. } => "hangup",
            Command::Legs => "legs",
            Command::Leg { .. } => "leg",
            Command::Subscribe { .. } => "subscribe",
            Command::Unsubscribe => "unsubscribe",
            Command::Trunks => "trunks",
            Command::TrunkAdd(_) => "trunk_add",
            Command::TrunkRemove { .. } => "trunk_remove",
            Command::Stats => "stats",
            Command::Bridge { .. } => "bridge",
            Command::Unbridge { .. } => "unbridge",
            Command::Play(_) => "play",
            Command::StopPlay { .. } => "stop_play",
            Command::Collect(_) => "collect",
            Command::Record(_) => "record",
            Command::StopRecord { .. } => "stop_record",
            Command::SendDtmf(_) => "send_dtmf",
            Command::Echo { .. } => "echo",
        }
    }

    /// The leg a command acts on, if any (commands on one leg apply in
    /// order). For `bridge` this is `leg`, not `other`.
    pub fn leg(&self) -> Option<&str> {
        match self {
            Command::Originate(o) => o.leg.as_deref(),
            Command::Ring { leg, .. }
            | Command::Answer { leg }
            | Command::Reject { leg, .. }
            | Command::Hangup { leg, .. }
            | Command::Leg { leg }
            | Command::Bridge { leg, .. }
            | Command::Unbridge { leg }
            | Command::StopPlay { leg }
            | Command::StopRecord { leg }
            | Command::Echo { leg } => Some(leg),
            Command::Play(p) => Some(&p.leg),
            Command::Collect(c) => Some(&c.leg),
            Command::Record(r) => Some(&r.leg),
            Command::SendDtmf(d) => Some(&d.leg),
            Command::Ping
            | Command::Legs
            | Command::Subscribe { .. }
            | Command::Unsubscribe
            | Command::Trunks
            | Command::TrunkAdd(_)
            | Command::TrunkRemove { .. }
            | Command::Stats => None,
        }
    }
}

/// Arguments of `originate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Originate {
    /// `sip:`/`sips:` URI, or a number (then `trunk` is required unless only one trunk exists).
    pub to: String,
    /// Leg id chosen by the client; originating an existing id returns that leg.
    #[serde(default)]
    pub leg: Option<String>,
    /// Caller: a `sip:` URI or a number (user part at our host or the trunk's).
    #[serde(default)]
    pub from: Option<String>,
    /// Display name in From.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Trunk to send through.
    #[serde(default)]
    pub trunk: Option<String>,
    /// Withhold the caller's identity (RFC 3323 `Privacy: id`, with RFC 3325
    /// P-Asserted-Identity carrying the real one to a trusted trunk).
    #[serde(default)]
    pub privacy: bool,
    /// Seconds to ring before CANCEL (default 60).
    #[serde(default)]
    pub ring_timeout: Option<f64>,
    /// Seconds after answer before BYE (default: unlimited).
    #[serde(default)]
    pub max_duration: Option<f64>,
    /// Extra headers (names must be tokens; core headers are refused).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A trunk: where calls to numbers go, with optional registration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkSpec {
    /// Unique name.
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// Port (default 5060).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `udp` (default) or `tcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// User for From and REGISTER, and for digest unless `auth_user` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Digest password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Digest user name when it differs from `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_user: Option<String>,
    /// Whether to REGISTER and keep the registration fresh.
    #[serde(default)]
    pub register: bool,
    /// Requested registration lifetime in seconds (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register_expires: Option<u32>,
}
