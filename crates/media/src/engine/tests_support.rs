//! Simulated network and clock for the engine's tests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::inbound::build_rtp;
use super::*;
use crate::codec::{AnyCodec, Codec, CodecKind, FRAME_SAMPLES_8K};
use crate::rtp::{RtpPacket, parse_rtp};

pub(super) use super::tests_offload::FakeKernel;

pub(super) const A: LegId = LegId(1);
pub(super) const B: LegId = LegId(2);
pub(super) const FRAME_MS: Duration = Duration::from_millis(20);
/// A leg's format as (codec, payload type, telephone-event payload type).
pub(super) type Format = (CodecKind, u8, Option<u8>);
/// PCMU on payload type 0, no telephone-events.
pub(super) const PCMU: Format = (CodecKind::Pcmu, 0, None);

pub(super) fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Peer address of leg `id` in the tests (what its SDP says, and where it sends from).
pub(super) fn peer_of(id: LegId) -> SocketAddr {
    addr(40_000 + id.0 as u16 * 2)
}

pub(super) fn media(id: LegId, codec: CodecKind, payload_type: u8, te: Option<u8>) -> LegMedia {
    LegMedia {
        local_port: 20_000 + id.0 as u16 * 2,
        remote_rtp: Some(peer_of(id)),
        remote_rtcp: None,
        codec,
        payload_type,
        telephone_event: te,
        rtcp_mux: true,
        ptime_ms: 20,
        direction: MediaDirection::SendRecv,
    }
}

pub(super) struct Harness {
    pub engine: MediaEngine,
    pub t0: Instant,
    pub now: Instant,
    pub sent: Vec<(Instant, MediaTransmit)>,
    pub events: Vec<(Instant, MediaEvent)>,
    /// The daemon's kernel relay, simulated, when the engine may offload.
    pub kernel: Option<FakeKernel>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(EngineConfig::default())
    }

    pub fn with_config(config: EngineConfig) -> Self {
        let t0 = Instant::now();
        Self {
            engine: MediaEngine::new(config, t0, 7),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
            kernel: config.offload.then(FakeKernel::default),
        }
    }

    /// Legs A and B added in formats `a` and `b`, and bridged.
    pub fn bridged(a: Format, b: Format) -> Self {
        let mut h = Self::new();
        h.add(A, a.0, a.1, a.2);
        h.add(B, b.0, b.1, b.2);
        assert_eq!(h.engine.bridge(h.now, A, B), Ok(()));
        h
    }

    /// Leg A added in `format`, echoing what it receives.
    pub fn echoing(format: Format) -> Self {
        let mut h = Self::new();
        h.add(A, format.0, format.1, format.2);
        assert_eq!(h.engine.echo(h.now, A, true), Ok(()));
        h
    }

    pub fn add(&mut self, id: LegId, codec: CodecKind, payload_type: u8, te: Option<u8>) {
        let result = self
            .engine
            .add_leg(self.now, id, media(id, codec, payload_type, te));
        assert_eq!(result, Ok(()));
    }

    /// Takes everything the engine has to give, answering its kernel relay actions first
    /// (as the daemon does).
    pub fn drain(&mut self) {
        if let Some(kernel) = self.kernel.as_mut() {
            kernel.pump(&mut self.engine, self.now);
        }
        while let Some(transmit) = self.engine.poll_transmit() {
            self.sent.push((self.now, transmit));
        }
        while let Some(event) = self.engine.poll_event() {
            self.events.push((self.now, event));
        }
    }

    /// Fires every deadline up to `until`, then stands at `until`.
    pub fn run_until(&mut self, until: Instant) {
        while let Some(at) = self.engine.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.engine.handle_timeout(self.now);
            self.drain();
        }
        self.now = self.now.max(until);
    }

    pub fn receive(&mut self, id: LegId, from: SocketAddr, datagram: &[u8]) {
        let now = self.now;
        if let Some(forwarded) = self
            .kernel
            .as_mut()
            .and_then(|kernel| kernel.forward(now, id, from, datagram))
        {
            self.sent.push((now, forwarded));
            return;
        }
        self.engine.handle_rtp(self.now, id, from, datagram);
        self.drain();
    }

    /// RTP packets sent on leg `id` (RTCP left out), parsed.
    pub fn rtp_to(&self, id: LegId) -> Vec<RtpPacket> {
        self.sent
            .iter()
            .filter(|(_, t)| t.leg == id && !t.rtcp && !crate::rtp::is_rtcp(&t.payload))
            .filter_map(|(_, t)| parse_rtp(t.payload.clone()).ok())
            .collect()
    }

    pub fn has_event(&self, wanted: &MediaEvent) -> bool {
        self.events.iter().any(|(_, event)| event == wanted)
    }
}

/// A packet from a test peer.
pub(super) fn packet(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Bytes {
    build_rtp(&mut BytesMut::new(), pt, marker, seq, ts, ssrc, payload)
}

pub(super) fn tone(freq: f64, amplitude: f64, samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|n| (amplitude * (2.0 * std::f64::consts::PI * freq * n as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// Encodes `pcm` frame by frame with `codec`.
pub(super) fn encode_frames(codec: CodecKind, pcm: &[i16]) -> Vec<Vec<u8>> {
    let Ok(mut coder) = AnyCodec::new(codec) else {
        panic!("codec {codec:?} unavailable");
    };
    pcm.chunks(FRAME_SAMPLES_8K)
        .map(|chunk| {
            let mut out = Vec::new();
            assert_eq!(coder.encode(chunk, &mut out), Ok(()));
            out
        })
        .collect()
}

/// Decodes received packets in order with `codec`.
pub(super) fn decode_packets(codec: CodecKind, packets: &[RtpPacket]) -> Vec<i16> {
    let Ok(mut coder) = AnyCodec::new(codec) else {
        panic!("codec {codec:?} unavailable");
    };
    let mut pcm = Vec::new();
    for packet in packets {
        assert_eq!(coder.decode(&packet.payload, &mut pcm), Ok(()));
    }
    pcm
}

/// Frequency from the zero crossings of `pcm` (8 kHz).
pub(super) fn frequency(pcm: &[i16]) -> f64 {
    let crossings = pcm
        .windows(2)
        .filter(|pair| matches!(pair, [a, b] if (*a < 0) != (*b < 0)))
        .count();
    crossings as f64 / 2.0 / (pcm.len() as f64 / 8000.0)
}

/// Sends `frames` payloads from leg `id`'s peer at 20 ms intervals, running the engine.
pub(super) fn feed(h: &mut Harness, id: LegId, pt: u8, frames: &[Vec<u8>], ticks_per_frame: u32) {
    let start = h.now;
    for (n, payload) in frames.iter().enumerate() {
        h.run_until(start + FRAME_MS * n as u32);
        let seq = 1000u16.wrapping_add(n as u16);
        let ts = 5000u32.wrapping_add(ticks_per_frame * n as u32);
        let datagram = packet(pt, seq, ts, 0xA11CE, n == 0, payload);
        h.receive(id, peer_of(id), &datagram);
    }
}

/// Asserts that each packet follows the one before it: the next sequence
/// number and, where `ticks` is given, a timestamp `ticks` later.
pub(super) fn assert_follows(packets: &[RtpPacket], ticks: Option<u32>) {
    for pair in packets.windows(2) {
        let [first, second] = pair else { continue };
        assert_eq!(
            second.header.sequence_number,
            first.header.sequence_number.wrapping_add(1)
        );
        if let Some(ticks) = ticks {
            assert_eq!(
                second.header.timestamp,
                first.header.timestamp.wrapping_add(ticks)
            );
        }
    }
}

/// A playback over fixed samples.
pub(super) struct SamplesSource {
    pub samples: Vec<i16>,
    pub position: usize,
}

impl FrameSource for SamplesSource {
    fn next_frame(&mut self, frame: &mut [i16]) -> bool {
        let Some(rest) = self
            .samples
            .get(self.position..)
            .filter(|rest| !rest.is_empty())
        else {
            return false;
        };
        frame.fill(0);
        for (slot, sample) in frame.iter_mut().zip(rest) {
            *slot = *sample;
        }
        self.position += frame.len();
        true
    }
}

/// A tap keeping what it was given.
#[derive(Clone, Default)]
pub(super) struct SharedTap {
    pub inbound: Arc<Mutex<Vec<i16>>>,
    pub outbound: Arc<Mutex<Vec<i16>>>,
}

impl SharedTap {
    /// The decoded inbound samples so far.
    pub fn inbound_samples(&self) -> Vec<i16> {
        kept(&self.inbound)
    }

    /// The samples sent so far.
    pub fn outbound_samples(&self) -> Vec<i16> {
        kept(&self.outbound)
    }
}

fn kept(samples: &Mutex<Vec<i16>>) -> Vec<i16> {
    samples.lock().map(|kept| kept.clone()).unwrap_or_default()
}

impl FrameSink for SharedTap {
    fn frame(&mut self, _now: Instant, inbound: &[i16], outbound: &[i16]) {
        if let Ok(mut kept) = self.inbound.lock() {
            kept.extend_from_slice(inbound);
        }
        if let Ok(mut kept) = self.outbound.lock() {
            kept.extend_from_slice(outbound);
        }
    }
}

/// Normalized cross-correlation of equal-length signals.
pub(super) fn correlation(a: &[i16], b: &[i16]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt().max(1.0)
}
