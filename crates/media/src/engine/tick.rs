//! Timers: the 20 ms media tick (decode, playback, transcode, taps), queued digits, RTCP
//! reports, media timeouts and the end of source learning.

use std::time::Instant;

use crate::codec::Codec;

use super::inbound::{send_event, send_rtp};
use super::leg::{FRAME, Leg, Pcm, Route};
use super::{LegId, MediaEngine, MediaEvent, Output};

/// Ticks run back to back when the daemon's timer was late, before skipping ahead.
const MAX_CATCH_UP: usize = 3;

/// Encodes `pcm` with the leg's codec and sends it on the leg's stream.
fn send_frame(now: Instant, leg: &mut Leg, out: &mut Output, pcm: &Pcm) {
    let Some(destination) = leg.rtp_destination() else {
        return;
    };
    let mut payload = Vec::with_capacity(pcm.len());
    if leg.codec.encode(pcm, &mut payload).is_err() {
        leg.stats.codec_errors += 1;
        return;
    }
    let ticks = leg.media.codec.rtp_ticks_per_frame();
    let header = leg
        .outbound
        .sender_mut()
        .originate(now, ticks, payload.len());
    send_rtp(out, leg, destination, header, &payload);
}

impl MediaEngine {
    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = Vec::new();
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            due.push(id);
        }
        for id in due {
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.scheduled = None;
            }
            self.run_timers(now, id);
            self.reschedule(id);
        }
    }

    fn run_timers(&mut self, now: Instant, id: LegId) {
        self.offload_timer(now, id);
        let media_timeout = self.out.config.media_timeout;
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        leg.filter.handle_timeout(now);
        if leg.media.direction.receives()
            && !leg.timeout_reported
            && now >= leg.last_received + media_timeout
        {
            leg.timeout_reported = true;
            self.out.event(MediaEvent::MediaTimeout { leg: id });
        }
        while let Some(event) = leg.dtmf_out.front().copied() {
            if event.at > now {
                break;
            }
            leg.dtmf_out.pop_front();
            if event.new_event {
                leg.dtmf_timestamp = leg.dtmf_timestamp.wrapping_add(1);
                leg.event_map = None;
            }
            let timestamp = leg.dtmf_timestamp;
            send_event(
                now,
                leg,
                &mut self.out,
                timestamp,
                event.marker,
                &event.payload,
            );
        }
        let report_due = now >= leg.rtcp_at;
        let reports = leg.stats.rtcp_out.wrapping_add(1);
        if report_due {
            let delay = self.rtcp_delay(id, reports);
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.rtcp_at = now + delay;
            }
            self.send_report(now, id);
        }
        for _ in 0..MAX_CATCH_UP {
            match self.legs.get(&id).and_then(|leg| leg.tick_at) {
                Some(at) if at <= now => {
                    if let Some(leg) = self.legs.get_mut(&id) {
                        leg.tick_at = Some(at + FRAME);
                    }
                    self.tick(now, id);
                }
                _ => break,
            }
        }
        if let Some(leg) = self.legs.get_mut(&id)
            && leg.tick_at.is_some_and(|at| at <= now)
        {
            leg.tick_at = Some(now + FRAME);
        }
    }

    /// One 20 ms slot of the leg: decode its inbound audio, send its playback, feed its
    /// taps, and hand the decoded audio to its peer.
    fn tick(&mut self, now: Instant, id: LegId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let inbound = leg.decode_inbound(now);
        let mut outbound = None;
        if let Some(source) = leg.playback.as_mut() {
            let mut frame = [0i16; crate::codec::FRAME_SAMPLES_8K];
            if source.next_frame(&mut frame) {
                if leg.dtmf_out.is_empty() {
                    send_frame(now, leg, &mut self.out, &frame);
                }
                outbound = Some(frame);
            } else {
                leg.playback = None;
                self.out.event(MediaEvent::PlayFinished { leg: id });
            }
        }
        let outbound = outbound.or_else(|| leg.pending_out.take());
        if !leg.taps.is_empty() {
            let silence = [0i16; crate::codec::FRAME_SAMPLES_8K];
            let inbound = inbound.as_ref().unwrap_or(&silence);
            let outbound = outbound.as_ref().unwrap_or(&silence);
            for tap in &mut leg.taps {
                tap.frame(now, inbound, outbound);
            }
        }
        let route = leg.route;
        let ended = leg.playback.is_none();
        if let (Some(pcm), Some(peer)) = (inbound, route.peer().filter(|peer| *peer != id))
            && let Some(peer) = self.legs.get_mut(&peer)
        {
            if matches!(route, Route::Transcode(_)) && !peer.outbound_busy() {
                send_frame(now, peer, &mut self.out, &pcm);
            }
            peer.pending_out = Some(pcm);
        }
        if ended {
            // Playback over: the tick may no longer be needed.
            self.refresh(now, id);
        }
    }
}
