//! One leg's state: source filter, receive statistics, outgoing stream, decoders.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::codec::{AnyCodec, Codec, FRAME_SAMPLES_8K};
use crate::jitter::{Frame, JitterBuffer, JitterConfig};
use crate::relay::{PayloadTypeMap, Relay};
use crate::rtp::{RtpReceiver, RtpSender, SenderConfig};
use crate::source::SourceFilter;

use super::types::{FrameSink, FrameSource, LegId, LegMedia, LegMediaStats};

/// A 20 ms frame of internal PCM.
pub(super) type Pcm = [i16; FRAME_SAMPLES_8K];

/// Where a leg's outgoing stream is fed from.
pub(super) enum Outbound {
    /// Frames we originate (playback, transcoded audio, telephone-events).
    Direct(RtpSender),
    /// Packets of the bridge peer relayed as they arrive (same-codec bridge, or echo);
    /// the relay owns the stream while it lasts.
    Relay(Box<Relay>),
}

impl Outbound {
    pub(super) fn sender_mut(&mut self) -> &mut RtpSender {
        match self {
            Self::Direct(sender) => sender,
            Self::Relay(relay) => relay.sender_mut(),
        }
    }

    /// Takes the stream back from a relay (the bridge ended).
    pub(super) fn detach(&mut self) {
        if let Self::Relay(relay) = self {
            let placeholder = Self::Direct(RtpSender::new(*relay.sender_mut().config()));
            if let Self::Relay(relay) = std::mem::replace(self, placeholder) {
                *self = Self::Direct(relay.into_sender());
            }
        }
    }

    /// Hands the stream to a relay with the given payload type maps.
    pub(super) fn attach(&mut self, audio: PayloadTypeMap, events: Option<PayloadTypeMap>) {
        self.detach();
        let placeholder = Self::Direct(RtpSender::new(*self.sender_mut().config()));
        if let Self::Direct(sender) = std::mem::replace(self, placeholder) {
            *self = Self::Relay(Box::new(Relay::new(sender, audio, events)));
        }
    }
}

/// How a leg's received audio reaches another leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// Nowhere.
    None,
    /// Relayed packet by packet (same codec, or echo to itself).
    Relay(LegId),
    /// Decoded on the tick and re-encoded for the peer.
    Transcode(LegId),
}

impl Route {
    pub(super) fn peer(self) -> Option<LegId> {
        match self {
            Self::None => None,
            Self::Relay(peer) | Self::Transcode(peer) => Some(peer),
        }
    }
}

/// A telephone-event packet waiting for its send time.
#[derive(Debug, Clone, Copy)]
pub(super) struct QueuedEvent {
    pub at: Instant,
    pub marker: bool,
    pub payload: [u8; 4],
    /// Starts a new event (its timestamp is taken from the stream then).
    pub new_event: bool,
}

/// Everything the engine keeps about one leg.
pub(super) struct Leg {
    pub id: LegId,
    pub media: LegMedia,
    pub filter: SourceFilter,
    pub receiver: RtpReceiver,
    pub outbound: Outbound,
    pub codec: AnyCodec,
    /// Inbound audio waiting for the tick, when something decodes it.
    pub jitter: Option<JitterBuffer>,
    pub route: Route,
    pub playback: Option<Box<dyn FrameSource>>,
    pub taps: Vec<Box<dyn FrameSink>>,
    /// What the peer's tick produced for this leg since our last tick (for taps).
    pub pending_out: Option<Pcm>,
    pub dtmf_out: VecDeque<QueuedEvent>,
    /// RTP timestamp of the telephone-event being sent.
    pub dtmf_timestamp: u32,
    /// Source and mapped timestamps of the event being passed through a transcoding bridge.
    pub event_map: Option<(u32, u32)>,
    pub tick_at: Option<Instant>,
    pub rtcp_at: Instant,
    pub last_received: Instant,
    pub timeout_reported: bool,
    pub stats: LegMediaStats,
    /// The deadline this leg is filed under in the engine's timer set.
    pub scheduled: Option<Instant>,
    /// When the counters of the direction arriving here and forwarded by the daemon's
    /// kernel relay are next read.
    pub offload_read_at: Option<Instant>,
    /// The daemon could not forward this leg's direction: relay it here until the
    /// bridge changes.
    pub offload_refused: bool,
}

pub(super) const FRAME: Duration = Duration::from_millis(20);

impl Leg {
    pub(super) fn new(
        now: Instant,
        id: LegId,
        media: LegMedia,
        codec: AnyCodec,
        sender: SenderConfig,
        learning_window: Duration,
        rtcp_at: Instant,
    ) -> Self {
        Self {
            id,
            media,
            filter: SourceFilter::new(media.remote_rtp, learning_window),
            receiver: RtpReceiver::new(media.codec.rtp_clock_rate()),
            outbound: Outbound::Direct(RtpSender::new(sender)),
            codec,
            jitter: None,
            route: Route::None,
            playback: None,
            taps: Vec::new(),
            pending_out: None,
            dtmf_out: VecDeque::new(),
            dtmf_timestamp: 0,
            event_map: None,
            tick_at: None,
            rtcp_at,
            last_received: now,
            timeout_reported: false,
            stats: LegMediaStats::default(),
            scheduled: None,
            offload_read_at: None,
            offload_refused: false,
        }
    }

    /// Where RTP goes: the learnt source, else the SDP address; `None` when we must not send.
    pub(super) fn rtp_destination(&self) -> Option<SocketAddr> {
        self.media
            .direction
            .sends()
            .then(|| self.filter.destination())
            .flatten()
    }

    /// Where RTCP goes (sent whatever the direction: reports keep flowing on hold).
    pub(super) fn rtcp_destination(&self) -> Option<SocketAddr> {
        let rtp = self.filter.destination()?;
        if self.media.rtcp_mux {
            return Some(rtp);
        }
        Some(self.media.remote_rtcp.unwrap_or_else(|| {
            let mut next = rtp;
            next.set_port(rtp.port().wrapping_add(1));
            next
        }))
    }

    /// True when something decodes this leg's inbound audio on a tick.
    pub(super) fn decodes_inbound(&self, peer_has_taps: bool) -> bool {
        !self.taps.is_empty()
            || matches!(self.route, Route::Transcode(_))
            || (peer_has_taps && matches!(self.route, Route::Relay(_)))
    }

    /// True when the leg's outgoing stream is busy with its own frames (playback, digits)
    /// and bridged audio for it is to be dropped.
    pub(super) fn outbound_busy(&self) -> bool {
        self.playback.is_some() || !self.dtmf_out.is_empty()
    }

    /// Starts or stops the 20 ms tick as the leg's needs say.
    pub(super) fn set_ticking(&mut self, now: Instant, decode: bool) {
        if decode && self.jitter.is_none() {
            let clock = self.media.codec.rtp_clock_rate();
            let mut config = JitterConfig::voice(clock);
            config.frame_ticks = self.media.codec.rtp_ticks_per_frame();
            self.jitter = Some(JitterBuffer::new(config));
        } else if !decode {
            self.jitter = None;
        }
        let needs_tick = self.jitter.is_some() || self.playback.is_some();
        match (needs_tick, self.tick_at) {
            (true, None) => self.tick_at = Some(now + FRAME),
            (false, Some(_)) => self.tick_at = None,
            _ => {}
        }
    }

    /// The inbound frame of this tick, decoded (silence without a jitter buffer).
    pub(super) fn decode_inbound(&mut self, now: Instant) -> Option<Pcm> {
        let jitter = self.jitter.as_mut()?;
        let mut pcm = Vec::with_capacity(FRAME_SAMPLES_8K);
        let result = match jitter.pop(now) {
            Frame::Audio { payload, .. } => self.codec.decode(&payload, &mut pcm),
            Frame::Conceal => self.codec.conceal(&mut pcm),
            Frame::Silence => Ok(()),
        };
        if result.is_err() {
            self.stats.codec_errors += 1;
        }
        Some(to_frame(&pcm))
    }

    /// The earliest of this leg's own timers.
    pub(super) fn next_deadline(&self, media_timeout: Duration) -> Instant {
        let mut deadline = self.rtcp_at;
        let mut consider = |at: Option<Instant>| {
            if let Some(at) = at {
                deadline = deadline.min(at);
            }
        };
        consider(self.tick_at);
        consider(self.filter.poll_timeout());
        consider(self.dtmf_out.front().map(|event| event.at));
        consider(self.offload_read_at);
        if self.media.direction.receives() && !self.timeout_reported {
            consider(Some(self.last_received + media_timeout));
        }
        if self.tick_at.is_none() {
            consider(self.jitter.as_ref().and_then(JitterBuffer::poll_timeout));
        }
        deadline
    }
}

/// `pcm` cut or padded with silence to one frame.
pub(super) fn to_frame(pcm: &[i16]) -> Pcm {
    let mut frame = [0i16; FRAME_SAMPLES_8K];
    for (slot, sample) in frame.iter_mut().zip(pcm) {
        *slot = *sample;
    }
    frame
}
