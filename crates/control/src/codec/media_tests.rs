//! The media commands, events and leg counters on the wire.

use super::*;
use crate::event::{EventKind, LegDirection, LegInfo, LegState};
use crate::media::{
    Collect, CollectReason, DtmfMethod, LegMediaInfo, Play, Record, RecordMode, SendDtmf, Voice,
};
use serde_json::json;

/// One of each media command, with every optional argument set where the
/// command has any; `requests_round_trip` runs them through the codec.
pub(super) fn every_media_command() -> Vec<Command> {
    vec![
        Command::Bridge {
            leg: "a".into(),
            other: "b".into(),
        },
        Command::Unbridge { leg: "a".into() },
        Command::Play(Play {
            leg: "a".into(),
            text: Some("Hello".into()),
            voice: Some(Voice::Male),
            loops: Some(0),
            ..Play::default()
        }),
        Command::StopPlay { leg: "a".into() },
        Command::Collect(Collect {
            leg: "a".into(),
            max_digits: 4,
            timeout: Some(3.0),
            first_digit_timeout: Some(10.0),
            terminator: Some('#'),
            retries: Some(2),
            prompt: Some("/srv/prompts/pin.wav".into()),
            timeout_prompt: Some("/srv/prompts/again.wav".into()),
        }),
        Command::Record(Record {
            leg: "a".into(),
            path: "/var/rec/call.wav".into(),
            mode: Some(RecordMode::Split),
        }),
        Command::StopRecord { leg: "a".into() },
        Command::SendDtmf(SendDtmf {
            leg: "a".into(),
            digits: "123#A".into(),
            duration: Some(0.25),
        }),
        Command::Echo { leg: "a".into() },
    ]
}

/// One of each media event; `events_round_trip_with_event_first` runs them
/// through the codec.
pub(super) fn every_media_event() -> Vec<EventKind> {
    vec![
        EventKind::PlayStarted { leg: "a".into() },
        EventKind::PlayFinished { leg: "a".into() },
        EventKind::PlayStopped { leg: "a".into() },
        EventKind::CollectDone {
            leg: "a".into(),
            digits: "1234".into(),
            reason: CollectReason::MaxDigits,
        },
        EventKind::CollectTimeout { leg: "a".into() },
        EventKind::RecordFinished {
            leg: "a".into(),
            path: "/var/rec/call.wav".into(),
            duration_ms: 12_000,
            bytes: 192_044,
            error: Some("No space left on device".into()),
        },
        EventKind::Dtmf {
            leg: "a".into(),
            digit: '*',
            duration_ms: 120,
            method: DtmfMethod::Rfc4733,
        },
        EventKind::MediaTimeout { leg: "a".into() },
    ]
}

fn decode(line: &str) -> Command {
    match decode_request(line.as_bytes()) {
        Ok(request) => request.command,
        Err((_, e)) => panic!("refused {line}: {e}"),
    }
}

fn refused(line: &str) -> ReplyError {
    match decode_request(line.as_bytes()) {
        Ok(request) => panic!("accepted {line}: {request:?}"),
        Err((_, e)) => e,
    }
}

#[test]
fn wire_names_and_fields_are_the_contracts() {
    let line = encode_request(&Request {
        id: json!(1),
        command: Command::Play(Play {
            leg: "a".into(),
            file: Some("/p.wav".into()),
            loops: Some(3),
            ..Play::default()
        }),
    });
    assert_eq!(
        line,
        r#"{"id":1,"cmd":"play","file":"/p.wav","leg":"a","loop":3}"#
    );
    assert_eq!(
        decode(r#"{"id":1,"cmd":"send_dtmf","leg":"a","digits":"9"}"#),
        Command::SendDtmf(SendDtmf {
            leg: "a".into(),
            digits: "9".into(),
            duration: None,
        })
    );
    assert_eq!(
        decode(r#"{"id":1,"cmd":"record","leg":"a","path":"/r.wav","mode":"mixed"}"#),
        Command::Record(Record {
            leg: "a".into(),
            path: "/r.wav".into(),
            mode: Some(RecordMode::Mixed),
        })
    );
    let event = Event {
        seq: 7,
        time: 1,
        kind: EventKind::Dtmf {
            leg: "a".into(),
            digit: '#',
            duration_ms: 80,
            method: DtmfMethod::Info,
        },
    };
    assert_eq!(
        encode_event(&event),
        r##"{"event":"dtmf","seq":7,"time":1,"digit":"#","duration_ms":80,"leg":"a","method":"info"}"##
    );
    let done = br#"{"event":"collect.done","seq":1,"time":1,"leg":"a","digits":"12","reason":"terminator"}"#;
    assert_eq!(
        decode_event(done).unwrap().kind,
        EventKind::CollectDone {
            leg: "a".into(),
            digits: "12".into(),
            reason: CollectReason::Terminator,
        }
    );
    let finished = br#"{"event":"record.finished","seq":1,"time":1,"leg":"a","path":"/r.wav","duration_ms":5,"bytes":44}"#;
    match decode_event(finished).unwrap().kind {
        EventKind::RecordFinished { error, .. } => assert_eq!(error, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn media_replies_are_legs() {
    let leg = br#"{"id":1,"ok":true,"leg":{"id":"a","direction":"inbound","state":"answered","from":"f","to":"t","call_id":"c","age_ms":1}}"#;
    for command in every_media_command() {
        assert!(decode_reply_for(leg, &command).is_ok(), "{command:?}");
        let empty = br#"{"id":1,"ok":true}"#;
        assert!(decode_reply_for(empty, &command).is_err(), "{command:?}");
    }
}

#[test]
fn leg_media_counters_are_optional_on_the_wire() {
    let mut info = LegInfo {
        id: "a".into(),
        direction: LegDirection::Inbound,
        state: LegState::Answered,
        from: "f".into(),
        to: "t".into(),
        call_id: "c".into(),
        trunk: None,
        rtp_port: None,
        codec: None,
        age_ms: 1,
        talk_ms: None,
        cause: None,
        sip_status: None,
        media: None,
    };
    let without = serde_json::to_string(&info).unwrap();
    assert!(!without.contains("media"), "{without}");
    assert_eq!(serde_json::from_str::<LegInfo>(&without).unwrap(), info);

    info.media = Some(LegMediaInfo {
        packets_in: 10,
        packets_out: 11,
        bytes_in: 1600,
        bytes_out: 1760,
        lost: 1,
        jitter_ms: 2.5,
        rtt_ms: None,
        bridged_with: Some("b".into()),
    });
    let with = serde_json::to_value(&info).unwrap();
    assert_eq!(
        with["media"],
        json!({"packets_in":10,"packets_out":11,"bytes_in":1600,"bytes_out":1760,
               "lost":1,"jitter_ms":2.5,"bridged_with":"b"})
    );
    assert_eq!(serde_json::from_value::<LegInfo>(with).unwrap(), info);
}

#[test]
fn new_error_codes_have_their_wire_names() {
    for (code, name) in [
        (ErrorCode::FileNotFound, "file_not_found"),
        (ErrorCode::BadAudioFormat, "bad_audio_format"),
        (ErrorCode::TtsUnavailable, "tts_unavailable"),
        (ErrorCode::MediaUnavailable, "media_unavailable"),
    ] {
        assert_eq!(code.as_str(), name);
        assert_eq!(serde_json::to_value(code).unwrap(), json!(name));
    }
}

#[test]
fn play_needs_exactly_one_of_file_and_text() {
    for line in [
        r#"{"id":1,"cmd":"play","leg":"a"}"#,
        r#"{"id":1,"cmd":"play","leg":"a","file":"/p.wav","text":"hi"}"#,
    ] {
        let error = refused(line);
        assert_eq!(error.code, ErrorCode::BadRequest, "{line}: {error}");
        assert!(error.message.starts_with("file, text"), "{error}");
    }
}

#[test]
fn mistyped_media_arguments_are_bad_request() {
    let cases = [
        (
            r#"{"id":1,"cmd":"play","leg":"a","text":"hi","voice":"robot"}"#,
            "voice: unknown variant `robot`",
        ),
        (
            r#"{"id":1,"cmd":"record","leg":"a","path":"/r.wav","mode":"stereo"}"#,
            "mode: unknown variant `stereo`",
        ),
        (
            r###"{"id":1,"cmd":"collect","leg":"a","max_digits":4,"terminator":"##"}"###,
            "terminator: ",
        ),
        (r#"{"id":1,"cmd":"collect","leg":"a"}"#, "`max_digits`"),
        (r#"{"id":1,"cmd":"bridge","leg":"a"}"#, "`other`"),
        (r#"{"id":1,"cmd":"echo","leg":"a","other":"b"}"#, "`other`"),
        (
            r#"{"id":1,"cmd":"play","leg":"a","text":"hi","loop":-1}"#,
            "loop: ",
        ),
    ];
    for (line, fragment) in cases {
        let error = refused(line);
        assert_eq!(error.code, ErrorCode::BadRequest, "{line}: {error}");
        assert!(error.message.contains(fragment), "{line}: {error}");
    }
}

#[test]
fn media_ranges_are_invalid_argument() {
    let long_path = format!("/{}", "p".repeat(4096));
    let long_text = "a".repeat(4097);
    let cases = [
        (r#"{"id":1,"cmd":"bridge","leg":"a","other":"a"}"#, "other"),
        (r#"{"id":1,"cmd":"bridge","leg":"a","other":""}"#, "other"),
        (r#"{"id":1,"cmd":"unbridge","leg":""}"#, "leg"),
        (r#"{"id":1,"cmd":"stop_play","leg":""}"#, "leg"),
        (r#"{"id":1,"cmd":"stop_record","leg":""}"#, "leg"),
        (r#"{"id":1,"cmd":"echo","leg":"a\nb"}"#, "leg"),
        (r#"{"id":1,"cmd":"play","leg":"a","file":""}"#, "file"),
        (
            r#"{"id":1,"cmd":"play","leg":"a","file":"/a\u0000b"}"#,
            "file",
        ),
        (r#"{"id":1,"cmd":"play","leg":"a","text":"  "}"#, "text"),
        (
            r#"{"id":1,"cmd":"play","leg":"a","text":"a\u0007"}"#,
            "text",
        ),
        (
            r#"{"id":1,"cmd":"collect","leg":"a","max_digits":0}"#,
            "max_digits",
        ),
        (
            r#"{"id":1,"cmd":"collect","leg":"a","max_digits":65}"#,
            "max_digits",
        ),
        (
            r#"{"id":1,"cmd":"collect","leg":"a","max_digits":4,"timeout":0}"#,
            "timeout",
        ),
        (
            r#"{"id":1,"cmd":"collect","leg":"a","max_digits":4,"first_digit_timeout":-2}"#,
            "first_digit_timeout",
        ),
        (
            r#"{"id":1,"cmd":"collect","leg":"a","max_digits":4,"terminator":"A"}"#,
            "terminator",
        ),
        (
            r#"{"id":1,"cmd":"collect","leg":"a","max_digits":4,"retries":17}"#,
            "retries",
        ),
        (
            r#"{"id":1,"cmd":"collect","leg":"a","max_digits":4,"prompt":""}"#,
            "prompt",
        ),
        (
            r#"{"id":1,"cmd":"collect","leg":"a","max_digits":4,"timeout_prompt":"x\u0000"}"#,
            "timeout_prompt",
        ),
        (r#"{"id":1,"cmd":"record","leg":"a","path":""}"#, "path"),
        (
            r#"{"id":1,"cmd":"record","leg":"a","path":"/r\u0000.wav"}"#,
            "path",
        ),
        (
            r#"{"id":1,"cmd":"record","leg":"a","path":"/var/rec/"}"#,
            "path",
        ),
        (
            r#"{"id":1,"cmd":"send_dtmf","leg":"a","digits":""}"#,
            "digits",
        ),
        (
            r#"{"id":1,"cmd":"send_dtmf","leg":"a","digits":"12e"}"#,
            "digits",
        ),
        (
            r#"{"id":1,"cmd":"send_dtmf","leg":"a","digits":"1a"}"#,
            "digits",
        ),
        (
            r#"{"id":1,"cmd":"send_dtmf","leg":"a","digits":"1","duration":0}"#,
            "duration",
        ),
        (
            r#"{"id":1,"cmd":"send_dtmf","leg":"a","digits":"1","duration":6}"#,
            "duration",
        ),
    ];
    for (line, field) in cases {
        let error = refused(line);
        assert_eq!(error.code, ErrorCode::InvalidArgument, "{line}: {error}");
        assert!(error.message.starts_with(field), "{line}: {error}");
    }
    let too_many = format!(
        r#"{{"id":1,"cmd":"send_dtmf","leg":"a","digits":"{}"}}"#,
        "1".repeat(33)
    );
    let long_file = format!(r#"{{"id":1,"cmd":"play","leg":"a","file":"{long_path}"}}"#);
    let long_speech = format!(r#"{{"id":1,"cmd":"play","leg":"a","text":"{long_text}"}}"#);
    for (line, field) in [
        (too_many, "digits"),
        (long_file, "file"),
        (long_speech, "text"),
    ] {
        let error = refused(&line);
        assert_eq!(error.code, ErrorCode::InvalidArgument, "{field}: {error}");
        assert!(error.message.starts_with(field), "{error}");
    }
}

#[test]
fn media_limits_are_inclusive() {
    let max = format!(
        r#"{{"id":1,"cmd":"send_dtmf","leg":"a","digits":"{}","duration":5}}"#,
        "0123456789*#ABCD".repeat(2)
    );
    assert!(decode_request(max.as_bytes()).is_ok());
    let line =
        r##"{"id":1,"cmd":"collect","leg":"a","max_digits":64,"retries":16,"terminator":"#"}"##;
    assert!(decode_request(line.as_bytes()).is_ok());
    let line = r#"{"id":1,"cmd":"collect","leg":"a","max_digits":1}"#;
    assert!(decode_request(line.as_bytes()).is_ok());
    let line = r#"{"id":1,"cmd":"play","leg":"a","text":"line one\nline two"}"#;
    assert!(decode_request(line.as_bytes()).is_ok());
}

#[test]
fn media_commands_name_their_leg() {
    for command in every_media_command() {
        assert_eq!(command.leg(), Some("a"), "{command:?}");
        assert!(Command::NAMES.contains(&command.name()));
    }
}
