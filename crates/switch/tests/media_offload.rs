//! The kernel relay seen from the switch: a settled bridge direction is
//! offered to the daemon, taken back for a prompt, and what the kernel
//! forwarded shows in the leg's counters.
// Helpers outside #[test] fns panic on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::media::*;
use common::*;
use switchd_control::Command;
use switchd_player::playback::Repeat;
use switchd_player::wav::Prompt;
use switchd_switch::{OffloadAction, OffloadCounters, SwitchConfig};

fn offloading() -> SwitchConfig {
    SwitchConfig {
        offload_media: true,
        ..config()
    }
}

fn actions(h: &mut Harness) -> Vec<OffloadAction> {
    std::iter::from_fn(|| h.switch.poll_offload()).collect()
}

#[test]
fn a_settled_bridge_is_offered_to_the_kernel_and_taken_back_for_a_prompt() {
    let mut h = Harness::with(offloading());
    let (_call, a, port_a) = answered_inbound(&mut h, "answer1", OFFER);
    let invite = call_peer(&mut h, "b1");
    let port_b = sdp_port(&String::from_utf8_lossy(invite.body()));
    answer_with(&mut h, &invite, &OFFER.replace("30000", "30002"));
    h.command(Command::Bridge {
        leg: a.clone(),
        other: "b1".into(),
    })
    .unwrap();
    // The first packet relays here; the second proves the source.
    for seq in [100u16, 101] {
        let packet = rtp(0, seq == 100, seq, u32::from(seq) * 160, 0xAAAA, &[1; 160]);
        h.switch.handle_rtp(h.now, port_a, addr(PEER_RTP), &packet);
    }
    assert_eq!(transmits(&mut h).len(), 2);
    let offered = actions(&mut h);
    let [OffloadAction::Install(rule)] = offered.as_slice() else {
        panic!("expected one install: {offered:?}");
    };
    assert_eq!(
        (
            rule.ingress_port,
            rule.egress_port,
            rule.source,
            rule.destination
        ),
        (port_a, port_b, addr(PEER_RTP), addr(PEER_B_RTP))
    );
    assert_eq!((rule.ssrc_in, rule.payload_type_in), (0xAAAA, 0));
    assert_eq!(h.switch.stats().media_kernel_directions, 1);

    // A prompt for b1 needs its stream back.
    let prompt = Prompt::from_samples(vec![1000; 1600]);
    h.switch
        .play(h.now, "b1", prompt, Repeat::Times(1))
        .unwrap();
    let taken = actions(&mut h);
    assert_eq!(
        taken,
        [OffloadAction::Remove {
            leg: rule.from,
            ingress_port: port_a,
        }]
    );
    // The kernel forwarded 50 packets meanwhile.
    let counters = OffloadCounters {
        packets: 50,
        payload_bytes: 8000,
        newest: Some((151, 151 * 160)),
        last_arrival: Some(h.now),
        jitter_q4: 0,
    };
    h.switch
        .handle_offload_counters(h.now, rule.from, counters, true);
    let info = leg_info(h.command(Command::Leg { leg: a }));
    assert_eq!(info.media.unwrap().packets_in, 52);
    let info = leg_info(h.command(Command::Leg { leg: "b1".into() }));
    assert_eq!(info.media.unwrap().packets_out, 52);
    assert_eq!(h.switch.stats().media_kernel_directions, 0);
    // b1's prompt follows the kernel's last packet on its stream.
    h.advance(std::time::Duration::from_millis(40));
    let prompt_out = transmits(&mut h);
    let first = prompt_out
        .iter()
        .find(|t| t.local_port == port_b)
        .expect("a prompt frame");
    let seq = u16::from_be_bytes([first.payload[2], first.payload[3]]);
    assert_eq!(seq, rule.sequence_offset.wrapping_add(152));
}

#[test]
fn nothing_is_offered_without_a_kernel_relay() {
    let mut h = Harness::new();
    let (_call, leg, port) = answered_inbound(&mut h, "answer1", OFFER);
    h.command(Command::Echo { leg }).unwrap();
    for seq in [1u16, 2, 3] {
        let packet = rtp(0, false, seq, u32::from(seq) * 160, 7, &[1; 160]);
        h.switch.handle_rtp(h.now, port, addr(PEER_RTP), &packet);
    }
    assert!(actions(&mut h).is_empty());
}
