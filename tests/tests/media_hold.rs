//! `[media] hold_prompt` through the real daemon: a call answered by an
//! `answer` route hears the configured WAV, looped, and nothing else has to
//! be asked for; SIGHUP moves held calls to a new file; a hold prompt that
//! cannot be loaded stops the daemon (and `--check-config`) naming the
//! file, or leaves the running one in place on SIGHUP.

// Test helpers outside `#[test]` functions: failing loudly is their job.
#![allow(clippy::expect_used)]

use std::process::Command;
use std::time::Duration;
use switchd_tests::audio::SAMPLE_RATE;
use switchd_tests::audio::analysis;
use switchd_tests::audio::call::SETUP_TIMEOUT;
use switchd_tests::audio::rtp::{RtpPeer, pcmu_audio};
use switchd_tests::audio::sip::sdp_body;
use switchd_tests::audio::ua::SipUa;
use switchd_tests::audio::wav;
use switchd_tests::scratch::ScratchDir;
use switchd_tests::{Daemon, DaemonConfig, RouteAction, binary};

/// One second of a 300 Hz to 3 kHz chirp as the hold prompt; a caller
/// answered by the route hears it, every pass of it, with no control
/// command: two passes as received each correlate with the file.
#[test]
fn answered_caller_hears_the_hold_prompt_looped() {
    let files = ScratchDir::new("holdwav");
    let hold = files.join("hold.wav");
    wav::make_chirp(&hold, 1.0, 300, 3000, 8000, 1);
    let source = wav::read(&hold).samples;
    let config = DaemonConfig::with_route(RouteAction::Answer).hold_prompt(&hold);
    let daemon = Daemon::start("mhold", &config);

    let mut ua = SipUa::bind(daemon.sip_addr(), "caller");
    let rtp = RtpPeer::bind();
    let invite = ua.send_invite("held", &sdp_body(rtp.port(), true));
    let dialog = ua
        .await_answer(&invite, SETUP_TIMEOUT)
        .unwrap_or_else(|status| panic!("the call was refused with {status}"));
    // Two passes and a bit: 2.5 s of 20 ms packets is 125.
    assert!(
        rtp.wait_packets(120, Duration::from_secs(5)),
        "the caller got {} packets of hold prompt",
        rtp.packets().len()
    );
    let packets = rtp.packets();
    assert!(
        packets
            .iter()
            .all(|p| p.from == dialog.remote_sdp.rtp_addr()),
        "RTP from somewhere other than the leg's port"
    );

    let received = rtp.audio();
    let (lag, score) = analysis::best_alignment(&source, &received, 400)
        .unwrap_or_else(|| panic!("no sound in {} received samples", received.len()));
    assert!(
        score > 0.9,
        "the first pass correlates {score:.3} with the file (lag {lag})"
    );
    // Loops run back to back: the second pass starts one file later.
    let next = lag + source.len() as isize;
    let again = analysis::correlation_at(&source, &received, next);
    assert!(
        again > 0.9,
        "the second pass correlates {again:.3} at lag {next}"
    );

    let page = switchd_tests::metrics::scrape(daemon.metrics_port);
    assert!(
        page.lines()
            .any(|l| l.starts_with("switchd_media_legs{kind=\"on_hold\"} 1")),
        "no on_hold gauge of 1 in:\n{page}"
    );
}

/// The core logs this once it has taken a reload in hand.
const RELOADED_LOG: &str = "reloading routes and trunks";
/// The SIGHUP handler logs this when the file does not load.
const NOT_RELOADED_LOG: &str = "config not reloaded";
const LOG_TIMEOUT: Duration = Duration::from_secs(5);

/// The main frequency of the next half second `rtp` receives, leaving out
/// the first few packets (sent before whatever was just changed).
fn next_tone(rtp: &RtpPeer) -> Option<f64> {
    rtp.clear();
    assert!(
        rtp.wait_packets(30, Duration::from_secs(5)),
        "the caller got {} packets",
        rtp.packets().len()
    );
    let packets = rtp.packets();
    analysis::dominant_frequency(&pcmu_audio(&packets[5..30]), SAMPLE_RATE)
}

/// A caller on hold hears a 500 Hz file; the config is rewritten to name a
/// 1500 Hz file and SIGHUP sent: the caller now hears 1500 Hz. Then the
/// config names a missing file: SIGHUP is refused, and 1500 Hz goes on.
#[test]
fn sighup_moves_held_calls_to_the_new_hold_prompt() {
    let files = ScratchDir::new("holdhup");
    let (low, high) = (files.join("low.wav"), files.join("high.wav"));
    wav::make_tone(&low, 1.0, 500);
    wav::make_tone(&high, 1.0, 1500);
    let with_hold = |path| DaemonConfig::with_route(RouteAction::Answer).hold_prompt(path);
    let daemon = Daemon::start("mholdhup", &with_hold(&low));

    let mut ua = SipUa::bind(daemon.sip_addr(), "caller");
    let rtp = RtpPeer::bind();
    let invite = ua.send_invite("held", &sdp_body(rtp.port(), true));
    ua.await_answer(&invite, SETUP_TIMEOUT)
        .unwrap_or_else(|status| panic!("the call was refused with {status}"));
    let heard = next_tone(&rtp).expect("the held caller hears nothing");
    assert!((heard - 500.0).abs() < 15.0, "held at {heard} Hz, not 500");

    let reloads = daemon.log_count(RELOADED_LOG);
    daemon.rewrite_config(&with_hold(&high));
    daemon.signal("HUP");
    daemon.wait_log(RELOADED_LOG, reloads, LOG_TIMEOUT);
    let heard = next_tone(&rtp).expect("silence after the reload");
    assert!(
        (heard - 1500.0).abs() < 15.0,
        "{heard} Hz after the reload, not 1500"
    );

    let refusals = daemon.log_count(NOT_RELOADED_LOG);
    daemon.rewrite_config(&with_hold(&files.join("missing.wav")));
    daemon.signal("HUP");
    daemon.wait_log(NOT_RELOADED_LOG, refusals, LOG_TIMEOUT);
    assert!(
        daemon.log_text().contains("missing.wav"),
        "the refusal does not name the file"
    );
    let heard = next_tone(&rtp).expect("silence after the refused reload");
    assert!(
        (heard - 1500.0).abs() < 15.0,
        "{heard} Hz after the refusal, not 1500"
    );
}

/// A hold prompt that is missing, or not 8 kHz mono, is refused by
/// `--check-config` with the key and the file named.
#[test]
fn check_config_refuses_a_hold_prompt_it_cannot_load() {
    let scratch = ScratchDir::new("holdbad");
    let wide = scratch.join("wide.wav");
    wav::make_tone(&wide, 0.2, 440);
    wav::sox(&[
        &*wide.to_string_lossy(),
        "-r",
        "16000",
        &*scratch.join("wide16k.wav").to_string_lossy(),
    ]);
    for (name, why) in [("missing.wav", "no such file"), ("wide16k.wav", "16000 Hz")] {
        let config = scratch.join("switchd.toml");
        let line = format!(
            "[sip]\nlisten = [\"udp:127.0.0.1:5999\"]\n[media]\nhold_prompt = {}\n",
            switchd_tests::config::toml_string(&scratch.join(name).to_string_lossy())
        );
        std::fs::write(&config, line).expect("write config");
        let out = Command::new(binary::switchd())
            .args(["--check-config", "--config"])
            .arg(&config)
            .output()
            .expect("run switchd --check-config");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} accepted: {out:?}");
        assert!(
            stderr.contains("media.hold_prompt") && stderr.contains(name) && stderr.contains(why),
            "the error does not name the key, {name} and why: {stderr}"
        );
    }
}
