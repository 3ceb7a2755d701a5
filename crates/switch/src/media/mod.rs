//! Audio through the switch: a sans-IO [`MediaEngine`] holding every leg's
//! RTP, fed and drained by the daemon through the [`Switch`].
//!
//! Each leg that holds an RTP port has a `LegAudio`: its engine id, what
//! plays on it, its digit collector, DTMF pipeline, taps and recording. The
//! engine only learns about a leg once its SDP is negotiated (answer sent or
//! received, 183 with SDP); packets arriving before that are dropped and
//! counted. The daemon binds the port on [`SocketAction::Open`], sent when
//! the port is allocated (our SDP carrying it may leave at once), and
//! unbinds it on [`SocketAction::Close`] when the leg ends.
//!
//! Choices:
//! - `leg.media_timeout` with `media_timeout_hangup` ends the leg with
//!   `recovery_on_timer_expire`: the protocol has no `media_timeout` cause,
//!   and a timer running out without word from the peer is what it means.
//! - DTMF arriving in a bridge is reported but not regenerated: the engine
//!   already passes telephone-events through to the peer.
//! - A collector's prompts are the collector's business: starting or
//!   barging into them emits no `play.*` event. A `play` cut short (by
//!   `stop_play`, another `play`, a collector prompt or hangup) emits
//!   `play.stopped`.
//! - An echoing leg reports itself in `bridged_with`.
//! - In-band DTMF detection on legs without telephone-event follows
//!   [`InbandDtmf`]: by default (`Auto`) only while the switch terminates
//!   the leg's media (a `collect`, a `play`, no bridge, a transcoding
//!   bridge), so a same-codec bridge or an echo relays packets without
//!   decoding them. The detector comes and goes as that changes; when it
//!   goes it is fed silence first, so a digit being heard is reported.
//! - With a hold prompt configured, an answered leg with media that is in
//!   no bridge, echo, `play` or `collect` hears it looped, as
//!   `Playing::Hold`: re-decided at each of those transitions, it emits
//!   no `play.*` event, `stop_play` leaves it alone, and anything else
//!   that plays replaces it at once.
//!
//! # Layout
//! - `mod.rs`: the public types, `MediaState`, datagrams in and out, the
//!   engine's events and timers.
//! - `legs`: a leg's port, negotiated media and end; `LegInfo.media`; stats.
//! - `dtmf`: digits in (RFC 4733, INFO, in-band) and out (`send_dtmf`).
//! - `inband`: when a leg has an in-band detector; attaching, detaching.
//! - `hold`: the hold prompt of idle answered legs.
//! - `prompts`: `play`, `collect`, `record` and what they start.
//! - `commands`: `bridge`, `unbridge`, `echo`, `stop_play`, `stop_record`.

mod commands;
mod dtmf;
mod hold;
mod inband;
mod legs;
mod prompts;

use crate::config::InbandDtmf;
use crate::switch::Switch;
use bytes::Bytes;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchd_control::{EventKind, HangupCause};
use switchd_media::engine::{EngineConfig, LegId, LegMedia, MediaEngine, MediaEvent};
pub use switchd_media::engine::{LegId as MediaLegId, OffloadAction, OffloadCounters, OffloadRule};
use switchd_player::collector::Collector;
use switchd_player::dtmf::{Digit, DtmfPipeline, PipelineConfig};
use switchd_player::frames::{DetectedTones, RecorderHandle};
use switchd_player::wav::Prompt;

pub(crate) use legs::MediaTotals;

/// A socket the daemon must bind or release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketAction {
    /// Bind `port` (RTP) and `port + 1` (RTCP) on the media address and
    /// start reading them, then report with [`Switch::handle_socket_opened`]
    /// or [`Switch::handle_socket_failed`]. The switch keeps a few pairs
    /// bound ahead of need, so legs only ever get ports that are listening.
    Open {
        /// The even RTP port.
        port: u16,
    },
    /// Release both sockets of `port`.
    Close {
        /// The even RTP port.
        port: u16,
    },
}

/// An RTP or RTCP datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpTransmit {
    /// The local port to send from (the RTP port, or the one above for RTCP).
    pub local_port: u16,
    /// Where to send it.
    pub destination: SocketAddr,
    /// The datagram.
    pub payload: Bytes,
}

/// A recording that stopped (`stop_record`, a new `record`, hangup): the
/// daemon finishes the file through `handle` off the core task, then calls
/// [`Switch::handle_recording_finished`] for each path.
#[derive(Debug)]
pub struct FinishedRecording {
    /// The leg recorded.
    pub leg: String,
    /// The files written (one, or two in split mode).
    pub paths: Vec<PathBuf>,
    /// Finishes the WAV files.
    pub handle: RecorderHandle,
}

/// What the engine is playing on a leg, as far as events are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Playing {
    /// A `play`: `play.finished` or `play.stopped` follows.
    Requested,
    /// A collector's prompt: the collector hears when it ends.
    CollectorPrompt,
    /// The configured hold prompt, looped while the leg is idle: no events,
    /// and invisible to `stop_play`.
    Hold,
}

/// Where a leg's audio goes besides taps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Link {
    /// Reflected back to it.
    Echo,
    /// Bridged with this leg.
    Bridge(String),
}

/// The kinds of engine taps on a leg, in the order they were added (the
/// engine hands them back in that order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TapKind {
    /// The in-band DTMF detector.
    Inband,
    /// The recorder.
    Recorder,
}

/// A recording in progress.
#[derive(Debug)]
pub(crate) struct ActiveRecording {
    pub paths: Vec<PathBuf>,
    pub handle: RecorderHandle,
}

/// The audio side of one leg.
#[derive(Debug)]
pub(crate) struct LegAudio {
    pub engine_id: LegId,
    pub port: u16,
    /// What the engine holds, once negotiated.
    pub media: Option<LegMedia>,
    pub link: Option<Link>,
    /// Turn echo on as soon as media exists (route action `echo`).
    pub echo_on_media: bool,
    pub playing: Option<Playing>,
    pub collector: Option<Collector>,
    pub dtmf: DtmfPipeline,
    pub inband: Option<DetectedTones>,
    pub taps: Vec<TapKind>,
    pub recording: Option<ActiveRecording>,
    /// Digits `send_dtmf` still has to send, and for how long each.
    pub dtmf_out: VecDeque<Digit>,
    pub dtmf_out_duration: Duration,
    /// When the next queued digit goes.
    pub next_digit_at: Option<Instant>,
}

/// The switch's media: the engine and the legs' audio state.
#[derive(Debug)]
pub(crate) struct MediaState {
    pub engine: MediaEngine,
    pub next_engine_id: u64,
    pub legs: HashMap<String, Box<LegAudio>>,
    pub by_port: HashMap<u16, String>,
    pub by_engine: HashMap<LegId, String>,
    /// The engine leg behind each RTP port whose leg has media: the one
    /// look-up per received packet.
    pub rtp_legs: HashMap<u16, LegId>,
    /// Legs with an in-band detector, read after each engine tick.
    pub inband_legs: HashSet<String>,
    pub socket_actions: VecDeque<SocketAction>,
    pub finished_recordings: VecDeque<FinishedRecording>,
    pub hangup_on_timeout: bool,
    /// When legs without telephone-event get an in-band detector.
    pub inband_policy: InbandDtmf,
    /// What idle answered legs hear; never an empty prompt.
    pub hold_prompt: Option<Prompt>,
    pub totals: MediaTotals,
}

impl MediaState {
    /// The media of a switch created at `now`.
    pub(crate) fn new(
        now: Instant,
        media_timeout: Duration,
        hangup_on_timeout: bool,
        max_legs: usize,
        inband_policy: InbandDtmf,
        hold_prompt: Option<Prompt>,
        offload: bool,
    ) -> Self {
        let config = EngineConfig {
            media_timeout,
            max_legs,
            offload,
            ..EngineConfig::default()
        };
        Self {
            engine: MediaEngine::new(config, now, rand::random()),
            next_engine_id: 1,
            legs: HashMap::new(),
            by_port: HashMap::new(),
            by_engine: HashMap::new(),
            rtp_legs: HashMap::new(),
            inband_legs: HashSet::new(),
            socket_actions: VecDeque::new(),
            finished_recordings: VecDeque::new(),
            hangup_on_timeout,
            inband_policy,
            // An empty prompt would loop without ever yielding a frame.
            hold_prompt: hold_prompt.filter(|prompt| !prompt.is_empty()),
            totals: MediaTotals::default(),
        }
    }
}

/// A DTMF pipeline for a leg whose telephone-events tick at `clock_rate`;
/// in-band detection runs in an engine tap, not here.
pub(crate) fn pipeline(clock_rate: u32) -> DtmfPipeline {
    DtmfPipeline::new(PipelineConfig {
        event_clock_rate: clock_rate,
        in_band: false,
        ..PipelineConfig::default()
    })
}

impl Switch {
    /// A datagram arrived on one of our media sockets: `local_port` even is
    /// RTP, odd is the RTCP socket above it. Unknown ports and legs whose
    /// media is not negotiated yet drop it (counted).
    pub fn handle_rtp(&mut self, now: Instant, local_port: u16, source: SocketAddr, packet: &[u8]) {
        let rtp_port = local_port & !1;
        let Some(&engine_id) = self.media.rtp_legs.get(&rtp_port) else {
            self.media.totals.unknown_port += 1;
            return;
        };
        if local_port == rtp_port {
            self.media.engine.handle_rtp(now, engine_id, source, packet);
        } else {
            self.media
                .engine
                .handle_rtcp(now, engine_id, source, packet);
        }
        self.pump_media(now);
    }

    /// The daemon bound `port` and `port + 1` as asked by
    /// [`SocketAction::Open`]: the pair is ready for a leg.
    pub fn handle_socket_opened(&mut self, now: Instant, port: u16) {
        self.ports.bound(port);
        self.top_up_ports(now);
    }

    /// The daemon could not bind `port` (or `port + 1`): the pool sets the
    /// pair aside and asks for the next one. A leg already holding the port
    /// (which the pool never hands out unbound) would end with
    /// `normal_temporary_failure`.
    pub fn handle_socket_failed(&mut self, now: Instant, port: u16) {
        if let Some(id) = self.media.by_port.get(&(port & !1)).cloned() {
            self.end_leg(now, &id, HangupCause::NormalTemporaryFailure);
            self.pump(now);
        } else {
            self.ports.bind_failed(now, port);
            self.top_up_ports(now);
        }
    }

    /// The next socket to bind or release.
    pub fn poll_socket_action(&mut self) -> Option<SocketAction> {
        self.media.socket_actions.pop_front()
    }

    /// The next thing the daemon's kernel relay is to do: install a settled
    /// bridge direction, read its counters, or remove it. Reads and removals
    /// are answered with [`Switch::handle_offload_counters`] before any other
    /// input, so the legs' streams stay continuous.
    pub fn poll_offload(&mut self) -> Option<OffloadAction> {
        self.media.engine.poll_offload()
    }

    /// Asks for the counters of every direction the kernel relay forwards, so
    /// that a status query answered after them is up to date.
    pub fn refresh_offload_counters(&mut self) {
        self.media.engine.refresh_offloads();
    }

    /// The counters of the direction arriving on `leg` (`removed`: its final
    /// ones), as asked by [`OffloadAction::Read`] or [`OffloadAction::Remove`].
    pub fn handle_offload_counters(
        &mut self,
        now: Instant,
        leg: MediaLegId,
        counters: OffloadCounters,
        removed: bool,
    ) {
        self.media
            .engine
            .handle_offload_counters(now, leg, counters, removed);
        self.pump_media(now);
    }

    /// The daemon could not install [`OffloadAction::Install`]'s rule for
    /// the direction arriving on `leg`: the switch relays it itself.
    pub fn handle_offload_refused(&mut self, leg: MediaLegId) {
        self.media.engine.handle_offload_refused(leg);
    }

    /// The next RTP/RTCP datagram to send.
    pub fn poll_rtp_transmit(&mut self) -> Option<RtpTransmit> {
        // The engine drops a leg's queued datagrams when the leg goes, so
        // each one still has its leg and port.
        self.media
            .engine
            .poll_transmit()
            .map(|transmit| RtpTransmit {
                local_port: transmit.local_port,
                destination: transmit.destination,
                payload: transmit.payload,
            })
    }

    /// The next recording to finish.
    pub fn poll_finished_recording(&mut self) -> Option<FinishedRecording> {
        self.media.finished_recordings.pop_front()
    }

    /// The engine's timers (ticks, RTCP, media timeouts) and in-band
    /// detections; called from [`Switch::handle_timeout`].
    pub(crate) fn media_timeout(&mut self, now: Instant) {
        if self.media.engine.poll_timeout().is_some_and(|at| at <= now) {
            self.media.engine.handle_timeout(now);
            self.pump_media(now);
            self.drain_inband(now);
        }
    }

    /// Acts on what the engine reported.
    pub(crate) fn pump_media(&mut self, now: Instant) {
        while let Some(event) = self.media.engine.poll_event() {
            match event {
                MediaEvent::MediaTimeout { leg } => {
                    let Some(id) = self.media.by_engine.get(&leg).cloned() else {
                        continue;
                    };
                    self.events
                        .push_back(EventKind::MediaTimeout { leg: id.clone() });
                    if self.media.hangup_on_timeout {
                        self.end_leg(now, &id, HangupCause::RecoveryOnTimerExpire);
                    }
                }
                MediaEvent::PlayFinished { leg } => {
                    if let Some(id) = self.media.by_engine.get(&leg).cloned() {
                        self.on_play_finished(now, &id);
                    }
                }
                MediaEvent::TelephoneEvent {
                    leg,
                    payload,
                    timestamp,
                    marker,
                } => {
                    if let Some(id) = self.media.by_engine.get(&leg).cloned() {
                        self.on_telephone_event(now, &id, marker, timestamp, &payload);
                    }
                }
                MediaEvent::SourceLearned { .. } => {}
            }
        }
    }
}
