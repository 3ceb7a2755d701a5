//! G.711 μ-law, from the companding rule itself: a sign bit, a 3-bit segment
//! (exponent) and a 4-bit step, all inverted on the wire.

/// Added before segmenting so that every segment has the same shape.
const BIAS: i32 = 0x84;
/// Largest magnitude that still fits the top segment once biased.
const CLIP: i32 = 32_635;

/// One linear sample as a μ-law byte.
pub fn encode(sample: i16) -> u8 {
    let value = i32::from(sample);
    let sign: u8 = if value < 0 { 0x80 } else { 0 };
    let biased = value.abs().min(CLIP) + BIAS;
    // biased is within 132..=32767: its top set bit is bit 7 to 14.
    let top_bit = 31 - biased.leading_zeros() as i32;
    let exponent = (top_bit - 7).clamp(0, 7);
    let mantissa = (biased >> (exponent + 3)) & 0x0F;
    !(sign | ((exponent as u8) << 4) | mantissa as u8)
}

/// One μ-law byte as a linear sample.
pub fn decode(code: u8) -> i16 {
    let code = !code;
    let exponent = i32::from((code >> 4) & 0x07);
    let mantissa = i32::from(code & 0x0F);
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    let value = if code & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    };
    // |value| <= 32124: always fits.
    value as i16
}

/// A payload of μ-law bytes as samples.
pub fn decode_all(payload: &[u8]) -> Vec<i16> {
    payload.iter().map(|&code| decode(code)).collect()
}

/// Samples as a payload of μ-law bytes.
pub fn encode_all(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&sample| encode(sample)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_decode_to_the_table_values() {
        assert_eq!(decode(0xFF), 0);
        assert_eq!(decode(0x7F), 0);
        assert_eq!(decode(0x80), 32_124);
        assert_eq!(decode(0x00), -32_124);
        // Segment 0, step 14 (code 0xF1 inverted is 0x0E): (14*8+132)-132.
        assert_eq!(decode(0xF1), 112);
    }

    #[test]
    fn silence_and_extremes_encode_to_the_table_codes() {
        assert_eq!(encode(0), 0xFF);
        assert_eq!(encode(i16::MAX), 0x80);
        assert_eq!(encode(i16::MIN), 0x00);
    }

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            let back = encode(decode(code));
            // Negative zero (0x7F) comes back as positive zero (0xFF).
            let want = if code == 0x7F { 0xFF } else { code };
            assert_eq!(back, want, "code {code:#04x}");
        }
    }

    #[test]
    fn quantisation_error_stays_within_the_segment_step() {
        for sample in (-32_000i32..32_000).step_by(7) {
            let sample = sample as i16;
            let back = decode(encode(sample));
            let error = (i32::from(back) - i32::from(sample)).abs();
            // The step doubles per segment; half a step is at most 1/32 of the value + 8.
            let bound = i32::from(sample).abs() / 16 + 16;
            assert!(error <= bound, "{sample} came back as {back}");
        }
    }
}
