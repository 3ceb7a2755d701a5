//! The DTMF tone pairs (ITU-T Q.23) and a generator for them.
//!
//! The detector reads its frequencies from here; the generator lets the daemon send a
//! digit in-band to a peer that negotiated no telephone-event, and gives tests and
//! benchmarks their signals.

use super::Digit;
use crate::{FRAME_SAMPLES, PcmFrame, SAMPLE_RATE_HZ};

/// The low-group ("row") frequencies in Hz.
pub const ROW_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];

/// The high-group ("column") frequencies in Hz.
pub const COL_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// `(row, column)` of each digit, by RFC 4733 event code.
const POSITION: [(usize, usize); 16] = [
    (3, 1), // 0
    (0, 0), // 1
    (0, 1), // 2
    (0, 2), // 3
    (1, 0), // 4
    (1, 1), // 5
    (1, 2), // 6
    (2, 0), // 7
    (2, 1), // 8
    (2, 2), // 9
    (3, 0), // *
    (3, 2), // #
    (0, 3), // A
    (1, 3), // B
    (2, 3), // C
    (3, 3), // D
];

/// Row and column index of `digit` on the 4x4 keypad.
pub fn keypad_position(digit: Digit) -> (usize, usize) {
    POSITION
        .get(usize::from(digit.event()))
        .copied()
        .unwrap_or((3, 1))
}

/// The digit at `row`, `col` of the keypad.
pub fn digit_at(row: usize, col: usize) -> Option<Digit> {
    let code = POSITION.iter().position(|&at| at == (row, col))?;
    Digit::from_event(u8::try_from(code).ok()?)
}

/// The low and high frequency of `digit`, in Hz.
pub fn frequencies(digit: Digit) -> (f32, f32) {
    let (row, col) = keypad_position(digit);
    (ROW_HZ[row], COL_HZ[col])
}

/// A frame source playing one digit's tone pair for a given number of samples.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    steps: (f32, f32),
    amplitude: f32,
    position: usize,
    len: usize,
}

impl ToneGenerator {
    /// `len` samples of `digit`, each tone of peak `amplitude` (about 5,000 is -19 dBm0
    /// per tone, a common sending level).
    pub fn new(digit: Digit, len: usize, amplitude: f32) -> Self {
        let (low, high) = frequencies(digit);
        let step = |hz: f32| 2.0 * std::f32::consts::PI * hz / SAMPLE_RATE_HZ as f32;
        Self {
            steps: (step(low), step(high)),
            amplitude,
            position: 0,
            len,
        }
    }

    fn sample(&self, n: usize) -> i16 {
        // Phase from the sample index, so no rounding error builds up over long tones.
        let n = n as f32;
        let value = self.amplitude * ((self.steps.0 * n).sin() + (self.steps.1 * n).sin());
        value.clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
    }

    /// The next 20 ms (the last one padded with silence), or `None` when done.
    pub fn next_frame(&mut self) -> Option<PcmFrame> {
        if self.position >= self.len {
            return None;
        }
        let mut frame = [0i16; FRAME_SAMPLES];
        let take = (self.len - self.position).min(FRAME_SAMPLES);
        for (i, slot) in frame.iter_mut().take(take).enumerate() {
            *slot = self.sample(self.position + i);
        }
        self.position += take;
        Some(frame)
    }
}

/// `len` samples of `digit`, each tone of peak `amplitude`.
pub fn generate(digit: Digit, len: usize, amplitude: f32) -> Vec<i16> {
    let generator = ToneGenerator::new(digit, len, amplitude);
    (0..len).map(|n| generator.sample(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypad_layout() {
        let rows: Vec<String> = (0..4)
            .map(|row| {
                (0..4)
                    .filter_map(|col| digit_at(row, col))
                    .map(|d| d.as_char())
                    .collect()
            })
            .collect();
        assert_eq!(rows, ["123A", "456B", "789C", "*0#D"]);
        assert_eq!(frequencies(Digit::ALL[0]), (941.0, 1336.0));
        assert_eq!(digit_at(4, 0), None);
    }

    #[test]
    fn generator_frames_match_generate_and_end() {
        let digit = Digit::ALL[5];
        let mut generator = ToneGenerator::new(digit, 400, 5000.0);
        let frames: Vec<PcmFrame> = std::iter::from_fn(|| generator.next_frame()).collect();
        assert_eq!(frames.len(), 3);
        let flat: Vec<i16> = frames.iter().flatten().copied().collect();
        assert_eq!(&flat[..400], &generate(digit, 400, 5000.0)[..]);
        assert!(flat[400..].iter().all(|&s| s == 0));
        let peak = flat.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(
            (9000..=10000).contains(&peak),
            "two tones of 5000 peak near 10000: {peak}"
        );
    }
}
