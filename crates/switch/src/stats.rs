//! Counters and gauges the daemon exports.

use crate::error::SwitchError;
use crate::switch::Switch;
use std::collections::BTreeMap;
use switchd_control::{HangupCause, ReplyBody};
use switchd_sip::endpoint::EndpointStats;

/// Every hangup cause, in a fixed order (for counters and export).
pub const HANGUP_CAUSES: [HangupCause; 14] = [
    HangupCause::NormalClearing,
    HangupCause::UserBusy,
    HangupCause::NoAnswer,
    HangupCause::NoUserResponse,
    HangupCause::CallRejected,
    HangupCause::OriginatorCancel,
    HangupCause::UnallocatedNumber,
    HangupCause::IncompatibleDestination,
    HangupCause::NormalTemporaryFailure,
    HangupCause::RecoveryOnTimerExpire,
    HangupCause::AllottedTimeout,
    HangupCause::ParkTimeout,
    HangupCause::SystemShutdown,
    HangupCause::CallFailed,
];

/// The wire name of a hangup cause (`normal_clearing`…), for metric labels.
pub fn cause_name(cause: HangupCause) -> &'static str {
    match cause {
        HangupCause::NormalClearing => "normal_clearing",
        HangupCause::UserBusy => "user_busy",
        HangupCause::NoAnswer => "no_answer",
        HangupCause::NoUserResponse => "no_user_response",
        HangupCause::CallRejected => "call_rejected",
        HangupCause::OriginatorCancel => "originator_cancel",
        HangupCause::UnallocatedNumber => "unallocated_number",
        HangupCause::IncompatibleDestination => "incompatible_destination",
        HangupCause::NormalTemporaryFailure => "normal_temporary_failure",
        HangupCause::RecoveryOnTimerExpire => "recovery_on_timer_expire",
        HangupCause::AllottedTimeout => "allotted_timeout",
        HangupCause::ParkTimeout => "park_timeout",
        HangupCause::SystemShutdown => "system_shutdown",
        HangupCause::CallFailed => "call_failed",
    }
}

/// Running counters kept by the switch.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counters {
    pub calls_inbound: u64,
    pub calls_outbound: u64,
    pub inbound_refused: u64,
    pub hangups: BTreeMap<&'static str, u64>,
    pub commands_ok: u64,
    pub command_errors: BTreeMap<&'static str, u64>,
    pub limit_rejections: u64,
    pub sip_send_failures: u64,
}

impl Counters {
    pub(crate) fn count_hangup(&mut self, cause: HangupCause) {
        *self.hangups.entry(cause_name(cause)).or_default() += 1;
    }

    pub(crate) fn count_command(&mut self, result: &Result<ReplyBody, SwitchError>) {
        match result {
            Ok(_) => self.commands_ok += 1,
            Err(e) => *self.command_errors.entry(e.code().as_str()).or_default() += 1,
        }
    }
}

/// A snapshot of the switch's counters (monotonic) and gauges (current).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchStats {
    /// Gauge: legs not yet ended.
    pub legs_active: u64,
    /// Gauge: ended legs still kept for `legs`/`leg`.
    pub legs_retained: u64,
    /// Gauge: dialogs in the table.
    pub dialogs: u64,
    /// Gauge: the SIP endpoint's live transactions.
    pub transactions: u64,
    /// Gauge: host names waiting to be resolved.
    pub pending_resolves: u64,
    /// Gauge: the switch's own deadlines.
    pub timers: u64,
    /// Gauge: RTP ports in use.
    pub rtp_ports_in_use: u64,
    /// Gauge: RTP ports in the pool.
    pub rtp_ports_capacity: u64,
    /// Gauge: RTP ports bound ahead of need, waiting for a leg.
    pub rtp_ports_ready: u64,
    /// Counter: RTP port pairs that failed to bind (another program holds
    /// them); each was skipped for the next.
    pub rtp_bind_failures: u64,
    /// Gauge: trunks.
    pub trunks: u64,
    /// Gauge: trunks currently registered.
    pub trunks_registered: u64,
    /// Counter: inbound legs created.
    pub calls_inbound: u64,
    /// Counter: outbound legs created.
    pub calls_outbound: u64,
    /// Counter: INVITEs refused without a leg (no route, route reject, draining, bad offer).
    pub inbound_refused: u64,
    /// Counter: legs ended, by cause name.
    pub hangups: BTreeMap<&'static str, u64>,
    /// Counter: commands that succeeded.
    pub commands_ok: u64,
    /// Counter: commands that failed, by error code.
    pub command_errors: BTreeMap<&'static str, u64>,
    /// Counter: INVITEs and originates refused because a table was full.
    pub limit_rejections: u64,
    /// Counter: messages the SIP layer refused to send.
    pub sip_send_failures: u64,
    /// Gauge: legs with negotiated media in the engine.
    pub media_legs: u64,
    /// Gauge: legs bridged to a leg with another codec (transcoded).
    pub media_transcoding_legs: u64,
    /// Gauge: legs with an in-band DTMF detector (their audio decoded and scanned every 20 ms).
    pub media_inband_detectors: u64,
    /// Gauge: legs hearing the configured hold prompt (answered, idle).
    pub media_legs_on_hold: u64,
    /// Counter: RTP packets accepted from peers.
    pub media_packets_in: u64,
    /// Counter: RTP packets sent (relayed, echoed, played, DTMF).
    pub media_packets_out: u64,
    /// Counter: datagrams dropped for coming from another source than the peer's.
    pub media_strays: u64,
    /// Counter: datagrams dropped as malformed RTP/RTCP or of a payload type not negotiated.
    pub media_malformed: u64,
    /// Counter: datagrams on a port with no negotiated media.
    pub media_unknown_port: u64,
    /// Counter: legs the media engine refused (leg limit, codec).
    pub media_legs_refused: u64,
    /// Counter: datagrams or events dropped because the output queues were full.
    pub media_overflow: u64,
    /// Gauge: bridge directions forwarded by the daemon's kernel relay.
    pub media_kernel_directions: u64,
    /// Counter: bridge directions handed to the kernel relay.
    pub media_kernel_installs: u64,
    /// Counter: bridge directions the kernel relay could not take.
    pub media_kernel_refused: u64,
    /// Counter: RTP packets the kernel relay forwarded (read every second).
    pub media_kernel_packets: u64,
    /// Counter: packets dropped while a direction came back from the kernel
    /// relay (a new SSRC before the kernel's counters).
    pub media_kernel_handover_drops: u64,
    /// Counter: DTMF digits received (each press once).
    pub dtmf_in: u64,
    /// Counter: DTMF digits sent.
    pub dtmf_out: u64,
    /// The SIP endpoint's own counters.
    pub endpoint: EndpointStats,
}

impl SwitchStats {
    /// Flattened by name (`hangups.user_busy`, `command_errors.unknown_leg`…)
    /// for the `stats` reply.
    pub fn to_map(&self) -> BTreeMap<String, u64> {
        let mut map = BTreeMap::new();
        let plain = [
            ("legs_active", self.legs_active),
            ("legs_retained", self.legs_retained),
            ("dialogs", self.dialogs),
            ("transactions", self.transactions),
            ("pending_resolves", self.pending_resolves),
            ("timers", self.timers),
            ("rtp_ports_in_use", self.rtp_ports_in_use),
            ("rtp_ports_capacity", self.rtp_ports_capacity),
            ("rtp_ports_ready", self.rtp_ports_ready),
            ("rtp_bind_failures", self.rtp_bind_failures),
            ("trunks", self.trunks),
            ("trunks_registered", self.trunks_registered),
            ("calls_inbound", self.calls_inbound),
            ("calls_outbound", self.calls_outbound),
            ("inbound_refused", self.inbound_refused),
            ("commands_ok", self.commands_ok),
            ("limit_rejections", self.limit_rejections),
            ("sip_send_failures", self.sip_send_failures),
            ("media_legs", self.media_legs),
            ("media_transcoding_legs", self.media_transcoding_legs),
            ("media_inband_detectors", self.media_inband_detectors),
            ("media_legs_on_hold", self.media_legs_on_hold),
            ("media_packets_in", self.media_packets_in),
            ("media_packets_out", self.media_packets_out),
            ("media_strays", self.media_strays),
            ("media_malformed", self.media_malformed),
            ("media_unknown_port", self.media_unknown_port),
            ("media_legs_refused", self.media_legs_refused),
            ("media_overflow", self.media_overflow),
            ("media_kernel_directions", self.media_kernel_directions),
            ("media_kernel_installs", self.media_kernel_installs),
            ("media_kernel_refused", self.media_kernel_refused),
            ("media_kernel_packets", self.media_kernel_packets),
            (
                "media_kernel_handover_drops",
                self.media_kernel_handover_drops,
            ),
            ("dtmf_in", self.dtmf_in),
            ("dtmf_out", self.dtmf_out),
        ];
        for (name, value) in plain {
            map.insert(name.to_owned(), value);
        }
        for (cause, value) in &self.hangups {
            map.insert(format!("hangups.{cause}"), *value);
        }
        for (code, value) in &self.command_errors {
            map.insert(format!("command_errors.{code}"), *value);
        }
        let sip = &self.endpoint;
        let maps = [
            ("requests_in", &sip.requests_in),
            ("responses_in", &sip.responses_in),
            ("requests_out", &sip.requests_out),
            ("responses_out", &sip.responses_out),
            ("parse_rejections", &sip.parse_rejections),
            ("check_rejections", &sip.check_rejections),
        ];
        for (name, counts) in maps {
            for (key, value) in counts {
                map.insert(format!("sip.{name}.{key}"), *value);
            }
        }
        let plain = [
            ("table_full", sip.table_full),
            ("retransmissions", sip.retransmissions),
            ("evicted_completed", sip.evicted_completed),
            ("absorbed_requests", sip.absorbed_requests),
            ("stray_responses", sip.stray_responses),
            ("stray_acks", sip.stray_acks),
            ("unmatchable", sip.unmatchable),
        ];
        for (name, value) in plain {
            map.insert(format!("sip.{name}"), value);
        }
        map
    }
}

impl Switch {
    /// Counters and gauges, cheap enough to call on every metrics scrape.
    pub fn stats(&self) -> SwitchStats {
        let c = &self.counters;
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let (media, transcoding) = self.media_counters();
        let engine = self.media.engine.stats();
        let totals = &self.media.totals;
        SwitchStats {
            legs_active: count(self.live_legs),
            legs_retained: count(self.legs.len().saturating_sub(self.live_legs)),
            dialogs: count(self.dialogs.len()),
            transactions: count(self.endpoint.transaction_count()),
            pending_resolves: count(self.resolving.len()),
            timers: count(self.timers.len()),
            rtp_ports_in_use: count(self.ports.in_use()),
            rtp_ports_capacity: count(self.ports.capacity()),
            rtp_ports_ready: count(self.ports.ready()),
            rtp_bind_failures: self.ports.bind_failures(),
            trunks: count(self.trunks.len()),
            trunks_registered: count(self.trunks.registered()),
            calls_inbound: c.calls_inbound,
            calls_outbound: c.calls_outbound,
            inbound_refused: c.inbound_refused,
            hangups: c.hangups.clone(),
            commands_ok: c.commands_ok,
            command_errors: c.command_errors.clone(),
            limit_rejections: c.limit_rejections,
            sip_send_failures: c.sip_send_failures,
            media_legs: count(engine.legs),
            media_transcoding_legs: transcoding,
            media_inband_detectors: count(self.inband_detectors()),
            media_legs_on_hold: count(self.legs_on_hold()),
            media_packets_in: media.packets_in,
            media_packets_out: media.packets_out,
            media_strays: media.strays,
            media_malformed: media.malformed + media.wrong_payload_type,
            media_unknown_port: totals.unknown_port + engine.unknown_leg,
            media_legs_refused: totals.refused,
            media_overflow: engine.transmit_overflow + engine.event_overflow + engine.dtmf_overflow,
            media_kernel_directions: count(engine.offloads_active),
            media_kernel_installs: engine.offloads_installed,
            media_kernel_refused: engine.offloads_refused,
            media_kernel_packets: engine.offloaded_packets,
            media_kernel_handover_drops: engine.offload_handover_drops,
            dtmf_in: totals.dtmf_in,
            dtmf_out: totals.dtmf_out,
            endpoint: self.endpoint.stats().clone(),
        }
    }
}
