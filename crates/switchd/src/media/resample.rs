//! Turning what a text-to-speech engine writes (espeak-ng: 22050 Hz mono
//! 16-bit) into a prompt the switch plays (8 kHz mono 16-bit), in process,
//! so that no `sox` is needed on the host.
//!
//! Downsampling low-passes first (a 63-tap Hamming-windowed sinc at 90 % of
//! the new Nyquist frequency), then interpolates linearly: plenty for speech
//! on an 8 kHz telephone channel, and simple enough to check by test.

use std::path::Path;
use switchd_player::SAMPLE_RATE_HZ;

/// Taps of the anti-aliasing filter (odd, so it has a centre).
const TAPS: usize = 63;
/// Cut-off as a fraction of the target Nyquist frequency.
const CUTOFF: f64 = 0.9;

/// Why a synthesized file could not be converted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConvertError {
    /// The engine's output is not a WAV file hound can read or write.
    #[error("{}: {source}", path.display())]
    Wav {
        /// The file read or written.
        path: std::path::PathBuf,
        /// hound's error.
        source: hound::Error,
    },
}

/// Converts the WAV file at `input` (any rate, any channel count, integer
/// or float samples) to 8 kHz mono 16-bit PCM at `output`.
pub(crate) fn to_prompt_wav(input: &Path, output: &Path) -> Result<(), ConvertError> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| ConvertError::Wav { path, source }
    };
    let reader = hound::WavReader::open(input).map_err(failed(input))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .map(|s| s.map(f64::from))
            .collect::<Result<_, _>>()
            .map_err(failed(input))?,
        hound::SampleFormat::Int => {
            let scale = 2f64.powi(i32::from(spec.bits_per_sample.clamp(1, 32)) - 1);
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| f64::from(v) / scale))
                .collect::<Result<_, _>>()
                .map_err(failed(input))?
        }
    };
    let mono: Vec<f64> = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f64>() / frame.len() as f64)
        .collect();
    let converted = resample(&mono, spec.sample_rate, SAMPLE_RATE_HZ);
    let out_spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE_HZ,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(output, out_spec).map_err(failed(output))?;
    for sample in converted {
        // Saturate rather than wrap: a filtered peak may overshoot full scale.
        let value = (sample * 32_767.0).round().clamp(-32_768.0, 32_767.0) as i16;
        writer.write_sample(value).map_err(failed(output))?;
    }
    writer.finalize().map_err(failed(output))
}

/// `samples` at `from` Hz, resampled to `to` Hz.
pub(crate) fn resample(samples: &[f64], from: u32, to: u32) -> Vec<f64> {
    if from == to || from == 0 || to == 0 || samples.is_empty() {
        return samples.to_vec();
    }
    let filtered = if to < from {
        low_pass(samples, CUTOFF * f64::from(to) / 2.0 / f64::from(from))
    } else {
        samples.to_vec()
    };
    let ratio = f64::from(from) / f64::from(to);
    let out_len = (samples.len() as f64 / ratio).floor() as usize;
    (0..out_len)
        .map(|n| {
            let position = n as f64 * ratio;
            let index = position.floor() as usize;
            let fraction = position - index as f64;
            let a = filtered.get(index).copied().unwrap_or(0.0);
            let b = filtered.get(index + 1).copied().unwrap_or(a);
            a + (b - a) * fraction
        })
        .collect()
}

/// A windowed-sinc low-pass with cut-off `cutoff` in cycles per sample.
fn low_pass(samples: &[f64], cutoff: f64) -> Vec<f64> {
    let centre = (TAPS / 2) as f64;
    let mut taps: Vec<f64> = (0..TAPS)
        .map(|i| {
            let x = i as f64 - centre;
            let sinc = if x == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
            };
            let window =
                0.54 - 0.46 * (2.0 * std::f64::consts::PI * i as f64 / (TAPS - 1) as f64).cos();
            sinc * window
        })
        .collect();
    // Unity gain at DC.
    let sum: f64 = taps.iter().sum();
    if sum != 0.0 {
        taps.iter_mut().for_each(|tap| *tap /= sum);
    }
    let half = TAPS / 2;
    (0..samples.len())
        .map(|n| {
            taps.iter()
                .enumerate()
                .filter_map(|(k, tap)| {
                    let index = (n + k).checked_sub(half)?;
                    samples.get(index).map(|sample| sample * tap)
                })
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, seconds: f64) -> Vec<f64> {
        let count = (f64::from(rate) * seconds) as usize;
        (0..count)
            .map(|n| 0.5 * (2.0 * std::f64::consts::PI * freq * n as f64 / f64::from(rate)).sin())
            .collect()
    }

    /// RMS of the middle half, away from the filter's edges.
    fn rms(samples: &[f64]) -> f64 {
        let middle = &samples[samples.len() / 4..samples.len() * 3 / 4];
        (middle.iter().map(|s| s * s).sum::<f64>() / middle.len() as f64).sqrt()
    }

    #[test]
    fn speech_band_survives_downsampling() {
        let out = resample(&sine(1000.0, 22_050, 1.0), 22_050, 8000);
        assert_eq!(out.len(), 8000);
        let expected = 0.5 / 2f64.sqrt();
        assert!((rms(&out) - expected).abs() < 0.02, "rms {}", rms(&out));
    }

    #[test]
    fn tones_above_the_new_nyquist_are_filtered_out() {
        // 6 kHz would alias to 2 kHz at 8 kHz without the filter.
        let out = resample(&sine(6000.0, 22_050, 1.0), 22_050, 8000);
        assert!(rms(&out) < 0.035, "rms {}", rms(&out));
    }

    #[test]
    fn converts_a_stereo_22k_file_to_a_playable_prompt() {
        let dir = std::env::temp_dir().join(format!("switchd-resample-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.wav");
        let output = dir.join("out.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 22_050,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&input, spec).unwrap();
        for sample in sine(500.0, 22_050, 0.5) {
            let value = (sample * 32_767.0) as i16;
            writer.write_sample(value).unwrap();
            writer.write_sample(value).unwrap();
        }
        writer.finalize().unwrap();
        to_prompt_wav(&input, &output).unwrap();
        let limits = switchd_player::wav::LoadLimits::default();
        let prompt = switchd_player::wav::load_prompt(&output, &limits).unwrap();
        assert_eq!(prompt.len(), 4000);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_that_is_not_wav_is_an_error() {
        let dir = std::env::temp_dir().join(format!("switchd-resample-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.wav");
        std::fs::write(&input, b"not a wav file").unwrap();
        let error = to_prompt_wav(&input, &dir.join("out.wav")).unwrap_err();
        assert!(error.to_string().contains("in.wav"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
