//! What the daemon starts once it has loaded or created the files: `play`
//! (a prompt), `collect` (a prompt and a digit collector), `record` (a
//! recorder tap), and what ends them.

use super::{ActiveRecording, FinishedRecording, LegAudio, Playing, TapKind};
use crate::error::SwitchError;
use crate::switch::Switch;
use std::path::PathBuf;
use std::time::Instant;
use switchd_control::{CollectReason, EventKind, ReplyBody, ReplyError};
use switchd_player::collector::{CollectSpec, Collector, CollectorEvent, DoneReason};
use switchd_player::frames::RecorderTap;
use switchd_player::playback::{Playback, Repeat};
use switchd_player::recorder::{Recorder, RecordingSummary};
use switchd_player::wav::Prompt;

impl Switch {
    /// Plays `prompt` on the leg (`play.started`, then `play.finished` or
    /// `play.stopped`), replacing what played there.
    pub fn play(
        &mut self,
        now: Instant,
        leg: &str,
        prompt: Prompt,
        repeat: Repeat,
    ) -> Result<ReplyBody, ReplyError> {
        let result = self.start_play(now, leg, prompt, repeat);
        self.typed_command_done(now, leg, result)
    }

    /// Starts collecting digits on the leg (its prompts already loaded); a
    /// collect running there is replaced.
    pub fn collect(
        &mut self,
        now: Instant,
        leg: &str,
        spec: CollectSpec,
    ) -> Result<ReplyBody, ReplyError> {
        let result = self.start_collect(now, leg, spec);
        self.typed_command_done(now, leg, result)
    }

    /// Records the leg into `paths` (what `recorder` writes); a recording
    /// running there is stopped first and handed over to be finished.
    pub fn record(
        &mut self,
        now: Instant,
        leg: &str,
        recorder: Recorder,
        paths: Vec<PathBuf>,
    ) -> Result<ReplyBody, ReplyError> {
        let result = self.start_record(now, leg, recorder, paths);
        self.typed_command_done(now, leg, result)
    }

    /// The daemon finished a recording's file: `record.finished`.
    pub fn handle_recording_finished(
        &mut self,
        now: Instant,
        leg: &str,
        path: PathBuf,
        result: Result<RecordingSummary, String>,
    ) {
        let (duration_ms, bytes, error) = match result {
            Ok(summary) => (
                u64::try_from(summary.duration.as_millis()).unwrap_or(u64::MAX),
                summary.bytes,
                None,
            ),
            Err(error) => (0, 0, Some(error)),
        };
        self.events.push_back(EventKind::RecordFinished {
            leg: leg.to_owned(),
            path: path.display().to_string(),
            duration_ms,
            bytes,
            error,
        });
        self.pump(now);
    }

    fn typed_command_done(
        &mut self,
        now: Instant,
        leg: &str,
        result: Result<(), SwitchError>,
    ) -> Result<ReplyBody, ReplyError> {
        let result = result.and_then(|()| self.leg_reply(now, leg));
        self.counters.count_command(&result);
        self.pump(now);
        result.map_err(ReplyError::from)
    }

    /// The leg's audio, once its media is negotiated and while it is live.
    pub(crate) fn negotiated_audio(&mut self, id: &str) -> Result<&mut LegAudio, SwitchError> {
        let leg = self
            .legs
            .get(id)
            .ok_or_else(|| SwitchError::UnknownLeg { leg: id.to_owned() })?;
        if !leg.is_live() {
            return Err(SwitchError::InvalidState {
                leg: id.to_owned(),
                state: crate::leg::state_name(leg.state),
                command: "media",
            });
        }
        self.media
            .legs
            .get_mut(id)
            .filter(|audio| audio.media.is_some())
            .map(|audio| &mut **audio)
            .ok_or_else(|| SwitchError::MediaUnavailable { leg: id.to_owned() })
    }

    fn start_play(
        &mut self,
        now: Instant,
        id: &str,
        prompt: Prompt,
        repeat: Repeat,
    ) -> Result<(), SwitchError> {
        self.negotiated_audio(id)?;
        self.stop_any_play(now, id);
        let audio = self.negotiated_audio(id)?;
        let engine_id = audio.engine_id;
        audio.playing = Some(Playing::Requested);
        self.media
            .engine
            .play(now, engine_id, Box::new(Playback::new(prompt, repeat)))
            .map_err(|_| SwitchError::MediaUnavailable { leg: id.to_owned() })?;
        self.update_inband(now, id);
        self.events
            .push_back(EventKind::PlayStarted { leg: id.to_owned() });
        Ok(())
    }

    /// Stops whatever plays on the leg: a `play` reports `play.stopped`, a
    /// collector prompt counts as finished for its collector, the hold
    /// prompt just stops. The leg's in-band detector and hold prompt are
    /// the caller's to update (it may play again).
    pub(crate) fn stop_any_play(&mut self, now: Instant, id: &str) {
        let Some(audio) = self.media.legs.get_mut(id) else {
            return;
        };
        let Some(playing) = audio.playing.take() else {
            return;
        };
        self.media.engine.stop_play(now, audio.engine_id);
        match playing {
            Playing::Requested => self
                .events
                .push_back(EventKind::PlayStopped { leg: id.to_owned() }),
            Playing::CollectorPrompt => {
                if let Some(collector) = audio.collector.as_mut() {
                    collector.handle_prompt_finished(now);
                }
                self.drive_collector(now, id);
                self.reschedule_media(id);
            }
            Playing::Hold => {}
        }
    }

    /// The engine's playback on the leg ran out.
    pub(crate) fn on_play_finished(&mut self, now: Instant, id: &str) {
        let Some(audio) = self.media.legs.get_mut(id) else {
            return;
        };
        match audio.playing.take() {
            Some(Playing::Requested) => {
                self.events
                    .push_back(EventKind::PlayFinished { leg: id.to_owned() });
                self.update_inband(now, id);
                self.refresh_hold(now, id);
            }
            Some(Playing::CollectorPrompt) => {
                if let Some(collector) = audio.collector.as_mut() {
                    collector.handle_prompt_finished(now);
                }
                self.drive_collector(now, id);
                self.reschedule_media(id);
            }
            // A looped prompt never runs out; were it to, starting it
            // again at once could spin, so the leg stays silent.
            Some(Playing::Hold) | None => {}
        }
    }

    fn start_collect(
        &mut self,
        now: Instant,
        id: &str,
        spec: CollectSpec,
    ) -> Result<(), SwitchError> {
        let audio = self.negotiated_audio(id)?;
        if audio.playing == Some(Playing::CollectorPrompt) {
            audio.playing = None;
            let engine_id = audio.engine_id;
            self.media.engine.stop_play(now, engine_id);
        }
        let audio = self.negotiated_audio(id)?;
        let mut collector = Collector::new(spec);
        collector.start(now);
        audio.collector = Some(collector);
        // A collect waiting for digits in silence is no time for hold music.
        self.refresh_hold(now, id);
        self.update_inband(now, id);
        self.drive_collector(now, id);
        self.reschedule_media(id);
        Ok(())
    }

    /// Carries out what the leg's collector asks for; a collector that
    /// ended may take the leg's in-band detector with it.
    pub(crate) fn drive_collector(&mut self, now: Instant, id: &str) {
        let mut ended = false;
        loop {
            let Some(audio) = self.media.legs.get_mut(id) else {
                return;
            };
            let Some(event) = audio.collector.as_mut().and_then(Collector::poll_event) else {
                break;
            };
            let engine_id = audio.engine_id;
            match event {
                CollectorEvent::PlayPrompt(prompt) => {
                    let replaced = audio.playing.replace(Playing::CollectorPrompt);
                    if replaced == Some(Playing::Requested) {
                        self.events
                            .push_back(EventKind::PlayStopped { leg: id.to_owned() });
                    }
                    let playback = Box::new(Playback::once(prompt));
                    if self.media.engine.play(now, engine_id, playback).is_err()
                        && let Some(audio) = self.media.legs.get_mut(id)
                    {
                        // No engine leg: the prompt is over before it began.
                        audio.playing = None;
                        if let Some(collector) = audio.collector.as_mut() {
                            collector.handle_prompt_finished(now);
                        }
                    }
                }
                CollectorEvent::StopPrompt => {
                    if audio.playing == Some(Playing::CollectorPrompt) {
                        audio.playing = None;
                        self.media.engine.stop_play(now, engine_id);
                    }
                }
                CollectorEvent::Done { digits, reason } => {
                    audio.collector = None;
                    ended = true;
                    let reason = match reason {
                        DoneReason::MaxDigits => CollectReason::MaxDigits,
                        DoneReason::Terminator => CollectReason::Terminator,
                        DoneReason::Timeout => CollectReason::Timeout,
                    };
                    self.events.push_back(EventKind::CollectDone {
                        leg: id.to_owned(),
                        digits,
                        reason,
                    });
                }
                CollectorEvent::Timeout => {
                    audio.collector = None;
                    ended = true;
                    self.events
                        .push_back(EventKind::CollectTimeout { leg: id.to_owned() });
                }
            }
        }
        if ended {
            self.update_inband(now, id);
            self.refresh_hold(now, id);
        }
    }

    fn start_record(
        &mut self,
        now: Instant,
        id: &str,
        recorder: Recorder,
        paths: Vec<PathBuf>,
    ) -> Result<(), SwitchError> {
        self.negotiated_audio(id)?;
        self.stop_recording(now, id);
        let audio = self.negotiated_audio(id)?;
        let (tap, handle) = RecorderTap::new(recorder);
        let engine_id = audio.engine_id;
        audio.taps.push(TapKind::Recorder);
        audio.recording = Some(ActiveRecording { paths, handle });
        self.media
            .engine
            .add_tap(now, engine_id, Box::new(tap))
            .map_err(|_| SwitchError::MediaUnavailable { leg: id.to_owned() })
    }

    /// Ends the leg's recording, if any: its tap leaves the engine (the
    /// other taps stay) and the daemon is handed the files to finish.
    pub(crate) fn stop_recording(&mut self, now: Instant, id: &str) -> bool {
        let Some(audio) = self.media.legs.get_mut(id) else {
            return false;
        };
        let Some(recording) = audio.recording.take() else {
            return false;
        };
        // The recorder writes through its handle: the tap itself can go.
        drop(self.take_tap(now, id, TapKind::Recorder));
        self.media.finished_recordings.push_back(FinishedRecording {
            leg: id.to_owned(),
            paths: recording.paths,
            handle: recording.handle,
        });
        true
    }
}
