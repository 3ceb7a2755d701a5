//! The switch's and SIP endpoint's counters and gauges as Prometheus series.
//! The switch keeps running totals, so counters are set to its absolute
//! values rather than incremented.

use metrics::{counter, describe_counter, describe_gauge, gauge};
use std::collections::BTreeMap;
use switchd_switch::SwitchStats;

pub(super) fn describe() {
    describe_counter!(
        "switchd_sip_requests_total",
        "SIP requests received and sent (retransmissions included), by method."
    );
    describe_counter!(
        "switchd_sip_responses_total",
        "SIP responses received and sent (retransmissions included), by status class."
    );
    describe_counter!(
        "switchd_sip_parse_errors_total",
        "SIP messages refused by the parser, by reason."
    );
    describe_counter!(
        "switchd_sip_check_rejections_total",
        "SIP requests refused by the endpoint's checks, by reason."
    );
    describe_counter!("switchd_sip_retransmissions_total", "SIP messages re-sent.");
    describe_counter!(
        "switchd_sip_stray_total",
        "SIP messages that matched nothing, by kind."
    );
    describe_counter!(
        "switchd_sip_send_failures_total",
        "SIP messages the SIP layer refused to send."
    );
    describe_gauge!("switchd_sip_transactions", "Live SIP transactions.");
    describe_gauge!("switchd_dialogs", "Dialogs in the table.");
    describe_gauge!(
        "switchd_legs",
        "Legs, by state (active, retained after ending)."
    );
    describe_gauge!(
        "switchd_rtp_ports",
        "RTP port pairs: in use, bound and ready for the next leg, and in the pool."
    );
    describe_gauge!("switchd_trunks", "Trunks, all and registered.");
    describe_gauge!(
        "switchd_pending_resolves",
        "Host names waiting to be resolved."
    );
    describe_counter!("switchd_calls_total", "Legs created, by direction.");
    describe_counter!(
        "switchd_rtp_bind_failures_total",
        "RTP port pairs that could not be bound (held by another program) and were skipped."
    );
    describe_counter!("switchd_calls_ended_total", "Legs ended, by hangup cause.");
    describe_counter!(
        "switchd_calls_refused_total",
        "INVITEs refused without a leg (no route, reject route, draining, bad offer)."
    );
    describe_gauge!(
        "switchd_media_legs",
        "Legs with negotiated media: all, transcoded, and hearing the hold prompt."
    );
    describe_gauge!(
        "switchd_media_inband_detectors",
        "Legs with an in-band DTMF detector (audio decoded and scanned every 20 ms)."
    );
    describe_counter!(
        "switchd_media_packets_total",
        "RTP packets the media engine accepted and sent, by direction."
    );
    describe_counter!(
        "switchd_media_dropped_total",
        "Datagrams and events the media engine dropped, by reason."
    );
    describe_counter!(
        "switchd_media_legs_refused_total",
        "Legs the media engine refused (leg limit, codec)."
    );
    describe_counter!(
        "switchd_dtmf_digits_total",
        "DTMF digits received and sent, by direction."
    );
    describe_gauge!(
        "switchd_media_kernel_relay_directions",
        "Bridge directions forwarded by the kernel relay now."
    );
    describe_counter!(
        "switchd_media_kernel_relay_installs_total",
        "Bridge directions handed to the kernel relay."
    );
    describe_counter!(
        "switchd_media_kernel_relay_packets_total",
        "RTP packets the kernel relay forwarded (also in switchd_media_packets_total), read every second."
    );
    describe_counter!(
        "switchd_media_kernel_relay_refused_total",
        "Bridge directions the kernel relay could not take (relayed by the daemon instead)."
    );
}

fn by_label(
    name: &'static str,
    label: &'static str,
    values: &BTreeMap<&'static str, u64>,
    extra: (&'static str, &'static str),
) {
    for (key, value) in values {
        counter!(name, label => *key, extra.0 => extra.1).absolute(*value);
    }
}

/// Copies a snapshot of the switch's stats to the metrics.
pub(crate) fn publish_switch_stats(stats: &SwitchStats) {
    let sip = &stats.endpoint;
    by_label(
        "switchd_sip_requests_total",
        "method",
        &sip.requests_in,
        ("direction", "in"),
    );
    by_label(
        "switchd_sip_requests_total",
        "method",
        &sip.requests_out,
        ("direction", "out"),
    );
    by_label(
        "switchd_sip_responses_total",
        "class",
        &sip.responses_in,
        ("direction", "in"),
    );
    by_label(
        "switchd_sip_responses_total",
        "class",
        &sip.responses_out,
        ("direction", "out"),
    );
    for (reason, value) in &sip.parse_rejections {
        counter!("switchd_sip_parse_errors_total", "reason" => *reason).absolute(*value);
    }
    for (reason, value) in &sip.check_rejections {
        counter!("switchd_sip_check_rejections_total", "reason" => *reason).absolute(*value);
    }
    counter!("switchd_sip_retransmissions_total").absolute(sip.retransmissions);
    counter!("switchd_sip_transactions_evicted_total").absolute(sip.evicted_completed);
    counter!("switchd_sip_stray_total", "kind" => "response").absolute(sip.stray_responses);
    counter!("switchd_sip_stray_total", "kind" => "ack").absolute(sip.stray_acks);
    counter!("switchd_sip_stray_total", "kind" => "unmatchable").absolute(sip.unmatchable);
    counter!("switchd_sip_stray_total", "kind" => "absorbed_request")
        .absolute(sip.absorbed_requests);
    counter!("switchd_sip_send_failures_total").absolute(stats.sip_send_failures);
    counter!("switchd_table_limit_rejections_total", "table" => "transactions")
        .absolute(sip.table_full);
    counter!("switchd_table_limit_rejections_total", "table" => "legs")
        .absolute(stats.limit_rejections);

    gauge!("switchd_sip_transactions").set(stats.transactions as f64);
    gauge!("switchd_dialogs").set(stats.dialogs as f64);
    gauge!("switchd_legs", "state" => "active").set(stats.legs_active as f64);
    gauge!("switchd_legs", "state" => "retained").set(stats.legs_retained as f64);
    gauge!("switchd_rtp_ports", "state" => "in_use").set(stats.rtp_ports_in_use as f64);
    gauge!("switchd_rtp_ports", "state" => "capacity").set(stats.rtp_ports_capacity as f64);
    gauge!("switchd_rtp_ports", "state" => "ready").set(stats.rtp_ports_ready as f64);
    counter!("switchd_rtp_bind_failures_total").absolute(stats.rtp_bind_failures);
    gauge!("switchd_trunks", "state" => "configured").set(stats.trunks as f64);
    gauge!("switchd_trunks", "state" => "registered").set(stats.trunks_registered as f64);
    gauge!("switchd_pending_resolves").set(stats.pending_resolves as f64);

    counter!("switchd_calls_total", "direction" => "inbound").absolute(stats.calls_inbound);
    counter!("switchd_calls_total", "direction" => "outbound").absolute(stats.calls_outbound);
    counter!("switchd_calls_refused_total").absolute(stats.inbound_refused);
    for (cause, value) in &stats.hangups {
        counter!("switchd_calls_ended_total", "cause" => *cause).absolute(*value);
    }
    publish_media_stats(stats);
}

fn publish_media_stats(stats: &SwitchStats) {
    gauge!("switchd_media_legs", "kind" => "all").set(stats.media_legs as f64);
    gauge!("switchd_media_legs", "kind" => "transcoding").set(stats.media_transcoding_legs as f64);
    gauge!("switchd_media_legs", "kind" => "on_hold").set(stats.media_legs_on_hold as f64);
    gauge!("switchd_media_inband_detectors").set(stats.media_inband_detectors as f64);
    counter!("switchd_media_packets_total", "direction" => "in").absolute(stats.media_packets_in);
    counter!("switchd_media_packets_total", "direction" => "out").absolute(stats.media_packets_out);
    let dropped = [
        ("stray_source", stats.media_strays),
        ("malformed", stats.media_malformed),
        ("unknown_port", stats.media_unknown_port),
        ("queue_full", stats.media_overflow),
        ("kernel_handover", stats.media_kernel_handover_drops),
    ];
    for (reason, value) in dropped {
        counter!("switchd_media_dropped_total", "reason" => reason).absolute(value);
    }
    counter!("switchd_media_legs_refused_total").absolute(stats.media_legs_refused);
    gauge!("switchd_media_kernel_relay_directions").set(stats.media_kernel_directions as f64);
    counter!("switchd_media_kernel_relay_installs_total").absolute(stats.media_kernel_installs);
    counter!("switchd_media_kernel_relay_refused_total").absolute(stats.media_kernel_refused);
    counter!("switchd_media_kernel_relay_packets_total").absolute(stats.media_kernel_packets);
    counter!("switchd_dtmf_digits_total", "direction" => "in").absolute(stats.dtmf_in);
    counter!("switchd_dtmf_digits_total", "direction" => "out").absolute(stats.dtmf_out);
}
