//! Loading and validating WAV prompts.
//!
//! Greetings must be 8 kHz mono 16-bit linear PCM, the format the `call` API documents and
//! the switch plays without resampling. Anything else is refused with an error that names
//! the file and what it actually holds, so a wrong upload is fixed from one log line.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::{Error, SAMPLE_RATE_HZ, samples_to_duration};

/// Decoded prompt audio, shared between every call playing it.
#[derive(Clone, PartialEq, Eq)]
pub struct Prompt {
    samples: Arc<[i16]>,
}

/// Its length, not its samples: a prompt inside a logged structure (the
/// switch's config holds the hold prompt) must not print a minute of audio.
impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompt")
            .field("samples", &self.samples.len())
            .finish()
    }
}

impl Prompt {
    /// A prompt over samples already in memory (8 kHz mono).
    pub fn from_samples(samples: impl Into<Arc<[i16]>>) -> Self {
        Self {
            samples: samples.into(),
        }
    }

    /// The samples.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether the prompt holds no audio.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Playing time.
    pub fn duration(&self) -> Duration {
        samples_to_duration(self.samples.len() as u64)
    }
}

/// Limits applied when loading a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadLimits {
    /// Longest prompt accepted.
    pub max_duration: Duration,
}

impl Default for LoadLimits {
    /// Ten minutes (9.6 MB of samples).
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(600),
        }
    }
}

impl LoadLimits {
    /// The limit in samples.
    pub fn max_samples(&self) -> u64 {
        let micros = u64::try_from(self.max_duration.as_micros()).unwrap_or(u64::MAX);
        micros.saturating_mul(u64::from(SAMPLE_RATE_HZ)) / 1_000_000
    }
}

/// Loads the prompt at `path`, refusing anything but 8 kHz mono 16-bit PCM within `limits`.
pub fn load_prompt(path: &Path, limits: &LoadLimits) -> Result<Prompt, Error> {
    let file = std::fs::File::open(path).map_err(|err| Error::io(path, &err))?;
    decode_prompt(path, std::io::BufReader::new(file), limits)
}

/// Decodes a prompt from WAV bytes in `reader`; `path` only names it in errors.
pub fn decode_prompt(path: &Path, reader: impl Read, limits: &LoadLimits) -> Result<Prompt, Error> {
    let mut wav = hound::WavReader::new(reader).map_err(|err| wav_error(path, err))?;
    let spec = wav.spec();
    if spec.sample_rate != SAMPLE_RATE_HZ
        || spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(Error::WavFormat {
            path: path.to_owned(),
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            bits_per_sample: spec.bits_per_sample,
            float: spec.sample_format == hound::SampleFormat::Float,
        });
    }
    // The header's length is checked before anything is allocated; the take() below
    // still bounds a reader that disagrees with it.
    let declared = u64::from(wav.duration());
    let max_samples = limits.max_samples();
    if declared > max_samples {
        return Err(Error::PromptTooLong {
            path: path.to_owned(),
            samples: declared,
            max_samples,
        });
    }
    let capacity = usize::try_from(declared).unwrap_or(0);
    let mut samples = Vec::with_capacity(capacity);
    for sample in wav.samples::<i16>().take(capacity) {
        samples.push(sample.map_err(|err| wav_error(path, err))?);
    }
    Ok(Prompt::from_samples(samples))
}

fn wav_error(path: &Path, err: hound::Error) -> Error {
    match err {
        // hound reports a short read inside a sample as a bare `Other` error.
        hound::Error::IoError(io)
            if io.kind() == std::io::ErrorKind::UnexpectedEof
                || (io.kind() == std::io::ErrorKind::Other
                    && io.to_string().contains("read enough bytes")) =>
        {
            Error::WavMalformed {
                path: path.to_owned(),
                detail: "file ends inside its data chunk".to_owned(),
            }
        }
        hound::Error::IoError(io) => Error::io(path, &io),
        hound::Error::Unsupported => Error::WavEncoding {
            path: path.to_owned(),
        },
        other => Error::WavMalformed {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    }
}

/// Test helper shared with the other modules: a WAV file image in memory.
#[cfg(test)]
pub(crate) fn wav_bytes(spec: hound::WavSpec, samples: &[i16]) -> Vec<u8> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
    for &sample in samples {
        match spec.sample_format {
            hound::SampleFormat::Int if spec.bits_per_sample == 8 => {
                writer.write_sample((sample >> 8) as i8).unwrap()
            }
            hound::SampleFormat::Int => writer.write_sample(sample).unwrap(),
            hound::SampleFormat::Float => writer.write_sample(f32::from(sample)).unwrap(),
        }
    }
    writer.finalize().unwrap();
    cursor.into_inner()
}

/// The prompt format: 8 kHz mono 16-bit integer PCM.
#[cfg(test)]
pub(crate) fn good_spec() -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], limits: &LoadLimits) -> Result<Prompt, Error> {
        decode_prompt(Path::new("greeting.wav"), bytes, limits)
    }

    #[test]
    fn loads_8k_mono_16bit_pcm() {
        let samples: Vec<i16> = (0..400).map(|i| (i * 37 % 2000 - 1000) as i16).collect();
        let prompt = decode(&wav_bytes(good_spec(), &samples), &LoadLimits::default()).unwrap();
        assert_eq!(prompt.samples(), &samples[..]);
        assert_eq!(prompt.duration(), Duration::from_millis(50));
    }

    #[test]
    fn wrong_formats_are_named_in_the_error() {
        let cases = [
            (
                11025,
                2,
                16,
                hound::SampleFormat::Int,
                "11025 Hz stereo 16-bit",
            ),
            (8000, 1, 8, hound::SampleFormat::Int, "8000 Hz mono 8-bit"),
            (
                16000,
                1,
                16,
                hound::SampleFormat::Int,
                "16000 Hz mono 16-bit",
            ),
            (
                8000,
                1,
                32,
                hound::SampleFormat::Float,
                "8000 Hz mono 32-bit float",
            ),
            (
                8000,
                3,
                16,
                hound::SampleFormat::Int,
                "8000 Hz 3-channel 16-bit",
            ),
        ];
        for (sample_rate, channels, bits_per_sample, sample_format, words) in cases {
            let spec = hound::WavSpec {
                channels,
                sample_rate,
                bits_per_sample,
                sample_format,
            };
            let samples = vec![0i16; usize::from(channels) * 10];
            let err = decode(&wav_bytes(spec, &samples), &LoadLimits::default()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("greeting.wav: {words}; need 8000 Hz mono 16-bit PCM")
            );
        }
    }

    #[test]
    fn alaw_encoded_wav_is_refused_as_unsupported_encoding() {
        let mut bytes = wav_bytes(good_spec(), &[0; 8]);
        // Rewrite the fmt chunk as A-law: format tag 6, 8000 bytes/s, 1-byte blocks, 8 bits.
        bytes[20..22].copy_from_slice(&6u16.to_le_bytes());
        bytes[28..32].copy_from_slice(&8000u32.to_le_bytes());
        bytes[32..34].copy_from_slice(&1u16.to_le_bytes());
        bytes[34..36].copy_from_slice(&8u16.to_le_bytes());
        let err = decode(&bytes, &LoadLimits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "greeting.wav: unsupported WAV encoding; need 8000 Hz mono 16-bit PCM"
        );
    }

    #[test]
    fn garbage_and_truncated_files_are_malformed() {
        let err = decode(b"this is not a wav file at all", &LoadLimits::default()).unwrap_err();
        assert!(matches!(err, Error::WavMalformed { .. }), "{err:?}");
        let bytes = wav_bytes(good_spec(), &[1; 100]);
        let err = decode(&bytes[..bytes.len() - 50], &LoadLimits::default()).unwrap_err();
        assert!(matches!(err, Error::WavMalformed { .. }), "{err:?}");
    }

    #[test]
    fn prompt_longer_than_the_limit_is_refused() {
        let limits = LoadLimits {
            max_duration: Duration::from_secs(1),
        };
        assert!(decode(&wav_bytes(good_spec(), &[0; 8000]), &limits).is_ok());
        let err = decode(&wav_bytes(good_spec(), &[0; 8001]), &limits).unwrap_err();
        assert_eq!(
            err,
            Error::PromptTooLong {
                path: "greeting.wav".into(),
                samples: 8001,
                max_samples: 8000
            }
        );
    }

    #[test]
    fn missing_file_names_the_path() {
        let path = Path::new("/nonexistent-switchd/prompts/welcome.wav");
        let err = load_prompt(path, &LoadLimits::default()).unwrap_err();
        assert_eq!(err, Error::FileNotFound { path: path.into() });
        assert!(
            err.to_string()
                .contains("/nonexistent-switchd/prompts/welcome.wav")
        );
    }

    #[test]
    fn loads_from_a_file_on_disk() {
        let path =
            std::env::temp_dir().join(format!("switchd-player-wav-{}.wav", std::process::id()));
        std::fs::write(&path, wav_bytes(good_spec(), &[5, -5, 7])).unwrap();
        let prompt = load_prompt(&path, &LoadLimits::default());
        std::fs::remove_file(&path).unwrap();
        assert_eq!(prompt.unwrap().samples(), &[5, -5, 7]);
    }
}
