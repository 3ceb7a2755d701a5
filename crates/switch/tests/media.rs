//! Audio through the switch: sockets, echo, bridge, play, record, media
//! timeout, all on a simulated clock.
// Helpers outside #[test] fns panic on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::media::*;
use common::*;
use std::net::SocketAddr;
use std::time::Duration;
use switchd_control::{Command, ErrorCode, EventKind, HangupCause};
use switchd_player::playback::Repeat;
use switchd_player::recorder::{Recorder, RecorderConfig};
use switchd_player::wav::Prompt;
use switchd_sip::rsip::Method;
use switchd_switch::RouteAction;

#[test]
fn answered_call_opens_its_port_and_echo_reflects_rtp() {
    let mut h = Harness::new();
    let (_call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    assert_eq!(port % 2, 0);
    let peer: SocketAddr = addr(PEER_RTP);
    // Before echo, RTP is accepted but goes nowhere.
    let first = rtp(0, true, 1, 160, 0x1111, &[0xff; 160]);
    h.switch.handle_rtp(h.now, port, peer, &first);
    assert!(transmits(&mut h).is_empty());

    let reply = h.command(Command::Echo { leg: leg.clone() });
    let info = leg_info(reply);
    assert_eq!(
        info.media.unwrap().bridged_with.as_deref(),
        Some(leg.as_str())
    );
    let packet = rtp(0, false, 2, 320, 0x1111, &[0x55; 160]);
    h.switch.handle_rtp(h.now, port, peer, &packet);
    let out = transmits(&mut h);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].local_port, port);
    assert_eq!(out[0].destination, peer);
    assert_eq!(&out[0].payload[12..], &[0x55; 160][..]);

    // A stray source is dropped and counted.
    h.switch
        .handle_rtp(h.now, port, addr("127.0.0.9:4000"), &packet);
    assert!(transmits(&mut h).is_empty());
    let stats = h.switch.stats();
    assert_eq!(stats.media_legs, 1);
    assert_eq!(stats.media_strays, 1);
    assert_eq!(stats.media_packets_in, 2);
    let info = leg_info(h.command(Command::Leg { leg }));
    assert_eq!(info.media.unwrap().packets_in, 2);
}

#[test]
fn echo_route_answers_and_reflects() {
    let mut h = Harness::with(with_route("echo", RouteAction::Echo));
    let (_call, _leg, port) = answered_inbound(&mut h, "echo", OFFER);
    let packet = rtp(0, true, 7, 160, 0x2222, &[0x12; 160]);
    h.switch.handle_rtp(h.now, port, addr(PEER_RTP), &packet);
    let out = transmits(&mut h);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].destination, addr(PEER_RTP));
}

#[test]
fn bridged_legs_forward_rtp_with_their_own_ssrc() {
    let mut h = Harness::new();
    let (_call, a, port_a) = answered_inbound(&mut h, "answer1", OFFER);
    // Not yet answered: no media to bridge with.
    let invite = call_peer(&mut h, "b1");
    let port_b = sdp_port(&String::from_utf8_lossy(invite.body()));
    assert_ne!(port_a, port_b);
    let early = h.command(Command::Bridge {
        leg: a.clone(),
        other: "b1".into(),
    });
    assert_eq!(early.unwrap_err().code, ErrorCode::MediaUnavailable);
    let sdp_b = OFFER.replace("30000", "30002");
    answer_with(&mut h, &invite, &sdp_b);

    h.command(Command::Bridge {
        leg: a.clone(),
        other: "b1".into(),
    })
    .unwrap();
    let again = h.command(Command::Bridge {
        leg: "b1".into(),
        other: a.clone(),
    });
    assert_eq!(again.unwrap_err().code, ErrorCode::InvalidState);

    let from_a = rtp(0, true, 100, 1000, 0xAAAA, &[0x01; 160]);
    h.switch.handle_rtp(h.now, port_a, addr(PEER_RTP), &from_a);
    let out = transmits(&mut h);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].local_port, port_b);
    assert_eq!(out[0].destination, addr(PEER_B_RTP));
    assert_ne!(ssrc_of(&out[0].payload), 0xAAAA);
    assert_eq!(&out[0].payload[12..], &[0x01; 160][..]);

    let from_b = rtp(0, true, 5, 50, 0xBBBB, &[0x02; 160]);
    h.switch
        .handle_rtp(h.now, port_b, addr(PEER_B_RTP), &from_b);
    let out = transmits(&mut h);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].local_port, port_a);
    assert_eq!(out[0].destination, addr(PEER_RTP));
    assert_ne!(ssrc_of(&out[0].payload), 0xBBBB);

    let info = leg_info(h.command(Command::Leg { leg: "b1".into() }));
    assert_eq!(
        info.media.unwrap().bridged_with.as_deref(),
        Some(a.as_str())
    );
    h.command(Command::Unbridge { leg: a.clone() }).unwrap();
    h.switch.handle_rtp(h.now, port_a, addr(PEER_RTP), &from_a);
    assert!(transmits(&mut h).is_empty());
}

#[test]
fn play_sends_frames_then_finishes() {
    let mut h = Harness::new();
    let (_call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    let samples: Vec<i16> = (0..8000).map(|i| ((i % 40) * 200 - 4000) as i16).collect();
    let prompt = Prompt::from_samples(samples);
    h.switch
        .play(h.now, &leg, prompt, Repeat::Times(1))
        .unwrap();
    assert_eq!(
        h.switch.poll_event(),
        Some(EventKind::PlayStarted { leg: leg.clone() })
    );
    h.advance(Duration::from_millis(500));
    let half = transmits(&mut h);
    let rtp_out: Vec<_> = half.iter().filter(|t| t.local_port == port).collect();
    assert!(
        (20..=27).contains(&rtp_out.len()),
        "{} frames",
        rtp_out.len()
    );
    assert!(rtp_out.iter().all(|t| t.destination == addr(PEER_RTP)));
    assert!(rtp_out.iter().all(|t| pt_of(&t.payload) == 0));
    assert!(
        !h.take_events()
            .contains(&EventKind::PlayFinished { leg: leg.clone() })
    );
    h.advance(Duration::from_millis(700));
    let events = h.take_events();
    assert!(
        events.contains(&EventKind::PlayFinished { leg: leg.clone() }),
        "{events:?}"
    );
    let total = half.len() + transmits(&mut h).len();
    assert!((48..=54).contains(&total), "{total} frames for 1 s");
}

#[test]
fn stop_play_reports_stopped() {
    let mut h = Harness::new();
    let (_call, leg, _port) = answered_inbound(&mut h, "answer1", OFFER);
    let prompt = Prompt::from_samples(vec![100i16; 800]);
    h.switch.play(h.now, &leg, prompt, Repeat::Forever).unwrap();
    h.advance(Duration::from_millis(200));
    h.command(Command::StopPlay { leg: leg.clone() }).unwrap();
    let events = h.take_events();
    assert_eq!(
        events,
        vec![
            EventKind::PlayStarted { leg: leg.clone() },
            EventKind::PlayStopped { leg: leg.clone() }
        ]
    );
    transmits(&mut h);
    h.advance(Duration::from_millis(200));
    assert!(transmits(&mut h).iter().all(|t| t.local_port % 2 == 1));
}

#[test]
fn play_before_media_is_media_unavailable() {
    let mut h = Harness::new();
    let (_call, text) = invite(&mut h, "park1", Some(OFFER));
    h.deliver(&text);
    let leg = match h.take_events().first() {
        Some(EventKind::Incoming { leg }) => leg.id.clone(),
        other => panic!("{other:?}"),
    };
    let prompt = Prompt::from_samples(vec![0i16; 160]);
    let err = h
        .switch
        .play(h.now, &leg, prompt, Repeat::Times(1))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::MediaUnavailable);
    let err = h.command(Command::Echo { leg }).unwrap_err();
    assert_eq!(err.code, ErrorCode::MediaUnavailable);
}

#[test]
fn record_hands_over_the_files_and_reports() {
    let mut h = Harness::new();
    let (_call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    let dir = std::env::temp_dir().join(format!("switch-media-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("call.wav");
    let recorder = Recorder::mixed(&path, RecorderConfig::default()).unwrap();
    h.switch
        .record(h.now, &leg, recorder, vec![path.clone()])
        .unwrap();
    for i in 0..10u16 {
        let packet = rtp(0, i == 0, i, u32::from(i) * 160, 0x5555, &[0x20; 160]);
        h.switch.handle_rtp(h.now, port, addr(PEER_RTP), &packet);
        h.advance(Duration::from_millis(20));
    }
    assert!(h.switch.poll_finished_recording().is_none());
    h.command(Command::StopRecord { leg: leg.clone() }).unwrap();
    let finished = h.switch.poll_finished_recording().unwrap();
    assert_eq!(finished.leg, leg);
    assert_eq!(finished.paths, vec![path.clone()]);
    let summary = finished.handle.finish().unwrap().unwrap();
    assert!(
        summary.duration >= Duration::from_millis(100),
        "{summary:?}"
    );
    h.switch
        .handle_recording_finished(h.now, &leg, path.clone(), Ok(summary));
    h.advance(Duration::ZERO);
    let events = h.take_events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            EventKind::RecordFinished { leg: l, error: None, bytes, .. } if *l == leg && *bytes > 44
        )),
        "{events:?}"
    );
    let again = h.command(Command::StopRecord { leg });
    assert_eq!(again.unwrap_err().code, ErrorCode::InvalidState);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn silence_reports_media_timeout_and_may_hang_up() {
    let mut config = config();
    config.media_timeout = Duration::from_secs(10);
    config.media_timeout_hangup = true;
    let mut h = Harness::with(config);
    let (_call, leg, _port) = answered_inbound(&mut h, "answer1", OFFER);
    h.advance(Duration::from_millis(9900));
    assert!(h.take_events().is_empty());
    h.advance(Duration::from_millis(200));
    let events = h.take_events();
    assert_eq!(
        events.first(),
        Some(&EventKind::MediaTimeout { leg: leg.clone() })
    );
    h.expect_request(Method::Bye);
    let info = leg_info(h.command(Command::Leg { leg }));
    assert_eq!(info.state, switchd_control::LegState::Ending);
}

#[test]
fn leg_end_closes_its_port_and_failed_bind_hangs_up() {
    let mut h = Harness::new();
    let (mut call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    bye(&mut h, &mut call);
    h.expect_response(200);
    assert_eq!(closed_ports(&mut h), vec![port]);
    assert!(hungup(&h.take_events()).iter().any(|(l, ..)| *l == leg));
    assert_eq!(h.switch.stats().media_legs, 0);

    // A port the daemon loses under a live leg (the pool only hands out
    // bound ports, so this is the daemon's word against the pool's) ends it.
    let (_, leg) = parked(&mut h, "park1");
    let port = leg_info(h.command(Command::Leg { leg })).rtp_port.unwrap();
    h.switch.handle_socket_failed(h.now, port);
    h.advance(Duration::ZERO);
    h.expect_response(480);
    let events = h.take_events();
    assert!(
        hungup(&events)
            .iter()
            .any(|(_, cause, _)| *cause == HangupCause::NormalTemporaryFailure),
        "{events:?}"
    );
    assert_eq!(closed_ports(&mut h), vec![port]);
}

#[test]
fn ports_that_fail_to_bind_are_skipped_and_never_advertised() {
    let mut config = config();
    config.rtp_ports = 20000..=20007;
    let mut h = Harness::with_busy_ports(config, vec![20000, 20004]);
    assert_eq!(
        h.bound,
        vec![20002, 20006],
        "the reserve holds every bindable pair"
    );
    let stats = h.switch.stats();
    assert_eq!((stats.rtp_bind_failures, stats.rtp_ports_ready), (2, 2));

    let (_call, _leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    assert_eq!(port, 20002);
    let (_call, _leg, port) = answered_inbound(&mut h, "answer2", OFFER);
    assert_eq!(port, 20006);
    // Nothing bindable is left: the next call is refused, not given a dead port.
    call_in(&mut h, "answer3", Some(OFFER), 503);

    // The busy pairs are tried again after a while, and taken once free.
    h.busy_ports.clear();
    h.advance(Duration::from_secs(61));
    h.take_sent();
    let bound_before = h.bound.len();
    call_in(&mut h, "answer4", Some(OFFER), 503);
    assert_eq!(h.bound.len(), bound_before + 2, "{:?}", h.bound);
    let (_call, _leg, port) = answered_inbound(&mut h, "answer5", OFFER);
    assert!([20000, 20004].contains(&port), "{port}");
}
