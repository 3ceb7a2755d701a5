//! Helpers for the media tests: RTP packets, sockets, answered calls, INFO.

use super::*;
use switchd_control::DtmfMethod;
use switchd_media::codec::g711::ulaw_encode;
use switchd_player::dtmf::Digit;
use switchd_player::dtmf::tone::generate;
use switchd_switch::RtpTransmit;

/// Where the peer's SDP (common::OFFER) says it receives RTP.
pub const PEER_RTP: &str = "127.0.0.1:30000";
/// The second peer's RTP address (the answer to our originate).
pub const PEER_B_RTP: &str = "127.0.0.1:30002";

/// An RTP packet.
pub fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

pub fn ssrc_of(packet: &[u8]) -> u32 {
    u32::from_be_bytes(packet[8..12].try_into().unwrap())
}

pub fn pt_of(packet: &[u8]) -> u8 {
    packet[1] & 0x7f
}

/// The ports the switch closed since the last call.
pub fn closed_ports(h: &mut Harness) -> Vec<u16> {
    std::mem::take(&mut h.closed)
}

/// The port of the `m=audio` line of an SDP body.
pub fn sdp_port(sdp: &str) -> u16 {
    sdp.lines()
        .find_map(|line| line.strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no m=audio port in {sdp}"))
}

pub fn transmits(h: &mut Harness) -> Vec<RtpTransmit> {
    std::iter::from_fn(|| h.switch.poll_rtp_transmit()).collect()
}

/// An inbound call to `user` answered by its route and ACKed: the call,
/// the leg id and its RTP port (from the socket action).
pub fn answered_inbound(h: &mut Harness, user: &str, sdp: &str) -> (Call, String, u16) {
    let (mut call, ok) = call_in(h, user, Some(sdp), 200);
    let port = sdp_port(&String::from_utf8_lossy(ok.body()));
    assert!(
        h.bound.contains(&port),
        "{port} advertised before it was bound"
    );
    ack(h, &mut call, &ok, None);
    let leg = h
        .take_events()
        .iter()
        .find_map(|e| match e {
            EventKind::Answered { leg } => Some(leg.clone()),
            _ => None,
        })
        .expect("leg.answered");
    (call, leg, port)
}

/// An in-dialog request from the peer with a body of `content_type`.
pub fn in_dialog(h: &mut Harness, call: &mut Call, method: &str, content_type: &str, body: &str) {
    let text = in_dialog_text(h, call, method, &[], None).replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    h.deliver(&text);
}

pub fn info_digit(h: &mut Harness, call: &mut Call, digit: char) {
    let body = format!("Signal={digit}\r\nDuration=160\r\n");
    in_dialog(h, call, "INFO", "application/dtmf-relay", &body);
    h.expect_response(200);
}

pub fn dtmf_events(events: &[EventKind]) -> Vec<(char, DtmfMethod)> {
    events
        .iter()
        .filter_map(|e| match e {
            EventKind::Dtmf { digit, method, .. } => Some((*digit, *method)),
            _ => None,
        })
        .collect()
}

pub fn with_route(user: &str, action: RouteAction) -> SwitchConfig {
    let mut config = config();
    config.routes.insert(
        0,
        Route {
            user: user.into(),
            host: None,
            action,
        },
    );
    config
}

/// OFFER without telephone-event: PCMU only.
pub fn pcmu_only() -> String {
    OFFER.replace(" 0 8 101", " 0").replace(
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n",
        "",
    )
}

/// The payload of an RFC 4733 telephone-event packet for `event` at
/// volume 10, `duration` ticks long so far.
pub fn telephone_event(event: u8, end: bool, duration: u16) -> [u8; 4] {
    [
        event,
        if end { 0x80 } else { 0 } | 10,
        (duration >> 8) as u8,
        duration as u8,
    ]
}

/// `ms` of `digit` then 200 ms of silence from the peer of `port`, as
/// PCMU in 20 ms packets, the clock running along.
pub fn send_tone(h: &mut Harness, port: u16, digit: char, ms: usize, first_seq: u16) {
    let samples = ms * 8;
    let tone = generate(Digit::from_char(digit).unwrap(), samples, 8000.0);
    let silence = vec![0i16; 1600];
    for (i, frame) in tone.chunks(160).chain(silence.chunks(160)).enumerate() {
        let payload: Vec<u8> = frame.iter().map(|s| ulaw_encode(*s)).collect();
        let seq = first_seq.wrapping_add(i as u16);
        let packet = rtp(0, i == 0, seq, u32::from(seq) * 160, 0x4444, &payload);
        h.switch.handle_rtp(h.now, port, addr(PEER_RTP), &packet);
        h.advance(Duration::from_millis(20));
    }
}
