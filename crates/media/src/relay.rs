//! Same-codec fast path of a two-party bridge: leg A's packet becomes leg B's packet by
//! rewriting the header, with no decode and no allocation beyond the caller's buffer
//! (a `BytesMut` the caller splits each datagram off, so its space is reused).
//!
//! The output carries the payload under a fresh 12-byte header: SSRC, sequence and
//! timestamp from leg B's [`RtpSender`] (so B's stream stays continuous across playback,
//! relay and peer changes), payload type mapped to what B negotiated. CSRCs and header
//! extensions are not forwarded: extension IDs are negotiated per leg, and the bridge is
//! the contributing source as far as B is concerned. Padding is removed.

use std::time::Instant;

use bytes::{BufMut, BytesMut};

use crate::Error;
use crate::rtp::packet::{FIXED_HEADER_LEN, view_rtp};
use crate::rtp::{RtpSender, is_rtcp};

/// A payload type received on leg A and the one to send on leg B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadTypeMap {
    /// Payload type negotiated with leg A.
    pub from: u8,
    /// Payload type negotiated with leg B.
    pub to: u8,
}

/// Counters of one relay direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Packets forwarded.
    pub relayed: u64,
    /// Datagrams refused as malformed RTP or RTCP.
    pub malformed: u64,
    /// Packets with a payload type outside the map.
    pub unexpected_payload_type: u64,
}

/// One direction (A → B) of a same-codec bridge.
#[derive(Debug, Clone)]
pub struct Relay {
    sender: RtpSender,
    /// Audio codec first, then telephone-event (RFC 4733) if negotiated on both legs.
    payload_types: [Option<PayloadTypeMap>; 2],
    stats: RelayStats,
}

impl Relay {
    /// A relay writing into leg B's stream `sender`, mapping `audio` and optionally the
    /// telephone-event payload type `events`.
    pub fn new(sender: RtpSender, audio: PayloadTypeMap, events: Option<PayloadTypeMap>) -> Self {
        Self {
            sender,
            payload_types: [Some(audio), events],
            stats: RelayStats::default(),
        }
    }

    /// Leg B's outgoing stream.
    pub fn sender(&self) -> &RtpSender {
        &self.sender
    }

    /// Leg B's outgoing stream, to originate packets on it between relayed ones.
    pub fn sender_mut(&mut self) -> &mut RtpSender {
        &mut self.sender
    }

    /// Gives leg B's stream back (the bridge ended; playback continues on it).
    pub fn into_sender(self) -> RtpSender {
        self.sender
    }

    /// Counters so far.
    pub fn stats(&self) -> RelayStats {
        self.stats
    }

    /// Rewrites the RTP datagram `input` from leg A into `out` (cleared first) for leg B.
    ///
    /// Errors leave `out` empty and are counted; the caller just drops the datagram.
    pub fn relay(&mut self, now: Instant, input: &[u8], out: &mut BytesMut) -> Result<(), Error> {
        out.clear();
        let result = self.rewrite(now, input, out);
        match &result {
            Ok(()) => self.stats.relayed += 1,
            Err(Error::UnexpectedPayloadType { .. }) => self.stats.unexpected_payload_type += 1,
            Err(_) => self.stats.malformed += 1,
        }
        if result.is_err() {
            out.clear();
        }
        result
    }

    fn rewrite(&mut self, now: Instant, input: &[u8], out: &mut BytesMut) -> Result<(), Error> {
        if is_rtcp(input) {
            return Err(Error::NotRtp {
                packet_type: input.get(1).copied().unwrap_or_default(),
            });
        }
        let packet = view_rtp(input)?;
        let mapped = self
            .payload_types
            .iter()
            .flatten()
            .find(|map| map.from == packet.payload_type)
            .ok_or(Error::UnexpectedPayloadType {
                payload_type: packet.payload_type,
            })?
            .to;
        let payload = packet.payload;
        let header = self.sender.forward(
            now,
            packet.ssrc,
            packet.sequence_number,
            packet.timestamp,
            packet.marker,
            payload.len(),
        );
        out.reserve(FIXED_HEADER_LEN + payload.len());
        out.put_u8(0x80);
        out.put_u8(mapped | if header.marker { 0x80 } else { 0 });
        out.put_u16(header.sequence_number);
        out.put_u32(header.timestamp);
        out.put_u32(header.ssrc);
        out.put_slice(payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::rtp::{RtpHeader, RtpPacket, SenderConfig, parse_rtp, serialize_rtp};

    const FRAME: Duration = Duration::from_millis(20);

    fn leg_b_sender() -> RtpSender {
        RtpSender::new(SenderConfig {
            ssrc: 0xB0B0,
            payload_type: 96,
            clock_rate: 48000,
            frame_ticks: 960,
            initial_sequence: 7,
            initial_timestamp: 1_000,
        })
    }

    fn relay() -> Relay {
        Relay::new(
            leg_b_sender(),
            PayloadTypeMap { from: 111, to: 96 },
            Some(PayloadTypeMap { from: 101, to: 100 }),
        )
    }

    fn from_a(seq: u16, ts: u32, pt: u8, payload: &'static [u8]) -> Vec<u8> {
        let packet = RtpPacket {
            header: RtpHeader {
                version: 2,
                payload_type: pt,
                sequence_number: seq,
                timestamp: ts,
                ssrc: 0xA0A0,
                csrc: vec![1, 2],
                ..Default::default()
            },
            payload: Bytes::from_static(payload),
        };
        let mut wire = Vec::new();
        serialize_rtp(&packet, &mut wire).ok();
        wire
    }

    #[test]
    fn rewrites_header_and_keeps_payload() -> Result<(), Error> {
        let mut relay = relay();
        let t0 = Instant::now();
        let mut out = BytesMut::with_capacity(1500);
        relay.relay(t0, &from_a(500, 90_000, 111, b"opus-1"), &mut out)?;
        let first = parse_rtp(Bytes::copy_from_slice(&out))?;
        assert_eq!(
            (
                first.header.ssrc,
                first.header.sequence_number,
                first.header.timestamp
            ),
            (0xB0B0, 7, 1_000)
        );
        assert_eq!((first.header.payload_type, first.header.marker), (96, true));
        assert!(first.header.csrc.is_empty());
        assert_eq!(&first.payload[..], b"opus-1");
        relay.relay(t0 + FRAME, &from_a(501, 90_960, 111, b"opus-2"), &mut out)?;
        let second = parse_rtp(Bytes::copy_from_slice(&out))?;
        assert_eq!(
            (second.header.sequence_number, second.header.timestamp),
            (8, 1_960)
        );
        assert!(!second.header.marker);
        // DTMF events map to leg B's telephone-event type in the same number space.
        relay.relay(
            t0 + FRAME * 2,
            &from_a(502, 91_920, 101, b"\x01\x0a\x00\xa0"),
            &mut out,
        )?;
        let event = parse_rtp(Bytes::copy_from_slice(&out))?;
        assert_eq!(
            (event.header.payload_type, event.header.sequence_number),
            (100, 9)
        );
        assert_eq!(relay.stats().relayed, 3);
        Ok(())
    }

    #[test]
    fn continues_after_playback_on_the_same_leg() -> Result<(), Error> {
        let mut relay = relay();
        let t0 = Instant::now();
        let played = relay.sender_mut().originate(t0, 960, 40);
        let mut out = BytesMut::new();
        relay.relay(t0 + FRAME, &from_a(9, 5, 111, b"x"), &mut out)?;
        let packet = parse_rtp(Bytes::from(out))?;
        assert_eq!(
            packet.header.sequence_number,
            played.sequence_number.wrapping_add(1)
        );
        assert_eq!(packet.header.timestamp, played.timestamp.wrapping_add(960));
        Ok(())
    }

    #[test]
    fn refuses_and_counts_bad_input() {
        let mut relay = relay();
        let t0 = Instant::now();
        let mut out = BytesMut::from(&[1u8, 2, 3][..]);
        assert_eq!(
            relay.relay(t0, &from_a(1, 1, 0, b"pcmu"), &mut out),
            Err(Error::UnexpectedPayloadType { payload_type: 0 })
        );
        assert!(out.is_empty());
        assert!(relay.relay(t0, &[0x80, 111, 0], &mut out).is_err());
        assert_eq!(
            relay.relay(t0, &[0x80, 200, 0, 0], &mut out),
            Err(Error::NotRtp { packet_type: 200 })
        );
        let stats = relay.stats();
        assert_eq!(
            (
                stats.relayed,
                stats.malformed,
                stats.unexpected_payload_type
            ),
            (0, 2, 1)
        );
    }
}
