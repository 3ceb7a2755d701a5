//! The core's media duties: opening and closing RTP sockets as the switch
//! asks, sending its RTP, finishing recordings off the core task, and the
//! file-backed commands, loaded elsewhere and applied here.

use super::{Core, Engine, Input, now};
use crate::control::Outbox;
use crate::media::{FinishedRecording, Loaded, MediaRequest, SocketAction};
use crate::metrics as m;
use std::sync::Arc;
use std::time::Instant;
use switchd_control::command::RequestId;
use switchd_control::{Reply, ReplyBody, ReplyError, codec};
use tokio::sync::oneshot;

/// A file-backed command on its way back to the core.
#[derive(Debug)]
pub(crate) struct LoadedCommand {
    /// The request's id.
    pub id: RequestId,
    /// The command's wire name.
    pub name: &'static str,
    /// The leg, for the log.
    pub leg: String,
    /// Its files, or why they could not be had.
    pub result: Result<Loaded, ReplyError>,
    /// Where the reply goes.
    pub outbox: Arc<Outbox>,
    /// Dropped once the reply is queued: the connection reads on.
    pub done: oneshot::Sender<()>,
}

impl<E: Engine> Core<E> {
    /// Loads what `request` needs on other tasks; the result comes back as
    /// [`Input::MediaLoaded`]. The connection waits for its reply meanwhile,
    /// so its commands still apply in order.
    pub(super) fn start_media(
        &self,
        id: RequestId,
        request: MediaRequest,
        outbox: Arc<Outbox>,
        done: oneshot::Sender<()>,
    ) {
        let files = self.files.clone();
        let feedback = self.feedback.clone();
        let name = request.name();
        let leg = request.leg().to_owned();
        tokio::spawn(async move {
            let result = files.load(request).await;
            let loaded = LoadedCommand {
                id,
                name,
                leg,
                result,
                outbox,
                done,
            };
            let _ = feedback.send(Input::MediaLoaded(Box::new(loaded))).await;
        });
    }

    /// Hands loaded files to the switch and replies.
    pub(super) fn apply_media(&mut self, now: Instant, loaded: LoadedCommand) {
        let LoadedCommand {
            id,
            name,
            leg,
            result,
            outbox,
            done,
        } = loaded;
        let result = result.and_then(|loaded| match loaded {
            Loaded::Play {
                leg,
                prompt,
                repeat,
            } => self.engine.play(now, &leg, prompt, repeat),
            Loaded::Collect { leg, spec } => self.engine.collect(now, &leg, spec),
            Loaded::Record {
                leg,
                recorder,
                paths,
            } => {
                let result = self.engine.record(now, &leg, *recorder, paths.clone());
                if result.is_err() {
                    // The switch did not take the recording: leave no empty file behind.
                    tokio::task::spawn_blocking(move || {
                        for path in paths {
                            let _ = std::fs::remove_file(path);
                        }
                    });
                }
                result
            }
        });
        self.reply(id, name, Some(&leg), result, &outbox);
        drop(done);
    }

    /// Queues the reply to a command on `outbox`, counted and logged.
    pub(super) fn reply(
        &self,
        id: RequestId,
        name: &'static str,
        leg: Option<&str>,
        result: Result<ReplyBody, ReplyError>,
        outbox: &Outbox,
    ) {
        let code = result
            .as_ref()
            .map_or_else(|error| error.code.as_str(), |_| "ok");
        m::control_command(name, code);
        match &result {
            Err(error) if name == "play" || name == "collect" || name == "record" => {
                tracing::info!(command = name, leg, result = code, message = %error.message, "control command");
            }
            _ => tracing::debug!(command = name, leg, result = code, "control command"),
        }
        outbox.push_reply(codec::encode_reply(&Reply { id, result }));
    }

    /// Opens and closes sockets as the switch asks; a port that cannot be
    /// bound is reported back (the switch hangs its leg up).
    pub(super) fn apply_socket_actions(&mut self) {
        while let Some(action) = self.engine.poll_socket_action() {
            match action {
                // Answering may ask for more (the next pair after a
                // failure): the loop takes those too. It ends, as the pool
                // asks for each pair at most once per retry period.
                SocketAction::Open { port } => match self.rtp.open(port) {
                    Ok(()) => self.engine.handle_socket_opened(now(), port),
                    Err(error) => {
                        tracing::warn!(port, %error, "cannot open RTP sockets; trying the next pair");
                        self.engine.handle_socket_failed(now(), port);
                    }
                },
                SocketAction::Close { port } => self.rtp.close(port),
            }
        }
    }

    /// Sends the switch's RTP and RTCP.
    pub(super) fn send_rtp(&mut self) {
        let mut sent = 0;
        while let Some(transmit) = self.engine.poll_rtp_transmit() {
            sent += u64::from(self.rtp.send(&transmit));
        }
        self.rtp.count_sent(sent);
    }

    /// Finishes stopped recordings on the blocking pool (finalising a WAV
    /// writes its header and flushes); the result returns as an input.
    pub(super) fn finish_recordings(&mut self) {
        while let Some(finished) = self.engine.poll_finished_recording() {
            let feedback = self.feedback.clone();
            tokio::spawn(async move {
                let FinishedRecording { leg, paths, handle } = finished;
                let joined = tokio::task::spawn_blocking(move || handle.finish()).await;
                let result = match joined {
                    Ok(Some(result)) => result.map_err(|error| error.to_string()),
                    // Finished already: whoever did reported it.
                    Ok(None) => return,
                    Err(error) => Err(error.to_string()),
                };
                let input = Input::RecordingFinished { leg, paths, result };
                let _ = feedback.send(input).await;
            });
        }
    }
}
