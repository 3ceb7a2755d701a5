//! The one error type of the media crate.

/// Everything that can go wrong in `switchd-media`.
///
/// Wire-format variants come from bytes a peer sent us: the daemon counts and drops them,
/// it never tears a call down because of one malformed packet.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An RTP packet shorter than its fixed header, CSRC list or header extension claims.
    #[error("truncated RTP packet: {len} bytes, needed at least {needed}")]
    TruncatedRtp {
        /// Bytes received.
        len: usize,
        /// Bytes the header fields require.
        needed: usize,
    },
    /// The RTP version field is not 2.
    #[error("unsupported RTP version {version}")]
    RtpVersion {
        /// The two version bits as received.
        version: u8,
    },
    /// The padding count of an RTP packet is zero or longer than the payload.
    #[error("bad RTP padding count {count} for a {payload_len}-byte payload")]
    RtpPadding {
        /// The value of the last octet.
        count: u8,
        /// Payload bytes before padding removal.
        payload_len: usize,
    },
    /// An RFC 8285 header extension element runs past the extension block.
    #[error("malformed RTP header extension (profile {profile:#06x})")]
    RtpExtension {
        /// The extension profile ("defined by profile") field.
        profile: u16,
    },
    /// A datagram on the RTP path is RTCP (RFC 5761 packet type range).
    #[error("RTCP packet type {packet_type} where RTP was expected")]
    NotRtp {
        /// The second octet of the datagram.
        packet_type: u8,
    },
    /// An RTP payload type the leg did not negotiate.
    #[error("unexpected RTP payload type {payload_type}")]
    UnexpectedPayloadType {
        /// The payload type received.
        payload_type: u8,
    },
    /// An RTCP compound packet whose framing is broken: a header cut short, a version
    /// other than 2, or a length field running past the datagram.
    #[error("malformed RTCP framing at offset {offset}: {len} bytes left, {needed} needed")]
    RtcpFraming {
        /// Offset of the bad packet inside the compound datagram.
        offset: usize,
        /// Bytes left from that offset.
        len: usize,
        /// Bytes the header requires (0 for a bad version).
        needed: usize,
    },
    /// The `rtcp` crate refused to parse or build a report packet.
    #[error("RTCP packet type {packet_type}: {detail}")]
    RtcpReport {
        /// The RTCP packet type (200 SR, 201 RR, 202 SDES).
        packet_type: u8,
        /// What the `rtcp` crate reported.
        detail: String,
    },
    /// The `rtp` crate refused to serialize a packet we built (an oversized extension).
    #[error("cannot serialize RTP packet: {detail}")]
    RtpEncode {
        /// What the `rtp` crate reported.
        detail: String,
    },
    /// The PCM handed to an encoder is not one whole frame of the codec.
    #[error("PCM frame of {got} samples, the encoder takes {expected}")]
    FrameSize {
        /// Samples given.
        got: usize,
        /// Samples per frame the encoder was built for.
        expected: usize,
    },
    /// The codec is known but this build cannot run it (Opus without the `opus` feature).
    #[error("codec {kind:?} is not supported by this build")]
    UnsupportedCodec {
        /// The codec asked for.
        kind: crate::codec::CodecKind,
    },
    /// The media engine already holds its configured maximum of legs.
    #[error("media leg limit of {limit} reached")]
    LegLimit {
        /// The configured limit.
        limit: usize,
    },
    /// A media engine operation named a leg the engine does not hold.
    #[error("unknown media leg {leg}")]
    UnknownLeg {
        /// The leg's id.
        leg: u64,
    },
    /// A leg was added twice, or bridged to itself.
    #[error("media leg {leg} already exists or cannot be bridged to itself")]
    LegConflict {
        /// The leg's id.
        leg: u64,
    },
    /// Telephone-events were asked for on a leg that did not negotiate them.
    #[error("media leg {leg} has no telephone-event payload type")]
    NoTelephoneEvent {
        /// The leg's id.
        leg: u64,
    },
    /// libopus refused to create a coder, encode or decode.
    #[cfg(feature = "opus")]
    #[error("opus {operation:?}: {detail}")]
    Opus {
        /// What was being done.
        operation: OpusOperation,
        /// The libopus error message.
        detail: String,
    },
}

/// The libopus call behind an [`Error::Opus`].
#[cfg(feature = "opus")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpusOperation {
    /// Creating the encoder or decoder.
    Create,
    /// Encoding a frame.
    Encode,
    /// Decoding a packet or concealing a lost one.
    Decode,
}
