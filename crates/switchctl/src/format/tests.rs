use super::*;
use std::collections::BTreeMap;
use switchd_control::{CollectReason, DtmfMethod, HangupCause, LegDirection, LegState, TrunkSpec};

fn leg(id: &str, from: &str) -> LegInfo {
    LegInfo {
        id: id.into(),
        direction: LegDirection::Inbound,
        state: LegState::Answered,
        from: from.into(),
        to: "sip:100@127.0.0.1".into(),
        call_id: "abc@127.0.0.1".into(),
        trunk: None,
        rtp_port: Some(40002),
        codec: Some("PCMA".into()),
        age_ms: 12_345,
        talk_ms: Some(2_000),
        cause: None,
        sip_status: None,
        media: None,
    }
}

#[test]
fn legs_table_is_aligned_without_trailing_blanks() {
    let legs = vec![
        leg("a", "sip:alice@127.0.0.1"),
        leg("bb-long-id", "sip:b@127.0.0.1"),
    ];
    let text = body(&ReplyBody::Legs { legs });
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("ID          DIRECTION  STATE     FROM"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("a           inbound    answered  sip:alice@127.0.0.1  "),
        "{text}"
    );
    // Every column starts at the same offset on every line.
    let col = lines[0].find("TO").unwrap();
    assert_eq!(lines[1].get(col..col + 3), Some("sip"));
    assert_eq!(lines[2].get(col..col + 3), Some("sip"));
    assert!(lines.iter().all(|l| !l.ends_with(' ')));
    assert!(lines[1].ends_with("PCMA   12.3s  -"), "{text}");
}

#[test]
fn empty_lists_say_so() {
    assert_eq!(body(&ReplyBody::Legs { legs: vec![] }), "no legs\n");
    assert_eq!(body(&ReplyBody::Trunks { trunks: vec![] }), "no trunks\n");
}

#[test]
fn one_leg_is_key_value_lines() {
    let mut info = leg("a", "sip:alice@127.0.0.1");
    info.cause = Some(HangupCause::NormalClearing);
    info.sip_status = Some(200);
    let text = body(&ReplyBody::Leg {
        leg: info,
        existing: true,
    });
    let expected = "id: a\ndirection: inbound\nstate: answered\nfrom: sip:alice@127.0.0.1\n\
                    to: sip:100@127.0.0.1\ncall_id: abc@127.0.0.1\nrtp_port: 40002\ncodec: PCMA\n\
                    age: 12.3s\ntalk: 2.0s\ncause: normal_clearing\nsip_status: 200\nexisting: true\n";
    assert_eq!(text, expected);
}

#[test]
fn trunks_table_fills_defaults() {
    let trunk = TrunkInfo {
        spec: TrunkSpec {
            name: "main".into(),
            host: "127.0.0.1".into(),
            ..TrunkSpec::default()
        },
        source: "config".into(),
        registration: "disabled".into(),
    };
    let text = body(&ReplyBody::Trunks {
        trunks: vec![trunk],
    });
    let row = text.lines().nth(1).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "main",
            "127.0.0.1",
            "5060",
            "udp",
            "-",
            "no",
            "disabled",
            "config"
        ]
    );
}

#[test]
fn scalar_bodies_are_key_value_lines() {
    assert_eq!(
        body(&ReplyBody::Pong {
            version: "0.1.0".into()
        }),
        "version: 0.1.0\n"
    );
    assert_eq!(body(&ReplyBody::Subscribed { seq: 7 }), "seq: 7\n");
    assert_eq!(body(&ReplyBody::Empty {}), "ok\n");
    let stats = BTreeMap::from([
        ("legs_active".to_owned(), 3),
        ("calls_total".to_owned(), 10),
    ]);
    assert_eq!(
        body(&ReplyBody::Stats { stats }),
        "calls_total: 10\nlegs_active: 3\n"
    );
}

#[test]
fn events_are_one_line_with_time_and_quoted_values() {
    let hungup = Event {
        seq: 42,
        time: 1_795_449_668_123,
        kind: EventKind::Hungup {
            leg: "a".into(),
            cause: HangupCause::UserBusy,
            sip_status: Some(486),
            ring_ms: 3_400,
            talk_ms: 0,
        },
    };
    assert_eq!(
        event(&hungup),
        "42 2026-11-23T16:01:08.123Z leg.hungup leg=a cause=user_busy sip_status=486 ring=3.4s talk=0.0s"
    );
    let failed = Event {
        seq: 1,
        time: 0,
        kind: EventKind::TrunkFailed {
            trunk: "t".into(),
            sip_status: None,
            reason: "no answer".into(),
        },
    };
    assert_eq!(
        event(&failed),
        "1 1970-01-01T00:00:00.000Z trunk.failed trunk=t reason=\"no answer\""
    );
}

#[test]
fn dates_cross_leap_years() {
    // 2024-02-29 12:00:00 UTC.
    assert_eq!(timestamp(1_709_208_000_000), "2024-02-29T12:00:00.000Z");
    assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
}

#[test]
fn media_counters_follow_the_leg_details() {
    let mut info = leg("a", "sip:alice@127.0.0.1");
    info.media = Some(LegMediaInfo {
        packets_in: 50,
        packets_out: 49,
        bytes_in: 8000,
        bytes_out: 7840,
        lost: 1,
        jitter_ms: 2.25,
        rtt_ms: Some(31.0),
        bridged_with: Some("b".into()),
    });
    let text = body(&ReplyBody::Leg {
        leg: info,
        existing: false,
    });
    let tail = "talk: 2.0s\nrtp_in: 50 packets, 8000 bytes\nrtp_out: 49 packets, 7840 bytes\n\
                lost: 1\njitter: 2.2ms\nrtt: 31.0ms\nbridged_with: b\n";
    assert!(text.ends_with(tail), "{text}");
}

#[test]
fn media_events_are_one_line() {
    let line = |kind| {
        event(&Event {
            seq: 3,
            time: 0,
            kind,
        })
    };
    assert_eq!(
        line(EventKind::PlayFinished { leg: "a".into() }),
        "3 1970-01-01T00:00:00.000Z play.finished leg=a"
    );
    assert_eq!(
        line(EventKind::MediaTimeout { leg: "a".into() }),
        "3 1970-01-01T00:00:00.000Z leg.media_timeout leg=a"
    );
    assert_eq!(
        line(EventKind::CollectDone {
            leg: "a".into(),
            digits: "12".into(),
            reason: CollectReason::Terminator,
        }),
        "3 1970-01-01T00:00:00.000Z collect.done leg=a digits=12 reason=terminator"
    );
    assert_eq!(
        line(EventKind::Dtmf {
            leg: "a".into(),
            digit: '#',
            duration_ms: 120,
            method: DtmfMethod::Rfc4733,
        }),
        "3 1970-01-01T00:00:00.000Z dtmf leg=a digit=# duration=120ms method=rfc4733"
    );
    assert_eq!(
        line(EventKind::RecordFinished {
            leg: "a".into(),
            path: "/rec/my call.wav".into(),
            duration_ms: 61_500,
            bytes: 984_044,
            error: Some("disk full".into()),
        }),
        "3 1970-01-01T00:00:00.000Z record.finished leg=a path=\"/rec/my call.wav\" \
         duration=61.5s bytes=984044 error=\"disk full\""
    );
}
