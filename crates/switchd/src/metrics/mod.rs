//! Prometheus metrics: the recorder, the `/metrics` endpoint and one small
//! function per thing the daemon counts, so names and labels live in one
//! place. Labels are low-cardinality by construction: methods, status
//! classes, causes, command names and error codes, never a call id, URI or leg.

mod http;
mod switch;

pub(crate) use http::serve;
pub(crate) use switch::publish_switch_stats;

use crate::Error;
use metrics::{Counter, Gauge, counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::Mutex;

/// The process-wide recorder: `metrics` allows one, and tests start the
/// daemon several times in one process, so later starts reuse the first.
static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Installs the Prometheus recorder (once per process) and describes the series.
pub(crate) fn install() -> Result<PrometheusHandle, Error> {
    let mut slot = HANDLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(handle) = slot.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|error| Error::Metrics {
            detail: error.to_string(),
        })?;
    describe();
    *slot = Some(handle.clone());
    Ok(handle)
}

fn describe() {
    describe_gauge!("switchd_build_info", "Always 1; the version is a label.");
    describe_counter!(
        "switchd_sip_dropped_total",
        "SIP messages dropped by the daemon, by reason."
    );
    describe_counter!(
        "switchd_tcp_framing_errors_total",
        "TCP connections closed because the stream could not be framed."
    );
    describe_gauge!("switchd_tcp_connections", "Open SIP TCP connections.");
    describe_counter!(
        "switchd_table_limit_rejections_total",
        "Things refused because a table was full, by table."
    );
    describe_counter!(
        "switchd_control_commands_total",
        "Control commands by command and result code."
    );
    describe_gauge!("switchd_control_connections", "Open control connections.");
    describe_gauge!(
        "switchd_event_subscribers",
        "Control connections subscribed to events."
    );
    describe_counter!(
        "switchd_subscriber_gaps_total",
        "Times a slow subscriber lost events."
    );
    describe_gauge!(
        "switchd_event_ring_size",
        "Events kept for `subscribe {since}`."
    );
    describe_counter!("switchd_events_total", "Control events emitted.");
    describe_counter!(
        "switchd_rtp_packets_in_total",
        "RTP and RTCP packets received and handed to the switch's queue."
    );
    describe_counter!(
        "switchd_rtp_packets_out_total",
        "RTP and RTCP packets sent."
    );
    describe_counter!(
        "switchd_rtp_dropped_total",
        "RTP and RTCP packets dropped by the daemon, by reason."
    );
    describe_gauge!("switchd_rtp_sockets", "Open RTP and RTCP sockets.");
    describe_counter!(
        "switchd_prompt_cache_hits_total",
        "Prompt look-ups served from memory."
    );
    describe_counter!(
        "switchd_prompt_cache_loads_total",
        "Prompt files read (first use or changed)."
    );
    describe_counter!(
        "switchd_prompt_cache_load_errors_total",
        "Prompt files that could not be loaded."
    );
    describe_counter!(
        "switchd_prompt_cache_evictions_total",
        "Prompts dropped from memory to stay within the limit."
    );
    switch::describe();
}

/// Sets the series that should exist from the first scrape on.
pub(crate) fn started() {
    gauge!("switchd_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    gauge!("switchd_tcp_connections").set(0.0);
    gauge!("switchd_control_connections").set(0.0);
    gauge!("switchd_event_subscribers").set(0.0);
    gauge!("switchd_event_ring_size").set(0.0);
    // Counted up and down by the RTP sockets: made visible, never reset.
    gauge!("switchd_rtp_sockets").increment(0.0);
}

/// The daemon dropped a SIP message (`udp_too_large`, `udp_send_failed`,
/// `tcp_queue_full`, `no_socket`).
pub(crate) fn sip_dropped(reason: &'static str) {
    counter!("switchd_sip_dropped_total", "reason" => reason).increment(1);
}

/// A TCP stream could not be framed (`bad_content_length`, `too_large`).
pub(crate) fn tcp_framing_error(reason: &'static str) {
    counter!("switchd_tcp_framing_errors_total", "reason" => reason).increment(1);
}

/// Open SIP TCP connections.
pub(crate) fn tcp_connections(open: usize) {
    gauge!("switchd_tcp_connections").set(open as f64);
}

/// Something was refused because `table` was full.
pub(crate) fn table_full(table: &'static str) {
    counter!("switchd_table_limit_rejections_total", "table" => table).increment(1);
}

/// A control command finished with `result` (`ok` or an error code).
pub(crate) fn control_command(command: &'static str, result: &'static str) {
    counter!("switchd_control_commands_total", "command" => command, "result" => result)
        .increment(1);
}

/// Open control connections.
pub(crate) fn control_connections(open: usize) {
    gauge!("switchd_control_connections").set(open as f64);
}

/// Subscribed control connections.
pub(crate) fn subscribers(count: usize) {
    gauge!("switchd_event_subscribers").set(count as f64);
}

/// A subscriber started losing events.
pub(crate) fn subscriber_gap() {
    counter!("switchd_subscriber_gaps_total").increment(1);
}

/// An event was recorded; the ring holds `kept` events.
pub(crate) fn event_recorded(name: &'static str, kept: usize) {
    counter!("switchd_events_total", "event" => name).increment(1);
    gauge!("switchd_event_ring_size").set(kept as f64);
}

/// Handles to the per-packet RTP series, looked up once: a packet costs an
/// atomic increment, not a registry look-up.
#[derive(Clone)]
pub(crate) struct RtpCounters {
    /// RTP/RTCP packets received and accepted.
    pub packets_in: Counter,
    /// RTP/RTCP packets sent.
    pub packets_out: Counter,
    /// Received datagrams over the size limit.
    pub dropped_too_large: Counter,
    /// Packets the socket refused to send.
    pub dropped_send_failed: Counter,
    /// Packets for a port with no open socket.
    pub dropped_no_socket: Counter,
    sockets: Gauge,
}

impl std::fmt::Debug for RtpCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpCounters").finish_non_exhaustive()
    }
}

impl RtpCounters {
    /// The handles (no-ops when metrics are disabled).
    pub(crate) fn new() -> Self {
        let dropped =
            |reason: &'static str| counter!("switchd_rtp_dropped_total", "reason" => reason);
        Self {
            packets_in: counter!("switchd_rtp_packets_in_total"),
            packets_out: counter!("switchd_rtp_packets_out_total"),
            dropped_too_large: dropped("too_large"),
            dropped_send_failed: dropped("send_failed"),
            dropped_no_socket: dropped("no_socket"),
            sockets: gauge!("switchd_rtp_sockets"),
        }
    }

    /// A pair of sockets was opened (+1) or closed (-1). Counted up and
    /// down rather than set, so daemons sharing a process (tests) add up.
    pub(crate) fn pairs_changed(&self, change: i8) {
        self.sockets.increment(f64::from(change) * 2.0);
    }
}

/// The prompt cache's running totals.
pub(crate) fn publish_prompt_cache(stats: &switchd_player::cache::CacheStats) {
    counter!("switchd_prompt_cache_hits_total").absolute(stats.hits);
    counter!("switchd_prompt_cache_loads_total").absolute(stats.loads);
    counter!("switchd_prompt_cache_load_errors_total").absolute(stats.load_errors);
    counter!("switchd_prompt_cache_evictions_total").absolute(stats.evictions);
}
