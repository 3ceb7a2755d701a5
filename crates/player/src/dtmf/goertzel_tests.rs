use super::tests_support::{sines, tone};
use super::*;
use crate::dtmf::tone::frequencies;

/// Deterministic Gaussian noise: xorshift64 and the sum of twelve uniforms.
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    fn gaussian(&mut self) -> f32 {
        (0..12).map(|_| self.uniform()).sum::<f32>() - 6.0
    }

    fn add(&mut self, samples: &mut [i16], sigma: f32) {
        for s in samples {
            *s = (f32::from(*s) + sigma * self.gaussian()).clamp(-32768.0, 32767.0) as i16;
        }
    }
}

fn digit(c: char) -> Digit {
    Digit::from_char(c).unwrap()
}

fn detect(samples: &[i16]) -> Vec<DetectedTone> {
    let mut detector = GoertzelDetector::new(DetectorConfig::default());
    // Frames of 160 samples, as the media path delivers them, across 205-sample blocks.
    for frame in samples.chunks(160) {
        detector.push_samples(frame);
    }
    detector.push_samples(&[0; 1000]);
    std::iter::from_fn(|| detector.poll_tone()).collect()
}

fn detected_digits(samples: &[i16]) -> String {
    detect(samples).iter().map(|t| t.digit.as_char()).collect()
}

#[test]
fn all_sixteen_digits_in_noise_each_once() {
    let amplitude = 4000.0;
    // Two tones of peak A carry A² of power; 15 dB below that is the noise variance.
    let sigma = (amplitude * amplitude / 10f32.powf(1.5)).sqrt();
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut signal = Vec::new();
    for d in Digit::ALL {
        signal.extend(tone(d, 100, amplitude));
        signal.extend(std::iter::repeat_n(0, 800));
    }
    noise.add(&mut signal, sigma);
    assert_eq!(detected_digits(&signal), "0123456789*#ABCD");
}

#[test]
fn duration_is_measured_in_blocks() {
    let tones = detect(&tone(digit('5'), 200, 5000.0));
    assert_eq!(tones.len(), 1);
    let ms = tones[0].duration.as_millis();
    assert!((150..=210).contains(&ms), "{ms} ms");
}

#[test]
fn single_tones_are_not_digits() {
    for hz in ROW_HZ.iter().chain(COL_HZ.iter()) {
        assert_eq!(
            detected_digits(&sines(&[(*hz, 8000.0)], 4000)),
            "",
            "{hz} Hz"
        );
    }
}

#[test]
fn speech_like_harmonics_and_noise_are_not_digits() {
    // Voiced speech: a gliding fundamental with many harmonics under a formant envelope.
    let mut speech = Vec::new();
    for (step, f0) in [110.0f32, 125.0, 140.0, 160.0, 180.0, 150.0, 130.0, 175.0]
        .iter()
        .enumerate()
    {
        let parts: Vec<(f32, f32)> = (1..=25)
            .map(|k| {
                let hz = f0 * k as f32;
                let formant = if (500.0..1800.0).contains(&hz) {
                    2500.0
                } else {
                    600.0
                };
                (hz, formant / (1.0 + (k as f32 + step as f32) % 3.0))
            })
            .filter(|(hz, _)| *hz < 3800.0)
            .collect();
        speech.extend(sines(&parts, 2000));
    }
    let mut noise = Noise(7);
    noise.add(&mut speech, 300.0);
    assert_eq!(detected_digits(&speech), "");
    let mut hiss = vec![0i16; 16_000];
    noise.add(&mut hiss, 6000.0);
    assert_eq!(detected_digits(&hiss), "");
}

#[test]
fn too_short_or_too_quiet_tones_are_ignored() {
    assert_eq!(detected_digits(&tone(digit('1'), 20, 8000.0)), "");
    assert_eq!(detected_digits(&tone(digit('1'), 200, 50.0)), "");
}

#[test]
fn twist_limits() {
    let (low, high) = frequencies(digit('8'));
    let at_db = |row_db: f32| {
        let ratio = 10f32.powf(row_db / 20.0);
        sines(&[(low, 3000.0 * ratio), (high, 3000.0)], 1600)
    };
    assert_eq!(
        detected_digits(&at_db(6.0)),
        "8",
        "normal twist of 6 dB passes"
    );
    assert_eq!(
        detected_digits(&at_db(-3.0)),
        "8",
        "reverse twist of 3 dB passes"
    );
    assert_eq!(
        detected_digits(&at_db(11.0)),
        "",
        "normal twist of 11 dB fails"
    );
    assert_eq!(
        detected_digits(&at_db(-6.0)),
        "",
        "reverse twist of 6 dB fails"
    );
}

#[test]
fn short_dropout_is_one_press_and_a_pause_makes_two() {
    let key = digit('#');
    let mut dropout = tone(key, 120, 6000.0);
    dropout.extend(std::iter::repeat_n(0, 160));
    dropout.extend(tone(key, 120, 6000.0));
    assert_eq!(detected_digits(&dropout), "#");
    let mut pause = tone(key, 120, 6000.0);
    pause.extend(std::iter::repeat_n(0, 800));
    pause.extend(tone(key, 120, 6000.0));
    assert_eq!(detected_digits(&pause), "##");
}

#[test]
fn a_digit_directly_followed_by_another_reports_both() {
    let mut samples = tone(digit('1'), 100, 6000.0);
    samples.extend(tone(digit('9'), 100, 6000.0));
    assert_eq!(detected_digits(&samples), "19");
}

#[test]
fn digits_survive_a_g711_round_trip() {
    use switchd_media::codec::Codec;
    use switchd_media::codec::g711::{G711, Law};
    for law in [Law::Mu, Law::A] {
        let mut codec = G711::new(law);
        let mut signal = Vec::new();
        for key in "159#".chars() {
            signal.extend(tone(digit(key), 80, 3000.0));
            signal.extend(std::iter::repeat_n(0, 480));
        }
        let mut decoded = Vec::new();
        for frame in signal.chunks(160) {
            let mut payload = Vec::new();
            codec.encode(frame, &mut payload).unwrap();
            codec.decode(&payload, &mut decoded).unwrap();
        }
        assert_eq!(detected_digits(&decoded), "159#", "{law:?}");
    }
}
