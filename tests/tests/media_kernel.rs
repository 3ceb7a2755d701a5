//! The kernel relay (`[rtp] kernel_relay = "on"`) in the real daemon: a
//! bridge's audio crosses it both ways, the counters show what it
//! forwarded, DTMF still reaches the controller and the far end, and a
//! greeting played into the bridge carries on the far end's stream with no
//! gap and no repeated sequence number. Everything stays on loopback.
//!
//! Loading the eBPF program needs root (CAP_BPF, CAP_NET_ADMIN); `.ci/run`
//! runs as root. Elsewhere set `SWITCHD_SKIP_BPF_TESTS=1` to skip these.

// Test helpers outside `#[test]` functions: failing loudly is their job.
#![allow(clippy::expect_used)]

use serde_json::json;
use std::time::Duration;
use switchd_tests::audio::analysis;
use switchd_tests::audio::call::{FarEnd, play_file};
use switchd_tests::audio::events::{self, EVENT_TIMEOUT};
use switchd_tests::audio::rtp::pcmu_audio;
use switchd_tests::audio::sender::DtmfStyle;
use switchd_tests::audio::verdict::{assert_tone, tone_for};
use switchd_tests::audio::wav;
use switchd_tests::{Control, Daemon, DaemonConfig, RouteAction};

/// A parking daemon that must load the kernel relay, or `None` when the
/// environment says these tests cannot run here.
fn kernel_daemon(label: &str) -> Option<(Daemon, Control)> {
    if std::env::var_os("SWITCHD_SKIP_BPF_TESTS").is_some_and(|v| v == "1") {
        eprintln!("skipped: SWITCHD_SKIP_BPF_TESTS=1");
        return None;
    }
    let config = DaemonConfig::with_route(RouteAction::Park).set("rtp", "kernel_relay", "\"on\"");
    let daemon = Daemon::start(label, &config);
    let mut control = daemon.control();
    control.subscribe(None);
    Some((daemon, control))
}

/// The value of the unlabelled series `name` on the metrics page.
fn metric(daemon: &Daemon, name: &str) -> f64 {
    let page = switchd_tests::metrics::scrape(daemon.metrics_port);
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not on the metrics page:\n{page}"))
}

/// Test 1: tones both ways through the kernel, counters up to date, then
/// a greeting on B continues B's stream exactly after the kernel's packets.
#[test]
fn bridged_tones_cross_the_kernel_and_a_greeting_takes_the_stream_back() {
    let Some((daemon, mut control)) = kernel_daemon("kbridge") else {
        return;
    };
    let mut a = FarEnd::call_in(&daemon, &mut control, "bridge");
    let b = FarEnd::call_out(&daemon, &mut control, "b1");
    let _primed_a = a.prime();
    let _primed_b = b.prime();
    control.ok(json!({"cmd": "bridge", "leg": a.leg, "other": b.leg}));
    a.rtp.clear();
    b.rtp.clear();
    let from_a = a.stream().spawn_audio(tone_for(1000.0, 2.0));
    let from_b = b.stream().spawn_audio(tone_for(500.0, 2.0));
    from_a.join().expect("A's sender");
    from_b.join().expect("B's sender");
    std::thread::sleep(Duration::from_millis(300));

    let at_b = b.packets_from_its_leg("B");
    assert_tone(&pcmu_audio(&at_b), 1000.0, 1.5, "audio B received");
    assert_tone(&a.rtp.audio(), 500.0, 1.5, "audio A received");
    // Both directions went to the kernel once settled.
    assert!(
        metric(&daemon, "switchd_media_kernel_relay_installs_total") >= 2.0,
        "no kernel relay installs"
    );
    assert_eq!(
        metric(&daemon, "switchd_media_kernel_relay_directions"),
        2.0
    );
    // The leg's counters include what the kernel forwarded, up to now.
    let leg = control.ok(json!({"cmd": "leg", "leg": a.leg}));
    let media = &leg["leg"]["media"];
    assert!(media["packets_in"].as_u64() >= Some(100), "{leg}");
    assert!(media["packets_out"].as_u64() >= Some(100), "{leg}");
    assert_eq!(media["lost"].as_i64(), Some(0), "{leg}");

    // A greeting on B: the kernel gives B's stream back, the greeting
    // arrives intact and B's sequence numbers run on without a gap.
    let file = daemon.dir().join("greeting.wav");
    let source = wav::make_greeting(&file);
    play_file(&mut control, &b.leg, &file).expect("play a valid greeting");
    events::play_through(&mut control, &b.leg, EVENT_TIMEOUT);
    std::thread::sleep(Duration::from_millis(200));
    let at_b = b.packets_from_its_leg("B");
    let numbers: Vec<u16> = at_b.iter().map(|p| p.header.sequence).collect();
    for pair in numbers.windows(2) {
        assert_eq!(
            pair[1],
            pair[0].wrapping_add(1),
            "B's stream jumps from {} to {} around the greeting",
            pair[0],
            pair[1]
        );
    }
    let ssrcs: std::collections::BTreeSet<u32> = at_b.iter().map(|p| p.header.ssrc).collect();
    assert_eq!(ssrcs.len(), 1, "B saw SSRCs {ssrcs:?}");
    let received = pcmu_audio(&at_b);
    let (_, score) =
        analysis::best_alignment(&source, &received, received.len()).expect("sound at B");
    assert!(score > 0.5, "the greeting correlates {score:.3} at B");
    assert_eq!(
        metric(&daemon, "switchd_media_kernel_relay_directions"),
        1.0,
        "B -> A stays in the kernel; A -> B came back for the greeting"
    );
    // Hanging up takes the last direction back.
    assert_eq!(a.hang_up(), 200);
    events::wait_checked(&mut control, "leg.hungup", &a.leg, EVENT_TIMEOUT);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        metric(&daemon, "switchd_media_kernel_relay_directions"),
        0.0
    );
    // Both 2 s tones but their first two packets each went through it.
    let forwarded = metric(&daemon, "switchd_media_kernel_relay_packets_total");
    assert!(
        forwarded >= 180.0,
        "the kernel forwarded {forwarded} packets"
    );
}

/// Test 2: RFC 4733 digits sent into a bridge the kernel forwards are
/// reported once each and reach the other side as telephone-events.
#[test]
fn digits_in_a_kernel_bridge_are_reported_and_passed_on() {
    let Some((daemon, mut control)) = kernel_daemon("kdtmf") else {
        return;
    };
    let a = FarEnd::call_in(&daemon, &mut control, "bridge");
    let b = FarEnd::call_out(&daemon, &mut control, "b1");
    let mut stream = a.prime();
    let _primed_b = b.prime();
    control.ok(json!({"cmd": "bridge", "leg": a.leg, "other": b.leg}));
    stream.send_silence(Duration::from_millis(300));
    let pt = a.telephone_event().expect("telephone-event negotiated");
    b.rtp.clear();
    stream.send_dtmf("7", DtmfStyle::standard(pt));
    stream.send_dtmf("#", DtmfStyle::standard(pt));
    stream.send_silence(Duration::from_millis(200));

    let seen = events::gather(&mut control, Duration::from_millis(800));
    let got: String = events::of_kind(&seen, "dtmf", &a.leg)
        .iter()
        .map(|raw| raw["digit"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(got, "7#");
    let b_pt = b
        .telephone_event()
        .expect("telephone-event negotiated on B");
    let at_b = b.packets_from_its_leg("B");
    let events_at_b = at_b
        .iter()
        .filter(|p| p.header.payload_type == b_pt)
        .count();
    assert!(events_at_b >= 12, "{events_at_b} telephone-events at B");
    // The audio around them went through the kernel, on the same numbering.
    let numbers: Vec<u16> = at_b.iter().map(|p| p.header.sequence).collect();
    for pair in numbers.windows(2) {
        assert_eq!(pair[1], pair[0].wrapping_add(1), "B's stream: {numbers:?}");
    }
    assert!(metric(&daemon, "switchd_media_kernel_relay_installs_total") >= 1.0);
}
