//! Call recording into WAV files (8 kHz mono 16-bit PCM).
//!
//! Either both directions mixed into one file (samples summed, saturating) or each
//! direction into its own file, for transcription or quality review. A recording must
//! never take a call down: a write error (disk full, file system gone read-only) ends the
//! recording, later frames are dropped, and [`Recorder::finish`] returns the error for the
//! daemon to log and report while the call goes on. A length limit keeps a forgotten
//! recording from filling the disk.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Error, SAMPLE_RATE_HZ, samples_to_duration};

/// Limits of one recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderConfig {
    /// Audio beyond this length is dropped (the recording stays valid).
    pub max_duration: Duration,
}

impl Default for RecorderConfig {
    /// Four hours.
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(4 * 3600),
        }
    }
}

/// What a finished recording amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingSummary {
    /// Audio length (of each file, for a two-file recording).
    pub duration: Duration,
    /// Bytes written over all files, headers included.
    pub bytes: u64,
    /// Whether audio was dropped at the length limit.
    pub truncated: bool,
}

struct Track {
    path: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
}

enum Layout {
    Mixed(Track),
    Separate { inbound: Track, outbound: Track },
}

/// One recording in progress.
pub struct Recorder {
    layout: Option<Layout>,
    failure: Option<Error>,
    samples: u64,
    max_samples: u64,
    truncated: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("samples", &self.samples)
            .field("failure", &self.failure)
            .field("truncated", &self.truncated)
            .finish_non_exhaustive()
    }
}

fn spec() -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE_HZ,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

fn write_error(path: &Path, err: hound::Error) -> Error {
    Error::RecordingWrite {
        path: path.to_owned(),
        detail: err.to_string(),
    }
}

impl Track {
    fn create(path: &Path) -> Result<Self, Error> {
        let writer =
            hound::WavWriter::create(path, spec()).map_err(|err| write_error(path, err))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
        })
    }

    fn write(&mut self, samples: impl Iterator<Item = i16>) -> Result<(), Error> {
        for sample in samples {
            self.writer
                .write_sample(sample)
                .map_err(|err| write_error(&self.path, err))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<u64, Error> {
        self.writer
            .finalize()
            .map_err(|err| write_error(&self.path, err))?;
        let bytes = std::fs::metadata(&self.path).map_err(|err| Error::io(&self.path, &err))?;
        Ok(bytes.len())
    }
}

impl Recorder {
    /// Records both directions mixed into one file at `path`.
    pub fn mixed(path: &Path, config: RecorderConfig) -> Result<Self, Error> {
        Ok(Self::with(Layout::Mixed(Track::create(path)?), config))
    }

    /// Records what the peer sends into `inbound` and what it hears into `outbound`.
    pub fn separate(
        inbound: &Path,
        outbound: &Path,
        config: RecorderConfig,
    ) -> Result<Self, Error> {
        let inbound = Track::create(inbound)?;
        let outbound = Track::create(outbound)?;
        Ok(Self::with(Layout::Separate { inbound, outbound }, config))
    }

    fn with(layout: Layout, config: RecorderConfig) -> Self {
        let micros = u64::try_from(config.max_duration.as_micros()).unwrap_or(u64::MAX);
        Self {
            layout: Some(layout),
            failure: None,
            samples: 0,
            max_samples: micros.saturating_mul(u64::from(SAMPLE_RATE_HZ)) / 1_000_000,
            truncated: false,
        }
    }

    /// Records one stretch of audio: `inbound` from the peer, `outbound` to it. A direction
    /// with nothing to say passes `&[]`; the shorter side is padded with silence.
    ///
    /// After a write error every call returns that error and records nothing.
    pub fn record(&mut self, inbound: &[i16], outbound: &[i16]) -> Result<(), Error> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let Some(layout) = self.layout.as_mut() else {
            return Ok(());
        };
        let len = inbound.len().max(outbound.len()) as u64;
        let room = self.max_samples.saturating_sub(self.samples);
        if len > room {
            self.truncated = true;
        }
        let take = usize::try_from(len.min(room)).unwrap_or(0);
        if take == 0 {
            return Ok(());
        }
        let side = |samples: &[i16], i: usize| samples.get(i).copied().unwrap_or(0);
        let result = match layout {
            Layout::Mixed(track) => {
                track.write((0..take).map(|i| side(inbound, i).saturating_add(side(outbound, i))))
            }
            Layout::Separate {
                inbound: rx,
                outbound: tx,
            } => rx
                .write((0..take).map(|i| side(inbound, i)))
                .and_then(|()| tx.write((0..take).map(|i| side(outbound, i)))),
        };
        match result {
            Ok(()) => {
                self.samples += take as u64;
                Ok(())
            }
            Err(err) => {
                // Drop the writers now: the file is abandoned, not finalized later.
                self.layout = None;
                self.failure = Some(err.clone());
                Err(err)
            }
        }
    }

    /// Whether a write error ended the recording.
    pub fn has_failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Audio recorded so far.
    pub fn duration(&self) -> Duration {
        samples_to_duration(self.samples)
    }

    /// Completes the files (WAV header lengths) and reports what was recorded, or the
    /// error that ended the recording.
    pub fn finish(mut self) -> Result<RecordingSummary, Error> {
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        let bytes = match self.layout.take() {
            Some(Layout::Mixed(track)) => track.finish()?,
            Some(Layout::Separate { inbound, outbound }) => {
                let rx = inbound.finish();
                let tx = outbound.finish();
                rx? + tx?
            }
            None => 0,
        };
        Ok(RecordingSummary {
            duration: samples_to_duration(self.samples),
            bytes,
            truncated: self.truncated,
        })
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
