//! The `call` operation's greeting-and-digits flow, driven end to end with simulated time:
//! a greeting loaded from disk through the cache, played frame by frame, digits arriving
//! as RFC 4733 packets and as in-band tones at once, the collector deciding.

use std::path::Path;
use std::time::{Duration, Instant};

use switchd_player::cache::{CacheLimits, FileStamp, PromptCache};
use switchd_player::collector::{CollectSpec, Collector, CollectorEvent, DoneReason};
use switchd_player::dtmf::rfc4733::Rfc4733Sender;
use switchd_player::dtmf::{Digit, DtmfMethod, DtmfPipeline, PipelineConfig, tone};
use switchd_player::playback::Playback;
use switchd_player::wav::Prompt;

const TICK: Duration = Duration::from_millis(20);

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn digit(c: char) -> TestResult<Digit> {
    Ok(Digit::parse(c)?)
}

fn write_wav(path: &Path, seconds: usize) -> TestResult {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for n in 0..seconds * 8000 {
        writer.write_sample(((n % 20) as i16 - 10) * 100)?;
    }
    writer.finalize()?;
    Ok(())
}

fn load(cache: &mut PromptCache, path: &Path) -> TestResult<Prompt> {
    Ok(cache.get_or_load(path, FileStamp::of(path)?)?)
}

/// One key press by the caller: when it starts and which key.
struct Press {
    at: Duration,
    key: char,
}

const PRESS_LEN: Duration = Duration::from_millis(120);

#[test]
fn caller_barges_in_and_terminates_with_hash() {
    let dir = std::env::temp_dir().join(format!("switchd-player-flow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let greeting_path = dir.join("greeting.wav");
    write_wav(&greeting_path, 3).unwrap();
    let mut cache = PromptCache::new(CacheLimits::default());
    let greeting = load(&mut cache, &greeting_path).unwrap();
    assert_eq!(load(&mut cache, &greeting_path).unwrap(), greeting);
    assert_eq!(cache.stats().loads, 1);
    std::fs::remove_dir_all(&dir).unwrap();

    let mut collector = Collector::new(CollectSpec {
        max_digits: 6,
        timeout: Duration::from_secs(5),
        first_digit_timeout: Duration::from_secs(10),
        terminator: Some(digit('#').unwrap()),
        retries: 1,
        prompt: Some(greeting.clone()),
        timeout_prompt: None,
    });
    let mut pipeline = DtmfPipeline::new(PipelineConfig::default());
    let presses = [
        Press {
            at: Duration::from_millis(800),
            key: '4',
        },
        Press {
            at: Duration::from_millis(1600),
            key: '2',
        },
        Press {
            at: Duration::from_millis(4500),
            key: '#',
        },
    ];
    // The gateway sends telephone-events and lets the tones through as well.
    let sender = Rfc4733Sender::new(160);
    let mut packets = Vec::new();
    for (i, press) in presses.iter().enumerate() {
        let timestamp = 50_000 + i as u32 * 40_000;
        for packet in sender.packets(digit(press.key).unwrap(), 960, timestamp, 10) {
            let sent = press.at + Duration::from_micros(u64::from(packet.offset_ticks) * 125);
            packets.push((sent, packet));
        }
    }

    let t0 = Instant::now();
    let mut playback: Option<Playback> = None;
    let mut frames_played = 0;
    let mut outcome = None;
    let mut methods = Vec::new();
    collector.start(t0);
    for tick in 0..500u32 {
        let elapsed = TICK * tick;
        let now = t0 + elapsed;
        while let Some(event) = collector.poll_event() {
            match event {
                CollectorEvent::PlayPrompt(prompt) => playback = Some(Playback::once(prompt)),
                CollectorEvent::StopPrompt => playback.as_mut().unwrap().stop(),
                done => outcome = Some((elapsed, done)),
            }
        }
        if outcome.is_some() {
            break;
        }
        if let Some(current) = playback.as_mut() {
            if current.next_frame().is_some() {
                frames_played += 1;
            } else {
                if !current.was_stopped() {
                    collector.handle_prompt_finished(now);
                }
                playback = None;
            }
        }
        // What the caller sends this tick: a key's tones or silence.
        let mut inbound = [0i16; 160];
        for press in &presses {
            if elapsed >= press.at && elapsed < press.at + PRESS_LEN {
                let offset = ((elapsed - press.at).as_micros() / 125) as usize;
                let samples = tone::generate(digit(press.key).unwrap(), offset + 160, 4000.0);
                inbound.copy_from_slice(&samples[offset..]);
            }
        }
        pipeline.handle_pcm(now, &inbound);
        for (_, packet) in packets
            .iter()
            .filter(|(sent, _)| *sent > elapsed.saturating_sub(TICK) && *sent <= elapsed)
        {
            pipeline
                .handle_rfc4733(now, packet.marker, packet.timestamp, &packet.payload)
                .unwrap();
        }
        if pipeline
            .poll_timeout()
            .is_some_and(|deadline| deadline <= now)
        {
            pipeline.handle_timeout(now);
        }
        while let Some(event) = pipeline.poll_event() {
            methods.push(event.method);
            collector.handle_digit(now, event.digit);
        }
        if collector
            .poll_timeout()
            .is_some_and(|deadline| deadline <= now)
        {
            collector.handle_timeout(now);
        }
    }

    let (ended_at, done) = outcome.expect("collection ended");
    assert_eq!(
        done,
        CollectorEvent::Done {
            digits: "42".to_owned(),
            reason: DoneReason::Terminator
        }
    );
    assert!(
        ended_at < Duration::from_millis(4800),
        "ended at {ended_at:?}"
    );
    // The greeting is 150 frames; the first key stopped it about 1 s in.
    assert!(
        (40..=60).contains(&frames_played),
        "{frames_played} frames played"
    );
    assert_eq!(methods.len(), 3, "one report per press: {methods:?}");
    assert!(pipeline.duplicates() >= 2, "the in-band copies were folded");
    assert!(methods.contains(&DtmfMethod::Rfc4733));
}

#[test]
fn silent_caller_hears_the_retry_prompt_then_times_out() {
    let greeting = Prompt::from_samples(vec![100i16; 4000]);
    let retry = Prompt::from_samples(vec![200i16; 2400]);
    let mut collector = Collector::new(CollectSpec {
        max_digits: 4,
        timeout: Duration::from_secs(5),
        first_digit_timeout: Duration::from_secs(10),
        terminator: None,
        retries: 1,
        prompt: Some(greeting),
        timeout_prompt: Some(retry),
    });
    let t0 = Instant::now();
    let mut now = t0;
    let mut played = Vec::new();
    let mut timed_out = false;
    collector.start(now);
    for _ in 0..10 {
        while let Some(event) = collector.poll_event() {
            match event {
                CollectorEvent::PlayPrompt(prompt) => {
                    played.push(prompt.len());
                    let mut playback = Playback::once(prompt);
                    while playback.next_frame().is_some() {
                        now += TICK;
                    }
                    collector.handle_prompt_finished(now);
                }
                CollectorEvent::Timeout => timed_out = true,
                other => panic!("unexpected {other:?}"),
            }
        }
        match collector.poll_timeout() {
            Some(deadline) => {
                now = deadline;
                collector.handle_timeout(now);
            }
            None => break,
        }
    }
    assert!(timed_out);
    assert_eq!(played, [4000, 2400]);
    assert_eq!(now - t0, Duration::from_millis(500 + 10_000 + 300 + 10_000));
}
