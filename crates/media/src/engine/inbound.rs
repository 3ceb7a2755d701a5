//! Received datagrams: RTP (filter, validate, count, relay or buffer) and RTCP reports,
//! and the reports we send.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use crate::rtp::packet::{FIXED_HEADER_LEN, view_rtp};
use crate::rtp::rtcp::{
    ReceptionReport, Report, build_receiver_report, build_sender_report, parse_reports,
};
use crate::rtp::sender::OutgoingHeader;
use crate::rtp::{SequenceOutcome, is_rtcp};
use crate::source::SourceVerdict;

use super::leg::{Leg, Outbound, Route};
use super::{LegId, MediaEngine, MediaEvent, MediaTransmit, Output};

/// A fixed RTP header with our fields and `payload`, as a datagram cut from `arena`
/// (whose space comes back once the datagram is sent and dropped).
pub(super) fn build_rtp(
    arena: &mut BytesMut,
    payload_type: u8,
    marker: bool,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload: &[u8],
) -> Bytes {
    arena.reserve(FIXED_HEADER_LEN + payload.len());
    arena.put_u8(0x80);
    arena.put_u8(payload_type & 0x7F | if marker { 0x80 } else { 0 });
    arena.put_u16(sequence);
    arena.put_u32(timestamp);
    arena.put_u32(ssrc);
    arena.put_slice(payload);
    arena.split().freeze()
}

/// Counts and queues one packet of ours on `leg`'s stream (audio or event).
pub(super) fn send_rtp(
    out: &mut Output,
    leg: &mut Leg,
    destination: SocketAddr,
    header: OutgoingHeader,
    payload: &[u8],
) {
    leg.stats.packets_out += 1;
    leg.stats.bytes_out += payload.len() as u64;
    let payload = build_rtp(
        &mut out.arena,
        header.payload_type,
        header.marker,
        header.sequence_number,
        header.timestamp,
        header.ssrc,
        payload,
    );
    out.transmit(MediaTransmit {
        leg: leg.id,
        local_port: leg.media.local_port,
        destination,
        rtcp: false,
        payload,
    });
}

/// Sends one telephone-event packet on `leg`'s stream. `source_timestamp` identifies the
/// event (packets of one event share it); the stream's timestamp at the event's first
/// packet stands for it on the wire.
pub(super) fn send_event(
    now: Instant,
    leg: &mut Leg,
    out: &mut Output,
    source_timestamp: u32,
    marker: bool,
    payload: &[u8],
) {
    let (Some(payload_type), Some(destination)) =
        (leg.media.telephone_event, leg.rtp_destination())
    else {
        return;
    };
    // Zero ticks: the event does not advance the audio clock; its sequence number does.
    let header = leg.outbound.sender_mut().originate(now, 0, payload.len());
    let timestamp = match leg.event_map {
        Some((source, mapped)) if source == source_timestamp => mapped,
        _ => {
            leg.event_map = Some((source_timestamp, header.timestamp));
            header.timestamp
        }
    };
    let header = OutgoingHeader {
        payload_type,
        marker,
        timestamp,
        ..header
    };
    send_rtp(out, leg, destination, header, payload);
}

impl MediaEngine {
    /// A datagram received on the leg's RTP port from `source` (RTCP too with rtcp-mux).
    /// Anything unusable is dropped and counted; nothing here can fail or panic.
    pub fn handle_rtp(&mut self, now: Instant, id: LegId, source: SocketAddr, datagram: &[u8]) {
        let Some(leg) = self.legs.get_mut(&id) else {
            self.out.stats.unknown_leg += 1;
            return;
        };
        if is_rtcp(datagram) {
            if leg.media.rtcp_mux {
                self.handle_rtcp(now, id, source, datagram);
            } else {
                leg.stats.malformed += 1;
            }
            return;
        }
        // Checked before the source check, so garbage cannot claim the learning slot.
        // Read in place: a relayed packet is never copied or parsed into an owned packet.
        let Ok(packet) = view_rtp(datagram) else {
            leg.stats.malformed += 1;
            self.reschedule(id);
            return;
        };
        match leg.filter.check(now, source) {
            SourceVerdict::Drop => {
                leg.stats.strays += 1;
                return;
            }
            SourceVerdict::Learned(source) => self
                .out
                .event(MediaEvent::SourceLearned { leg: id, source }),
            SourceVerdict::Accept => {}
        }
        let is_event = Some(packet.payload_type) == leg.media.telephone_event;
        if packet.payload_type != leg.media.payload_type && !is_event {
            leg.stats.wrong_payload_type += 1;
            self.reschedule(id);
            return;
        }
        let outcome =
            leg.receiver
                .on_packet(now, packet.ssrc, packet.sequence_number, packet.timestamp);
        if outcome == SequenceOutcome::Invalid {
            leg.stats.malformed += 1;
            self.reschedule(id);
            return;
        }
        leg.stats.packets_in += 1;
        leg.stats.bytes_in += packet.payload.len() as u64;
        leg.last_received = now;
        leg.timeout_reported = false;
        if !leg.media.direction.receives() {
            // On hold or inactive: counted, but nothing is played out.
            self.reschedule(id);
            return;
        }
        if is_event {
            leg.stats.telephone_events_in += 1;
            self.out.event(MediaEvent::TelephoneEvent {
                leg: id,
                payload: Bytes::copy_from_slice(packet.payload),
                timestamp: packet.timestamp,
                marker: packet.marker,
            });
        } else if let Some(jitter) = leg.jitter.as_mut() {
            // The buffer keeps the payload until its tick: its own copy.
            jitter.insert(
                now,
                packet.ssrc,
                packet.timestamp,
                Bytes::copy_from_slice(packet.payload),
            );
        }
        let route = leg.route;
        self.reschedule(id);
        match route {
            Route::Relay(peer) => {
                if self.offload_allows(id, packet.ssrc) && self.relay(now, peer, datagram) {
                    self.offer_offload(now, id, peer);
                }
            }
            Route::Transcode(peer) if is_event => {
                if let Some(peer) = self.legs.get_mut(&peer) {
                    send_event(
                        now,
                        peer,
                        &mut self.out,
                        packet.timestamp,
                        packet.marker,
                        packet.payload,
                    );
                }
            }
            Route::Transcode(_) | Route::None => {}
        }
    }

    /// Relays a datagram received from its bridge peer onto `to`'s stream; true if it
    /// was sent.
    fn relay(&mut self, now: Instant, to: LegId, datagram: &[u8]) -> bool {
        let Some(leg) = self.legs.get_mut(&to) else {
            return false;
        };
        let destination = leg.rtp_destination();
        if leg.outbound_busy() {
            return false;
        }
        let (Outbound::Relay(relay), Some(destination)) = (&mut leg.outbound, destination) else {
            return false;
        };
        let arena = &mut self.out.arena;
        if relay.relay(now, datagram, arena).is_err() {
            return false;
        }
        let payload = arena.split().freeze();
        leg.stats.packets_out += 1;
        leg.stats.bytes_out += payload.len().saturating_sub(FIXED_HEADER_LEN) as u64;
        self.out.transmit(MediaTransmit {
            leg: to,
            local_port: leg.media.local_port,
            destination,
            rtcp: false,
            payload,
        });
        true
    }

    /// A datagram received on the leg's RTCP port (or demultiplexed from its RTP port).
    pub fn handle_rtcp(&mut self, now: Instant, id: LegId, source: SocketAddr, datagram: &[u8]) {
        let ntp = self.ntp(now);
        let Some(leg) = self.legs.get_mut(&id) else {
            self.out.stats.unknown_leg += 1;
            return;
        };
        // Reports are only taken from the peer's host: a third party must not set our RTT.
        if leg
            .filter
            .destination()
            .is_some_and(|peer| peer.ip() != source.ip())
        {
            leg.stats.strays += 1;
            return;
        }
        let Ok(reports) = parse_reports(&Bytes::copy_from_slice(datagram)) else {
            leg.stats.malformed += 1;
            return;
        };
        leg.stats.rtcp_in += 1;
        let our_ssrc = leg.outbound.sender_mut().config().ssrc;
        for report in &reports {
            let blocks = match report {
                Report::Sender(sr) => {
                    leg.receiver.on_sender_report(now, sr.ntp_time);
                    &sr.reports
                }
                Report::Receiver(rr) => &rr.reports,
            };
            for block in blocks.iter().filter(|block| block.ssrc == our_ssrc) {
                if let Some(rtt) = round_trip(ntp, block) {
                    leg.stats.rtt = Some(rtt);
                }
            }
        }
    }

    /// Sends the leg's periodic SR (if it sent media) or RR.
    pub(super) fn send_report(&mut self, now: Instant, id: LegId) {
        let ntp = self.ntp(now);
        let cname = self.out.config.cname;
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(destination) = leg.rtcp_destination() else {
            return;
        };
        let blocks: Vec<ReceptionReport> = leg.receiver.report_block(now).into_iter().collect();
        let sender = leg.outbound.sender_mut();
        let ssrc = sender.config().ssrc;
        let mut wire = Vec::new();
        let built = match sender.rtp_timestamp_at(now) {
            Some(rtp_time) => build_sender_report(
                ssrc,
                ntp,
                rtp_time,
                sender.packets_sent(),
                sender.octets_sent(),
                blocks,
                cname,
                &mut wire,
            ),
            None => build_receiver_report(ssrc, blocks, cname, &mut wire),
        };
        if built.is_err() {
            return;
        }
        leg.stats.rtcp_out += 1;
        let rtcp = !leg.media.rtcp_mux;
        self.out.transmit(MediaTransmit {
            leg: id,
            local_port: leg.media.local_port.saturating_add(u16::from(rtcp)),
            destination,
            rtcp,
            payload: Bytes::from(wire),
        });
    }
}

/// RTT from a report block about our stream: arrival − LSR − DLSR (RFC 3550 §6.4.1),
/// all in the middle 32 bits of NTP time (1/65536 s).
fn round_trip(ntp_now: u64, block: &ReceptionReport) -> Option<Duration> {
    if block.last_sender_report == 0 {
        return None;
    }
    let arrival = (ntp_now >> 16) as u32;
    let units = arrival
        .wrapping_sub(block.last_sender_report)
        .wrapping_sub(block.delay);
    // A negative result (clock trouble, a forged block) wraps to a huge value.
    (units < 0x8000_0000).then(|| Duration::from_micros(u64::from(units) * 1_000_000 / 65536))
}
