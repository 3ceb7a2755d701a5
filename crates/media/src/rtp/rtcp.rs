//! RTCP sender and receiver reports (RFC 3550 §6.4), built and parsed.
//!
//! Uses the webrtc-rs `rtcp` crate for the report types and their marshalling: it is
//! maintained with the `rtp` crate we already use and gets the bit layout right. Parsing
//! walks the compound packet ourselves and hands only SR and RR packets to it, so the
//! many feedback formats we do not use (and their parsers) never see network bytes.

use bytes::Bytes;
use rtcp::receiver_report::ReceiverReport;
use rtcp::sender_report::SenderReport;
use rtcp::source_description::{
    SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem,
};
use webrtc_util::marshal::{Marshal, Unmarshal};

pub use rtcp::reception_report::ReceptionReport;

use crate::Error;

const PT_SENDER_REPORT: u8 = 200;
const PT_RECEIVER_REPORT: u8 = 201;
const PT_SOURCE_DESCRIPTION: u8 = 202;
/// A compound packet longer than this many parts is not one we need to read to the end.
const MAX_PARTS: usize = 16;

/// A report taken from a compound RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A sender report (SR).
    Sender(SenderReport),
    /// A receiver report (RR).
    Receiver(ReceiverReport),
}

fn rtcp_error(packet_type: u8) -> impl Fn(webrtc_util::Error) -> Error {
    move |err| Error::RtcpReport {
        packet_type,
        detail: err.to_string(),
    }
}

fn cname_chunk(ssrc: u32, cname: &str) -> SourceDescription {
    SourceDescription {
        chunks: vec![SourceDescriptionChunk {
            source: ssrc,
            items: vec![SourceDescriptionItem {
                sdes_type: SdesType::SdesCname,
                text: Bytes::copy_from_slice(cname.as_bytes()),
            }],
        }],
    }
}

fn append(out: &mut Vec<u8>, packet_type: u8, part: &impl Marshal) -> Result<(), Error> {
    let bytes = part.marshal().map_err(rtcp_error(packet_type))?;
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Appends a compound SR + SDES(CNAME) packet to `out`.
///
/// `ntp_time` is the wall clock as a 64-bit NTP timestamp and `rtp_time` the same instant
/// on the RTP clock; the caller reads both clocks, this crate reads none.
#[allow(clippy::too_many_arguments)]
pub fn build_sender_report(
    ssrc: u32,
    ntp_time: u64,
    rtp_time: u32,
    packet_count: u32,
    octet_count: u32,
    reports: Vec<ReceptionReport>,
    cname: &str,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let sr = SenderReport {
        ssrc,
        ntp_time,
        rtp_time,
        packet_count,
        octet_count,
        reports,
        profile_extensions: Bytes::new(),
    };
    append(out, PT_SENDER_REPORT, &sr)?;
    append(out, PT_SOURCE_DESCRIPTION, &cname_chunk(ssrc, cname))
}

/// Appends a compound RR + SDES(CNAME) packet to `out`.
pub fn build_receiver_report(
    ssrc: u32,
    reports: Vec<ReceptionReport>,
    cname: &str,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let rr = ReceiverReport {
        ssrc,
        reports,
        profile_extensions: Bytes::new(),
    };
    append(out, PT_RECEIVER_REPORT, &rr)?;
    append(out, PT_SOURCE_DESCRIPTION, &cname_chunk(ssrc, cname))
}

/// Reads the SR and RR packets of a compound RTCP datagram, skipping other types.
///
/// Malformed framing (version, length running past the datagram) is an error.
pub fn parse_reports(datagram: &Bytes) -> Result<Vec<Report>, Error> {
    let mut reports = Vec::new();
    let mut rest = datagram.clone();
    for _ in 0..MAX_PARTS {
        if rest.is_empty() {
            break;
        }
        let offset = datagram.len() - rest.len();
        let framing = |needed| Error::RtcpFraming {
            offset,
            len: rest.len(),
            needed,
        };
        let (first, packet_type, words) = match rest.get(..4) {
            Some(&[first, packet_type, hi, lo]) => {
                (first, packet_type, u16::from_be_bytes([hi, lo]))
            }
            _ => return Err(framing(4)),
        };
        if first >> 6 != 2 {
            return Err(framing(0));
        }
        let len = (usize::from(words) + 1) * 4;
        if len > rest.len() {
            return Err(framing(len));
        }
        let mut part = rest.split_to(len);
        match packet_type {
            PT_SENDER_REPORT => {
                let sr = SenderReport::unmarshal(&mut part).map_err(rtcp_error(packet_type))?;
                reports.push(Report::Sender(sr));
            }
            PT_RECEIVER_REPORT => {
                let rr = ReceiverReport::unmarshal(&mut part).map_err(rtcp_error(packet_type))?;
                reports.push(Report::Receiver(rr));
            }
            _ => {}
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> ReceptionReport {
        ReceptionReport {
            ssrc: 9,
            fraction_lost: 85,
            total_lost: 2,
            last_sequence_number: 65538,
            jitter: 80,
            last_sender_report: 0x3344_5566,
            delay: 32768,
        }
    }

    #[test]
    fn sender_report_round_trip() -> Result<(), Error> {
        let mut wire = Vec::new();
        build_sender_report(
            1,
            0x1122_3344_5566_7788,
            960,
            50,
            8000,
            vec![block()],
            "switchd",
            &mut wire,
        )?;
        let reports = parse_reports(&Bytes::from(wire))?;
        assert_eq!(reports.len(), 1);
        match reports.first() {
            Some(Report::Sender(sr)) => {
                assert_eq!(
                    (sr.ssrc, sr.ntp_time, sr.rtp_time),
                    (1, 0x1122_3344_5566_7788, 960)
                );
                assert_eq!((sr.packet_count, sr.octet_count), (50, 8000));
                assert_eq!(sr.reports, vec![block()]);
            }
            other => panic!("expected an SR, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn receiver_report_round_trip() -> Result<(), Error> {
        let mut wire = Vec::new();
        build_receiver_report(2, vec![block()], "switchd", &mut wire)?;
        assert!(crate::rtp::is_rtcp(&wire));
        let reports = parse_reports(&Bytes::from(wire))?;
        assert_eq!(
            reports,
            vec![Report::Receiver(ReceiverReport {
                ssrc: 2,
                reports: vec![block()],
                profile_extensions: Bytes::new(),
            })]
        );
        Ok(())
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() -> Result<(), Error> {
        let mut wire = Vec::new();
        build_sender_report(1, 7, 8, 9, 10, vec![block(), block()], "x", &mut wire)?;
        for len in 0..wire.len() {
            let cut = Bytes::copy_from_slice(&wire[..len]);
            let outcome = std::panic::catch_unwind(|| parse_reports(&cut));
            assert!(outcome.is_ok(), "panic at {len}");
        }
        // Report count claims more blocks than the length holds.
        let mut lying = wire.clone();
        lying[0] = 0x80 | 31;
        assert!(std::panic::catch_unwind(|| parse_reports(&Bytes::from(lying))).is_ok());
        assert_eq!(
            parse_reports(&Bytes::from_static(&[0x40, 200, 0, 0])),
            Err(Error::RtcpFraming {
                offset: 0,
                len: 4,
                needed: 0
            })
        );
        assert_eq!(
            parse_reports(&Bytes::from_static(&[0x80, 200, 0, 9])),
            Err(Error::RtcpFraming {
                offset: 0,
                len: 4,
                needed: 40
            })
        );
        // An RR too short for its SSRC: the rtcp crate's error, typed.
        assert!(matches!(
            parse_reports(&Bytes::from_static(&[0x80, 201, 0, 0, 0x80, 200, 0, 0])),
            Err(Error::RtcpReport {
                packet_type: 201,
                ..
            })
        ));
        Ok(())
    }
}
