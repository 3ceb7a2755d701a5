//! Audio codecs: G.711 μ-law/A-law always, Opus behind the `opus` feature.
//!
//! Every codec works on 8 kHz mono `i16` PCM, the switch's internal format, in 20 ms frames
//! ([`FRAME_SAMPLES_8K`] samples). What differs between codecs is the RTP clock: G.711 ticks
//! at 8 kHz, while Opus always uses a 48 kHz RTP clock (RFC 7587: the SDP says
//! `opus/48000/2` whatever rate the coder runs at), so one 20 ms frame advances the RTP
//! timestamp by 960 even though we encode only 160 samples. [`CodecKind::rtp_ticks`] does
//! that conversion; RTP senders and jitter buffers must use it rather than sample counts.

pub mod g711;
#[cfg(feature = "opus")]
pub mod opus;

use crate::Error;

/// Samples in one 20 ms frame at the switch's internal 8 kHz rate.
pub const FRAME_SAMPLES_8K: usize = 160;

/// The internal PCM rate, in Hz.
pub const PCM_RATE_HZ: u32 = 8000;

/// A codec the media engine can terminate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 μ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
    /// Opus (RFC 7587), dynamic payload type, 48 kHz RTP clock.
    Opus,
}

impl CodecKind {
    /// The static RTP payload type, if the codec has one (Opus is negotiated in SDP).
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            Self::Pcmu => Some(0),
            Self::Pcma => Some(8),
            Self::Opus => None,
        }
    }

    /// The RTP timestamp clock rate in Hz, as written in the SDP `a=rtpmap`.
    pub fn rtp_clock_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8000,
            Self::Opus => 48000,
        }
    }

    /// The encoding name and parameters of `a=rtpmap` (`PCMU/8000`, `opus/48000/2`).
    pub fn rtpmap(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU/8000",
            Self::Pcma => "PCMA/8000",
            Self::Opus => "opus/48000/2",
        }
    }

    /// RTP timestamp ticks covered by `samples` of 8 kHz PCM (160 → 160 for G.711, 960 for Opus).
    pub fn rtp_ticks(self, samples_8k: usize) -> u32 {
        let ratio = self.rtp_clock_rate() / PCM_RATE_HZ;
        (samples_8k as u32).wrapping_mul(ratio)
    }

    /// RTP timestamp ticks of one 20 ms frame.
    pub fn rtp_ticks_per_frame(self) -> u32 {
        self.rtp_ticks(FRAME_SAMPLES_8K)
    }
}

/// An audio encoder/decoder pair for one direction-pair of a call leg.
///
/// PCM is 8 kHz mono. Each method appends to `out` and never clears it, so a caller can
/// reuse one buffer for many frames without allocating.
pub trait Codec {
    /// Which codec this is.
    fn kind(&self) -> CodecKind;
    /// Encodes one frame of PCM (normally [`FRAME_SAMPLES_8K`] samples) as an RTP payload.
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), Error>;
    /// Decodes one RTP payload to PCM.
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), Error>;
    /// Produces one 20 ms frame standing in for a lost packet (packet-loss concealment).
    fn conceal(&mut self, out: &mut Vec<i16>) -> Result<(), Error>;
}

/// Any codec, dispatched without a `Box<dyn Codec>`.
#[derive(Debug)]
pub enum AnyCodec {
    /// G.711 either law.
    G711(g711::G711),
    /// Opus at 8 kHz mono.
    #[cfg(feature = "opus")]
    Opus(opus::OpusCodec),
}

impl AnyCodec {
    /// Builds the codec for `kind`.
    ///
    /// Without the `opus` feature, asking for Opus is a [`Error::UnsupportedCodec`].
    pub fn new(kind: CodecKind) -> Result<Self, Error> {
        match kind {
            CodecKind::Pcmu => Ok(Self::G711(g711::G711::new(g711::Law::Mu))),
            CodecKind::Pcma => Ok(Self::G711(g711::G711::new(g711::Law::A))),
            #[cfg(feature = "opus")]
            CodecKind::Opus => Ok(Self::Opus(opus::OpusCodec::new()?)),
            #[cfg(not(feature = "opus"))]
            CodecKind::Opus => Err(Error::UnsupportedCodec { kind }),
        }
    }

    fn inner(&mut self) -> &mut dyn Codec {
        match self {
            Self::G711(codec) => codec,
            #[cfg(feature = "opus")]
            Self::Opus(codec) => codec,
        }
    }
}

impl Codec for AnyCodec {
    fn kind(&self) -> CodecKind {
        match self {
            Self::G711(codec) => codec.kind(),
            #[cfg(feature = "opus")]
            Self::Opus(codec) => codec.kind(),
        }
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), Error> {
        self.inner().encode(pcm, out)
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), Error> {
        self.inner().decode(payload, out)
    }

    fn conceal(&mut self, out: &mut Vec<i16>) -> Result<(), Error> {
        self.inner().conceal(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_frame_advances_rtp_clock_by_960() {
        assert_eq!(CodecKind::Opus.rtp_ticks_per_frame(), 960);
        assert_eq!(CodecKind::Pcmu.rtp_ticks_per_frame(), 160);
        assert_eq!(CodecKind::Pcma.rtp_ticks(320), 320);
        assert_eq!(CodecKind::Opus.rtpmap(), "opus/48000/2");
    }

    #[test]
    fn any_codec_dispatches_g711() -> Result<(), Error> {
        let mut codec = AnyCodec::new(CodecKind::Pcmu)?;
        assert_eq!(codec.kind(), CodecKind::Pcmu);
        let mut payload = Vec::new();
        codec.encode(&[0; FRAME_SAMPLES_8K], &mut payload)?;
        assert_eq!(payload, vec![0xFF; FRAME_SAMPLES_8K]);
        Ok(())
    }
}
