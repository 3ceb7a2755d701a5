//! Human-readable output: aligned tables for lists, `key: value` lines for
//! single objects, one line per event.

use serde::Serialize;
use switchd_control::{Event, EventKind, LegInfo, LegMediaInfo, ReplyBody, TrunkInfo};

/// A successful reply's body, for humans (ends with a newline unless empty).
pub fn body(body: &ReplyBody) -> String {
    match body {
        ReplyBody::Pong { version } => key_values(&[("version", version.clone())]),
        ReplyBody::Leg { leg, existing } => {
            let mut text = leg_details(leg);
            if *existing {
                text.push_str("existing: true\n");
            }
            text
        }
        ReplyBody::Legs { legs } if legs.is_empty() => "no legs\n".to_owned(),
        ReplyBody::Legs { legs } => legs_table(legs),
        ReplyBody::Subscribed { seq } => key_values(&[("seq", seq.to_string())]),
        ReplyBody::Trunks { trunks } if trunks.is_empty() => "no trunks\n".to_owned(),
        ReplyBody::Trunks { trunks } => trunks_table(trunks),
        ReplyBody::Stats { stats } => {
            let pairs: Vec<(&str, String)> = stats
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_string()))
                .collect();
            key_values(&pairs)
        }
        ReplyBody::Empty {} => "ok\n".to_owned(),
    }
}

/// One event on one line: `seq time name key=value…` (no newline).
pub fn event(event: &Event) -> String {
    let mut fields: Vec<(&str, String)> = Vec::new();
    match &event.kind {
        EventKind::Incoming { leg } => {
            fields.push(("leg", leg.id.clone()));
            fields.push(("from", leg.from.clone()));
            fields.push(("to", leg.to.clone()));
            if let Some(trunk) = &leg.trunk {
                fields.push(("trunk", trunk.clone()));
            }
        }
        EventKind::Trying { leg }
        | EventKind::Ringing { leg }
        | EventKind::EarlyMedia { leg }
        | EventKind::Answered { leg } => fields.push(("leg", leg.clone())),
        EventKind::Hungup {
            leg,
            cause,
            sip_status,
            ring_ms,
            talk_ms,
        } => {
            fields.push(("leg", leg.clone()));
            fields.push(("cause", wire_name(cause)));
            if let Some(status) = sip_status {
                fields.push(("sip_status", status.to_string()));
            }
            fields.push(("ring", seconds(*ring_ms)));
            fields.push(("talk", seconds(*talk_ms)));
        }
        EventKind::TrunkRegistered { trunk, expires } => {
            fields.push(("trunk", trunk.clone()));
            fields.push(("expires", format!("{expires}s")));
        }
        EventKind::TrunkFailed {
            trunk,
            sip_status,
            reason,
        } => {
            fields.push(("trunk", trunk.clone()));
            if let Some(status) = sip_status {
                fields.push(("sip_status", status.to_string()));
            }
            fields.push(("reason", reason.clone()));
        }
        EventKind::Gap { from, to } => {
            fields.push(("from", from.to_string()));
            fields.push(("to", to.to_string()));
        }
        EventKind::PlayStarted { leg }
        | EventKind::PlayFinished { leg }
        | EventKind::PlayStopped { leg }
        | EventKind::CollectTimeout { leg }
        | EventKind::MediaTimeout { leg } => fields.push(("leg", leg.clone())),
        EventKind::CollectDone {
            leg,
            digits,
            reason,
        } => {
            fields.push(("leg", leg.clone()));
            fields.push(("digits", digits.clone()));
            fields.push(("reason", wire_name(reason)));
        }
        EventKind::RecordFinished {
            leg,
            path,
            duration_ms,
            bytes,
            error,
        } => {
            fields.push(("leg", leg.clone()));
            fields.push(("path", path.clone()));
            fields.push(("duration", seconds(*duration_ms)));
            fields.push(("bytes", bytes.to_string()));
            if let Some(error) = error {
                fields.push(("error", error.clone()));
            }
        }
        EventKind::Dtmf {
            leg,
            digit,
            duration_ms,
            method,
        } => {
            fields.push(("leg", leg.clone()));
            fields.push(("digit", digit.to_string()));
            fields.push(("duration", format!("{duration_ms}ms")));
            fields.push(("method", wire_name(method)));
        }
    }
    let mut line = format!(
        "{} {} {}",
        event.seq,
        timestamp(event.time),
        event.kind.name()
    );
    for (key, value) in fields {
        line.push(' ');
        line.push_str(key);
        line.push('=');
        line.push_str(&quote_if_needed(&value));
    }
    line
}

fn leg_details(leg: &LegInfo) -> String {
    let mut pairs = vec![
        ("id", leg.id.clone()),
        ("direction", wire_name(&leg.direction)),
        ("state", wire_name(&leg.state)),
        ("from", leg.from.clone()),
        ("to", leg.to.clone()),
        ("call_id", leg.call_id.clone()),
    ];
    let optional = [
        ("trunk", leg.trunk.clone()),
        ("rtp_port", leg.rtp_port.map(|p| p.to_string())),
        ("codec", leg.codec.clone()),
        ("age", Some(seconds(leg.age_ms))),
        ("talk", leg.talk_ms.map(seconds)),
        ("cause", leg.cause.as_ref().map(wire_name)),
        ("sip_status", leg.sip_status.map(|s| s.to_string())),
    ];
    pairs.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    if let Some(media) = &leg.media {
        pairs.extend(media_details(media));
    }
    key_values(&pairs)
}

/// A leg's media counters, as `key: value` pairs after its other details.
fn media_details(media: &LegMediaInfo) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        (
            "rtp_in",
            format!("{} packets, {} bytes", media.packets_in, media.bytes_in),
        ),
        (
            "rtp_out",
            format!("{} packets, {} bytes", media.packets_out, media.bytes_out),
        ),
        ("lost", media.lost.to_string()),
        ("jitter", format!("{:.1}ms", media.jitter_ms)),
    ];
    if let Some(rtt) = media.rtt_ms {
        pairs.push(("rtt", format!("{rtt:.1}ms")));
    }
    if let Some(other) = &media.bridged_with {
        pairs.push(("bridged_with", other.clone()));
    }
    pairs
}

fn legs_table(legs: &[LegInfo]) -> String {
    let rows = legs
        .iter()
        .map(|leg| {
            vec![
                leg.id.clone(),
                wire_name(&leg.direction),
                wire_name(&leg.state),
                leg.from.clone(),
                leg.to.clone(),
                leg.trunk.clone().unwrap_or_else(dash),
                leg.codec.clone().unwrap_or_else(dash),
                seconds(leg.age_ms),
                leg.cause.as_ref().map_or_else(dash, wire_name),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "DIRECTION",
            "STATE",
            "FROM",
            "TO",
            "TRUNK",
            "CODEC",
            "AGE",
            "CAUSE",
        ],
        rows,
    )
}

fn trunks_table(trunks: &[TrunkInfo]) -> String {
    let rows = trunks
        .iter()
        .map(|trunk| {
            let spec = &trunk.spec;
            vec![
                spec.name.clone(),
                spec.host.clone(),
                spec.port.unwrap_or(5060).to_string(),
                spec.transport.clone().unwrap_or_else(|| "udp".to_owned()),
                spec.username.clone().unwrap_or_else(dash),
                if spec.register { "yes" } else { "no" }.to_owned(),
                trunk.registration.clone(),
                trunk.source.clone(),
            ]
        })
        .collect();
    let headers = [
        "NAME",
        "HOST",
        "PORT",
        "TRANSPORT",
        "USERNAME",
        "REGISTER",
        "REGISTRATION",
        "SOURCE",
    ];
    table(&headers, rows)
}

/// Columns padded to their widest cell, two spaces apart; the last column
/// is not padded so lines carry no trailing blanks.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let header_row: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let all: Vec<Vec<String>> = std::iter::once(header_row).chain(rows).collect();
    let mut widths = vec![0; headers.len()];
    for row in &all {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &all {
        let last = row.len().saturating_sub(1);
        for (n, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if n == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push('\n');
    }
    out
}

fn key_values(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

/// An enum's wire name (`outbound`, `no_answer`), as the protocol spells it.
fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "?".to_owned(),
    }
}

/// Milliseconds as seconds with one decimal: `1.5s`.
fn seconds(ms: u64) -> String {
    format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
}

fn dash() -> String {
    "-".to_owned()
}

/// Values with blanks or quotes are quoted, so `key=value` lines stay splittable.
fn quote_if_needed(value: &str) -> String {
    if value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c.is_control())
    {
        format!("{value:?}")
    } else {
        value.to_owned()
    }
}

/// Milliseconds since the epoch as UTC `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn timestamp(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        ms % 1000
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests;
