//! A leg's media from port to end: the port opens with the leg, the engine
//! learns the negotiated SDP (and every renegotiation), and the leg's end
//! closes the port, removes the engine leg and hands recordings over.

use super::{ActiveRecording, FinishedRecording, LegAudio, Link, Playing, SocketAction};
use crate::switch::Switch;
use crate::timers::TimerKey;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use switchd_control::{EventKind, LegInfo, LegMediaInfo};
use switchd_media::codec::CodecKind;
use switchd_media::engine::{LegId, LegMedia, LegMediaStats, MediaDirection};
use switchd_sip::sdp::{Codec, Direction, Negotiated};

/// Counters of media, kept across the legs that come and go.
#[derive(Debug, Default, Clone)]
pub(crate) struct MediaTotals {
    /// Datagrams for a port with no negotiated media.
    pub unknown_port: u64,
    /// Legs the engine refused (its leg limit, a codec it cannot run).
    pub refused: u64,
    /// Counters of legs already removed from the engine.
    pub ended: LegMediaStats,
    /// Digits reported by `dtmf` events.
    pub dtmf_in: u64,
    /// Digits sent by `send_dtmf`.
    pub dtmf_out: u64,
}

/// The engine's view of a negotiated SDP on our `port`; `None` for a codec
/// the engine cannot carry.
pub(crate) fn leg_media(port: u16, negotiated: &Negotiated) -> Option<LegMedia> {
    let codec = match negotiated.codec {
        Codec::Pcmu => CodecKind::Pcmu,
        Codec::Pcma => CodecKind::Pcma,
        Codec::Opus => CodecKind::Opus,
        Codec::TelephoneEvent => return None,
    };
    let direction = match negotiated.direction {
        Direction::SendRecv => MediaDirection::SendRecv,
        Direction::SendOnly => MediaDirection::SendOnly,
        Direction::RecvOnly => MediaDirection::RecvOnly,
        Direction::Inactive => MediaDirection::Inactive,
    };
    Some(LegMedia {
        local_port: port,
        remote_rtp: negotiated.remote_rtp,
        remote_rtcp: negotiated.remote_rtcp,
        codec,
        payload_type: negotiated.payload_type,
        telephone_event: negotiated.telephone_event,
        rtcp_mux: negotiated.rtcp_mux,
        ptime_ms: negotiated.ptime_ms,
        direction,
    })
}

fn add_stats(total: &mut LegMediaStats, leg: &LegMediaStats) {
    total.packets_in += leg.packets_in;
    total.bytes_in += leg.bytes_in;
    total.packets_out += leg.packets_out;
    total.bytes_out += leg.bytes_out;
    total.strays += leg.strays;
    total.malformed += leg.malformed;
    total.wrong_payload_type += leg.wrong_payload_type;
}

impl Switch {
    /// A leg got `port` (already bound by the daemon); the daemon is asked
    /// to bind another to keep the reserve full.
    pub(crate) fn media_port_allocated(&mut self, now: Instant, id: &str, port: u16) {
        let engine_id = LegId(self.media.next_engine_id);
        self.media.next_engine_id += 1;
        let audio = LegAudio {
            engine_id,
            port,
            media: None,
            link: None,
            echo_on_media: false,
            playing: None,
            collector: None,
            dtmf: super::pipeline(CodecKind::Pcmu.rtp_clock_rate()),
            inband: None,
            taps: Vec::new(),
            recording: None,
            dtmf_out: VecDeque::new(),
            dtmf_out_duration: Duration::ZERO,
            next_digit_at: None,
        };
        self.media.legs.insert(id.to_owned(), Box::new(audio));
        self.media.by_port.insert(port, id.to_owned());
        self.media.by_engine.insert(engine_id, id.to_owned());
        self.top_up_ports(now);
    }

    /// A bound RTP port for a new leg. When none is ready, the daemon is
    /// asked to bind more (pairs that failed a while ago are due again), for
    /// the next leg.
    pub(crate) fn allocate_rtp_port(&mut self, now: Instant) -> Option<u16> {
        let port = self.ports.allocate();
        if port.is_none() {
            self.top_up_ports(now);
        }
        port
    }

    /// Asks the daemon to bind pairs until the pool's reserve is full.
    pub(crate) fn top_up_ports(&mut self, now: Instant) {
        while let Some(port) = self.ports.next_to_bind(now) {
            self.media
                .socket_actions
                .push_back(SocketAction::Open { port });
        }
    }

    /// The leg's SDP was (re)negotiated: the engine gets the leg, or its new
    /// parameters.
    pub(crate) fn media_negotiated(&mut self, now: Instant, id: &str) {
        let Some(leg) = self.legs.get(id) else { return };
        let (Some(negotiated), Some(port)) = (leg.media.as_ref(), leg.rtp_port) else {
            return;
        };
        let Some(media) = leg_media(port, negotiated) else {
            return;
        };
        let Some(audio) = self.media.legs.get_mut(id) else {
            return;
        };
        let engine = &mut self.media.engine;
        match audio.media {
            // Answering after early media negotiates nothing new, but the
            // leg may now be due its hold prompt.
            Some(old) if old == media => return self.refresh_hold(now, id),
            Some(old) => {
                if engine.update_leg(now, audio.engine_id, media).is_err() {
                    self.media.totals.refused += 1;
                    return;
                }
                if old.codec != media.codec || old.payload_type != media.payload_type {
                    audio.dtmf.reset_rfc4733();
                }
                audio.media = Some(media);
            }
            None => {
                if engine.add_leg(now, audio.engine_id, media).is_err() {
                    self.media.totals.refused += 1;
                    return;
                }
                audio.media = Some(media);
                self.media.rtp_legs.insert(audio.port, audio.engine_id);
                audio.dtmf = super::pipeline(media.codec.rtp_clock_rate());
                if audio.echo_on_media && engine.echo(now, audio.engine_id, true).is_ok() {
                    audio.link = Some(Link::Echo);
                }
            }
        }
        let peer = match &audio.link {
            Some(Link::Bridge(other)) => Some(other.clone()),
            _ => None,
        };
        // A new codec or telephone-event may change who needs a detector.
        self.update_inband(now, id);
        if let Some(peer) = peer {
            self.update_inband(now, &peer);
        }
        self.refresh_hold(now, id);
        self.pump_media(now);
    }

    /// The leg ended: its port closes, its engine leg goes, a recording is
    /// handed over to be finished, a `play` reports `play.stopped`.
    pub(crate) fn media_leg_ended(&mut self, now: Instant, id: &str) {
        let Some(mut audio) = self.media.legs.remove(id) else {
            return;
        };
        self.media.by_port.remove(&audio.port);
        self.media.rtp_legs.remove(&audio.port);
        self.media.by_engine.remove(&audio.engine_id);
        self.media.inband_legs.remove(id);
        self.timers.cancel(&TimerKey::Media(id.to_owned()));
        if audio.media.is_some() {
            if let Some(stats) = self.media.engine.leg_stats(audio.engine_id) {
                add_stats(&mut self.media.totals.ended, &stats);
            }
            // Taps are dropped: a recorder's file is finished through its handle.
            drop(self.media.engine.remove_leg(now, audio.engine_id));
        }
        if let Some(Link::Bridge(other)) = &audio.link
            && let Some(peer) = self.media.legs.get_mut(other)
        {
            peer.link = None;
            self.update_inband(now, other);
            self.refresh_hold(now, other);
        }
        if audio.playing == Some(Playing::Requested) {
            self.events
                .push_back(EventKind::PlayStopped { leg: id.to_owned() });
        }
        if let Some(ActiveRecording { paths, handle }) = audio.recording.take() {
            self.media.finished_recordings.push_back(FinishedRecording {
                leg: id.to_owned(),
                paths,
                handle,
            });
        }
        self.media
            .socket_actions
            .push_back(SocketAction::Close { port: audio.port });
        // The pool got the port back before this (or a port was scarce):
        // the reserve may be refilled now.
        self.top_up_ports(now);
    }

    /// The leg's description with its media counters.
    pub(crate) fn leg_info(&self, now: Instant, leg: &crate::leg::Leg) -> LegInfo {
        let mut info = leg.info(now);
        info.media = self.leg_media_info(&leg.id);
        info
    }

    fn leg_media_info(&self, id: &str) -> Option<LegMediaInfo> {
        let audio = self.media.legs.get(id)?;
        audio.media?;
        let stats = self.media.engine.leg_stats(audio.engine_id)?;
        Some(LegMediaInfo {
            packets_in: stats.packets_in,
            packets_out: stats.packets_out,
            bytes_in: stats.bytes_in,
            bytes_out: stats.bytes_out,
            lost: u64::try_from(stats.lost.max(0)).unwrap_or(0),
            jitter_ms: stats.jitter.as_secs_f64() * 1000.0,
            rtt_ms: stats.rtt.map(|rtt| rtt.as_secs_f64() * 1000.0),
            bridged_with: match &audio.link {
                Some(Link::Bridge(other)) => Some(other.clone()),
                Some(Link::Echo) => Some(id.to_owned()),
                None => None,
            },
        })
    }

    /// Live legs' counters added to those of legs gone, and the legs
    /// bridged across codecs (transcoded).
    pub(crate) fn media_counters(&self) -> (LegMediaStats, u64) {
        let mut total = self.media.totals.ended;
        let mut transcoding = 0;
        for audio in self.media.legs.values() {
            let Some(media) = audio.media else { continue };
            if let Some(stats) = self.media.engine.leg_stats(audio.engine_id) {
                add_stats(&mut total, &stats);
            }
            let other_codec = match &audio.link {
                Some(Link::Bridge(other)) => self
                    .media
                    .legs
                    .get(other)
                    .and_then(|o| o.media)
                    .map(|m| m.codec),
                _ => None,
            };
            if other_codec.is_some_and(|codec| codec != media.codec) {
                transcoding += 1;
            }
        }
        (total, transcoding)
    }
}
