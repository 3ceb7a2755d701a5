//! Measuring received audio: how strong a frequency is (Goertzel), which
//! frequency dominates, how well a signal matches a source at the best lag,
//! and where the sound is.

use std::f64::consts::PI;

/// `count` samples of a sine at `frequency` Hz with peak `amplitude`,
/// sampled at `rate` Hz, starting at phase 0.
pub fn tone(frequency: f64, amplitude: f64, count: usize, rate: u32) -> Vec<i16> {
    (0..count)
        .map(|n| {
            let value = amplitude * (2.0 * PI * frequency * n as f64 / f64::from(rate)).sin();
            value
                .round()
                .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
        })
        .collect()
}

/// Root mean square of the samples (0 for none).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// The Hann window's weight for sample `n` of `len`.
fn hann(n: usize, len: usize) -> f64 {
    if len < 2 {
        return 1.0;
    }
    0.5 - 0.5 * (2.0 * PI * n as f64 / (len - 1) as f64).cos()
}

/// Power of `frequency` in the (Hann-windowed) samples, normalised by the
/// length so that buffers of different lengths compare: a full-scale sine
/// measured at its own frequency gives about `(amplitude/4)^2`.
pub fn goertzel_power(samples: &[i16], frequency: f64, rate: u32) -> f64 {
    let len = samples.len();
    if len == 0 {
        return 0.0;
    }
    let omega = 2.0 * PI * frequency / f64::from(rate);
    let coefficient = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for (n, &sample) in samples.iter().enumerate() {
        let s0 = f64::from(sample) * hann(n, len) + coefficient * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    power / (len as f64 * len as f64)
}

/// [`goertzel_power`] averaged over consecutive blocks of `block` samples
/// (the whole buffer when shorter): a short block widens the window's main
/// lobe, so a coarse scan cannot step over a tone, and averaging keeps
/// phase jumps between packets from smearing the peak.
pub fn block_power(samples: &[i16], frequency: f64, rate: u32, block: usize) -> f64 {
    let block = block.clamp(1, samples.len().max(1));
    let blocks: Vec<&[i16]> = samples.chunks_exact(block).collect();
    if blocks.is_empty() {
        return 0.0;
    }
    let total: f64 = blocks
        .iter()
        .map(|chunk| goertzel_power(chunk, frequency, rate))
        .sum();
    total / blocks.len() as f64
}

/// The frequency (Hz, between 50 and just under Nyquist) with the most
/// power: a 10 Hz scan over 40 ms blocks (main lobe ±50 Hz), then 1 Hz
/// steps over 200 ms blocks (±10 Hz) around the best. `None` for silence
/// or fewer than 320 samples (40 ms at 8 kHz).
pub fn dominant_frequency(samples: &[i16], rate: u32) -> Option<f64> {
    if samples.len() < 320 || rms(samples) < 1.0 {
        return None;
    }
    let nyquist = f64::from(rate) / 2.0;
    let coarse_block = (rate / 25) as usize;
    let fine_block = (rate / 5) as usize;
    let best = |candidates: &mut dyn Iterator<Item = f64>, block: usize| {
        candidates
            .map(|f| (f, block_power(samples, f, rate, block)))
            .fold(None, |best: Option<(f64, f64)>, (f, p)| match best {
                Some((_, bp)) if bp >= p => best,
                _ => Some((f, p)),
            })
    };
    let coarse_steps = ((nyquist - 60.0) / 10.0) as usize;
    let (coarse, _) = best(
        &mut (0..coarse_steps).map(|i| 50.0 + 10.0 * i as f64),
        coarse_block,
    )?;
    let (fine, _) = best(&mut (-15..=15).map(|d| coarse + f64::from(d)), fine_block)?;
    Some(fine)
}

/// The frequency estimated from the rate of sign changes; a cross-check for
/// [`dominant_frequency`] on a clean tone. `None` for fewer than 2 samples.
pub fn zero_crossing_frequency(samples: &[i16], rate: u32) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let crossings = samples
        .windows(2)
        .filter(|pair| matches!(pair, [a, b] if (*a < 0) != (*b < 0)))
        .count();
    let seconds = samples.len() as f64 / f64::from(rate);
    Some(crossings as f64 / 2.0 / seconds)
}

/// Normalised cross-correlation of `reference` against `signal` shifted by
/// `lag` (`signal[lag + i]` against `reference[i]`, over the overlap): 1 for
/// a scaled copy, about 0 for unrelated audio.
pub fn correlation_at(reference: &[i16], signal: &[i16], lag: isize) -> f64 {
    let (mut dot, mut energy_ref, mut energy_sig) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &r) in reference.iter().enumerate() {
        let Some(index) = (i as isize).checked_add(lag) else {
            continue;
        };
        let Some(&s) = usize::try_from(index).ok().and_then(|j| signal.get(j)) else {
            continue;
        };
        let (r, s) = (f64::from(r), f64::from(s));
        dot += r * s;
        energy_ref += r * r;
        energy_sig += s * s;
    }
    if energy_ref == 0.0 || energy_sig == 0.0 {
        return 0.0;
    }
    dot / (energy_ref * energy_sig).sqrt()
}

/// The first sample whose magnitude reaches `threshold`.
pub fn onset(samples: &[i16], threshold: i16) -> Option<usize> {
    samples
        .iter()
        .position(|&s| s.unsigned_abs() >= threshold.unsigned_abs())
}

/// The best lag (and its correlation) of `reference` within `signal`,
/// searched `window` samples either side of where their onsets line up
/// (sounds start at the first sample reaching a tenth of the reference's
/// peak). `None` when either never reaches that level.
pub fn best_alignment(reference: &[i16], signal: &[i16], window: usize) -> Option<(isize, f64)> {
    let peak = reference.iter().map(|s| s.unsigned_abs()).max()?;
    let threshold = i16::try_from(peak / 10).unwrap_or(i16::MAX).max(1);
    let start_ref = onset(reference, threshold)? as isize;
    let start_sig = onset(signal, threshold)? as isize;
    let centre = start_sig - start_ref;
    let window = window as isize;
    (centre - window..=centre + window)
        .map(|lag| (lag, correlation_at(reference, signal, lag)))
        .fold(None, |best: Option<(isize, f64)>, (lag, c)| match best {
            Some((_, bc)) if bc >= c => best,
            _ => Some((lag, c)),
        })
}

/// Runs of sound: `(first sample, end sample)` of each stretch of 20 ms
/// frames whose RMS reaches `threshold`, gaps of fewer than `bridge_frames`
/// quiet frames joined.
pub fn active_segments(
    samples: &[i16],
    frame: usize,
    threshold: f64,
    bridge_frames: usize,
) -> Vec<(usize, usize)> {
    let mut segments: Vec<(usize, usize)> = Vec::new();
    for (index, chunk) in samples.chunks(frame.max(1)).enumerate() {
        if rms(chunk) < threshold {
            continue;
        }
        let start = index * frame;
        let end = start + chunk.len();
        match segments.last_mut() {
            Some(last) if start <= last.1 + bridge_frames * frame => last.1 = end,
            _ => segments.push((start, end)),
        }
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{SAMPLE_RATE, g711};

    /// A tone through μ-law and back, as a leg would receive it.
    fn companded(frequency: f64, count: usize) -> Vec<i16> {
        g711::decode_all(&g711::encode_all(&tone(
            frequency,
            8000.0,
            count,
            SAMPLE_RATE,
        )))
    }

    #[test]
    fn dominant_frequency_finds_synthesised_tones() {
        for frequency in [300.0, 500.0, 1000.0, 1337.0, 3000.0] {
            let measured = dominant_frequency(&companded(frequency, 8000), SAMPLE_RATE)
                .expect("a tone is not silence");
            assert!(
                (measured - frequency).abs() <= 2.0,
                "{frequency} Hz measured as {measured}"
            );
        }
    }

    #[test]
    fn a_tone_restarting_its_phase_every_packet_is_still_found() {
        // As if a sender re-synthesised each 20 ms frame from phase 0.
        let frame = tone(1000.0 + 50.0 / 3.0, 8000.0, 160, SAMPLE_RATE);
        let choppy: Vec<i16> = frame.iter().copied().cycle().take(8000).collect();
        let measured = dominant_frequency(&choppy, SAMPLE_RATE).expect("sound");
        assert!((measured - 1016.7).abs() <= 20.0, "{measured}");
    }

    #[test]
    fn dominant_frequency_of_silence_is_none() {
        assert_eq!(dominant_frequency(&[0; 8000], SAMPLE_RATE), None);
        assert_eq!(dominant_frequency(&[1000; 300], SAMPLE_RATE), None);
    }

    #[test]
    fn the_louder_of_two_tones_dominates() {
        let low = tone(500.0, 6000.0, 8000, SAMPLE_RATE);
        let high = tone(2000.0, 2000.0, 8000, SAMPLE_RATE);
        let mixed: Vec<i16> = low.iter().zip(&high).map(|(a, b)| a + b).collect();
        let measured = dominant_frequency(&mixed, SAMPLE_RATE).expect("sound");
        assert!((measured - 500.0).abs() <= 2.0, "{measured}");
        let ratio = goertzel_power(&mixed, 2000.0, SAMPLE_RATE)
            / goertzel_power(&mixed, 500.0, SAMPLE_RATE);
        assert!((ratio - 1.0 / 9.0).abs() < 0.02, "power ratio {ratio}");
    }

    #[test]
    fn zero_crossings_agree_on_a_clean_tone() {
        let measured =
            zero_crossing_frequency(&companded(1000.0, 8000), SAMPLE_RATE).expect("long");
        assert!((measured - 1000.0).abs() < 5.0, "{measured}");
    }

    #[test]
    fn correlation_finds_a_delayed_companded_copy() {
        // A chirp: every lag but the right one correlates poorly.
        let chirp: Vec<i16> = (0..4000)
            .map(|n| {
                let t = n as f64 / f64::from(SAMPLE_RATE);
                (8000.0 * (2.0 * PI * (300.0 * t + 1200.0 * t * t)).sin()) as i16
            })
            .collect();
        let mut received = vec![0i16; 437];
        received.extend(g711::decode_all(&g711::encode_all(&chirp)));
        received.extend(vec![0i16; 300]);
        let (lag, score) = best_alignment(&chirp, &received, 50).expect("both have sound");
        assert_eq!(lag, 437);
        assert!(score > 0.99, "{score}");
        assert!(correlation_at(&chirp, &received, 437 + 25) < 0.5);
    }

    #[test]
    fn unrelated_audio_does_not_correlate() {
        let reference = tone(700.0, 8000.0, 4000, SAMPLE_RATE);
        let other = tone(1900.0, 8000.0, 4000, SAMPLE_RATE);
        let (_, score) = best_alignment(&reference, &other, 100).expect("both have sound");
        assert!(score < 0.3, "{score}");
    }

    #[test]
    fn segments_split_on_silence() {
        let mut samples = tone(440.0, 5000.0, 1600, SAMPLE_RATE);
        samples.extend(vec![0i16; 1600]);
        samples.extend(tone(440.0, 5000.0, 800, SAMPLE_RATE));
        let segments = active_segments(&samples, 160, 500.0, 2);
        assert_eq!(segments, vec![(0, 1600), (3200, 4000)]);
    }
}
