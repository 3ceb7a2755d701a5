//! The engine's inputs and outputs: leg parameters, transmits, events, statistics and the
//! frame traits the player implements.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::codec::CodecKind;

/// Identity of one media leg (the daemon maps its call legs onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LegId(pub u64);

/// Media direction from our side, as negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MediaDirection {
    /// We send and receive.
    #[default]
    SendRecv,
    /// We only send (we put the peer on hold, or it asked for recvonly).
    SendOnly,
    /// We only receive.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl MediaDirection {
    /// True when we may send media to the peer.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// True when we expect media from the peer.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }
}

/// The negotiated media parameters of one leg (from `switchd_sip::sdp::Negotiated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegMedia {
    /// Our RTP port for the leg (identity only: the engine owns no socket).
    pub local_port: u16,
    /// The RTP address in the peer's SDP (`None` until known: learnt from the first packet).
    pub remote_rtp: Option<SocketAddr>,
    /// The RTCP address in the peer's SDP (`None`: RTP port + 1, or RTP's with rtcp-mux).
    pub remote_rtcp: Option<SocketAddr>,
    /// The codec negotiated.
    pub codec: CodecKind,
    /// Its payload type.
    pub payload_type: u8,
    /// The telephone-event (RFC 4733) payload type, if negotiated.
    pub telephone_event: Option<u8>,
    /// RTP and RTCP share the RTP port (RFC 5761).
    pub rtcp_mux: bool,
    /// Packetization time in ms (the engine sends 20 ms frames; kept for reporting).
    pub ptime_ms: u32,
    /// Direction from our side.
    pub direction: MediaDirection,
}

/// One datagram for the daemon to send from the leg's socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaTransmit {
    /// The leg whose socket sends it.
    pub leg: LegId,
    /// The port to send from: the leg's RTP port, or its RTCP port when
    /// `rtcp` (the daemon needs no look-up of its own per packet).
    pub local_port: u16,
    /// Where to send it.
    pub destination: SocketAddr,
    /// True when it leaves from the RTCP port (RTCP without rtcp-mux).
    pub rtcp: bool,
    /// The datagram.
    pub payload: Bytes,
}

/// Something the daemon or the call logic should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// No RTP received on a receiving leg for the configured media timeout.
    MediaTimeout {
        /// The silent leg.
        leg: LegId,
    },
    /// The peer's media source was learnt (symmetric RTP); media now goes there.
    SourceLearned {
        /// The leg.
        leg: LegId,
        /// The source address.
        source: SocketAddr,
    },
    /// A playback ran to its end (not sent for [`super::MediaEngine::stop_play`]).
    PlayFinished {
        /// The leg.
        leg: LegId,
    },
    /// A telephone-event packet arrived, for the player's RFC 4733 receiver.
    TelephoneEvent {
        /// The leg.
        leg: LegId,
        /// The 4-byte (or longer) event payload.
        payload: Bytes,
        /// Its RTP timestamp.
        timestamp: u32,
        /// Its marker bit.
        marker: bool,
    },
}

/// One telephone-event packet to send (the player's `Rfc4733Sender` builds them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEventPacket {
    /// Marker bit (first packet of the event).
    pub marker: bool,
    /// The event payload (event, E/R/volume, duration).
    pub payload: [u8; 4],
    /// When to send it, in RTP ticks after the first packet of the digit.
    pub offset_ticks: u32,
}

/// Counters of one leg.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegMediaStats {
    /// RTP packets accepted.
    pub packets_in: u64,
    /// RTP payload bytes accepted.
    pub bytes_in: u64,
    /// RTP packets sent.
    pub packets_out: u64,
    /// RTP payload bytes sent.
    pub bytes_out: u64,
    /// Cumulative packets lost as RFC 3550 counts them (negative with duplicates).
    pub lost: i32,
    /// Interarrival jitter.
    pub jitter: Duration,
    /// Round-trip time from the peer's last report block about us (LSR/DLSR).
    pub rtt: Option<Duration>,
    /// Datagrams dropped for coming from a source other than the locked one.
    pub strays: u64,
    /// Datagrams dropped as malformed RTP or RTCP.
    pub malformed: u64,
    /// RTP packets dropped for a payload type the leg did not negotiate.
    pub wrong_payload_type: u64,
    /// RTCP packets received and parsed.
    pub rtcp_in: u64,
    /// RTCP packets sent.
    pub rtcp_out: u64,
    /// Telephone-event packets received.
    pub telephone_events_in: u64,
    /// Frames that failed to decode or encode.
    pub codec_errors: u64,
}

/// Counters of the whole engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Legs now.
    pub legs: usize,
    /// Legs refused by the leg limit.
    pub legs_refused: u64,
    /// Datagrams for a leg the engine does not know.
    pub unknown_leg: u64,
    /// Transmits dropped because the daemon did not drain the queue.
    pub transmit_overflow: u64,
    /// Events dropped because the daemon did not drain the queue.
    pub event_overflow: u64,
    /// Telephone-event packets refused because the leg's send queue was full.
    pub dtmf_overflow: u64,
    /// Relay directions handed to the daemon's kernel relay ([`crate::engine::OffloadAction::Install`]).
    pub offloads_installed: u64,
    /// Relay directions the daemon could not install (map full, IPv6, error).
    pub offloads_refused: u64,
    /// Packets the daemon's kernel relay forwarded, as of the last reads.
    pub offloaded_packets: u64,
    /// Relay directions forwarded outside the engine now (or being taken back).
    pub offloads_active: usize,
    /// Packets dropped while a direction was being taken back from the kernel relay
    /// (a new SSRC arrived before the kernel's counters did).
    pub offload_handover_drops: u64,
}

/// Limits and timers of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Most legs.
    pub max_legs: usize,
    /// Most queued transmits before new ones are dropped.
    pub max_transmits: usize,
    /// Most queued events before new ones are dropped.
    pub max_events: usize,
    /// Most queued telephone-event packets per leg.
    pub max_dtmf_packets: usize,
    /// Symmetric RTP learning window after the first packet.
    pub learning_window: Duration,
    /// Silence on a receiving leg before [`MediaEvent::MediaTimeout`].
    pub media_timeout: Duration,
    /// Mean RTCP report interval (jittered ±10 % per leg, deterministically).
    pub rtcp_interval: Duration,
    /// Our SDES CNAME.
    pub cname: &'static str,
    /// The NTP time (64-bit) at the `now` the engine was created with, for SR timestamps.
    pub ntp_at_start: u64,
    /// Whether same-codec relay directions may be handed to the daemon to forward
    /// outside the engine ([`crate::engine::OffloadAction`]): the daemon sets it when its kernel relay
    /// is loaded.
    pub offload: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_legs: 10_000,
            max_transmits: 8192,
            max_events: 1024,
            max_dtmf_packets: 64,
            learning_window: Duration::from_secs(2),
            media_timeout: Duration::from_secs(30),
            rtcp_interval: Duration::from_secs(5),
            cname: "switchd",
            ntp_at_start: 0,
            offload: false,
        }
    }
}

/// Produces 20 ms frames of 8 kHz mono PCM to send on a leg (a prompt playback).
pub trait FrameSource: Send {
    /// Fills `frame` (160 samples) with the next 20 ms; `false` once finished.
    fn next_frame(&mut self, frame: &mut [i16]) -> bool;
}

/// Consumes the decoded audio of a leg (a recorder, an in-band DTMF detector).
pub trait FrameSink: Send {
    /// One 20 ms tick: what the peer sent (`inbound`) and what the leg was sent
    /// (`outbound`), 160 samples each, silence where nothing was.
    fn frame(&mut self, now: Instant, inbound: &[i16], outbound: &[i16]);
}
