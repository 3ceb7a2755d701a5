//! Events, and the leg and trunk descriptions shared with replies.

use crate::media::{CollectReason, DtmfMethod, LegMediaInfo};
use serde::{Deserialize, Serialize};

/// One event line: `{"event":"leg.ringing","seq":N,"time":…,…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Global, monotonic, starting at 1; never reused while the daemon runs.
    pub seq: u64,
    /// Wall-clock time the event was recorded, milliseconds since the Unix epoch.
    pub time: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event")]
pub enum EventKind {
    /// An inbound INVITE was parked, waiting for `answer`/`reject`/`hangup`.
    #[serde(rename = "leg.incoming")]
    Incoming {
        /// The new leg.
        leg: LegInfo,
    },
    /// An outbound leg got 100 Trying.
    #[serde(rename = "leg.trying")]
    Trying {
        /// The leg id.
        leg: String,
    },
    /// 180 (or 183 without SDP) on an outbound leg; or we sent 180 on an inbound one.
    #[serde(rename = "leg.ringing")]
    Ringing {
        /// The leg id.
        leg: String,
    },
    /// 183 with SDP: early media is negotiated.
    #[serde(rename = "leg.early_media")]
    EarlyMedia {
        /// The leg id.
        leg: String,
    },
    /// The leg is answered (200 OK and ACK).
    #[serde(rename = "leg.answered")]
    Answered {
        /// The leg id.
        leg: String,
    },
    /// The leg ended.
    #[serde(rename = "leg.hungup")]
    Hungup {
        /// The leg id.
        leg: String,
        /// Why.
        cause: HangupCause,
        /// The final SIP status that ended it, if one did (486, 487, 200 for BYE…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sip_status: Option<u16>,
        /// Milliseconds from the first provisional response (or from the start) to answer or end.
        ring_ms: u64,
        /// Milliseconds from answer to end (0 when never answered).
        talk_ms: u64,
    },
    /// A trunk registration succeeded (or was refreshed).
    #[serde(rename = "trunk.registered")]
    TrunkRegistered {
        /// The trunk's name.
        trunk: String,
        /// Seconds until the registration expires.
        expires: u32,
    },
    /// A trunk registration failed.
    #[serde(rename = "trunk.failed")]
    TrunkFailed {
        /// The trunk's name.
        trunk: String,
        /// The final SIP status, if one came.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sip_status: Option<u16>,
        /// Human-readable reason.
        reason: String,
    },
    /// Events between `from` and `to` (inclusive) are no longer kept: re-read
    /// state with `legs`.
    #[serde(rename = "gap")]
    Gap {
        /// First missed seq.
        from: u64,
        /// Last missed seq.
        to: u64,
    },
    /// A `play` began.
    #[serde(rename = "play.started")]
    PlayStarted {
        /// The leg id.
        leg: String,
    },
    /// A `play` ran to its end.
    #[serde(rename = "play.finished")]
    PlayFinished {
        /// The leg id.
        leg: String,
    },
    /// A `play` was cut short (`stop_play`, a new `play`, hangup).
    #[serde(rename = "play.stopped")]
    PlayStopped {
        /// The leg id.
        leg: String,
    },
    /// A `collect` ended with digits.
    #[serde(rename = "collect.done")]
    CollectDone {
        /// The leg id.
        leg: String,
        /// The digits, without the terminator.
        digits: String,
        /// Why collection ended.
        reason: CollectReason,
    },
    /// A `collect` got no digit after all its retries.
    #[serde(rename = "collect.timeout")]
    CollectTimeout {
        /// The leg id.
        leg: String,
    },
    /// A recording ended and its file is complete.
    #[serde(rename = "record.finished")]
    RecordFinished {
        /// The leg id.
        leg: String,
        /// The file written.
        path: String,
        /// Audio length in milliseconds.
        duration_ms: u64,
        /// File size in bytes.
        bytes: u64,
        /// Set when a disk error ended the recording early (the call goes on).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A DTMF digit came from the leg.
    #[serde(rename = "dtmf")]
    Dtmf {
        /// The leg id.
        leg: String,
        /// `0-9`, `*`, `#` or `A-D`.
        digit: char,
        /// How long the digit lasted, in milliseconds.
        duration_ms: u64,
        /// How it came.
        method: DtmfMethod,
    },
    /// No RTP came from the leg for the configured media timeout.
    #[serde(rename = "leg.media_timeout")]
    MediaTimeout {
        /// The leg id.
        leg: String,
    },
}

impl EventKind {
    /// The wire name (`leg.ringing`…), for logs and metric labels.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Incoming { .. } => "leg.incoming",
            EventKind::Trying { .. } => "leg.trying",
            EventKind::Ringing { .. } => "leg.ringing",
            EventKind::EarlyMedia { .. } => "leg.early_media",
            EventKind::Answered { .. } => "leg.answered",
            EventKind::Hungup { .. } => "leg.hungup",
            EventKind::TrunkRegistered { .. } => "trunk.registered",
            EventKind::TrunkFailed { .. } => "trunk.failed",
            EventKind::Gap { .. } => "gap",
            EventKind::PlayStarted { .. } => "play.started",
            EventKind::PlayFinished { .. } => "play.finished",
            EventKind::PlayStopped { .. } => "play.stopped",
            EventKind::CollectDone { .. } => "collect.done",
            EventKind::CollectTimeout { .. } => "collect.timeout",
            EventKind::RecordFinished { .. } => "record.finished",
            EventKind::Dtmf { .. } => "dtmf",
            EventKind::MediaTimeout { .. } => "leg.media_timeout",
        }
    }
}

/// Which side started the leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegDirection {
    /// An INVITE we received.
    Inbound,
    /// An INVITE we sent (`originate`).
    Outbound,
}

/// A leg's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegState {
    /// Created, nothing sent or answered yet.
    New,
    /// 100 Trying received (outbound) or sent (inbound).
    Trying,
    /// 180 received or sent.
    Ringing,
    /// 183 with SDP: early media.
    Early,
    /// 200 OK.
    Answered,
    /// BYE or CANCEL sent, waiting for its answer.
    Ending,
    /// Over.
    Ended,
}

/// Why a leg ended; names follow the Q.850-based causes of FreeSWITCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HangupCause {
    /// A normal BYE from either side.
    NormalClearing,
    /// 486/600 Busy.
    UserBusy,
    /// Rang until `ring_timeout`; we sent CANCEL.
    NoAnswer,
    /// 480 Temporarily Unavailable, or no provisional response in time (408).
    NoUserResponse,
    /// 403/603 Decline, or a parked leg rejected by the controller.
    CallRejected,
    /// The caller cancelled before answer (CANCEL received, or hangup of a ringing outbound leg).
    OriginatorCancel,
    /// 404/604: no such user, or no route matched.
    UnallocatedNumber,
    /// 488/606: no common codec.
    IncompatibleDestination,
    /// 503/500 and other 5xx, or a transport error.
    NormalTemporaryFailure,
    /// 408 or Timer B/F: the far end never answered at the SIP layer.
    RecoveryOnTimerExpire,
    /// `max_duration` reached; we sent BYE.
    AllottedTimeout,
    /// A parked leg was not answered by the controller in time.
    ParkTimeout,
    /// The daemon is shutting down.
    SystemShutdown,
    /// Any other final response.
    CallFailed,
}

/// A leg as seen by `legs`, `leg` and `leg.incoming`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegInfo {
    /// The leg id (client-chosen for `originate`, generated otherwise).
    pub id: String,
    /// Inbound or outbound.
    pub direction: LegDirection,
    /// Current state.
    pub state: LegState,
    /// From URI.
    pub from: String,
    /// To URI (the Request-URI for inbound legs).
    pub to: String,
    /// SIP Call-ID.
    pub call_id: String,
    /// Trunk used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk: Option<String>,
    /// Local RTP port allocated for the leg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtp_port: Option<u16>,
    /// Negotiated codec (`PCMU`, `PCMA`, `opus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    /// Milliseconds since the leg was created.
    pub age_ms: u64,
    /// Milliseconds since answer, if answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talk_ms: Option<u64>,
    /// Why it ended, once ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<HangupCause>,
    /// The final SIP status, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_status: Option<u16>,
    /// Media counters, once media is negotiated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<LegMediaInfo>,
}

/// A trunk as seen by `trunks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrunkInfo {
    /// The trunk's spec (password omitted).
    #[serde(flatten)]
    pub spec: crate::command::TrunkSpec,
    /// `config` or `control`: where the trunk came from.
    pub source: String,
    /// `disabled`, `registering`, `registered`, `failed`.
    pub registration: String,
}
