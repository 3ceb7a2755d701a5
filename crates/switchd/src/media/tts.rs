//! Text-to-speech through an external program (espeak-ng by default).
//!
//! The program is run as `COMMAND -v VOICE -w RAW --stdin` with the text on
//! its standard input (never on the command line, where text starting with
//! `-` would read as an option). Its WAV (22050 Hz for espeak-ng) is
//! converted in process to 8 kHz mono and kept in the cache directory under
//! a hash of voice and text, so a phrase is synthesized once.

use super::requests::{MediaFailure, Voice};
use super::resample;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Longest a synthesis may take before it is killed.
const TTS_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest text accepted, bytes.
pub(crate) const MAX_TEXT: usize = 4096;
/// How much of the engine's complaint goes into the reply.
const MAX_STDERR: usize = 300;

/// Where the engine is and where its output goes.
#[derive(Debug, Clone)]
pub(crate) struct TtsSettings {
    /// The program.
    pub command: PathBuf,
    /// The cache directory.
    pub cache_dir: PathBuf,
}

/// Why a text could not be spoken: what to reply, and the message.
pub(crate) type TtsError = (MediaFailure, String);

fn voice_name(voice: Voice) -> &'static str {
    match voice {
        Voice::Male => "en+m3",
        Voice::Female => "en+f3",
    }
}

/// The cached 8 kHz WAV of `text` spoken by `voice`, synthesized first if
/// needed.
pub(crate) async fn synthesize(
    settings: &TtsSettings,
    text: &str,
    voice: Voice,
) -> Result<PathBuf, TtsError> {
    if text.trim().is_empty() || text.len() > MAX_TEXT {
        return Err((
            MediaFailure::InvalidArgument,
            format!("text must be 1 to {MAX_TEXT} bytes and not blank"),
        ));
    }
    let name = voice_name(voice);
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    let key: String = hasher
        .finalize()
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let dir = &settings.cache_dir;
    let cached = dir.join(format!("{key}.wav"));
    if tokio::fs::metadata(&cached).await.is_ok() {
        return Ok(cached);
    }
    tokio::fs::create_dir_all(dir).await.map_err(|error| {
        let message = format!("cannot create the TTS cache {}: {error}", dir.display());
        (MediaFailure::Internal, message)
    })?;
    // Two requests for one phrase may race: each writes its own files and
    // the last rename wins, with identical content.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    let raw = dir.join(format!("{key}.{unique}.raw.wav"));
    let converted = dir.join(format!("{key}.{unique}.tmp.wav"));
    let result = run_engine(settings, name, text, &raw).await;
    let result = match result {
        Ok(()) => convert(raw.clone(), converted.clone(), cached.clone()).await,
        Err(error) => Err(error),
    };
    let _ = tokio::fs::remove_file(&raw).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&converted).await;
    }
    result.map(|()| cached)
}

async fn run_engine(
    settings: &TtsSettings,
    voice: &str,
    text: &str,
    raw: &Path,
) -> Result<(), TtsError> {
    let program = settings.command.display().to_string();
    let mut child = tokio::process::Command::new(&settings.command)
        .arg("-v")
        .arg(voice)
        .arg("-w")
        .arg(raw)
        .arg("--stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| {
            let message = format!("cannot run the TTS engine `{program}`: {error}");
            (MediaFailure::TtsUnavailable, message)
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A failed write shows as the engine's failure below.
        let _ = stdin.write_all(text.as_bytes()).await;
        let _ = stdin.write_all(b"\n").await;
    }
    let output = tokio::time::timeout(TTS_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            let message = format!("the TTS engine `{program}` took over {TTS_TIMEOUT:?}");
            (MediaFailure::TtsUnavailable, message)
        })?
        .map_err(|error| {
            let message = format!("the TTS engine `{program}` failed: {error}");
            (MediaFailure::TtsUnavailable, message)
        })?;
    if !output.status.success() {
        let stderr: String = String::from_utf8_lossy(&output.stderr)
            .trim()
            .chars()
            .take(MAX_STDERR)
            .collect();
        let message = format!(
            "the TTS engine `{program}` failed ({}): {stderr}",
            output.status
        );
        return Err((MediaFailure::TtsUnavailable, message));
    }
    Ok(())
}

async fn convert(raw: PathBuf, converted: PathBuf, cached: PathBuf) -> Result<(), TtsError> {
    let joined = tokio::task::spawn_blocking(move || {
        resample::to_prompt_wav(&raw, &converted)
            .map_err(|error| {
                let message = format!("cannot convert the TTS engine's output: {error}");
                (MediaFailure::TtsUnavailable, message)
            })
            .and_then(|()| {
                std::fs::rename(&converted, &cached).map_err(|error| {
                    let message = format!("cannot store {}: {error}", cached.display());
                    (MediaFailure::Internal, message)
                })
            })
    })
    .await;
    joined.unwrap_or_else(|error| Err((MediaFailure::Internal, error.to_string())))
}
