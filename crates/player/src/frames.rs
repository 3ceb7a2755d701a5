//! The player's pieces as the media engine's frame sources and sinks.
//!
//! `switchd_media::engine` pulls 20 ms frames from a [`FrameSource`] on a leg's tick and
//! pushes each tick's decoded audio to its [`FrameSink`] taps; the engine owns them while
//! they run. [`Playback`] is a source as it is. A recording or a detector must be read
//! while the engine holds it, so those sinks come as a pair: the tap given to the engine
//! and a handle the daemon keeps ([`RecorderHandle`], [`DetectedTones`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use switchd_media::engine::{FrameSink, FrameSource, TelephoneEventPacket};

use crate::Error;
use crate::dtmf::goertzel::{DetectedTone, GoertzelDetector};
use crate::dtmf::rfc4733::EventPacket;
use crate::playback::Playback;
use crate::recorder::{Recorder, RecordingSummary};

impl FrameSource for Playback {
    fn next_frame(&mut self, frame: &mut [i16]) -> bool {
        let Some(pcm) = Playback::next_frame(self) else {
            return false;
        };
        frame.fill(0);
        for (slot, sample) in frame.iter_mut().zip(pcm) {
            *slot = sample;
        }
        true
    }
}

impl From<EventPacket> for TelephoneEventPacket {
    fn from(packet: EventPacket) -> Self {
        Self {
            marker: packet.marker,
            payload: packet.payload,
            offset_ticks: packet.offset_ticks,
        }
    }
}

/// A [`Recorder`] as an engine tap; its [`RecorderHandle`] finishes the file.
#[derive(Debug)]
pub struct RecorderTap {
    shared: Arc<Mutex<Option<Recorder>>>,
}

/// The daemon's side of a [`RecorderTap`].
#[derive(Debug)]
pub struct RecorderHandle {
    shared: Arc<Mutex<Option<Recorder>>>,
}

impl RecorderTap {
    /// The tap for the engine and the handle for the daemon.
    pub fn new(recorder: Recorder) -> (Self, RecorderHandle) {
        let shared = Arc::new(Mutex::new(Some(recorder)));
        (
            Self {
                shared: Arc::clone(&shared),
            },
            RecorderHandle { shared },
        )
    }
}

impl FrameSink for RecorderTap {
    fn frame(&mut self, _now: Instant, inbound: &[i16], outbound: &[i16]) {
        if let Ok(mut recorder) = self.shared.lock()
            && let Some(recorder) = recorder.as_mut()
        {
            // A write error is kept by the recorder and reported by `finish`.
            let _ = recorder.record(inbound, outbound);
        }
    }
}

impl RecorderHandle {
    /// Finalizes the file; frames the tap receives afterwards are discarded. `None` if it
    /// was finished already.
    pub fn finish(&self) -> Option<Result<RecordingSummary, Error>> {
        let recorder = self.shared.lock().ok()?.take()?;
        Some(recorder.finish())
    }
}

/// Undrained detections beyond this are dropped (a daemon that stopped reading).
const DETECTED_CAP: usize = 32;

/// An in-band DTMF detector on a leg's inbound audio (for peers without telephone-event).
#[derive(Debug)]
pub struct InbandDetectorTap {
    detector: GoertzelDetector,
    found: Arc<Mutex<VecDeque<DetectedTone>>>,
}

/// The daemon's side of an [`InbandDetectorTap`]: the digits it heard.
#[derive(Debug, Clone)]
pub struct DetectedTones {
    found: Arc<Mutex<VecDeque<DetectedTone>>>,
}

impl InbandDetectorTap {
    /// The tap for the engine and the queue of digits for the daemon.
    pub fn new(detector: GoertzelDetector) -> (Self, DetectedTones) {
        let found = Arc::new(Mutex::new(VecDeque::new()));
        (
            Self {
                detector,
                found: Arc::clone(&found),
            },
            DetectedTones { found },
        )
    }
}

impl FrameSink for InbandDetectorTap {
    fn frame(&mut self, _now: Instant, inbound: &[i16], _outbound: &[i16]) {
        self.detector.push_samples(inbound);
        while let Some(tone) = self.detector.poll_tone() {
            if let Ok(mut found) = self.found.lock()
                && found.len() < DETECTED_CAP
            {
                found.push_back(tone);
            }
        }
    }
}

impl DetectedTones {
    /// The next digit heard, oldest first.
    pub fn pop(&self) -> Option<DetectedTone> {
        self.found.lock().ok()?.pop_front()
    }
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;
