use super::*;
use crate::command::{Originate, TrunkSpec};
use crate::event::{EventKind, HangupCause, LegDirection, LegInfo, LegState, TrunkInfo};
use serde_json::json;
use std::collections::BTreeMap;

fn decode_err(line: &str) -> (RequestId, ReplyError) {
    match decode_request(line.as_bytes()) {
        Ok(request) => panic!("accepted {line}: {request:?}"),
        Err(e) => e,
    }
}

fn assert_code(line: &str, id: Value, code: ErrorCode, fragment: &str) {
    let (got_id, error) = decode_err(line);
    assert_eq!(got_id, id, "{line}");
    assert_eq!(error.code, code, "{line}: {error}");
    assert!(
        error.message.contains(fragment),
        "{line}: {:?} lacks {fragment:?}",
        error.message
    );
}

fn leg_info() -> LegInfo {
    LegInfo {
        id: "a1".into(),
        direction: LegDirection::Outbound,
        state: LegState::Ringing,
        from: "sip:alice@127.0.0.1".into(),
        to: "sip:bob@127.0.0.1".into(),
        call_id: "c1".into(),
        trunk: None,
        rtp_port: Some(40000),
        codec: Some("PCMU".into()),
        age_ms: 1500,
        talk_ms: None,
        cause: None,
        sip_status: None,
        media: None,
    }
}

#[test]
fn not_json_or_not_object_is_bad_json() {
    assert_code("{\"id\":1,", Value::Null, ErrorCode::BadJson, "not JSON");
    assert_code("[1,2]", Value::Null, ErrorCode::BadJson, "object");
    assert_code("\"ping\"", Value::Null, ErrorCode::BadJson, "object");
    let (id, error) = decode_request(b"{\"id\":1,\"cmd\":\"\xff\"}").unwrap_err();
    assert_eq!((id, error.code), (Value::Null, ErrorCode::BadJson));
}

#[test]
fn missing_or_mistyped_id_and_cmd_are_bad_request() {
    assert_code(
        r#"{"cmd":"ping"}"#,
        Value::Null,
        ErrorCode::BadRequest,
        "`id`",
    );
    assert_code(
        r#"{"id":null,"cmd":"ping"}"#,
        Value::Null,
        ErrorCode::BadRequest,
        "id",
    );
    assert_code(
        r#"{"id":[1],"cmd":"ping"}"#,
        Value::Null,
        ErrorCode::BadRequest,
        "id",
    );
    assert_code(r#"{"id":7}"#, json!(7), ErrorCode::BadRequest, "`cmd`");
    assert_code(
        r#"{"id":"x","cmd":3}"#,
        json!("x"),
        ErrorCode::BadRequest,
        "cmd",
    );
}

#[test]
fn unknown_command_names_it() {
    assert_code(
        r#"{"id":1,"cmd":"dance"}"#,
        json!(1),
        ErrorCode::UnknownCommand,
        "dance",
    );
    let long = format!(r#"{{"id":1,"cmd":"{}"}}"#, "x".repeat(5000));
    let (_, error) = decode_err(&long);
    assert_eq!(error.code, ErrorCode::UnknownCommand);
    assert!(error.message.len() < 300, "quoted text is cut");
}

#[test]
fn bad_arguments_are_bad_request_naming_the_field() {
    assert_code(
        r#"{"id":1,"cmd":"answer"}"#,
        json!(1),
        ErrorCode::BadRequest,
        "`leg`",
    );
    assert_code(
        r#"{"id":1,"cmd":"answer","leg":5}"#,
        json!(1),
        ErrorCode::BadRequest,
        "leg: invalid type",
    );
    assert_code(
        r#"{"id":1,"cmd":"answer","leg":"a","colour":"red"}"#,
        json!(1),
        ErrorCode::BadRequest,
        "`colour`",
    );
    assert_code(
        r#"{"id":1,"cmd":"originate","to":"sip:b@127.0.0.1","ringtimeout":3}"#,
        json!(1),
        ErrorCode::BadRequest,
        "`ringtimeout`",
    );
    assert_code(
        r#"{"id":1,"cmd":"reject","leg":"a","status":70000}"#,
        json!(1),
        ErrorCode::BadRequest,
        "status: ",
    );
    assert_code(
        r#"{"id":1,"cmd":"hangup","leg":"a","cause":"bored"}"#,
        json!(1),
        ErrorCode::BadRequest,
        "cause: unknown variant `bored`",
    );
    assert_code(
        r#"{"id":1,"cmd":"subscribe","since":-1}"#,
        json!(1),
        ErrorCode::BadRequest,
        "since: ",
    );
}

#[test]
fn arguments_to_unit_commands_are_refused() {
    let (_, error) = decode_err(r#"{"id":1,"cmd":"ping","verbose":true}"#);
    assert_eq!(error.code, ErrorCode::BadRequest);
}

#[test]
fn static_ranges_are_invalid_argument() {
    let cases = [
        (
            r#"{"id":1,"cmd":"reject","leg":"a","status":399}"#,
            "status",
        ),
        (
            r#"{"id":1,"cmd":"reject","leg":"a","status":700}"#,
            "status",
        ),
        (r#"{"id":1,"cmd":"ring","leg":"a","status":200}"#, "status"),
        (r#"{"id":1,"cmd":"answer","leg":""}"#, "leg"),
        (r#"{"id":1,"cmd":"hangup","leg":"a\nb"}"#, "leg"),
        (
            r#"{"id":1,"cmd":"originate","to":"sip:b@h","ring_timeout":-1}"#,
            "ring_timeout",
        ),
        (
            r#"{"id":1,"cmd":"originate","to":"sip:b@h","max_duration":0}"#,
            "max_duration",
        ),
        (
            r#"{"id":1,"cmd":"originate","to":"sip:b@h","max_duration":1e12}"#,
            "max_duration",
        ),
        (r#"{"id":1,"cmd":"originate","to":""}"#, "to"),
        (
            r#"{"id":1,"cmd":"originate","to":"sip:b@h","display_name":"x\r\nVia: y"}"#,
            "display_name",
        ),
        (
            r#"{"id":1,"cmd":"originate","to":"sip:b@h","headers":{"Call-ID":"x"}}"#,
            "headers",
        ),
        (
            r#"{"id":1,"cmd":"originate","to":"sip:b@h","headers":{"X a":"x"}}"#,
            "headers",
        ),
        (
            r#"{"id":1,"cmd":"originate","to":"sip:b@h","headers":{"X-A":"1\r\n"}}"#,
            "headers",
        ),
        (
            r#"{"id":1,"cmd":"trunk_add","name":"t","host":"h","transport":"sctp"}"#,
            "transport",
        ),
        (
            r#"{"id":1,"cmd":"trunk_add","name":"t","host":"h","port":0}"#,
            "port",
        ),
        (r#"{"id":1,"cmd":"trunk_add","name":"t","host":""}"#, "host"),
        (r#"{"id":1,"cmd":"trunk_remove","name":""}"#, "name"),
    ];
    for (line, field) in cases {
        assert_code(line, json!(1), ErrorCode::InvalidArgument, field);
    }
    let long = format!(r#"{{"id":1,"cmd":"leg","leg":"{}"}}"#, "a".repeat(129));
    assert_code(&long, json!(1), ErrorCode::InvalidArgument, "leg");
    let max = format!(r#"{{"id":1,"cmd":"leg","leg":"{}"}}"#, "a".repeat(128));
    assert!(decode_request(max.as_bytes()).is_ok());
}

#[test]
fn nan_duration_is_refused_even_when_built_in_rust() {
    let command = Command::Originate(Originate {
        to: "sip:b@h".into(),
        ring_timeout: Some(f64::NAN),
        ..Originate::default()
    });
    let error = validate_command(&command).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidArgument);
}

#[test]
fn requests_round_trip() {
    let mut headers = BTreeMap::new();
    headers.insert("X-Campaign".to_owned(), "42".to_owned());
    let commands = vec![
        Command::Ping,
        Command::Originate(Originate {
            to: "sip:bob@127.0.0.1".into(),
            leg: Some("call-1".into()),
            from: Some("1000".into()),
            display_name: Some("Alice".into()),
            trunk: Some("main".into()),
            privacy: true,
            ring_timeout: Some(2.5),
            max_duration: Some(60.0),
            headers,
        }),
        Command::Ring {
            leg: "a".into(),
            status: Some(183),
        },
        Command::Answer { leg: "a".into() },
        Command::Reject {
            leg: "a".into(),
            status: Some(486),
        },
        Command::Hangup {
            leg: "a".into(),
            cause: Some(HangupCause::UserBusy),
        },
        Command::Legs,
        Command::Leg { leg: "a".into() },
        Command::Subscribe { since: Some(9) },
        Command::Unsubscribe,
        Command::Trunks,
        Command::TrunkAdd(TrunkSpec {
            name: "main".into(),
            host: "127.0.0.1".into(),
            port: Some(5080),
            transport: Some("tcp".into()),
            register: true,
            register_expires: Some(600),
            ..TrunkSpec::default()
        }),
        Command::TrunkRemove {
            name: "main".into(),
        },
        Command::Stats,
    ];
    let commands: Vec<Command> = commands
        .into_iter()
        .chain(super::media_tests::every_media_command())
        .collect();
    assert_eq!(
        commands.len(),
        Command::NAMES.len(),
        "every command is covered"
    );
    for (n, command) in commands.into_iter().enumerate() {
        let request = Request {
            id: json!(n),
            command,
        };
        let line = encode_request(&request);
        assert!(!line.contains('\n'));
        assert!(line.starts_with(&format!(
            "{{\"id\":{n},\"cmd\":\"{}\"",
            request.command.name()
        )));
        assert_eq!(decode_request(line.as_bytes()), Ok(request), "{line}");
    }
}

#[test]
fn string_ids_are_echoed() {
    let request = decode_request(br#"{"cmd":"legs","id":"abc"}"#).unwrap();
    assert_eq!(request.id, json!("abc"));
    assert_eq!(request.command, Command::Legs);
}

#[test]
fn replies_merge_body_fields_and_round_trip() {
    let reply = Reply {
        id: json!(3),
        result: Ok(ReplyBody::Pong {
            version: "0.1.0".into(),
        }),
    };
    let line = encode_reply(&reply);
    assert_eq!(line, r#"{"id":3,"ok":true,"version":"0.1.0"}"#);
    assert_eq!(decode_reply(line.as_bytes()).unwrap(), reply);

    let error = Reply {
        id: json!("q"),
        result: Err(ReplyError::new(ErrorCode::UnknownLeg, "no leg \"x\"")),
    };
    let line = encode_reply(&error);
    assert_eq!(
        line,
        r#"{"id":"q","ok":false,"error":{"code":"unknown_leg","message":"no leg \"x\""}}"#
    );
    assert_eq!(decode_reply(line.as_bytes()).unwrap(), error);

    let trunk = TrunkInfo {
        spec: TrunkSpec {
            name: "t".into(),
            host: "127.0.0.1".into(),
            ..TrunkSpec::default()
        },
        source: "control".into(),
        registration: "disabled".into(),
    };
    let bodies = [
        (
            ReplyBody::Leg {
                leg: leg_info(),
                existing: true,
            },
            Command::Leg { leg: "a1".into() },
        ),
        (
            ReplyBody::Legs {
                legs: vec![leg_info()],
            },
            Command::Legs,
        ),
        (
            ReplyBody::Subscribed { seq: 12 },
            Command::Subscribe { since: None },
        ),
        (
            ReplyBody::Trunks {
                trunks: vec![trunk],
            },
            Command::Trunks,
        ),
        (
            ReplyBody::Stats {
                stats: BTreeMap::from([("legs".to_owned(), 2)]),
            },
            Command::Stats,
        ),
        (ReplyBody::Empty {}, Command::Unsubscribe),
    ];
    for (body, command) in bodies {
        let reply = Reply {
            id: json!(1),
            result: Ok(body),
        };
        let line = encode_reply(&reply);
        assert_eq!(
            decode_reply_for(line.as_bytes(), &command).unwrap(),
            reply,
            "{line}"
        );
    }
}

#[test]
fn reply_decoding_errors() {
    assert!(matches!(decode_reply(b"nope"), Err(Error::Json { .. })));
    assert!(matches!(decode_reply(b"[]"), Err(Error::NotObject)));
    assert!(matches!(
        decode_reply(br#"{"ok":true}"#),
        Err(Error::MissingField { field: "id" })
    ));
    assert!(matches!(
        decode_reply(br#"{"id":1}"#),
        Err(Error::MissingField { field: "ok" })
    ));
    assert!(matches!(
        decode_reply(br#"{"id":1,"ok":"yes"}"#),
        Err(Error::InvalidField { field: "ok", .. })
    ));
    assert!(matches!(
        decode_reply(br#"{"id":1,"ok":false}"#),
        Err(Error::MissingField { field: "error" })
    ));
    assert!(matches!(
        decode_reply(br#"{"id":1,"ok":false,"error":{"code":"nope","message":""}}"#),
        Err(Error::InvalidField { field: "error", .. })
    ));
}

#[test]
fn a_body_that_does_not_fit_its_command_is_refused() {
    // A malformed `legs` body decodes as `Empty` generically...
    let line = br#"{"id":1,"ok":true,"legs":[{"id":3}]}"#;
    assert_eq!(decode_reply(line).unwrap().result, Ok(ReplyBody::Empty {}));
    // ...and is caught once the command is known.
    assert!(matches!(
        decode_reply_for(line, &Command::Legs),
        Err(Error::InvalidField { field: "body", .. })
    ));
    // Error replies fit every command.
    let error = br#"{"id":1,"ok":false,"error":{"code":"internal","message":"x"}}"#;
    assert!(decode_reply_for(error, &Command::Legs).is_ok());
}

#[test]
fn events_round_trip_with_event_first() {
    let kinds = vec![
        EventKind::Incoming { leg: leg_info() },
        EventKind::Trying { leg: "a".into() },
        EventKind::Ringing { leg: "a".into() },
        EventKind::EarlyMedia { leg: "a".into() },
        EventKind::Answered { leg: "a".into() },
        EventKind::Hungup {
            leg: "a".into(),
            cause: HangupCause::NoAnswer,
            sip_status: Some(487),
            ring_ms: 60_000,
            talk_ms: 0,
        },
        EventKind::TrunkRegistered {
            trunk: "t".into(),
            expires: 600,
        },
        EventKind::TrunkFailed {
            trunk: "t".into(),
            sip_status: None,
            reason: "timeout".into(),
        },
        EventKind::Gap { from: 2, to: 5 },
    ];
    let kinds: Vec<EventKind> = kinds
        .into_iter()
        .chain(super::media_tests::every_media_event())
        .collect();
    for (n, kind) in kinds.into_iter().enumerate() {
        let seq = n as u64 + 1;
        let event = Event {
            seq,
            time: 1_700_000_000_000,
            kind,
        };
        let line = encode_event(&event);
        let head = format!(
            r#"{{"event":"{}","seq":{seq},"time":1700000000000"#,
            event.kind.name()
        );
        assert!(line.starts_with(&head), "{line}");
        assert_eq!(decode_event(line.as_bytes()).unwrap(), event);
        assert_eq!(
            decode_incoming(line.as_bytes()).unwrap(),
            Incoming::Event(event)
        );
    }
}

#[test]
fn incoming_lines_are_told_apart_by_the_event_key() {
    let reply = decode_incoming(br#"{"id":1,"ok":true,"seq":4}"#).unwrap();
    assert_eq!(
        reply,
        Incoming::Reply(Reply {
            id: json!(1),
            result: Ok(ReplyBody::Subscribed { seq: 4 })
        })
    );
    assert!(matches!(
        decode_incoming(br#"{"event":"leg.exploded","seq":1,"time":0,"leg":"a"}"#),
        Err(Error::InvalidField { field: "event", .. })
    ));
    assert!(matches!(
        decode_event(br#"{"seq":1}"#),
        Err(Error::MissingField { field: "event" })
    ));
}

#[test]
fn unset_trunk_fields_are_omitted_not_null() {
    let info = crate::TrunkInfo {
        spec: crate::TrunkSpec {
            name: "carrier".into(),
            host: "127.0.0.1".into(),
            ..Default::default()
        },
        source: "control".into(),
        registration: "disabled".into(),
    };
    let value = serde_json::to_value(&info).unwrap();
    let object = value.as_object().unwrap();
    assert!(!object.contains_key("password"), "{value}");
    assert!(object.values().all(|v| !v.is_null()), "{value}");
}
