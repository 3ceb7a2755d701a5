//! RTP as a far end sees it: packets built and parsed here (RFC 3550 fixed
//! header, CSRCs, extension, padding), a peer that records every packet it
//! receives, and its audio decoded in arrival order or laid out in time.
//! Sending is [`crate::audio::sender`]'s.

use crate::audio::sender::RtpStream;
use crate::audio::{FRAME_SAMPLES, g711};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// PCMU's static payload type.
pub const PCMU: u8 = 0;
/// One packet every 20 ms.
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);
/// Packets kept per peer at most (over 16 minutes of 20 ms audio).
const RECEIVED_LIMIT: usize = 50_000;

/// The fixed RTP header fields a test cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Header (version 2, no padding, extension or CSRC) followed by `payload`.
    pub fn to_bytes(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + payload.len());
        out.push(0x80);
        out.push((u8::from(self.marker) << 7) | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// The header and payload of a version-2 RTP datagram, skipping CSRCs
    /// and any extension and dropping padding; `None` for anything else.
    pub fn parse(datagram: &[u8]) -> Option<(RtpHeader, Vec<u8>)> {
        let first = *datagram.first()?;
        if first >> 6 != 2 {
            return None;
        }
        let second = *datagram.get(1)?;
        let word = |at: usize| -> Option<u32> {
            Some(u32::from_be_bytes(
                datagram.get(at..at + 4)?.try_into().ok()?,
            ))
        };
        let header = RtpHeader {
            payload_type: second & 0x7F,
            marker: second & 0x80 != 0,
            sequence: u16::from_be_bytes(datagram.get(2..4)?.try_into().ok()?),
            timestamp: word(4)?,
            ssrc: word(8)?,
        };
        let mut start = 12 + 4 * usize::from(first & 0x0F);
        if first & 0x10 != 0 {
            let length = u16::from_be_bytes(datagram.get(start + 2..start + 4)?.try_into().ok()?);
            start += 4 + 4 * usize::from(length);
        }
        let mut end = datagram.len();
        if first & 0x20 != 0 {
            end = end.checked_sub(usize::from(*datagram.last()?))?;
        }
        let payload = datagram.get(start..end)?.to_vec();
        Some((header, payload))
    }
}

/// One datagram a [`RtpPeer`] received.
#[derive(Debug, Clone)]
pub struct ReceivedPacket {
    /// When it arrived.
    pub at: Instant,
    /// Who sent it.
    pub from: SocketAddr,
    /// Its header.
    pub header: RtpHeader,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// Panics unless `addr` is a loopback address: tests never send elsewhere.
pub fn assert_loopback(addr: SocketAddr) {
    assert!(
        addr.ip().is_loopback(),
        "refusing to send to {addr}: tests send only to loopback"
    );
}

/// An RTP endpoint on 127.0.0.1 (an even port, with the RTCP port above it
/// bound too, so nothing the daemon sends there reaches another test),
/// recording everything it receives on a thread of its own.
#[derive(Debug)]
pub struct RtpPeer {
    socket: UdpSocket,
    received: Arc<Mutex<Vec<ReceivedPacket>>>,
    not_rtp: Arc<AtomicUsize>,
    rtcp: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl RtpPeer {
    /// Binds an even port and the odd one above it, and starts receiving.
    pub fn bind() -> Self {
        let (socket, rtcp_socket) = (0..200)
            .find_map(|_| {
                let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
                let port = socket.local_addr().ok()?.port();
                if port % 2 != 0 || port == u16::MAX {
                    return None;
                }
                let rtcp = UdpSocket::bind((Ipv4Addr::LOCALHOST, port + 1)).ok()?;
                Some((socket, rtcp))
            })
            .expect("no free even/odd UDP port pair on 127.0.0.1 in 200 tries");
        let received = Arc::new(Mutex::new(Vec::new()));
        let not_rtp = Arc::new(AtomicUsize::new(0));
        let rtcp = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let rtp_thread = {
            let socket = socket.try_clone().expect("clone RTP socket");
            let (received, not_rtp, stop) = (received.clone(), not_rtp.clone(), stop.clone());
            std::thread::spawn(move || {
                receive_loop(&socket, &stop, |from, bytes| {
                    match RtpHeader::parse(bytes) {
                        Some((header, payload)) => {
                            let mut list = received.lock().unwrap_or_else(|e| e.into_inner());
                            if list.len() < RECEIVED_LIMIT {
                                list.push(ReceivedPacket {
                                    at: Instant::now(),
                                    from,
                                    header,
                                    payload,
                                });
                            }
                        }
                        None => {
                            not_rtp.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
        };
        let rtcp_thread = {
            let (rtcp, stop) = (rtcp.clone(), stop.clone());
            std::thread::spawn(move || {
                receive_loop(&rtcp_socket, &stop, |_, _| {
                    rtcp.fetch_add(1, Ordering::Relaxed);
                })
            })
        };
        Self {
            socket,
            received,
            not_rtp,
            rtcp,
            stop,
            threads: vec![rtp_thread, rtcp_thread],
        }
    }

    /// The RTP port.
    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// The RTP address, 127.0.0.1:port.
    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("RTP socket address")
    }

    /// Every RTP packet received so far.
    pub fn packets(&self) -> Vec<ReceivedPacket> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets the packets received so far.
    pub fn clear(&self) {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Datagrams on the RTP port that were not RTP.
    pub fn not_rtp_count(&self) -> usize {
        self.not_rtp.load(Ordering::Relaxed)
    }

    /// Datagrams received on the RTCP port.
    pub fn rtcp_count(&self) -> usize {
        self.rtcp.load(Ordering::Relaxed)
    }

    /// The PCMU audio received so far, decoded, in arrival order.
    pub fn audio(&self) -> Vec<i16> {
        pcmu_audio(&self.packets())
    }

    /// Waits until at least `count` RTP packets arrived; whether they did
    /// within `timeout`.
    pub fn wait_packets(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self
                .received
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len()
                >= count
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A sender from this peer's port to `destination` (loopback only).
    pub fn stream_to(&self, destination: SocketAddr) -> RtpStream {
        RtpStream::new(
            self.socket.try_clone().expect("clone RTP socket"),
            destination,
        )
    }
}

impl Drop for RtpPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Receives on `socket` until `stop`, handing each datagram to `handle`.
fn receive_loop(socket: &UdpSocket, stop: &AtomicBool, mut handle: impl FnMut(SocketAddr, &[u8])) {
    let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buffer = vec![0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        if let Ok((len, from)) = socket.recv_from(&mut buffer) {
            handle(from, buffer.get(..len).unwrap_or_default());
        }
    }
}

/// The PCMU payloads of `packets`, decoded, in the order given.
pub fn pcmu_audio(packets: &[ReceivedPacket]) -> Vec<i16> {
    packets
        .iter()
        .filter(|p| p.header.payload_type == PCMU)
        .flat_map(|p| g711::decode_all(&p.payload))
        .collect()
}

/// Longest timeline [`pcmu_timeline`] builds: ten minutes.
const TIMELINE_LIMIT: usize = 10 * 60 * 8000;

/// The PCMU audio of `packets` laid out in time: a packet that arrives
/// within a frame of where the audio so far ends continues it; one that
/// arrives later starts after silence as long as the pause. Shows pauses in
/// a sender that sends nothing while it has nothing to say, which plain
/// concatenation ([`pcmu_audio`]) hides.
pub fn pcmu_timeline(packets: &[ReceivedPacket]) -> Vec<i16> {
    let mut audio: Vec<i16> = Vec::new();
    let Some(first) = packets.iter().find(|p| p.header.payload_type == PCMU) else {
        return audio;
    };
    for packet in packets.iter().filter(|p| p.header.payload_type == PCMU) {
        let since = packet.at.saturating_duration_since(first.at);
        let arrival = (since.as_micros() * 8 / 1000) as usize;
        // A packet carries the 20 ms before it was sent.
        let start = arrival.saturating_sub(packet.payload.len());
        if start > audio.len() + FRAME_SAMPLES {
            audio.resize(start.min(TIMELINE_LIMIT), 0);
        }
        if audio.len() >= TIMELINE_LIMIT {
            break;
        }
        audio.extend(g711::decode_all(&packet.payload));
    }
    audio
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{SAMPLE_RATE, analysis};

    #[test]
    fn headers_round_trip_and_skip_csrc_extension_and_padding() {
        let header = RtpHeader {
            payload_type: 101,
            marker: true,
            sequence: 65_535,
            timestamp: 0xDEAD_BEEF,
            ssrc: 42,
        };
        let bytes = header.to_bytes(b"abcd");
        assert_eq!(RtpHeader::parse(&bytes), Some((header, b"abcd".to_vec())));

        // One CSRC, a one-word extension, two bytes of padding.
        let mut fancy = vec![0xB1, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        fancy.extend_from_slice(&[0, 0, 0, 9]); // CSRC
        fancy.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // extension
        fancy.extend_from_slice(b"xy\0\x02");
        let (parsed, payload) = RtpHeader::parse(&fancy).expect("valid");
        assert_eq!((parsed.sequence, parsed.ssrc), (1, 3));
        assert_eq!(payload, b"xy");
    }

    #[test]
    fn malformed_datagrams_are_refused() {
        assert_eq!(RtpHeader::parse(&[]), None);
        assert_eq!(RtpHeader::parse(&[0x80, 0, 0]), None);
        assert_eq!(RtpHeader::parse(&[0x40; 20]), None); // version 1
        let mut csrc_overflow = vec![0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        csrc_overflow.extend_from_slice(&[0; 8]);
        assert_eq!(RtpHeader::parse(&csrc_overflow), None);
        let mut padding_overflow = RtpHeader {
            payload_type: 0,
            marker: false,
            sequence: 0,
            timestamp: 0,
            ssrc: 0,
        }
        .to_bytes(&[1, 2, 200]);
        padding_overflow[0] |= 0x20;
        assert_eq!(RtpHeader::parse(&padding_overflow), None);
    }

    #[test]
    fn the_timeline_shows_pauses_that_concatenation_hides() {
        let (sender, receiver) = (RtpPeer::bind(), RtpPeer::bind());
        let mut stream = sender.stream_to(receiver.addr());
        let burst = analysis::tone(500.0, 8000.0, 800, SAMPLE_RATE);
        stream.send_audio(&burst);
        std::thread::sleep(Duration::from_millis(400));
        stream.send_audio(&burst);
        assert!(receiver.wait_packets(10, Duration::from_secs(2)));
        let packets = receiver.packets();
        assert_eq!(pcmu_audio(&packets).len(), 1600);
        let segments = analysis::active_segments(&pcmu_timeline(&packets), 160, 300.0, 3);
        assert_eq!(segments.len(), 2, "{segments:?}");
        let gap = segments[1].0 - segments[0].1;
        // About 400 ms plus the pacing slot, give or take scheduling.
        assert!((2400..=4400).contains(&gap), "gap of {gap} samples");
    }
}
