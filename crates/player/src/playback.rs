//! Playing a prompt as a stream of 20 ms frames.
//!
//! The daemon pulls one frame per media tick, encodes it with the leg's codec and hands it
//! to the leg's RTP sender. Loops run back to back with no silence between passes; only the
//! very last frame is padded with silence to a whole frame.

use crate::wav::Prompt;
use crate::{FRAME_SAMPLES, PcmFrame};

/// How many times a prompt plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// This many passes (0 plays nothing).
    Times(u32),
    /// Until stopped (hold music, ringback).
    Forever,
}

/// A frame source over one prompt.
#[derive(Debug, Clone)]
pub struct Playback {
    prompt: Prompt,
    repeat: Repeat,
    /// Next sample to play within the current pass.
    position: usize,
    /// Passes begun, counting the current one.
    passes: u32,
    frames: u64,
    stopped: bool,
}

impl Playback {
    /// Plays `prompt` once.
    pub fn once(prompt: Prompt) -> Self {
        Self::new(prompt, Repeat::Times(1))
    }

    /// Plays `prompt` as `repeat` says.
    pub fn new(prompt: Prompt, repeat: Repeat) -> Self {
        Self {
            prompt,
            repeat,
            position: 0,
            passes: 1,
            frames: 0,
            stopped: false,
        }
    }

    /// The next 20 ms of audio, or `None` once finished.
    pub fn next_frame(&mut self) -> Option<PcmFrame> {
        if self.is_finished() {
            return None;
        }
        // A clone of the Arc, not of the samples, so `self` stays free to advance.
        let prompt = self.prompt.clone();
        let samples = prompt.samples();
        let mut frame = [0i16; FRAME_SAMPLES];
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            if self.position >= samples.len() {
                if !self.start_next_pass() {
                    break;
                }
                continue;
            }
            let take = (FRAME_SAMPLES - filled).min(samples.len() - self.position);
            frame[filled..filled + take]
                .copy_from_slice(&samples[self.position..self.position + take]);
            filled += take;
            self.position += take;
        }
        if filled == 0 {
            return None;
        }
        self.frames += 1;
        Some(frame)
    }

    fn start_next_pass(&mut self) -> bool {
        let more = match self.repeat {
            Repeat::Forever => true,
            Repeat::Times(times) => self.passes < times,
        };
        if more {
            self.passes = self.passes.saturating_add(1);
            self.position = 0;
        }
        more
    }

    /// Stops playing: every later [`Playback::next_frame`] is `None`.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Whether playback has ended, played out or stopped.
    pub fn is_finished(&self) -> bool {
        // An empty prompt finishes at once, even looping forever: nothing to loop over.
        self.stopped
            || self.prompt.is_empty()
            || self.repeat == Repeat::Times(0)
            || (self.position >= self.prompt.len() && !self.has_more_passes())
    }

    fn has_more_passes(&self) -> bool {
        match self.repeat {
            Repeat::Forever => true,
            Repeat::Times(times) => self.passes < times,
        }
    }

    /// Whether it ended by [`Playback::stop`] rather than by playing out.
    pub fn was_stopped(&self) -> bool {
        self.stopped
    }

    /// Frames produced so far.
    pub fn frames_played(&self) -> u64 {
        self.frames
    }

    /// The prompt being played.
    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(len: usize) -> Prompt {
        Prompt::from_samples((1..=len).map(|i| i as i16).collect::<Vec<_>>())
    }

    fn drain(playback: &mut Playback) -> Vec<PcmFrame> {
        std::iter::from_fn(|| playback.next_frame())
            .take(10_000)
            .collect()
    }

    #[test]
    fn plays_whole_frames_and_pads_the_last() {
        let mut playback = Playback::once(ramp(400));
        let frames = drain(&mut playback);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0][0], 1);
        assert_eq!(frames[1][0], 161);
        assert_eq!(frames[2][79], 400);
        assert!(frames[2][80..].iter().all(|&s| s == 0));
        assert!(playback.is_finished());
        assert!(!playback.was_stopped());
        assert_eq!(playback.frames_played(), 3);
    }

    #[test]
    fn exact_multiple_has_no_padding_frame() {
        let mut playback = Playback::once(ramp(320));
        assert_eq!(drain(&mut playback).len(), 2);
    }

    #[test]
    fn loops_back_to_back_the_given_number_of_times() {
        let mut playback = Playback::new(ramp(100), Repeat::Times(3));
        let frames = drain(&mut playback);
        let flat: Vec<i16> = frames.iter().flatten().copied().collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(flat[99], 100);
        assert_eq!(flat[100], 1, "second pass follows without a gap");
        assert_eq!(flat[299], 100);
        assert!(flat[300..].iter().all(|&s| s == 0));
    }

    #[test]
    fn forever_loops_until_stopped() {
        let mut playback = Playback::new(ramp(50), Repeat::Forever);
        for _ in 0..1000 {
            assert!(playback.next_frame().is_some());
        }
        playback.stop();
        assert_eq!(playback.next_frame(), None);
        assert!(playback.is_finished());
        assert!(playback.was_stopped());
    }

    #[test]
    fn empty_prompt_or_zero_times_plays_nothing() {
        let mut forever = Playback::new(Prompt::from_samples(Vec::new()), Repeat::Forever);
        assert!(forever.is_finished());
        assert_eq!(forever.next_frame(), None);
        let mut zero = Playback::new(ramp(10), Repeat::Times(0));
        assert_eq!(zero.next_frame(), None);
    }

    #[test]
    fn frames_encode_with_the_media_codec() {
        use switchd_media::codec::Codec;
        let mut codec = switchd_media::codec::g711::G711::new(switchd_media::codec::g711::Law::Mu);
        let mut playback = Playback::once(ramp(160));
        let frame = playback.next_frame().unwrap();
        let mut payload = Vec::new();
        codec.encode(&frame, &mut payload).unwrap();
        assert_eq!(payload.len(), 160);
    }
}
