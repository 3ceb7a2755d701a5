//! ITU-T G.711 μ-law (PCMU) and A-law (PCMA).
//!
//! Decoding is one lookup in a 256-entry table. Encoding is one lookup in a table indexed by
//! the top 14 (μ-law) or 13 (A-law) bits of the sample, which is exactly the precision G.711
//! reads, so the table is bit-exact with the segment method it is built from. The segment
//! functions stay public as the reference and for `benches/benches/media_g711.rs`, which
//! compares the two (the table wins: a load and a shift against a branchy segment search).
//! All tables are built at compile time.

use super::{Codec, CodecKind, FRAME_SAMPLES_8K};
use crate::Error;

const ULAW_BIAS: i32 = 0x84;
/// Top of each μ-law segment in 14-bit magnitude units (after adding the bias).
const ULAW_SEGMENT_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
/// Top of each A-law segment in 13-bit magnitude units.
const ALAW_SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

const fn segment_of(value: i32, ends: &[i32; 8]) -> usize {
    let mut seg = 0;
    while seg < 8 {
        if value <= ends[seg] {
            return seg;
        }
        seg += 1;
    }
    8
}

/// Encodes one linear sample to μ-law by the segment method (the reference for the table).
pub const fn ulaw_encode_segment(sample: i16) -> u8 {
    // G.711 μ-law reads 14 bits.
    let mut magnitude = (sample as i32) >> 2;
    let mask = if magnitude < 0 {
        magnitude = -magnitude;
        0x7F
    } else {
        0xFF
    };
    if magnitude > 8159 {
        magnitude = 8159;
    }
    magnitude += ULAW_BIAS >> 2;
    let seg = segment_of(magnitude, &ULAW_SEGMENT_END);
    let code = if seg >= 8 {
        0x7F
    } else {
        ((seg as i32) << 4) | ((magnitude >> (seg + 1)) & 0x0F)
    };
    (code ^ mask) as u8
}

/// Decodes one μ-law code word to a linear sample.
pub const fn ulaw_decode_segment(code: u8) -> i16 {
    let code = !code as i32;
    let mut magnitude = ((code & 0x0F) << 3) + ULAW_BIAS;
    magnitude <<= (code & 0x70) >> 4;
    (if code & 0x80 != 0 {
        ULAW_BIAS - magnitude
    } else {
        magnitude - ULAW_BIAS
    }) as i16
}

/// Encodes one linear sample to A-law by the segment method (the reference for the table).
pub const fn alaw_encode_segment(sample: i16) -> u8 {
    // G.711 A-law reads 13 bits.
    let mut magnitude = (sample as i32) >> 3;
    let mask = if magnitude >= 0 {
        0xD5
    } else {
        magnitude = -magnitude - 1;
        0x55
    };
    let seg = segment_of(magnitude, &ALAW_SEGMENT_END);
    let code = if seg >= 8 {
        0x7F
    } else if seg < 2 {
        ((seg as i32) << 4) | ((magnitude >> 1) & 0x0F)
    } else {
        ((seg as i32) << 4) | ((magnitude >> seg) & 0x0F)
    };
    (code ^ mask) as u8
}

/// Decodes one A-law code word to a linear sample.
pub const fn alaw_decode_segment(code: u8) -> i16 {
    let code = (code ^ 0x55) as i32;
    let mut magnitude = (code & 0x0F) << 4;
    let seg = (code & 0x70) >> 4;
    magnitude = match seg {
        0 => magnitude + 8,
        1 => magnitude + 0x108,
        _ => (magnitude + 0x108) << (seg - 1),
    };
    (if code & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    }) as i16
}

const fn build_decode(alaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = if alaw {
            alaw_decode_segment(code as u8)
        } else {
            ulaw_decode_segment(code as u8)
        };
        code += 1;
    }
    table
}

const fn build_ulaw_encode() -> [u8; 1 << 14] {
    let mut table = [0u8; 1 << 14];
    let mut index = 0;
    while index < (1 << 14) {
        // Index = the 14 significant bits; rebuild a sample with those bits on top.
        table[index] = ulaw_encode_segment(((index as u16) << 2) as i16);
        index += 1;
    }
    table
}

const fn build_alaw_encode() -> [u8; 1 << 13] {
    let mut table = [0u8; 1 << 13];
    let mut index = 0;
    while index < (1 << 13) {
        table[index] = alaw_encode_segment(((index as u16) << 3) as i16);
        index += 1;
    }
    table
}

static ULAW_DECODE: [i16; 256] = build_decode(false);
static ALAW_DECODE: [i16; 256] = build_decode(true);
static ULAW_ENCODE: [u8; 1 << 14] = build_ulaw_encode();
static ALAW_ENCODE: [u8; 1 << 13] = build_alaw_encode();

/// Encodes one linear sample to μ-law (table lookup).
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    ULAW_ENCODE[usize::from((sample as u16) >> 2)]
}

/// Decodes one μ-law code word (table lookup).
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// Encodes one linear sample to A-law (table lookup).
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    ALAW_ENCODE[usize::from((sample as u16) >> 3)]
}

/// Decodes one A-law code word (table lookup).
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

/// Which G.711 companding law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// μ-law, RTP payload type 0 (PCMU).
    Mu,
    /// A-law, RTP payload type 8 (PCMA).
    A,
}

/// How many lost frames in a row are concealed by repeating the last one before going silent.
const MAX_CONCEALED_REPEATS: u8 = 3;

/// A G.711 codec with a minimal packet-loss concealment.
///
/// G.711 has no PLC of its own; repeating the last frame at falling gain (-6 dB per lost
/// frame, silence after three) hides single losses far better than a hole of silence and
/// costs nothing. A real G.711 Appendix I PLC can replace it behind the same method.
#[derive(Debug, Clone)]
pub struct G711 {
    law: Law,
    last_frame: Vec<i16>,
    lost_in_row: u8,
}

impl G711 {
    /// A coder for `law`.
    pub fn new(law: Law) -> Self {
        Self {
            law,
            last_frame: Vec::with_capacity(FRAME_SAMPLES_8K),
            lost_in_row: 0,
        }
    }

    /// The law this coder uses.
    pub fn law(&self) -> Law {
        self.law
    }
}

impl Codec for G711 {
    fn kind(&self) -> CodecKind {
        match self.law {
            Law::Mu => CodecKind::Pcmu,
            Law::A => CodecKind::Pcma,
        }
    }

    /// Any number of samples is accepted: G.711 is sample-by-sample.
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), Error> {
        out.reserve(pcm.len());
        match self.law {
            Law::Mu => out.extend(pcm.iter().map(|&s| ulaw_encode(s))),
            Law::A => out.extend(pcm.iter().map(|&s| alaw_encode(s))),
        }
        Ok(())
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), Error> {
        let start = out.len();
        out.reserve(payload.len());
        match self.law {
            Law::Mu => out.extend(payload.iter().map(|&c| ulaw_decode(c))),
            Law::A => out.extend(payload.iter().map(|&c| alaw_decode(c))),
        }
        self.last_frame.clear();
        self.last_frame
            .extend_from_slice(out.get(start..).unwrap_or_default());
        self.lost_in_row = 0;
        Ok(())
    }

    fn conceal(&mut self, out: &mut Vec<i16>) -> Result<(), Error> {
        self.lost_in_row = self.lost_in_row.saturating_add(1);
        if self.lost_in_row > MAX_CONCEALED_REPEATS || self.last_frame.is_empty() {
            let len = if self.last_frame.is_empty() {
                FRAME_SAMPLES_8K
            } else {
                self.last_frame.len()
            };
            out.extend(std::iter::repeat_n(0, len));
            return Ok(());
        }
        let shift = u32::from(self.lost_in_row);
        out.extend(self.last_frame.iter().map(|&s| s >> shift));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amplitude: f64, len: usize) -> Vec<i16> {
        (0..len)
            .map(|n| {
                (amplitude * (2.0 * std::f64::consts::PI * freq * n as f64 / 8000.0).sin()) as i16
            })
            .collect()
    }

    fn snr_db(reference: &[i16], decoded: &[i16]) -> f64 {
        let signal: f64 = reference.iter().map(|&s| f64::from(s).powi(2)).sum();
        let noise: f64 = reference
            .iter()
            .zip(decoded)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        10.0 * (signal / noise).log10()
    }

    #[test]
    fn ulaw_every_code_word_round_trips_except_negative_zero() {
        for code in 0..=255u8 {
            let back = ulaw_encode(ulaw_decode(code));
            if code == 0x7F {
                // 0x7F and 0xFF both decode to 0; 0 encodes to 0xFF.
                assert_eq!(back, 0xFF);
            } else {
                assert_eq!(back, code, "code {code:#04x}");
            }
        }
    }

    #[test]
    fn alaw_every_code_word_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(code)), code, "code {code:#04x}");
        }
    }

    #[test]
    fn tables_match_segment_method_for_every_sample() {
        for sample in i16::MIN..=i16::MAX {
            assert_eq!(ulaw_encode(sample), ulaw_encode_segment(sample), "{sample}");
            assert_eq!(alaw_encode(sample), alaw_encode_segment(sample), "{sample}");
        }
        for code in 0..=255u8 {
            assert_eq!(ulaw_decode(code), ulaw_decode_segment(code));
            assert_eq!(alaw_decode(code), alaw_decode_segment(code));
        }
    }

    #[test]
    fn known_itu_values() {
        // Extremes and zero from the G.711 tables.
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
    }

    #[test]
    fn sine_snr_above_30_db() {
        let pcm = sine(1000.0, 10000.0, 8000);
        for law in [Law::Mu, Law::A] {
            let mut codec = G711::new(law);
            let mut encoded = Vec::new();
            codec.encode(&pcm, &mut encoded).ok();
            assert_eq!(encoded.len(), pcm.len());
            let mut decoded = Vec::new();
            codec.decode(&encoded, &mut decoded).ok();
            let snr = snr_db(&pcm, &decoded);
            assert!(snr > 30.0, "{law:?}: SNR {snr:.1} dB");
        }
    }

    #[test]
    fn conceal_repeats_with_falling_gain_then_silence() {
        let mut codec = G711::new(Law::A);
        let pcm = vec![4000i16; FRAME_SAMPLES_8K];
        let mut encoded = Vec::new();
        codec.encode(&pcm, &mut encoded).ok();
        let mut decoded = Vec::new();
        codec.decode(&encoded, &mut decoded).ok();
        let level = decoded[0];
        let mut peaks = Vec::new();
        for _ in 0..4 {
            let mut out = Vec::new();
            codec.conceal(&mut out).ok();
            assert_eq!(out.len(), FRAME_SAMPLES_8K);
            peaks.push(out[0]);
        }
        assert_eq!(peaks, vec![level >> 1, level >> 2, level >> 3, 0]);
    }
}
