//! In-band DTMF detection: Goertzel filters on the eight DTMF frequencies.
//!
//! Audio is cut into blocks of 205 samples (25.6 ms at 8 kHz, bins about 39 Hz apart,
//! enough to separate 697 from 770 Hz). A block holds a digit when the strongest row tone
//! and the strongest column tone:
//! - are each above an absolute level (quiet lines are not digits),
//! - are within the allowed twist of each other (column up to 8 dB weaker, "normal twist",
//!   or up to 4 dB stronger, "reverse twist"),
//! - stand clear of the other tones of their group (relative peak),
//! - carry most of the block's energy (speech and music spread theirs over many
//!   frequencies, a DTMF pair concentrates it in two).
//!
//! A digit must hold for two consecutive blocks (about 40 ms, ITU-T Q.24's minimum) and is
//! reported once when it ends, after a gap of two blocks without it: a dropout shorter than
//! that is the same press continuing.

use std::collections::VecDeque;
use std::time::Duration;

use super::Digit;
use super::tone::{COL_HZ, ROW_HZ, digit_at};
use crate::SAMPLE_RATE_HZ;

/// Thresholds of a [`GoertzelDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Samples per analysis block.
    pub block_len: usize,
    /// Smallest peak amplitude of each tone, in sample units.
    pub min_amplitude: f32,
    /// How much weaker the column tone may be than the row tone, in dB.
    pub normal_twist_db: f32,
    /// How much weaker the row tone may be than the column tone, in dB.
    pub reverse_twist_db: f32,
    /// How far above every other tone of its group each tone must be, in dB.
    pub relative_peak_db: f32,
    /// Smallest share of the block's energy the two tones must carry (0-1).
    pub min_tone_fraction: f32,
    /// Consecutive blocks a digit must hold.
    pub min_blocks: u32,
    /// Blocks without the digit that end it.
    pub gap_blocks: u32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            block_len: 205,
            min_amplitude: 150.0,
            normal_twist_db: 8.0,
            reverse_twist_db: 4.0,
            relative_peak_db: 10.0,
            min_tone_fraction: 0.6,
            min_blocks: 2,
            gap_blocks: 2,
        }
    }
}

/// A digit found in the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectedTone {
    /// The key.
    pub digit: Digit,
    /// How long it was heard, in whole blocks.
    pub duration: Duration,
}

/// Reports beyond this many undrained are dropped.
const QUEUE_CAP: usize = 32;

/// In-band DTMF detector of one audio stream.
#[derive(Debug, Clone)]
pub struct GoertzelDetector {
    config: DetectorConfig,
    row_coefs: [f32; 4],
    col_coefs: [f32; 4],
    block: Vec<f32>,
    current: Option<Digit>,
    hits: u32,
    misses: u32,
    queue: VecDeque<DetectedTone>,
}

impl GoertzelDetector {
    /// A detector with `config` (the block length is kept between 64 and 1024 samples).
    pub fn new(mut config: DetectorConfig) -> Self {
        config.block_len = config.block_len.clamp(64, 1024);
        let coef = |hz: f32| 2.0 * (2.0 * std::f32::consts::PI * hz / SAMPLE_RATE_HZ as f32).cos();
        Self {
            config,
            row_coefs: ROW_HZ.map(coef),
            col_coefs: COL_HZ.map(coef),
            block: Vec::with_capacity(config.block_len),
            current: None,
            hits: 0,
            misses: 0,
            queue: VecDeque::new(),
        }
    }

    /// Feeds 8 kHz mono samples (any count; blocks span calls).
    pub fn push_samples(&mut self, samples: &[i16]) {
        for &sample in samples {
            self.block.push(f32::from(sample));
            if self.block.len() == self.config.block_len {
                let found = self.classify_block();
                self.block.clear();
                self.advance(found);
            }
        }
    }

    /// The next digit that ended.
    pub fn poll_tone(&mut self) -> Option<DetectedTone> {
        self.queue.pop_front()
    }

    fn classify_block(&self) -> Option<Digit> {
        let block = &self.block;
        let rows = self.row_coefs.map(|coef| goertzel_power(block, coef));
        let cols = self.col_coefs.map(|coef| goertzel_power(block, coef));
        let (row, row_power) = strongest(&rows);
        let (col, col_power) = strongest(&cols);
        let config = &self.config;
        let n = block.len() as f32;
        // A sine of amplitude A gives a Goertzel power of (A·N/2)².
        let min_power = (config.min_amplitude * n / 2.0).powi(2);
        if row_power < min_power || col_power < min_power {
            return None;
        }
        if col_power < row_power / db(config.normal_twist_db)
            || row_power < col_power / db(config.reverse_twist_db)
        {
            return None;
        }
        let peak = db(config.relative_peak_db);
        let clear = |powers: &[f32; 4], best: usize| {
            powers
                .iter()
                .enumerate()
                .all(|(i, &p)| i == best || p * peak <= powers[best])
        };
        if !clear(&rows, row) || !clear(&cols, col) {
            return None;
        }
        // Goertzel power P of a tone holds 2P/N of the block's energy Σx².
        let energy: f32 = block.iter().map(|x| x * x).sum();
        let tone_energy = 2.0 * (row_power + col_power) / n;
        if tone_energy < config.min_tone_fraction * energy {
            return None;
        }
        digit_at(row, col)
    }

    fn advance(&mut self, found: Option<Digit>) {
        let confirmed = self.hits >= self.config.min_blocks;
        match found {
            Some(digit) if Some(digit) == self.current => {
                self.hits += 1;
                self.misses = 0;
            }
            Some(digit) => {
                if confirmed {
                    self.report();
                }
                self.current = Some(digit);
                self.hits = 1;
                self.misses = 0;
            }
            None if confirmed => {
                self.misses += 1;
                if self.misses >= self.config.gap_blocks {
                    self.report();
                    self.current = None;
                    self.hits = 0;
                    self.misses = 0;
                }
            }
            None => {
                self.current = None;
                self.hits = 0;
            }
        }
    }

    fn report(&mut self) {
        let Some(digit) = self.current else {
            return;
        };
        let samples = u64::from(self.hits) * self.config.block_len as u64;
        if self.queue.len() < QUEUE_CAP {
            self.queue.push_back(DetectedTone {
                digit,
                duration: crate::samples_to_duration(samples),
            });
        }
    }
}

/// Squared magnitude of the DFT of `block` at the frequency of `coef` (2·cos ω).
fn goertzel_power(block: &[f32], coef: f32) -> f32 {
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in block {
        let s0 = x + coef * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coef * s1 * s2
}

fn strongest(powers: &[f32; 4]) -> (usize, f32) {
    powers.iter().copied().enumerate().fold(
        (0, f32::MIN),
        |best, (i, p)| if p > best.1 { (i, p) } else { best },
    )
}

/// A power ratio from decibels.
fn db(decibels: f32) -> f32 {
    10f32.powf(decibels / 10.0)
}

/// Signal generators shared by this crate's unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// `ms` milliseconds of `digit`, each tone of peak `amplitude`.
    pub fn tone(digit: Digit, ms: usize, amplitude: f32) -> Vec<i16> {
        super::super::tone::generate(digit, ms * 8, amplitude)
    }

    /// `len` samples of a sum of sines `(hz, amplitude)`.
    pub fn sines(parts: &[(f32, f32)], len: usize) -> Vec<i16> {
        (0..len)
            .map(|i| {
                let t = i as f32 / 8000.0;
                let v: f32 = parts
                    .iter()
                    .map(|&(hz, a)| a * (2.0 * std::f32::consts::PI * hz * t).sin())
                    .sum();
                v.clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "goertzel_tests.rs"]
mod tests;
