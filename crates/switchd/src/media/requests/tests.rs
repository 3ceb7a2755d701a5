//! Loading the files of `play`, `collect` and `record` in a scratch
//! directory: what the switch gets, and the error each failure replies with.

use super::*;
use crate::media::test_support::{Scratch, write_wav};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

/// What every test here needs: a scratch directory and its media files.
impl Scratch {
    fn files(&self, tts_command: PathBuf) -> Arc<MediaFiles> {
        Arc::new(MediaFiles::new(MediaFilesSettings {
            prompt_cache_entries: 8,
            tts: TtsSettings {
                command: tts_command,
                cache_dir: self.path("tts"),
                max_entries: 2,
            },
        }))
    }
}

/// A WAV of `frames` frames of a sawtooth in every channel.
fn write_pattern(path: &Path, rate: u32, channels: u16, frames: usize) {
    let samples: Vec<i16> = (0..frames * usize::from(channels))
        .map(|n| (n % 100) as i16 * 100)
        .collect();
    write_wav(path, rate, channels, &samples);
}

fn play_file(path: PathBuf) -> MediaRequest {
    MediaRequest::Play {
        leg: "a".to_owned(),
        source: PromptSource::File(path),
        repeat: Repeat::Times(1),
    }
}

fn code(failure: MediaFailure) -> switchd_control::ErrorCode {
    adapter::error_code(failure)
}

#[tokio::test]
async fn play_loads_a_prompt_once_and_serves_it_from_the_cache() {
    let scratch = Scratch::new("switchd-media");
    let path = scratch.path("hello.wav");
    write_pattern(&path, 8000, 1, 1600);
    let files = scratch.files("/nonexistent/tts".into());
    for _ in 0..2 {
        match files.clone().load(play_file(path.clone())).await.unwrap() {
            Loaded::Play {
                leg,
                prompt,
                repeat,
            } => {
                assert_eq!((leg.as_str(), prompt.len()), ("a", 1600));
                assert_eq!(repeat, Repeat::Times(1));
            }
            other => panic!("{other:?}"),
        }
    }
    let stats = files.cache_stats();
    assert_eq!((stats.loads, stats.hits), (1, 1));
}

#[tokio::test]
async fn a_missing_prompt_is_file_not_found() {
    let scratch = Scratch::new("switchd-media");
    let path = scratch.path("missing.wav");
    let error = scratch
        .files("/nonexistent/tts".into())
        .load(play_file(path))
        .await
        .unwrap_err();
    assert_eq!(error.code, code(MediaFailure::FileNotFound));
    assert!(error.message.contains("missing.wav"), "{}", error.message);
}

#[tokio::test]
async fn a_stereo_11k_prompt_is_bad_audio_format_naming_its_format() {
    let scratch = Scratch::new("switchd-media");
    let path = scratch.path("stereo.wav");
    write_pattern(&path, 11_025, 2, 1000);
    let error = scratch
        .files("/nonexistent/tts".into())
        .load(play_file(path))
        .await
        .unwrap_err();
    assert_eq!(error.code, code(MediaFailure::BadAudioFormat));
    assert!(
        error.message.contains("11025") && error.message.contains("stereo"),
        "{}",
        error.message
    );
}

#[test]
fn player_errors_map_to_protocol_failures() {
    let path = PathBuf::from("/x.wav");
    let cases = [
        (
            switchd_player::Error::FileNotFound { path: path.clone() },
            MediaFailure::FileNotFound,
        ),
        (
            switchd_player::Error::WavEncoding { path: path.clone() },
            MediaFailure::BadAudioFormat,
        ),
        (
            switchd_player::Error::RecordingWrite {
                path,
                detail: "disk full".to_owned(),
            },
            MediaFailure::InvalidArgument,
        ),
    ];
    for (error, failure) in cases {
        assert_eq!(player_failure(&error), failure, "{error}");
    }
}

#[tokio::test]
async fn collect_loads_both_prompts_and_fails_on_a_missing_one() {
    let scratch = Scratch::new("switchd-media");
    let prompt = scratch.path("prompt.wav");
    write_pattern(&prompt, 8000, 1, 800);
    let spec = |timeout_prompt: PathBuf| CollectSpec {
        max_digits: 4,
        timeout: Duration::from_secs(5),
        first_digit_timeout: Duration::from_secs(5),
        terminator: None,
        retries: 1,
        prompt: Some(prompt.clone()),
        timeout_prompt: Some(timeout_prompt),
    };
    let files = scratch.files("/nonexistent/tts".into());
    let request = MediaRequest::Collect {
        leg: "a".to_owned(),
        spec: spec(prompt.clone()),
    };
    match files.clone().load(request).await.unwrap() {
        Loaded::Collect { spec, .. } => {
            assert_eq!(spec.prompt.map(|p| p.len()), Some(800));
            assert_eq!(spec.timeout_prompt.map(|p| p.len()), Some(800));
            assert_eq!((spec.max_digits, spec.retries), (4, 1));
        }
        other => panic!("{other:?}"),
    }
    let request = MediaRequest::Collect {
        leg: "a".to_owned(),
        spec: spec(scratch.path("gone.wav")),
    };
    let error = files.load(request).await.unwrap_err();
    assert_eq!(error.code, code(MediaFailure::FileNotFound));
}

#[tokio::test]
async fn record_creates_one_or_two_files() {
    let scratch = Scratch::new("switchd-media");
    let files = scratch.files("/nonexistent/tts".into());
    let record = |path: PathBuf, split: bool| MediaRequest::Record {
        leg: "a".to_owned(),
        path,
        split,
    };
    match files
        .clone()
        .load(record(scratch.path("call.wav"), false))
        .await
        .unwrap()
    {
        Loaded::Record { paths, .. } => assert_eq!(paths, vec![scratch.path("call.wav")]),
        other => panic!("{other:?}"),
    }
    match files
        .clone()
        .load(record(scratch.path("both.wav"), true))
        .await
        .unwrap()
    {
        Loaded::Record { paths, .. } => {
            assert_eq!(
                paths,
                vec![scratch.path("both-in.wav"), scratch.path("both-out.wav")]
            );
            assert!(paths.iter().all(|path| path.exists()));
        }
        other => panic!("{other:?}"),
    }
    let error = files
        .load(record(scratch.path("no/such/dir/call.wav"), false))
        .await
        .unwrap_err();
    assert_eq!(error.code, code(MediaFailure::InvalidArgument));
    assert!(
        error.message.contains("no/such/dir/call.wav"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn text_without_a_tts_engine_is_tts_unavailable() {
    let scratch = Scratch::new("switchd-media");
    let request = MediaRequest::Play {
        leg: "a".to_owned(),
        source: PromptSource::Text {
            text: "hello".to_owned(),
            voice: Voice::Female,
        },
        repeat: Repeat::Times(1),
    };
    let error = scratch
        .files("/nonexistent/espeak-ng".into())
        .load(request)
        .await
        .unwrap_err();
    assert_eq!(error.code, code(MediaFailure::TtsUnavailable));
    assert!(
        error.message.contains("/nonexistent/espeak-ng"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn text_is_synthesized_resampled_and_cached() {
    let scratch = Scratch::new("switchd-media");
    // A stand-in engine: writes a 22050 Hz WAV where `-w` says and counts
    // its runs, so the test needs no espeak-ng.
    let source = scratch.path("spoken.wav");
    write_pattern(&source, 22_050, 1, 22_050);
    let runs = scratch.path("runs");
    let engine = scratch.path("fake-tts");
    std::fs::write(
        &engine,
        format!(
            "#!/bin/sh\ncat > /dev/null\n[ \"$1 $3 $5\" = \"-v -w --stdin\" ] || exit 3\n\
             echo \"$2\" >> {}\ncp {} \"$4\"\n",
            runs.display(),
            source.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&engine, std::fs::Permissions::from_mode(0o755)).unwrap();
    let files = scratch.files(engine);
    let request = |voice| MediaRequest::Play {
        leg: "a".to_owned(),
        source: PromptSource::Text {
            text: "-hello".to_owned(),
            voice,
        },
        repeat: Repeat::Forever,
    };
    for voice in [Voice::Male, Voice::Male, Voice::Female] {
        match files.clone().load(request(voice)).await.unwrap() {
            Loaded::Play { prompt, repeat, .. } => {
                // One second at 22050 Hz is one second at 8 kHz.
                assert_eq!(prompt.len(), 8000);
                assert_eq!(repeat, Repeat::Forever);
            }
            other => panic!("{other:?}"),
        }
    }
    // The second male request came from the cache directory.
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "en+m3\nen+f3\n");
    let cached = std::fs::read_dir(scratch.path("tts")).unwrap().count();
    assert_eq!(cached, 2, "only the finished prompts stay");
}

#[test]
fn split_paths_keep_the_directory_and_extension() {
    assert_eq!(
        split_paths(Path::new("/var/rec/call.wav")),
        Some((
            PathBuf::from("/var/rec/call-in.wav"),
            PathBuf::from("/var/rec/call-out.wav")
        ))
    );
    assert_eq!(
        split_paths(Path::new("call")),
        Some((PathBuf::from("call-in.wav"), PathBuf::from("call-out.wav")))
    );
    assert_eq!(split_paths(Path::new("/")), None);
}

#[tokio::test]
async fn espeak_ng_speaks_when_installed() {
    let installed = std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        eprintln!("espeak-ng not installed; skipped");
        return;
    }
    let scratch = Scratch::new("switchd-media");
    let request = MediaRequest::Play {
        leg: "a".to_owned(),
        source: PromptSource::Text {
            text: "Welcome to switch dee.".to_owned(),
            voice: Voice::Female,
        },
        repeat: Repeat::Times(1),
    };
    match scratch
        .files("espeak-ng".into())
        .load(request)
        .await
        .unwrap()
    {
        Loaded::Play { prompt, .. } => {
            // About a second of speech at 8 kHz, not silence.
            assert!(prompt.len() > 4000, "{} samples", prompt.len());
            assert!(prompt.samples().iter().any(|s| s.unsigned_abs() > 1000));
        }
        other => panic!("{other:?}"),
    }
}
