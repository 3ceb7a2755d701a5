//! Call steps the tests share: placing and answering calls, the peer's side
//! of a dialog, and reading legs out of replies and events.

use super::*;

pub fn hungup(events: &[EventKind]) -> Vec<(String, switchd_control::HangupCause, Option<u16>)> {
    events
        .iter()
        .filter_map(|e| match e {
            EventKind::Hungup {
                leg,
                cause,
                sip_status,
                ..
            } => Some((leg.clone(), *cause, *sip_status)),
            _ => None,
        })
        .collect()
}

/// An INVITE from the peer to `user` with `sdp`, delivered, and the one
/// response with `status` the switch sent since the last take.
pub fn call_in(h: &mut Harness, user: &str, sdp: Option<&str>, status: u16) -> (Call, Sent) {
    let (call, text) = invite(h, user, sdp);
    h.deliver(&text);
    let response = h.expect_response(status);
    (call, response)
}

/// An INVITE with SDP from the peer to `user`, a route that parks it:
/// the call and the id of its incoming leg.
pub fn parked(h: &mut Harness, user: &str) -> (Call, String) {
    let (call, text) = invite(h, user, Some(OFFER));
    h.deliver(&text);
    let leg = incoming_leg(&h.take_events());
    (call, leg)
}

/// The id of the first leg the switch reported as incoming in `events`.
pub fn incoming_leg(events: &[EventKind]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            EventKind::Incoming { leg } => Some(leg.id.clone()),
            _ => None,
        })
        .expect("leg.incoming")
}

pub fn leg_info(reply: Result<ReplyBody, ReplyError>) -> switchd_control::LegInfo {
    match reply {
        Ok(ReplyBody::Leg { leg, .. }) => leg,
        other => panic!("expected a leg, got {other:?}"),
    }
}

pub fn originate(to: &str, leg: &str) -> Command {
    Command::Originate(Originate {
        to: to.into(),
        leg: Some(leg.into()),
        ..Originate::default()
    })
}

pub fn trunk(name: &str) -> TrunkSpec {
    TrunkSpec {
        name: name.into(),
        host: "127.0.0.1".into(),
        port: Some(5070),
        username: Some("sw".into()),
        password: Some("secret".into()),
        ..TrunkSpec::default()
    }
}

/// Originates leg `leg` to the peer (`sip:bob@PEER`) and returns the one
/// INVITE the switch sent.
pub fn call_peer(h: &mut Harness, leg: &str) -> Sent {
    h.command(originate(&format!("sip:bob@{PEER}"), leg))
        .unwrap();
    h.expect_request(Method::Invite)
}

/// The peer answers `invite` with a 200 carrying `to_tag`, a Contact and
/// `sdp`; what the switch does about it is left to take.
pub fn deliver_200(h: &mut Harness, invite: &Sent, to_tag: &str, sdp: &str) {
    let contact = [("Contact", format!("<sip:bob@{PEER}>"))];
    let text = response_text(invite, 200, "OK", Some(to_tag), &contact, Some(sdp));
    h.deliver(&text);
}

/// Answers `invite` with 200 + `sdp` and returns the ACK the switch sent.
pub fn answer_with(h: &mut Harness, invite: &Sent, sdp: &str) -> Sent {
    deliver_200(h, invite, "bobtag", sdp);
    h.expect_request(Method::Ack)
}

/// Answers `invite` with 200 + SDP and returns the ACK the switch sent.
pub fn answer(h: &mut Harness, invite: &Sent) -> Sent {
    answer_with(h, invite, OFFER)
}

/// The peer's bare 200 OK (no To tag, no body) to `request`, a BYE or
/// CANCEL the switch sent.
pub fn ok_to(h: &mut Harness, request: &Sent) {
    h.deliver(&response_text(request, 200, "OK", None, &[], None));
}

/// Sends the ACK (with `sdp`, if the 2xx was an offer) for the switch's 2xx
/// `ok` and records the dialog in `call`.
pub fn ack(h: &mut Harness, call: &mut Call, ok: &Sent, sdp: Option<&str>) {
    call.to_tag = ok.to_tag();
    call.remote_target = ok.header("contact").map(|c| angle_uri(&c));
    let branch = h.new_branch();
    let target = call.remote_target.clone().unwrap();
    let text = request_text("ACK", &target, &branch, call, 1, &[], sdp);
    h.deliver(&text);
}

/// The text of the peer's next request in the dialog of `call` (ACKed, so
/// its remote target is known), taking the next CSeq.
pub fn in_dialog_text(
    h: &mut Harness,
    call: &mut Call,
    method: &str,
    extra: &[(&str, String)],
    sdp: Option<&str>,
) -> String {
    call.cseq += 1;
    let branch = h.new_branch();
    let target = call.remote_target.clone().unwrap();
    request_text(method, &target, &branch, call, call.cseq, extra, sdp)
}

/// A BYE from the peer in the dialog of `call`.
pub fn bye(h: &mut Harness, call: &mut Call) {
    let text = in_dialog_text(h, call, "BYE", &[], None);
    h.deliver(&text);
}
