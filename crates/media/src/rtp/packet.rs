//! RTP packets on the wire: a bounds check, then the `rtp` crate's unmarshal/marshal.

use bytes::Bytes;
use webrtc_util::marshal::{Marshal, MarshalSize, Unmarshal};

use crate::Error;

/// An RTP packet (the `rtp` crate's type; payload without padding).
pub type RtpPacket = ::rtp::packet::Packet;
/// An RTP header (the `rtp` crate's type).
pub type RtpHeader = ::rtp::header::Header;

/// Size of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;
const ONE_BYTE_PROFILE: u16 = 0xBEDE;
const TWO_BYTE_PROFILE: u16 = 0x1000;

/// Where the payload of a checked RTP datagram lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Length of the header including CSRCs and the extension block.
    pub header_len: usize,
    /// Length of the padding at the end (0 without the P bit).
    pub padding_len: usize,
}

fn be16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

/// Checks everything the `rtp` crate's parser trusts, so that handing it the datagram
/// afterwards cannot panic: version, CSRC count, extension length and every RFC 8285
/// element, padding.
pub(crate) fn check_layout(buf: &[u8]) -> Result<Layout, Error> {
    let truncated = |needed| Error::TruncatedRtp {
        len: buf.len(),
        needed,
    };
    let first = *buf.first().ok_or(truncated(FIXED_HEADER_LEN))?;
    if buf.len() < FIXED_HEADER_LEN {
        return Err(truncated(FIXED_HEADER_LEN));
    }
    let version = first >> 6;
    if version != 2 {
        return Err(Error::RtpVersion { version });
    }
    let mut header_len = FIXED_HEADER_LEN + 4 * usize::from(first & 0x0F);
    if buf.len() < header_len {
        return Err(truncated(header_len));
    }
    if first & 0x10 != 0 {
        let profile = be16(buf, header_len).ok_or(truncated(header_len + 4))?;
        let words = be16(buf, header_len + 2).ok_or(truncated(header_len + 4))?;
        let block_start = header_len + 4;
        let block_end = block_start + 4 * usize::from(words);
        let block = buf
            .get(block_start..block_end)
            .ok_or(truncated(block_end))?;
        check_extension_elements(profile, block)?;
        header_len = block_end;
    }
    let padding_len = if first & 0x20 != 0 {
        let count = *buf.last().unwrap_or(&0);
        let payload_len = buf.len().saturating_sub(header_len);
        if count == 0 || usize::from(count) > payload_len {
            return Err(Error::RtpPadding { count, payload_len });
        }
        usize::from(count)
    } else {
        0
    };
    Ok(Layout {
        header_len,
        padding_len,
    })
}

/// Walks RFC 8285 one- and two-byte elements; every element must end inside the block.
fn check_extension_elements(profile: u16, block: &[u8]) -> Result<(), Error> {
    let malformed = Error::RtpExtension { profile };
    let two_byte = match profile {
        ONE_BYTE_PROFILE => false,
        TWO_BYTE_PROFILE => true,
        // Any other profile is an opaque RFC 3550 block, already length-checked.
        _ => return Ok(()),
    };
    let mut at = 0;
    while let Some(&id_byte) = block.get(at) {
        if id_byte == 0 {
            at += 1;
            continue;
        }
        let (element_header, len) = if two_byte {
            (2, usize::from(*block.get(at + 1).ok_or(malformed.clone())?))
        } else {
            // ID 15 means "stop parsing"; the rtp crate would then leave the rest of the
            // block in the payload, so such a packet is refused rather than mis-parsed.
            if id_byte >> 4 == 0x0F {
                return Err(malformed);
            }
            (1, usize::from(id_byte & 0x0F) + 1)
        };
        at += element_header + len;
        if at > block.len() {
            return Err(malformed);
        }
    }
    Ok(())
}

/// The fixed header fields and the payload of a checked RTP datagram, borrowed from it:
/// what the receive path reads of every packet, with no copy and no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtpView<'a> {
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// The marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence_number: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// The payload, without CSRCs, extension block or padding.
    pub payload: &'a [u8],
}

/// Checks an RTP datagram as [`parse_rtp`] does and reads its fixed header in place.
#[inline]
pub(crate) fn view_rtp(datagram: &[u8]) -> Result<RtpView<'_>, Error> {
    let layout = check_layout(datagram)?;
    let fixed: &[u8; FIXED_HEADER_LEN] = datagram
        .get(..FIXED_HEADER_LEN)
        .and_then(|header| header.try_into().ok())
        .ok_or(Error::TruncatedRtp {
            len: datagram.len(),
            needed: FIXED_HEADER_LEN,
        })?;
    let [_, marker_pt, s0, s1, t0, t1, t2, t3, c0, c1, c2, c3] = *fixed;
    let payload = datagram
        .get(layout.header_len..datagram.len().saturating_sub(layout.padding_len))
        .unwrap_or_default();
    Ok(RtpView {
        payload_type: marker_pt & 0x7F,
        marker: marker_pt & 0x80 != 0,
        sequence_number: u16::from_be_bytes([s0, s1]),
        timestamp: u32::from_be_bytes([t0, t1, t2, t3]),
        ssrc: u32::from_be_bytes([c0, c1, c2, c3]),
        payload,
    })
}

/// Parses an RTP datagram. Truncated or malformed input is an error, never a panic.
///
/// With `Bytes` input the payload is a zero-copy slice of the datagram.
pub fn parse_rtp(datagram: Bytes) -> Result<RtpPacket, Error> {
    let layout = check_layout(&datagram)?;
    let mut buf = datagram.clone();
    let packet = RtpPacket::unmarshal(&mut buf).map_err(|_| Error::TruncatedRtp {
        len: datagram.len(),
        needed: layout.header_len,
    })?;
    Ok(packet)
}

/// Appends the wire form of `packet` to `out`.
pub fn serialize_rtp(packet: &RtpPacket, out: &mut Vec<u8>) -> Result<(), Error> {
    let start = out.len();
    let size = packet.marshal_size();
    out.resize(start + size, 0);
    let tail = out.get_mut(start..).unwrap_or_default();
    match packet.marshal_to(tail) {
        Ok(written) => {
            out.truncate(start + written);
            Ok(())
        }
        Err(err) => {
            out.truncate(start);
            Err(Error::RtpEncode {
                detail: err.to_string(),
            })
        }
    }
}

/// RFC 5761 demultiplexing of RTP and RTCP on one port: RTCP packet types 192–223 fall in
/// the payload-type range 64–95 that RTP must not use.
pub fn is_rtcp(datagram: &[u8]) -> bool {
    matches!(datagram.get(1), Some(192..=223))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_packet() -> RtpPacket {
        RtpPacket {
            header: RtpHeader {
                version: 2,
                marker: true,
                payload_type: 8,
                sequence_number: 65535,
                timestamp: 0xFFFF_FF00,
                ssrc: 0x1234_5678,
                ..Default::default()
            },
            payload: Bytes::from_static(&[0xD5; 160]),
        }
    }

    #[test]
    fn round_trip() -> Result<(), Error> {
        let mut wire = Vec::new();
        serialize_rtp(&sample_packet(), &mut wire)?;
        assert_eq!(wire.len(), 172);
        let back = parse_rtp(Bytes::from(wire))?;
        assert_eq!(back, sample_packet());
        Ok(())
    }

    #[test]
    fn truncations_are_errors() -> Result<(), Error> {
        let mut wire = Vec::new();
        serialize_rtp(&sample_packet(), &mut wire)?;
        for len in 0..FIXED_HEADER_LEN {
            let cut = Bytes::copy_from_slice(&wire[..len]);
            assert!(matches!(parse_rtp(cut), Err(Error::TruncatedRtp { .. })));
        }
        // CSRC count 15 needs 72 header bytes.
        let mut csrc = wire[..40].to_vec();
        csrc[0] |= 0x0F;
        assert_eq!(
            parse_rtp(Bytes::from(csrc)),
            Err(Error::TruncatedRtp {
                len: 40,
                needed: 72
            })
        );
        Ok(())
    }

    #[test]
    fn version_and_padding_checked() {
        let mut wire = vec![0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xAA];
        wire[0] = 0x40;
        assert_eq!(
            parse_rtp(Bytes::from(wire.clone())),
            Err(Error::RtpVersion { version: 1 })
        );
        wire[0] = 0xA0; // padding, last octet 0xAA > 1-byte payload
        assert!(matches!(
            parse_rtp(Bytes::from(wire.clone())),
            Err(Error::RtpPadding { .. })
        ));
        wire.extend_from_slice(&[0, 0, 2]);
        let ok = parse_rtp(Bytes::from(wire));
        assert_eq!(ok.map(|p| p.payload.len()), Ok(2));
    }

    #[test]
    fn extension_elements_must_fit() {
        // One-byte profile, 1 word, element ID 1 claiming 16 bytes, then nothing.
        let wire = vec![
            0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x1F, 0, 0, 0,
        ];
        assert_eq!(
            parse_rtp(Bytes::from(wire)),
            Err(Error::RtpExtension { profile: 0xBEDE })
        );
        // Two-byte profile: element ID 1 with length byte missing.
        let wire = vec![
            0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0, 1, 0, 0, 0, 1,
        ];
        assert_eq!(
            parse_rtp(Bytes::from(wire)),
            Err(Error::RtpExtension { profile: 0x1000 })
        );
        // Well-formed one-byte element with a 2-byte payload plus padding.
        let wire = vec![
            0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x11, 7, 7, 0, 9,
        ];
        let packet = parse_rtp(Bytes::from(wire));
        assert_eq!(packet.map(|p| p.payload.to_vec()), Ok(vec![9]));
    }

    #[test]
    fn random_garbage_never_panics() {
        // A small xorshift keeps the test deterministic without a dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let base = vec![
            0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 2, 0x11, 7, 7, 0x20, 1, 2, 3, 0,
            9,
        ];
        for _ in 0..200_000 {
            let mut wire = base.clone();
            let len = (next() % 40) as usize;
            wire.resize(len, 0);
            for _ in 0..3 {
                let r = next();
                if let Some(byte) = wire.get_mut((r % 40) as usize) {
                    *byte = (r >> 8) as u8;
                }
            }
            let outcome = std::panic::catch_unwind(|| parse_rtp(Bytes::from(wire.clone())));
            let Ok(parsed) = outcome else {
                panic!("panic on {wire:02x?}");
            };
            // The in-place view accepts exactly what the parser accepts, and reads the same.
            match (view_rtp(&wire), parsed) {
                (Ok(view), Ok(packet)) => assert_eq!(view, view_of(&packet), "{wire:02x?}"),
                (Err(a), Err(b)) => assert_eq!(a, b, "{wire:02x?}"),
                (view, parsed) => panic!("{wire:02x?}: view {view:?}, parser {parsed:?}"),
            }
        }
    }

    fn view_of(packet: &RtpPacket) -> RtpView<'_> {
        RtpView {
            payload_type: packet.header.payload_type,
            marker: packet.header.marker,
            sequence_number: packet.header.sequence_number,
            timestamp: packet.header.timestamp,
            ssrc: packet.header.ssrc,
            payload: &packet.payload,
        }
    }

    #[test]
    fn view_reads_the_fixed_header_in_place() -> Result<(), Error> {
        let mut wire = Vec::new();
        serialize_rtp(&sample_packet(), &mut wire)?;
        let packet = sample_packet();
        assert_eq!(view_rtp(&wire)?, view_of(&packet));
        assert!(matches!(
            view_rtp(&wire[..11]),
            Err(Error::TruncatedRtp { .. })
        ));
        Ok(())
    }

    #[test]
    fn rtcp_demux() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(is_rtcp(&[0x81, 201]));
        assert!(!is_rtcp(&[0x80, 0x08]));
        assert!(!is_rtcp(&[0x80, 0x80 | 0x60]));
        assert!(!is_rtcp(&[]));
    }
}
