//! Counters the daemon exports as metrics. Every key is a `&'static str`
//! from a small fixed set (methods, status classes, rejection reasons).

use std::collections::BTreeMap;

/// Counters kept by the [`Endpoint`](super::Endpoint) since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Requests received (retransmissions included), by method.
    pub requests_in: BTreeMap<&'static str, u64>,
    /// Responses received, by status class (`1xx` … `6xx`).
    pub responses_in: BTreeMap<&'static str, u64>,
    /// Requests sent (retransmissions included), by method.
    pub requests_out: BTreeMap<&'static str, u64>,
    /// Responses sent (retransmissions included), by status class.
    pub responses_out: BTreeMap<&'static str, u64>,
    /// Messages refused by the parser, by
    /// [`Rejection::reason`](crate::message::Rejection::reason).
    pub parse_rejections: BTreeMap<&'static str, u64>,
    /// Requests refused by the endpoint's checks (`max_forwards`,
    /// `require`, `content_type`).
    pub check_rejections: BTreeMap<&'static str, u64>,
    /// Requests refused with 503 because the transaction table was full,
    /// plus `send_request` calls refused for the same reason.
    pub table_full: u64,
    /// Transactions that only absorbed retransmissions (lingering in
    /// Completed, Confirmed or Accepted after the ACK), evicted from a full
    /// table to make room for a new one.
    pub evicted_completed: u64,
    /// Messages we re-sent (requests, responses and ACKs).
    pub retransmissions: u64,
    /// Request retransmissions absorbed by a server transaction.
    pub absorbed_requests: u64,
    /// Responses that matched no client transaction.
    pub stray_responses: u64,
    /// ACKs that matched no INVITE server transaction.
    pub stray_acks: u64,
    /// Messages dropped because a header needed for matching was unusable.
    pub unmatchable: u64,
}

impl EndpointStats {
    pub(crate) fn count_request_in(&mut self, method: &'static str) {
        bump(&mut self.requests_in, method);
    }

    pub(crate) fn count_response_in(&mut self, code: u16) {
        bump(&mut self.responses_in, status_class(code));
    }

    pub(crate) fn count_request_out(&mut self, method: &'static str) {
        bump(&mut self.requests_out, method);
    }

    pub(crate) fn count_response_out(&mut self, code: u16) {
        bump(&mut self.responses_out, status_class(code));
    }

    pub(crate) fn count_parse_rejection(&mut self, reason: &'static str) {
        bump(&mut self.parse_rejections, reason);
    }

    pub(crate) fn count_check_rejection(&mut self, reason: &'static str) {
        bump(&mut self.check_rejections, reason);
    }
}

fn bump(map: &mut BTreeMap<&'static str, u64>, key: &'static str) {
    *map.entry(key).or_default() += 1;
}

/// `1xx` … `6xx`, or `other` for codes outside 100..=699.
pub(crate) fn status_class(code: u16) -> &'static str {
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        600..=699 => "6xx",
        _ => "other",
    }
}
