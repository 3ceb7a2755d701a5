//! In-band DTMF detection as a policy ([`InbandDtmf`]): whether a leg has a
//! Goertzel detector tap, re-decided whenever its situation changes (media
//! negotiated, bridge, unbridge, echo, play, collect), and the tap added or
//! removed to match.
//!
//! A tap makes the engine jitter-buffer and decode the leg's inbound audio
//! every 20 ms, and its relaying peer's as well (taps also hear what the
//! leg is sent), so a same-codec bridge stops being a plain packet relay.
//! Hence `Auto` keeps detectors off relayed legs unless a `collect` needs
//! the digits.

use super::{Link, TapKind};
use crate::config::InbandDtmf;
use crate::switch::Switch;
use std::time::Instant;
use switchd_media::codec::FRAME_SAMPLES_8K;
use switchd_media::engine::FrameSink;
use switchd_player::dtmf::goertzel::{DetectorConfig, GoertzelDetector};
use switchd_player::dtmf::{DtmfEvent, DtmfMethod};
use switchd_player::frames::InbandDetectorTap;

/// Frames of silence that end whatever digit a detector is hearing: the
/// rest of its current block, then the gap of blocks that ends a digit.
fn flush_frames(config: &DetectorConfig) -> usize {
    let samples = config
        .block_len
        .saturating_mul(config.gap_blocks.saturating_add(1) as usize);
    samples.div_ceil(FRAME_SAMPLES_8K)
}

impl Switch {
    /// Whether the leg should have an in-band detector now.
    fn wants_inband(&self, id: &str) -> bool {
        let Some(audio) = self.media.legs.get(id) else {
            return false;
        };
        let Some(media) = audio.media else {
            return false;
        };
        if media.telephone_event.is_some() {
            return false;
        }
        match self.media.inband_policy {
            InbandDtmf::Never => false,
            InbandDtmf::Always => true,
            InbandDtmf::Auto => {
                if audio.collector.is_some() || audio.playing.is_some() {
                    return true;
                }
                match &audio.link {
                    None => true,
                    Some(Link::Echo) => false,
                    Some(Link::Bridge(other)) => {
                        let peer_codec = self
                            .media
                            .legs
                            .get(other)
                            .and_then(|peer| peer.media)
                            .map(|peer| peer.codec);
                        // Across codecs the engine decodes anyway.
                        peer_codec != Some(media.codec)
                    }
                }
            }
        }
    }

    /// Adds or removes the leg's in-band detector as the policy and the
    /// leg's situation say. A detector removed is first fed silence, so a
    /// digit it was hearing ends and is reported.
    pub(crate) fn update_inband(&mut self, now: Instant, id: &str) {
        let wanted = self.wants_inband(id);
        let Some(audio) = self.media.legs.get_mut(id) else {
            return;
        };
        let has = audio.inband.is_some();
        if wanted && !has {
            let detector = GoertzelDetector::new(DetectorConfig::default());
            let (tap, tones) = InbandDetectorTap::new(detector);
            if self
                .media
                .engine
                .add_tap(now, audio.engine_id, Box::new(tap))
                .is_ok()
            {
                audio.inband = Some(tones);
                audio.taps.push(TapKind::Inband);
                self.media.inband_legs.insert(id.to_owned());
            }
        } else if !wanted && has {
            if let Some(mut tap) = self.take_tap(now, id, TapKind::Inband) {
                let silence = [0i16; FRAME_SAMPLES_8K];
                for _ in 0..flush_frames(&DetectorConfig::default()) {
                    tap.frame(now, &silence, &silence);
                }
            }
            self.media.inband_legs.remove(id);
            let Some(audio) = self.media.legs.get_mut(id) else {
                return;
            };
            let mut heard = false;
            if let Some(tones) = audio.inband.take() {
                while let Some(tone) = tones.pop() {
                    heard = true;
                    audio.dtmf.handle_event(
                        now,
                        DtmfEvent {
                            digit: tone.digit,
                            duration: tone.duration,
                            method: DtmfMethod::InBand,
                        },
                    );
                }
            }
            if heard {
                // The detector is gone, so this cannot come back here to
                // remove it again.
                self.drain_digits(now, id);
            }
        }
    }

    /// Removes the leg's tap of `kind` from the engine and returns it; the
    /// leg's other taps stay, in their order.
    pub(crate) fn take_tap(
        &mut self,
        now: Instant,
        id: &str,
        kind: TapKind,
    ) -> Option<Box<dyn FrameSink>> {
        let audio = self.media.legs.get_mut(id)?;
        let taps = self.media.engine.remove_taps(now, audio.engine_id);
        let kinds = std::mem::take(&mut audio.taps);
        let mut taken = None;
        for (tap, tap_kind) in taps.into_iter().zip(kinds) {
            if tap_kind == kind && taken.is_none() {
                taken = Some(tap);
            } else if self.media.engine.add_tap(now, audio.engine_id, tap).is_ok() {
                audio.taps.push(tap_kind);
            }
        }
        taken
    }

    /// Legs with an in-band detector now (the `media_inband_detectors` gauge).
    pub(crate) fn inband_detectors(&self) -> usize {
        self.media.inband_legs.len()
    }
}
