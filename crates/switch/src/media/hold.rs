//! The hold prompt: what an answered leg hears while the switch has nothing
//! else for it (FreeSWITCH's hold music, Asterisk's default MOH class).
//!
//! It is one more thing a leg can be `playing` ([`Playing::Hold`]) rather
//! than a mechanism of its own, so a `play` or a collector prompt replaces
//! it the way they replace each other. Whether a leg should hear it depends
//! on the leg's state, link, playback and collector, so it is re-decided by
//! [`Switch::refresh_hold`] after each change of those; nothing polls.

use super::Playing;
use crate::switch::Switch;
use std::time::Instant;
use switchd_control::LegState;
use switchd_player::playback::{Playback, Repeat};
use switchd_player::wav::Prompt;

impl Switch {
    /// Whether the leg should hear the hold prompt now: one is configured,
    /// the leg is answered with media in the engine, and nothing else is
    /// sent to it (no bridge or echo, no `play`, no `collect` prompting or
    /// waiting for digits; early media does not count).
    fn wants_hold(&self, id: &str) -> bool {
        if self.media.hold_prompt.is_none() {
            return false;
        }
        let answered = self
            .legs
            .get(id)
            .is_some_and(|leg| leg.state == LegState::Answered);
        let Some(audio) = self.media.legs.get(id) else {
            return false;
        };
        answered
            && audio.media.is_some()
            && audio.link.is_none()
            && audio.collector.is_none()
            && matches!(audio.playing, None | Some(Playing::Hold))
    }

    /// Starts or stops the leg's hold prompt as [`Self::wants_hold`] says. A
    /// prompt already looping is left alone, so calling this at every
    /// transition never restarts it from the top.
    pub(crate) fn refresh_hold(&mut self, now: Instant, id: &str) {
        let wanted = self.wants_hold(id);
        let Some(audio) = self.media.legs.get_mut(id) else {
            return;
        };
        let holding = audio.playing == Some(Playing::Hold);
        if wanted && !holding {
            let Some(prompt) = self.media.hold_prompt.clone() else {
                return;
            };
            let playback = Box::new(Playback::new(prompt, Repeat::Forever));
            if self
                .media
                .engine
                .play(now, audio.engine_id, playback)
                .is_ok()
            {
                audio.playing = Some(Playing::Hold);
            }
        } else if !wanted && holding {
            audio.playing = None;
            self.media.engine.stop_play(now, audio.engine_id);
        } else {
            return;
        }
        // `Auto` in-band detection counts hold as playback.
        self.update_inband(now, id);
    }

    /// Replaces the hold prompt (the daemon re-read its config). Legs on
    /// hold start the new prompt from its beginning, or fall silent when
    /// there is none any more; idle answered legs start hearing a prompt
    /// that was not configured before. The same audio as before (an
    /// unchanged file) is left playing where it is.
    pub fn set_hold_prompt(&mut self, now: Instant, prompt: Option<Prompt>) {
        // An empty prompt would loop without ever yielding a frame.
        let prompt = prompt.filter(|prompt| !prompt.is_empty());
        if prompt == self.media.hold_prompt {
            return;
        }
        self.media.hold_prompt = prompt;
        let ids: Vec<String> = self.media.legs.keys().cloned().collect();
        for id in &ids {
            if let Some(audio) = self.media.legs.get_mut(id)
                && audio.playing == Some(Playing::Hold)
            {
                audio.playing = None;
                self.media.engine.stop_play(now, audio.engine_id);
                self.update_inband(now, id);
            }
            self.refresh_hold(now, id);
        }
        self.pump(now);
    }

    /// Legs hearing the hold prompt now (the `media_legs_on_hold` gauge).
    pub(crate) fn legs_on_hold(&self) -> usize {
        self.media
            .legs
            .values()
            .filter(|audio| audio.playing == Some(Playing::Hold))
            .count()
    }
}
