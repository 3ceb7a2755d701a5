//! Verdicts on received audio, shared by the media suite: tones at a test
//! level, the sound in a stream, and the assertion that a stream carried a
//! given tone long enough.

use crate::audio::SAMPLE_RATE;
use crate::audio::analysis::{self, tone};

/// A frequency measured off received audio may be this far from the sent one.
pub const FREQUENCY_TOLERANCE: f64 = 20.0;
/// Tone amplitude: about -12 dBFS, well clear of μ-law's coarse top segments.
pub const AMPLITUDE: f64 = 8000.0;
/// RMS above which a 20 ms frame counts as sound rather than silence.
pub const SOUND_RMS: f64 = 300.0;

/// `seconds` of a `frequency` tone at [`AMPLITUDE`], at 8 kHz.
pub fn tone_for(frequency: f64, seconds: f64) -> Vec<i16> {
    tone(
        frequency,
        AMPLITUDE,
        (seconds * f64::from(SAMPLE_RATE)) as usize,
        SAMPLE_RATE,
    )
}

/// The samples of `audio` in 20 ms frames with sound (RMS of at least
/// [`SOUND_RMS`]).
pub fn sound_only(audio: &[i16]) -> Vec<i16> {
    audio
        .chunks(160)
        .filter(|frame| analysis::rms(frame) >= SOUND_RMS)
        .flatten()
        .copied()
        .collect()
}

/// Asserts that `audio` holds at least `min_seconds` of sound whose dominant
/// frequency is `frequency` (± [`FREQUENCY_TOLERANCE`]); `what` names the
/// audio in the failure message.
pub fn assert_tone(audio: &[i16], frequency: f64, min_seconds: f64, what: &str) {
    let sound = sound_only(audio);
    let seconds = sound.len() as f64 / f64::from(SAMPLE_RATE);
    assert!(
        seconds >= min_seconds,
        "{what}: {seconds:.2} s of sound in {:.2} s received, want at least {min_seconds} s of {frequency} Hz",
        audio.len() as f64 / f64::from(SAMPLE_RATE)
    );
    let measured = analysis::dominant_frequency(&sound, SAMPLE_RATE)
        .unwrap_or_else(|| panic!("{what}: too little sound to measure"));
    assert!(
        (measured - frequency).abs() <= FREQUENCY_TOLERANCE,
        "{what}: dominant frequency {measured} Hz, want {frequency} Hz"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_passes_and_silence_or_another_tone_fails() {
        let mut audio = vec![0i16; 4000];
        audio.extend(tone_for(1000.0, 1.0));
        assert_eq!(sound_only(&audio).len(), 8000);
        assert_tone(&audio, 1000.0, 0.9, "tone");
        let wrong = std::panic::catch_unwind(|| assert_tone(&audio, 1100.0, 0.5, "tone"));
        assert!(wrong.is_err(), "1000 Hz passed for 1100 Hz");
        let short = std::panic::catch_unwind(|| assert_tone(&audio, 1000.0, 1.5, "tone"));
        assert!(short.is_err(), "1 s of sound passed for 1.5 s");
    }
}
