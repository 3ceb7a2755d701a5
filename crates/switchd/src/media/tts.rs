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
    /// Most synthesized prompts kept there; the oldest go first. The
    /// default directory is on a tmpfs, so this bounds memory too.
    pub max_entries: usize,
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
        Ok(()) => {
            let store = Store {
                raw: raw.clone(),
                converted: converted.clone(),
                cached: cached.clone(),
                max_entries: settings.max_entries,
            };
            convert(store).await
        }
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

/// The files of one synthesis: the engine's output, the converted prompt,
/// and its name in the cache.
struct Store {
    raw: PathBuf,
    converted: PathBuf,
    cached: PathBuf,
    max_entries: usize,
}

/// Converts the engine's output, stores it in the cache, then trims the
/// cache to `max_entries` prompts.
async fn convert(store: Store) -> Result<(), TtsError> {
    let Store {
        raw,
        converted,
        cached,
        max_entries,
    } = store;
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
            .map(|()| {
                if let Some(dir) = cached.parent() {
                    trim_cache(dir, max_entries);
                }
            })
    })
    .await;
    joined.unwrap_or_else(|error| Err((MediaFailure::Internal, error.to_string())))
}

/// Removes the oldest cached prompts (`<32 hex digits>.wav`) beyond
/// `max_entries`. Best effort: a file that cannot be read or removed stays.
fn trim_cache(dir: &Path, max_entries: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut prompts: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| is_cached_prompt(&entry.file_name().to_string_lossy()))
        .filter_map(|entry| {
            let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
            Some((modified, entry.path()))
        })
        .collect();
    if prompts.len() <= max_entries {
        return;
    }
    prompts.sort();
    let excess = prompts.len() - max_entries;
    for (_, path) in prompts.into_iter().take(excess) {
        let _ = std::fs::remove_file(path);
    }
}

/// A finished cache entry (not an engine output or a file being converted).
fn is_cached_prompt(name: &str) -> bool {
    name.strip_suffix(".wav")
        .is_some_and(|key| key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn trimming_removes_the_oldest_prompts_only() {
        let dir = std::env::temp_dir().join(format!("switchd-tts-trim-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let names: Vec<String> = (0..3).map(|n| format!("{n:032x}.wav")).collect();
        for (age, name) in names.iter().enumerate() {
            let file = std::fs::File::create(dir.join(name)).unwrap();
            file.set_modified(epoch + Duration::from_secs(age as u64))
                .unwrap();
        }
        // A conversion in progress is not a cache entry.
        std::fs::write(dir.join(format!("{:032x}.7.tmp.wav", 9)), b"").unwrap();

        trim_cache(&dir, 2);

        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            left,
            vec![
                names[1].clone(),
                names[2].clone(),
                format!("{:032x}.7.tmp.wav", 9)
            ]
        );
    }
}
