//! Paced RTP senders: PCMU audio frames every 20 ms and RFC 4733 events
//! shaped like different carriers send them, plus raw datagrams for
//! malformed-input tests.

use crate::audio::rtp::{PACKET_INTERVAL, PCMU, RtpHeader, assert_loopback};
use crate::audio::{FRAME_SAMPLES, g711};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a sender shapes an RFC 4733 event, to imitate carriers' variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfStyle {
    /// The negotiated telephone-event payload type.
    pub payload_type: u8,
    /// Whether the first packet of the event carries the marker bit.
    pub marker: bool,
    /// Packets before the end packets (one per 20 ms, duration growing).
    pub packets: u32,
    /// Copies of the end packet (RFC 4733 says 3).
    pub end_packets: u32,
    /// Silence sent after the event before the next one.
    pub gap: Duration,
}

impl DtmfStyle {
    /// A well-behaved sender: marker on the first packet, five packets and
    /// then the end (120 ms in all) sent 3 times, 100 ms of silence after.
    pub fn standard(payload_type: u8) -> Self {
        Self {
            payload_type,
            marker: true,
            packets: 5,
            end_packets: 3,
            gap: Duration::from_millis(100),
        }
    }
}

/// The RFC 4733 event code of a DTMF key (`0-9*#A-D`).
pub fn dtmf_event_code(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        _ => None,
    }
}

/// Real-time pacing at one packet per [`PACKET_INTERVAL`], shared by the
/// senders of every codec.
#[derive(Debug, Default)]
pub struct Pacer {
    next_send: Option<Instant>,
}

impl Pacer {
    /// Waits for the next 20 ms slot (the first is now).
    pub fn wait(&mut self) {
        let now = Instant::now();
        let slot = self.next_send.unwrap_or(now);
        if slot > now {
            std::thread::sleep(slot - now);
        }
        // After a long pause, start over rather than bursting to catch up.
        let base = if slot + PACKET_INTERVAL < now {
            now
        } else {
            slot
        };
        self.next_send = Some(base + PACKET_INTERVAL);
    }
}

/// One RTP stream from a peer's socket to one destination: its own SSRC,
/// sequence and timestamp, and a 20 ms pace.
#[derive(Debug)]
pub struct RtpStream {
    socket: UdpSocket,
    destination: SocketAddr,
    /// The SSRC it sends with.
    pub ssrc: u32,
    sequence: u16,
    timestamp: u32,
    pacer: Pacer,
}

impl RtpStream {
    /// A stream on `socket` to `destination`, which must be loopback.
    pub fn new(socket: UdpSocket, destination: SocketAddr) -> Self {
        assert_loopback(destination);
        let local_port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
        let seed = u32::from(local_port) ^ std::process::id().rotate_left(16);
        Self {
            socket,
            destination,
            ssrc: seed.wrapping_mul(2_654_435_761),
            sequence: (seed as u16).wrapping_mul(31),
            timestamp: seed.wrapping_mul(7919),
            pacer: Pacer::default(),
        }
    }

    /// A stream from a new socket of its own on 127.0.0.1 (a stranger to
    /// the call, for stray-packet tests).
    pub fn from_new_socket(destination: SocketAddr) -> Self {
        let socket = UdpSocket::bind((IpAddr::V4(Ipv4Addr::LOCALHOST), 0)).expect("bind UDP");
        Self::new(socket, destination)
    }

    /// The local address packets leave from.
    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("socket address")
    }

    /// Sends one packet now (unpaced), advancing the sequence number only.
    pub fn send_raw(&mut self, payload_type: u8, marker: bool, timestamp: u32, payload: &[u8]) {
        let header = RtpHeader {
            payload_type,
            marker,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
        };
        self.sequence = self.sequence.wrapping_add(1);
        // A refused datagram (ICMP from a closed port) is the receiver's business.
        let _ = self
            .socket
            .send_to(&header.to_bytes(payload), self.destination);
    }

    /// Sends `datagram` as it is (no header added), from this stream's socket.
    pub fn send_raw_bytes(&self, datagram: &[u8]) {
        let _ = self.socket.send_to(datagram, self.destination);
    }

    /// Sends `samples` as PCMU packets of 20 ms, paced in real time.
    pub fn send_audio(&mut self, samples: &[i16]) {
        for frame in samples.chunks(FRAME_SAMPLES) {
            self.pacer.wait();
            let timestamp = self.timestamp;
            self.send_raw(PCMU, false, timestamp, &g711::encode_all(frame));
            self.timestamp = self.timestamp.wrapping_add(frame.len() as u32);
        }
    }

    /// Sends `duration` of silence (PCMU), paced.
    pub fn send_silence(&mut self, duration: Duration) {
        let count = (duration.as_millis() / 20) as usize * FRAME_SAMPLES;
        self.send_audio(&vec![0i16; count]);
    }

    /// Sends `digits` as RFC 4733 events shaped by `style`, each followed
    /// by `style.gap` of silence. Panics on a character that is no key.
    pub fn send_dtmf(&mut self, digits: &str, style: DtmfStyle) {
        for digit in digits.chars() {
            let code = dtmf_event_code(digit).unwrap_or_else(|| panic!("{digit:?} is no DTMF key"));
            let start = self.timestamp;
            let ticks_per_packet = FRAME_SAMPLES as u32;
            for n in 1..=style.packets {
                self.pacer.wait();
                let duration = (n * ticks_per_packet).min(u32::from(u16::MAX)) as u16;
                let marker = style.marker && n == 1;
                self.send_raw(
                    style.payload_type,
                    marker,
                    start,
                    &event_payload(code, false, duration),
                );
            }
            let total = ((style.packets + 1) * ticks_per_packet).min(u32::from(u16::MAX)) as u16;
            self.pacer.wait();
            for _ in 0..style.end_packets {
                self.send_raw(
                    style.payload_type,
                    false,
                    start,
                    &event_payload(code, true, total),
                );
            }
            self.timestamp = start.wrapping_add(u32::from(total));
            self.send_silence(style.gap);
        }
    }

    /// Sends `samples` on a thread of its own; the thread hands the stream
    /// back when done.
    pub fn spawn_audio(mut self, samples: Vec<i16>) -> JoinHandle<RtpStream> {
        std::thread::spawn(move || {
            self.send_audio(&samples);
            self
        })
    }
}

/// An RFC 4733 payload: event, end bit, volume 10 (-10 dBm0), duration.
pub fn event_payload(code: u8, end: bool, duration: u16) -> [u8; 4] {
    let [high, low] = duration.to_be_bytes();
    [code, (u8::from(end) << 7) | 10, high, low]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::rtp::{ReceivedPacket, RtpPeer};
    use crate::audio::{SAMPLE_RATE, analysis};

    #[test]
    fn a_tone_sent_between_two_peers_is_measured_at_its_frequency() {
        let (sender, receiver) = (RtpPeer::bind(), RtpPeer::bind());
        assert_eq!(sender.port() % 2, 0);
        let mut stream = sender.stream_to(receiver.addr());
        // 10 frames: 200 ms.
        stream.send_audio(&analysis::tone(1000.0, 8000.0, 1600, SAMPLE_RATE));
        assert!(
            receiver.wait_packets(10, Duration::from_secs(2)),
            "10 packets arrive"
        );
        let packets = receiver.packets();
        assert!(packets.iter().all(|p| p.from == sender.addr()));
        let sequences: Vec<u16> = packets.iter().map(|p| p.header.sequence).collect();
        let first = sequences[0];
        assert!(
            sequences
                .iter()
                .enumerate()
                .all(|(i, &s)| s == first.wrapping_add(i as u16))
        );
        let measured = analysis::dominant_frequency(&receiver.audio(), SAMPLE_RATE).expect("sound");
        assert!((measured - 1000.0).abs() <= 2.0, "{measured}");
        // Paced: 10 packets take about 180 ms from first to last.
        let spread = packets[9].at - packets[0].at;
        assert!(spread >= Duration::from_millis(150), "{spread:?}");
    }

    #[test]
    fn dtmf_events_keep_their_timestamp_and_end_with_repeated_end_packets() {
        let (sender, receiver) = (RtpPeer::bind(), RtpPeer::bind());
        let mut stream = sender.stream_to(receiver.addr());
        let style = DtmfStyle {
            marker: false,
            gap: Duration::ZERO,
            ..DtmfStyle::standard(101)
        };
        stream.send_dtmf("#", style);
        assert!(receiver.wait_packets(8, Duration::from_secs(2)));
        let events: Vec<ReceivedPacket> = receiver
            .packets()
            .into_iter()
            .filter(|p| p.header.payload_type == 101)
            .collect();
        assert_eq!(events.len(), 8);
        assert!(
            events
                .iter()
                .all(|p| !p.header.marker && p.payload[0] == 11)
        );
        assert!(
            events
                .iter()
                .all(|p| p.header.timestamp == events[0].header.timestamp)
        );
        let ends = events.iter().filter(|p| p.payload[1] & 0x80 != 0).count();
        assert_eq!(ends, 3);
        assert_eq!(
            u16::from_be_bytes([events[7].payload[2], events[7].payload[3]]),
            960
        );
    }
}
