//! Far ends that speak a codec other than PCMU: SDP bodies offering one
//! codec, a paced sender that encodes with it, and decoding what came back.
//! μ-law and A-law are the harness's own ([`g711`], [`alaw`]); Opus is
//! libopus through `switchd-media` (there is no second Opus to check it
//! against, but its round trip is checked here, on its own).

use crate::audio::rtp::ReceivedPacket;
use crate::audio::sender::{Pacer, RtpStream};
use crate::audio::{FRAME_SAMPLES, alaw, g711};
use std::thread::JoinHandle;
use switchd_media::codec::Codec as _;
use switchd_media::codec::opus::OpusCodec;

/// The dynamic payload type a far end offers Opus with (the one most
/// phones use).
pub const OPUS_PT: u8 = 111;

/// The audio codec a far end offers alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FarCodec {
    /// G.711 μ-law, payload type 0.
    Pcmu,
    /// G.711 A-law, payload type 8.
    Pcma,
    /// Opus, payload type [`OPUS_PT`], 48 kHz RTP clock, coded at 8 kHz mono.
    Opus,
}

impl FarCodec {
    /// The payload type offered.
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
            Self::Opus => OPUS_PT,
        }
    }

    /// The `a=rtpmap` encoding.
    pub fn rtpmap(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU/8000",
            Self::Pcma => "PCMA/8000",
            Self::Opus => "opus/48000/2",
        }
    }

    /// RTP timestamp ticks per 20 ms frame: 160 at 8 kHz, 960 for Opus,
    /// whose RTP clock is 48 kHz whatever rate it codes at (RFC 7587).
    pub fn ticks_per_frame(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => FRAME_SAMPLES as u32,
            Self::Opus => 960,
        }
    }

    /// An SDP offer or answer for RTP on 127.0.0.1:`port` with this codec
    /// only (no telephone-event).
    pub fn sdp(self, port: u16) -> String {
        let pt = self.payload_type();
        let fmtp = match self {
            Self::Opus => format!("a=fmtp:{pt} useinbandfec=0\r\n"),
            Self::Pcmu | Self::Pcma => String::new(),
        };
        format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP {pt}\r\na=rtpmap:{pt} {}\r\n{fmtp}\
             a=ptime:20\r\na=sendrecv\r\n",
            self.rtpmap()
        )
    }

    /// An encoder and decoder for this codec.
    pub fn coder(self) -> Coder {
        match self {
            Self::Pcmu => Coder::Pcmu,
            Self::Pcma => Coder::Pcma,
            Self::Opus => Coder::Opus(Box::new(
                OpusCodec::new().unwrap_or_else(|e| panic!("cannot create libopus coder: {e}")),
            )),
        }
    }
}

/// Encoding and decoding state for one direction of one [`FarCodec`].
#[derive(Debug)]
pub enum Coder {
    /// μ-law (stateless).
    Pcmu,
    /// A-law (stateless).
    Pcma,
    /// libopus at 8 kHz mono.
    Opus(Box<OpusCodec>),
}

impl Coder {
    /// One 20 ms frame of 8 kHz samples as a payload.
    pub fn encode(&mut self, frame: &[i16]) -> Vec<u8> {
        match self {
            Self::Pcmu => g711::encode_all(frame),
            Self::Pcma => alaw::encode_all(frame),
            Self::Opus(codec) => {
                let mut out = Vec::new();
                codec
                    .encode(frame, &mut out)
                    .unwrap_or_else(|e| panic!("Opus cannot encode a frame: {e}"));
                out
            }
        }
    }

    /// One payload as 8 kHz samples; a payload Opus refuses is a failure
    /// of the sender, so it panics naming the bytes.
    pub fn decode(&mut self, payload: &[u8]) -> Vec<i16> {
        match self {
            Self::Pcmu => g711::decode_all(payload),
            Self::Pcma => alaw::decode_all(payload),
            Self::Opus(codec) => {
                let mut out = Vec::new();
                codec.decode(payload, &mut out).unwrap_or_else(|e| {
                    panic!("Opus payload that libopus refuses ({e}): {payload:02x?}")
                });
                out
            }
        }
    }
}

/// The audio of the `codec` packets among `packets` (by payload type),
/// decoded in arrival order by one decoder, as a far end would.
pub fn decode_packets(codec: FarCodec, packets: &[ReceivedPacket]) -> Vec<i16> {
    let mut coder = codec.coder();
    packets
        .iter()
        .filter(|p| p.header.payload_type == codec.payload_type())
        .flat_map(|p| coder.decode(&p.payload))
        .collect()
}

/// A paced RTP sender that encodes 20 ms frames with one codec; sequence
/// numbers and SSRC come from the [`RtpStream`] under it, timestamps
/// advance by the codec's RTP clock.
#[derive(Debug)]
pub struct CodecStream {
    stream: RtpStream,
    codec: FarCodec,
    coder: Coder,
    timestamp: u32,
    pacer: Pacer,
}

impl CodecStream {
    /// Sends with `codec` on `stream`.
    pub fn new(stream: RtpStream, codec: FarCodec) -> Self {
        let timestamp = stream.ssrc.rotate_left(7);
        Self {
            stream,
            codec,
            coder: codec.coder(),
            timestamp,
            pacer: Pacer::default(),
        }
    }

    /// Sends `samples` (8 kHz) in 20 ms frames, paced in real time; a short
    /// last frame is padded with silence (Opus codes whole frames only).
    pub fn send_audio(&mut self, samples: &[i16]) {
        for chunk in samples.chunks(FRAME_SAMPLES) {
            let mut frame = chunk.to_vec();
            frame.resize(FRAME_SAMPLES, 0);
            let payload = self.coder.encode(&frame);
            self.pacer.wait();
            let timestamp = self.timestamp;
            self.stream
                .send_raw(self.codec.payload_type(), false, timestamp, &payload);
            self.timestamp = self.timestamp.wrapping_add(self.codec.ticks_per_frame());
        }
    }

    /// Sends `samples` on a thread of its own, handing the stream back.
    pub fn spawn_audio(mut self, samples: Vec<i16>) -> JoinHandle<CodecStream> {
        std::thread::spawn(move || {
            self.send_audio(&samples);
            self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::rtp::RtpPeer;
    use crate::audio::sip::Sdp;
    use crate::audio::verdict::{assert_tone, tone_for};
    use std::time::Duration;

    #[test]
    fn offers_name_one_codec_with_its_payload_type() {
        let sdp = Sdp::parse(&FarCodec::Opus.sdp(40_000)).expect("audio");
        assert_eq!(sdp.formats, vec![OPUS_PT]);
        assert_eq!(sdp.rtpmaps, vec![(OPUS_PT, "opus/48000/2".to_string())]);
        assert_eq!(sdp.telephone_event(), None);
        let sdp = Sdp::parse(&FarCodec::Pcma.sdp(40_000)).expect("audio");
        assert_eq!(sdp.formats, vec![8]);
    }

    #[test]
    fn each_codec_carries_a_tone_between_two_peers() {
        for codec in [FarCodec::Pcmu, FarCodec::Pcma, FarCodec::Opus] {
            let (sender, receiver) = (RtpPeer::bind(), RtpPeer::bind());
            let mut stream = CodecStream::new(sender.stream_to(receiver.addr()), codec);
            stream.send_audio(&tone_for(1000.0, 0.6));
            assert!(
                receiver.wait_packets(30, Duration::from_secs(2)),
                "{codec:?}"
            );
            let packets = receiver.packets();
            let ticks: Vec<u32> = packets
                .windows(2)
                .map(|w| w[1].header.timestamp.wrapping_sub(w[0].header.timestamp))
                .collect();
            assert!(
                ticks.iter().all(|&t| t == codec.ticks_per_frame()),
                "{codec:?}: {ticks:?}"
            );
            let audio = decode_packets(codec, &packets);
            assert_eq!(audio.len(), 30 * FRAME_SAMPLES, "{codec:?}");
            assert_tone(&audio, 1000.0, 0.5, &format!("{codec:?} round trip"));
        }
    }
}
