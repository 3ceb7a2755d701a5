//! Opus through libopus (audiopus), 8 kHz mono, `Application::Voip`.
//!
//! Opus runs at 8 kHz internally to match the switch's PCM, but its RTP clock is always
//! 48 kHz (RFC 7587): a 20 ms frame is 160 samples here and 960 RTP ticks on the wire. See
//! [`CodecKind::rtp_ticks`](super::CodecKind::rtp_ticks).

use audiopus::coder::{Decoder, Encoder};
use audiopus::packet::Packet;
use audiopus::{Application, Channels, MutSignals, SampleRate};

use super::{Codec, CodecKind, FRAME_SAMPLES_8K};
use crate::Error;
use crate::error::OpusOperation;

/// The largest Opus packet (RFC 6716 §3.4, R5: 1275 bytes per frame).
const MAX_PACKET_BYTES: usize = 1275;
/// The longest Opus packet is 120 ms: 960 samples at 8 kHz.
const MAX_DECODED_SAMPLES: usize = 960;
/// Frame sizes libopus accepts at 8 kHz (2.5 to 60 ms).
const ENCODABLE_SAMPLES: [usize; 6] = [20, 40, 80, 160, 320, 480];

fn opus_error(operation: OpusOperation) -> impl Fn(audiopus::Error) -> Error {
    move |err| Error::Opus {
        operation,
        detail: err.to_string(),
    }
}

/// An Opus encoder and decoder at 8 kHz mono.
pub struct OpusCodec {
    encoder: Encoder,
    decoder: Decoder,
}

impl std::fmt::Debug for OpusCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusCodec").finish_non_exhaustive()
    }
}

impl OpusCodec {
    /// Creates the libopus encoder (VoIP application) and decoder.
    pub fn new() -> Result<Self, Error> {
        let encoder = Encoder::new(SampleRate::Hz8000, Channels::Mono, Application::Voip)
            .map_err(opus_error(OpusOperation::Create))?;
        let decoder = Decoder::new(SampleRate::Hz8000, Channels::Mono)
            .map_err(opus_error(OpusOperation::Create))?;
        Ok(Self { encoder, decoder })
    }

    fn decode_into(
        &mut self,
        payload: Option<&[u8]>,
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<(), Error> {
        let start = out.len();
        out.resize(start + samples, 0);
        let result = (|| {
            let packet = payload
                .map(Packet::try_from)
                .transpose()
                .map_err(opus_error(OpusOperation::Decode))?;
            let tail = out.get_mut(start..).unwrap_or_default();
            let signals = MutSignals::try_from(tail).map_err(opus_error(OpusOperation::Decode))?;
            self.decoder
                .decode(packet, signals, false)
                .map_err(opus_error(OpusOperation::Decode))
        })();
        match result {
            Ok(decoded) => {
                out.truncate(start + decoded.min(samples));
                Ok(())
            }
            Err(err) => {
                out.truncate(start);
                Err(err)
            }
        }
    }
}

impl Codec for OpusCodec {
    fn kind(&self) -> CodecKind {
        CodecKind::Opus
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), Error> {
        if !ENCODABLE_SAMPLES.contains(&pcm.len()) {
            return Err(Error::FrameSize {
                got: pcm.len(),
                expected: FRAME_SAMPLES_8K,
            });
        }
        let start = out.len();
        out.resize(start + MAX_PACKET_BYTES, 0);
        let tail = out.get_mut(start..).unwrap_or_default();
        match self.encoder.encode(pcm, tail) {
            Ok(written) => {
                out.truncate(start + written);
                Ok(())
            }
            Err(err) => {
                out.truncate(start);
                Err(opus_error(OpusOperation::Encode)(err))
            }
        }
    }

    /// Accepts any Opus packet up to 120 ms; garbage is an [`Error::Opus`], never a panic.
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), Error> {
        self.decode_into(Some(payload), MAX_DECODED_SAMPLES, out)
    }

    /// Runs libopus's own PLC for one 20 ms frame.
    fn conceal(&mut self, out: &mut Vec<i16>) -> Result<(), Error> {
        self.decode_into(None, FRAME_SAMPLES_8K, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(len: usize) -> Vec<i16> {
        (0..len)
            .map(|n| {
                (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / 8000.0).sin()) as i16
            })
            .collect()
    }

    /// Normalised cross-correlation at the best lag within `max_lag` samples (the codec delays).
    fn best_correlation(reference: &[i16], decoded: &[i16], max_lag: usize) -> f64 {
        (0..max_lag)
            .map(|lag| {
                let pairs = reference.iter().zip(decoded.iter().skip(lag));
                let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
                for (&x, &y) in pairs {
                    let (x, y) = (f64::from(x), f64::from(y));
                    xy += x * y;
                    xx += x * x;
                    yy += y * y;
                }
                xy / (xx * yy).sqrt().max(1.0)
            })
            .fold(f64::MIN, f64::max)
    }

    #[test]
    fn tone_survives_encode_decode() -> Result<(), Error> {
        let mut codec = OpusCodec::new()?;
        let pcm = tone(FRAME_SAMPLES_8K * 50);
        let mut decoded = Vec::new();
        let mut payload = Vec::new();
        for frame in pcm.chunks(FRAME_SAMPLES_8K) {
            payload.clear();
            codec.encode(frame, &mut payload)?;
            assert!(!payload.is_empty() && payload.len() < 400);
            codec.decode(&payload, &mut decoded)?;
        }
        assert_eq!(decoded.len(), pcm.len());
        // Skip the first frames while the coder settles.
        let corr = best_correlation(&pcm[800..], &decoded[800..], 200);
        assert!(corr > 0.9, "correlation {corr}");
        Ok(())
    }

    #[test]
    fn conceal_yields_one_frame_and_garbage_is_an_error() -> Result<(), Error> {
        let mut codec = OpusCodec::new()?;
        let mut out = Vec::new();
        codec.conceal(&mut out)?;
        assert_eq!(out.len(), FRAME_SAMPLES_8K);
        let before = out.len();
        // TOC code 3 with a zero frame count is invalid.
        assert!(codec.decode(&[0x03, 0x00], &mut out).is_err());
        assert!(codec.decode(&[], &mut out).is_err());
        assert_eq!(out.len(), before);
        Ok(())
    }

    #[test]
    fn wrong_frame_size_is_refused() -> Result<(), Error> {
        let mut codec = OpusCodec::new()?;
        let mut out = Vec::new();
        let err = codec.encode(&[0; 100], &mut out);
        assert_eq!(
            err,
            Err(Error::FrameSize {
                got: 100,
                expected: FRAME_SAMPLES_8K
            })
        );
        Ok(())
    }
}
