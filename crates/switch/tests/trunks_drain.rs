//! Trunk registration, reload, and drain.
// Helpers outside #[test] fns panic on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::time::Duration;
use switchd_control::command::{Originate, TrunkSpec};
use switchd_control::{Command, ErrorCode, EventKind, HangupCause, ReplyBody, TrunkInfo};
use switchd_sip::rsip::Method;

fn registering_trunk() -> TrunkSpec {
    TrunkSpec {
        register: true,
        register_expires: Some(600),
        ..trunk("carrier")
    }
}

/// A switch with one registering trunk, started: its first REGISTER.
fn registering() -> (Harness, Sent) {
    let mut config = config();
    config.trunks = vec![registering_trunk()];
    let mut h = Harness::with(config);
    h.advance(Duration::ZERO);
    let register = take_register(&mut h);
    (h, register)
}

/// The trunks as the switch lists them.
fn trunks(h: &mut Harness) -> Vec<TrunkInfo> {
    match h.command(Command::Trunks).unwrap() {
        ReplyBody::Trunks { trunks } => trunks,
        other => panic!("{other:?}"),
    }
}

fn registration(h: &mut Harness) -> String {
    trunks(h)[0].registration.clone()
}

fn take_register(h: &mut Harness) -> Sent {
    h.take_request(Method::Register).expect("a REGISTER")
}

/// The next REGISTER, checked to go out `wait` from now and not a second
/// earlier.
fn register_after(h: &mut Harness, wait: Duration) -> Sent {
    h.advance(wait - Duration::from_secs(1));
    assert!(h.take_requests(Method::Register).is_empty());
    h.advance(Duration::from_secs(1));
    take_register(h)
}

/// The registrar answers `register` with `status` (To tag "r") and `extra`.
fn registrar_answers(
    h: &mut Harness,
    register: &Sent,
    status: u16,
    reason: &str,
    extra: &[(&str, String)],
) {
    let text = response_text(register, status, reason, Some("r"), extra, None);
    h.deliver(&text);
}

#[test]
fn registers_with_digest_and_refreshes() {
    let (mut h, register) = registering();
    assert_eq!(register.request().uri.to_string(), "sip:127.0.0.1:5070");
    assert_eq!(register.header("expires").as_deref(), Some("600"));
    assert!(register.header("to").unwrap().contains("sip:sw@127.0.0.1"));
    assert!(
        register
            .header("contact")
            .unwrap()
            .contains("sip:sw@127.0.0.1:5060")
    );
    assert_eq!(registration(&mut h), "registering");

    let challenge = [(
        "WWW-Authenticate",
        "Digest realm=\"carrier\", nonce=\"abc\"".to_owned(),
    )];
    registrar_answers(&mut h, &register, 401, "Unauthorized", &challenge);
    let retry = take_register(&mut h);
    assert!(retry.header("authorization").is_some());
    assert_eq!(retry.header("call-id"), register.header("call-id"));

    registrar_answers(&mut h, &retry, 200, "OK", &[("Expires", "120".to_owned())]);
    let events = h.take_events();
    assert!(
        matches!(&events[..], [EventKind::TrunkRegistered { trunk, expires: 120 }] if trunk == "carrier"),
        "{events:?}"
    );
    assert_eq!(registration(&mut h), "registered");

    // Refreshed at half the granted lifetime.
    let refresh = register_after(&mut h, Duration::from_secs(60));
    let cseq = |s: &Sent| {
        s.header("cseq")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    assert!(cseq(&refresh) > cseq(&retry));
}

#[test]
fn failed_registration_is_retried_with_backoff() {
    let (mut h, register) = registering();
    registrar_answers(&mut h, &register, 403, "Forbidden", &[]);
    let events = h.take_events();
    assert!(
        matches!(
            &events[..],
            [EventKind::TrunkFailed {
                sip_status: Some(403),
                ..
            }]
        ),
        "{events:?}"
    );
    assert_eq!(registration(&mut h), "failed");
    let again = register_after(&mut h, Duration::from_secs(30));
    registrar_answers(&mut h, &again, 403, "Forbidden", &[]);
    // Next wait doubles to 60 s.
    register_after(&mut h, Duration::from_secs(60));
}

#[test]
fn reload_keeps_unchanged_trunks_and_calls() {
    let (mut h, register) = registering();
    registrar_answers(&mut h, &register, 200, "OK", &[]);
    assert_eq!(registration(&mut h), "registered");
    let (_, text) = invite(&mut h, "park1", Some(OFFER));
    h.deliver(&text);
    h.take_sent();

    h.switch.reload(h.now, routes(), vec![registering_trunk()]);
    h.advance(Duration::ZERO);
    assert!(
        h.take_sent().is_empty(),
        "unchanged trunk is not re-registered"
    );
    assert_eq!(h.switch.stats().legs_active, 1);

    let mut changed = registering_trunk();
    changed.register_expires = Some(300);
    h.switch.reload(h.now, Vec::new(), vec![changed]);
    h.advance(Duration::ZERO);
    let register = take_register(&mut h);
    assert_eq!(register.header("expires").as_deref(), Some("300"));
    assert_eq!(h.switch.stats().legs_active, 1);
    // The new routes apply to new calls.
    call_in(&mut h, "park2", Some(OFFER), 404);
}

#[test]
fn drain_refuses_new_calls_then_hangs_up_the_rest() {
    let (mut h, register) = registering();
    registrar_answers(
        &mut h,
        &register,
        200,
        "OK",
        &[("Expires", "600".to_owned())],
    );
    h.take_events();

    let invite_sent = call_peer(&mut h, "d1");
    deliver_200(&mut h, &invite_sent, "bobtag", OFFER);
    h.take_sent();
    h.take_events();

    h.switch.start_drain(h.now, Duration::from_secs(10));
    h.advance(Duration::ZERO);
    let unregister = take_register(&mut h);
    assert_eq!(unregister.header("expires").as_deref(), Some("0"));
    registrar_answers(&mut h, &unregister, 200, "OK", &[]);
    assert!(!h.switch.is_drained());

    let (_, refused) = call_in(&mut h, "answer1", Some(OFFER), 503);
    assert!(refused.header("retry-after").is_some());
    let err = h
        .command(Command::Originate(Originate {
            to: format!("sip:bob@{PEER}"),
            ..Originate::default()
        }))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ShuttingDown);

    h.advance(Duration::from_secs(10));
    let bye = h
        .take_request(Method::Bye)
        .expect("BYE at the end of the grace");
    assert!(!h.switch.is_drained());
    ok_to(&mut h, &bye);
    assert_eq!(
        hungup(&h.take_events()),
        vec![("d1".to_owned(), HangupCause::SystemShutdown, Some(200))]
    );
    assert!(h.switch.is_drained());
}

#[test]
fn trunk_call_answers_a_digest_challenge() {
    let mut config = config();
    config.trunks = vec![trunk("carrier")];
    let mut h = Harness::with(config);
    let info = leg_info(h.command(originate("1000", "t1")));
    assert_eq!(info.trunk.as_deref(), Some("carrier"));
    let invite = h.expect_request(Method::Invite);
    assert_eq!(invite.request().uri.to_string(), "sip:1000@127.0.0.1:5070");
    assert!(invite.header("from").unwrap().contains("sip:sw@127.0.0.1"));
    let challenge = [(
        "WWW-Authenticate",
        "Digest realm=\"carrier\", nonce=\"n1\", qop=\"auth\"".to_owned(),
    )];
    // The proxy refuses `request` with a 401 and `challenge`.
    let unauthorized = |h: &mut Harness, request: &Sent| {
        let text = response_text(
            request,
            401,
            "Unauthorized",
            Some("proxytag"),
            &challenge,
            None,
        );
        h.deliver(&text);
    };
    unauthorized(&mut h, &invite);
    let retry = h
        .take_request(Method::Invite)
        .expect("INVITE with credentials");
    let authorization = retry.header("authorization").expect("Authorization");
    assert!(authorization.contains("username=\"sw\""), "{authorization}");
    assert!(retry.header("cseq").unwrap().starts_with("2 "));
    assert_eq!(retry.header("call-id"), invite.header("call-id"));
    // The same challenge again means the credentials are wrong.
    unauthorized(&mut h, &retry);
    assert_eq!(
        hungup(&h.take_events()),
        vec![("t1".to_owned(), HangupCause::CallRejected, Some(401))]
    );

    // A fresh call that passes.
    h.command(originate("1000", "t2")).unwrap();
    let invite = h.expect_request(Method::Invite);
    let text = response_text(
        &invite,
        407,
        "Proxy Authentication Required",
        Some("p"),
        &[(
            "Proxy-Authenticate",
            "Digest realm=\"carrier\", nonce=\"n2\"".to_owned(),
        )],
        None,
    );
    h.deliver(&text);
    let retry = h.take_request(Method::Invite).unwrap();
    assert!(retry.header("proxy-authorization").is_some());
    answer(&mut h, &retry);
    assert!(
        h.take_events()
            .iter()
            .any(|e| matches!(e, EventKind::Answered { leg } if leg == "t2"))
    );
}

#[test]
fn trunk_add_and_remove() {
    let mut config = config();
    config.trunks = vec![trunk("carrier")];
    let mut h = Harness::with(config);
    let err = h.command(Command::TrunkAdd(trunk("carrier"))).unwrap_err();
    assert_eq!(err.code, ErrorCode::TrunkExists);
    h.command(Command::TrunkAdd(trunk("backup"))).unwrap();
    h.command(Command::TrunkAdd(trunk("backup"))).unwrap();
    let trunks = trunks(&mut h);
    assert_eq!(trunks.len(), 2);
    assert!(trunks.iter().all(|t| t.spec.password.is_none()));
    // Two trunks: a number must name one.
    let err = h.command(originate("1000", "z")).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    h.command(Command::TrunkRemove {
        name: "backup".into(),
    })
    .unwrap();
    h.command(originate("1000", "z")).unwrap();
}
