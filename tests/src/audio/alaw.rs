//! G.711 A-law, from the companding rule itself (written independently of
//! the daemon's codec, like [`g711`](crate::audio::g711) for μ-law): a sign
//! bit, a 3-bit segment and a 4-bit step on a 13-bit magnitude, with the
//! even bits inverted on the wire (XOR 0x55).

/// The wire inversion of even bits.
const EVEN_BITS: u8 = 0x55;

/// One linear sample as an A-law byte.
pub fn encode(sample: i16) -> u8 {
    // A-law works on 13 bits; a negative value is coded as its one's
    // complement, which keeps -1 and 0 symmetric around the origin.
    let linear = i32::from(sample) >> 3;
    let (sign, magnitude) = if linear >= 0 {
        (0x80u8, linear)
    } else {
        (0u8, -linear - 1)
    };
    let magnitude = magnitude.min(0x0FFF);
    // Segment 0 and 1 share the finest step; above, each doubles it.
    let top_bit = 31 - (magnitude | 1).leading_zeros() as i32;
    let segment = (top_bit - 4).clamp(0, 7);
    let shift = if segment == 0 { 1 } else { segment };
    let step = (magnitude >> shift) & 0x0F;
    (sign | ((segment as u8) << 4) | step as u8) ^ EVEN_BITS
}

/// One A-law byte as a linear sample.
pub fn decode(code: u8) -> i16 {
    let code = code ^ EVEN_BITS;
    let segment = i32::from((code >> 4) & 0x07);
    // The middle of the step, in 16-bit scale.
    let mut magnitude = (i32::from(code & 0x0F) << 4) + 8;
    if segment >= 1 {
        magnitude += 0x100;
    }
    if segment >= 2 {
        magnitude <<= segment - 1;
    }
    let value = if code & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    };
    value as i16
}

/// Every sample of `samples`, encoded.
pub fn encode_all(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| encode(s)).collect()
}

/// Every byte of `codes`, decoded.
pub fn decode_all(codes: &[u8]) -> Vec<i16> {
    codes.iter().map(|&c| decode(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_decode_to_the_tables_values() {
        // ITU-T G.711 table 1 and 2: 0xD5 is the smallest positive value,
        // 0xAA the largest, 0x55 and 0x2A their negatives.
        assert_eq!(decode(0xD5), 8);
        assert_eq!(decode(0x55), -8);
        assert_eq!(decode(0xAA), 32_256);
        assert_eq!(decode(0x2A), -32_256);
        assert_eq!(encode(0), 0xD5);
        assert_eq!(encode(-1), 0x55);
        assert_eq!(encode(i16::MAX), 0xAA);
        assert_eq!(encode(i16::MIN), 0x2A);
    }

    #[test]
    fn every_code_round_trips_and_samples_stay_within_a_step() {
        for code in 0..=255u8 {
            assert_eq!(encode(decode(code)), code, "code {code:#04x}");
        }
        for sample in (i16::MIN..=i16::MAX).step_by(7) {
            let back = i32::from(decode(encode(sample)));
            let error = (back - i32::from(sample)).abs();
            // The step is 16 at the bottom, doubling per segment to 1024;
            // a decoded value sits mid-step.
            let allowed = (i32::from(sample).abs() / 32).max(16) + 1;
            assert!(error <= allowed, "{sample} came back as {back}");
        }
    }
}
