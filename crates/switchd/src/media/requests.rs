//! The control commands that need files (`play`, `collect`, `record`): what
//! they ask for, and loading it off the core task (prompt files through the
//! shared cache, text through the TTS engine, recordings created) into what
//! the switch's typed methods take.

use super::adapter;
use super::tts::{self, TtsSettings};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use switchd_control::ReplyError;
use switchd_player::cache::{CacheLimits, CacheStats, FileStamp, PromptCache};
use switchd_player::collector::CollectSpec;
use switchd_player::playback::Repeat;
use switchd_player::recorder::{Recorder, RecorderConfig};
use switchd_player::wav::Prompt;

/// Which voice speaks a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Voice {
    /// A male voice.
    Male,
    /// A female voice (the default).
    Female,
}

/// What a `play` plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PromptSource {
    /// A WAV file (8 kHz mono 16-bit).
    File(PathBuf),
    /// Text for the TTS engine.
    Text {
        /// The text.
        text: String,
        /// The voice.
        voice: Voice,
    },
}

/// A command that needs file I/O before the switch can act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaRequest {
    /// `play`.
    Play {
        /// The leg.
        leg: String,
        /// What to play.
        source: PromptSource,
        /// How often.
        repeat: Repeat,
    },
    /// `collect`, with its prompts still paths.
    Collect {
        /// The leg.
        leg: String,
        /// What to collect.
        spec: CollectSpec<PathBuf>,
    },
    /// `record`.
    Record {
        /// The leg.
        leg: String,
        /// The file (the stem of two files when `split`).
        path: PathBuf,
        /// One file per direction.
        split: bool,
    },
}

impl MediaRequest {
    /// The command's wire name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            MediaRequest::Play { .. } => "play",
            MediaRequest::Collect { .. } => "collect",
            MediaRequest::Record { .. } => "record",
        }
    }

    /// The leg it acts on.
    pub(crate) fn leg(&self) -> &str {
        match self {
            MediaRequest::Play { leg, .. }
            | MediaRequest::Collect { leg, .. }
            | MediaRequest::Record { leg, .. } => leg,
        }
    }
}

/// A [`MediaRequest`] with its files loaded or created.
#[derive(Debug)]
pub(crate) enum Loaded {
    /// `play`.
    Play {
        /// The leg.
        leg: String,
        /// The audio.
        prompt: Prompt,
        /// How often.
        repeat: Repeat,
    },
    /// `collect`.
    Collect {
        /// The leg.
        leg: String,
        /// What to collect, prompts loaded.
        spec: CollectSpec<Prompt>,
    },
    /// `record`.
    Record {
        /// The leg.
        leg: String,
        /// The open recording (boxed: it is much larger than the rest).
        recorder: Box<Recorder>,
        /// Its files.
        paths: Vec<PathBuf>,
    },
}

/// How a media request failed, as the control protocol tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaFailure {
    /// A prompt file is missing or unreadable.
    FileNotFound,
    /// A prompt file is not 8 kHz mono 16-bit PCM WAV (or too long).
    BadAudioFormat,
    /// No text-to-speech engine could be run.
    TtsUnavailable,
    /// An argument cannot be used (a recording path that cannot be created…).
    InvalidArgument,
    /// A fault inside the daemon.
    Internal,
}

fn reply_error(failure: MediaFailure, message: impl Into<String>) -> ReplyError {
    ReplyError::new(adapter::error_code(failure), message)
}

fn player_failure(error: &switchd_player::Error) -> MediaFailure {
    use switchd_player::Error as E;
    match error {
        E::FileNotFound { .. } | E::Io { .. } => MediaFailure::FileNotFound,
        E::WavFormat { .. }
        | E::WavEncoding { .. }
        | E::WavMalformed { .. }
        | E::PromptTooLong { .. } => MediaFailure::BadAudioFormat,
        E::RecordingWrite { .. } => MediaFailure::InvalidArgument,
        _ => MediaFailure::Internal,
    }
}

fn player_error(error: &switchd_player::Error) -> ReplyError {
    reply_error(player_failure(error), error.to_string())
}

/// Settings of the file side of media.
#[derive(Debug, Clone)]
pub(crate) struct MediaFilesSettings {
    /// Most prompts held in memory.
    pub prompt_cache_entries: usize,
    /// The TTS engine.
    pub tts: TtsSettings,
}

/// The shared state of file loading: the prompt cache and the TTS settings.
#[derive(Debug)]
pub(crate) struct MediaFiles {
    cache: Mutex<PromptCache>,
    tts: TtsSettings,
    recorder: RecorderConfig,
}

impl MediaFiles {
    /// Loading state for `settings`.
    pub(crate) fn new(settings: MediaFilesSettings) -> Self {
        let limits = CacheLimits {
            max_entries: settings.prompt_cache_entries,
            ..CacheLimits::default()
        };
        Self {
            cache: Mutex::new(PromptCache::new(limits)),
            tts: settings.tts,
            recorder: RecorderConfig::default(),
        }
    }

    /// The prompt cache's counters.
    pub(crate) fn cache_stats(&self) -> CacheStats {
        self.lock_cache().stats()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, PromptCache> {
        // A panic while loading leaves the cache consistent (entries are
        // inserted whole), so a poisoned lock is still usable.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The prompt at `path`, from the cache or the disk (blocking).
    fn prompt(&self, path: &Path) -> Result<Prompt, ReplyError> {
        self.load_prompt(path).map_err(|error| player_error(&error))
    }

    /// The prompt at `path`, from the cache or the disk (blocking), with
    /// the player's own error.
    pub(crate) fn load_prompt(&self, path: &Path) -> Result<Prompt, switchd_player::Error> {
        let stamp = FileStamp::of(path)?;
        self.lock_cache().get_or_load(path, stamp)
    }

    /// Loads what `request` needs; runs blocking work on the blocking pool.
    pub(crate) async fn load(self: Arc<Self>, request: MediaRequest) -> Result<Loaded, ReplyError> {
        match request {
            MediaRequest::Play {
                leg,
                source,
                repeat,
            } => {
                let path = match source {
                    PromptSource::File(path) => path,
                    PromptSource::Text { text, voice } => tts::synthesize(&self.tts, &text, voice)
                        .await
                        .map_err(|(failure, message)| reply_error(failure, message))?,
                };
                let prompt = self.blocking(move |files| files.prompt(&path)).await?;
                Ok(Loaded::Play {
                    leg,
                    prompt,
                    repeat,
                })
            }
            MediaRequest::Collect { leg, spec } => {
                let spec = self
                    .blocking(move |files| files.collect_prompts(spec))
                    .await?;
                Ok(Loaded::Collect { leg, spec })
            }
            MediaRequest::Record { leg, path, split } => {
                let (recorder, paths) = self
                    .blocking(move |files| files.create_recorder(&path, split))
                    .await?;
                Ok(Loaded::Record {
                    leg,
                    recorder: Box::new(recorder),
                    paths,
                })
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        self: Arc<Self>,
        work: impl FnOnce(&Self) -> Result<T, ReplyError> + Send + 'static,
    ) -> Result<T, ReplyError> {
        tokio::task::spawn_blocking(move || work(&self))
            .await
            .unwrap_or_else(|error| Err(reply_error(MediaFailure::Internal, error.to_string())))
    }

    fn collect_prompts(
        &self,
        spec: CollectSpec<PathBuf>,
    ) -> Result<CollectSpec<Prompt>, ReplyError> {
        let load = |path: Option<PathBuf>| path.map(|path| self.prompt(&path)).transpose();
        Ok(CollectSpec {
            max_digits: spec.max_digits,
            timeout: spec.timeout,
            first_digit_timeout: spec.first_digit_timeout,
            terminator: spec.terminator,
            retries: spec.retries,
            prompt: load(spec.prompt)?,
            timeout_prompt: load(spec.timeout_prompt)?,
        })
    }

    fn create_recorder(
        &self,
        path: &Path,
        split: bool,
    ) -> Result<(Recorder, Vec<PathBuf>), ReplyError> {
        if !split {
            let recorder =
                Recorder::mixed(path, self.recorder).map_err(|error| player_error(&error))?;
            return Ok((recorder, vec![path.to_owned()]));
        }
        let (inbound, outbound) = split_paths(path).ok_or_else(|| {
            let message = format!("{}: not a file name", path.display());
            reply_error(MediaFailure::InvalidArgument, message)
        })?;
        let recorder = Recorder::separate(&inbound, &outbound, self.recorder)
            .map_err(|error| player_error(&error))?;
        Ok((recorder, vec![inbound, outbound]))
    }
}

/// `dir/name.wav` -> `dir/name-in.wav`, `dir/name-out.wav`.
pub(crate) fn split_paths(path: &Path) -> Option<(PathBuf, PathBuf)> {
    let stem = path.file_stem()?.to_str()?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("wav");
    Some((
        path.with_file_name(format!("{stem}-in.{extension}")),
        path.with_file_name(format!("{stem}-out.{extension}")),
    ))
}

#[cfg(test)]
mod tests;
