//! The media commands that need no file: `bridge`, `unbridge`, `echo`,
//! `stop_play`, `stop_record`, `send_dtmf`. `play`, `collect` and `record`
//! arrive through the typed methods once the daemon loaded their files.

use super::{Link, Playing};
use crate::error::SwitchError;
use crate::switch::Switch;
use std::time::Instant;
use switchd_control::{Command, ReplyBody};

impl Switch {
    /// Applies a media command; `None` when `command` is not one.
    pub(crate) fn dispatch_media_command(
        &mut self,
        now: Instant,
        command: &Command,
    ) -> Option<Result<ReplyBody, SwitchError>> {
        let (leg, result) = match command {
            Command::Bridge { leg, other } => (leg, self.bridge(now, leg, other)),
            Command::Unbridge { leg } => (leg, self.unbridge(now, leg)),
            Command::Echo { leg } => (leg, self.echo(now, leg)),
            Command::StopPlay { leg } => {
                let result = self
                    .negotiated_audio(leg)
                    .map(|audio| audio.playing == Some(Playing::Hold));
                // Hold music is not a `play`: stopping it would only start
                // it again from the top, so a held leg is left as one
                // playing nothing would be.
                if result == Ok(false) {
                    self.stop_any_play(now, leg);
                    self.update_inband(now, leg);
                    self.refresh_hold(now, leg);
                }
                (leg, result.map(|_| ()))
            }
            Command::StopRecord { leg } => (leg, self.stop_record(now, leg)),
            Command::SendDtmf(args) => (&args.leg, self.send_dtmf(now, args.clone())),
            Command::Play(_) | Command::Collect(_) | Command::Record(_) => {
                return Some(Err(SwitchError::NotForSwitch {
                    command: command.name(),
                }));
            }
            _ => return None,
        };
        Some(result.and_then(|()| self.leg_reply(now, leg)))
    }

    fn bridge(&mut self, now: Instant, id: &str, other: &str) -> Result<(), SwitchError> {
        if id == other {
            return Err(SwitchError::invalid("other", "a leg cannot bridge itself"));
        }
        let mut engine_ids = Vec::with_capacity(2);
        for leg in [id, other] {
            let audio = self.negotiated_audio(leg)?;
            if let Some(Link::Bridge(_)) = audio.link {
                return Err(SwitchError::InvalidState {
                    leg: leg.to_owned(),
                    state: "bridged",
                    command: "bridge",
                });
            }
            engine_ids.push(audio.engine_id);
        }
        let (Some(a), Some(b)) = (engine_ids.first(), engine_ids.get(1)) else {
            return Err(SwitchError::MediaUnavailable { leg: id.to_owned() });
        };
        self.media
            .engine
            .bridge(now, *a, *b)
            .map_err(|_| SwitchError::MediaUnavailable { leg: id.to_owned() })?;
        for (leg, peer) in [(id, other), (other, id)] {
            if let Some(audio) = self.media.legs.get_mut(leg) {
                audio.link = Some(Link::Bridge(peer.to_owned()));
            }
        }
        self.refresh_hold(now, id);
        self.refresh_hold(now, other);
        self.update_inband(now, id);
        self.update_inband(now, other);
        self.pump_media(now);
        Ok(())
    }

    /// Ends the leg's bridge or echo; nothing to end is fine.
    fn unbridge(&mut self, now: Instant, id: &str) -> Result<(), SwitchError> {
        let audio = self.negotiated_audio(id)?;
        let engine_id = audio.engine_id;
        let peer = match audio.link.take() {
            Some(Link::Bridge(other)) => Some(other),
            _ => None,
        };
        if let Some(other) = peer.as_ref().and_then(|p| self.media.legs.get_mut(p)) {
            other.link = None;
        }
        self.media.engine.unbridge(now, engine_id);
        self.update_inband(now, id);
        self.refresh_hold(now, id);
        if let Some(peer) = peer {
            self.update_inband(now, &peer);
            self.refresh_hold(now, &peer);
        }
        Ok(())
    }

    fn echo(&mut self, now: Instant, id: &str) -> Result<(), SwitchError> {
        let audio = self.negotiated_audio(id)?;
        if let Some(Link::Bridge(_)) = audio.link {
            return Err(SwitchError::InvalidState {
                leg: id.to_owned(),
                state: "bridged",
                command: "echo",
            });
        }
        let engine_id = audio.engine_id;
        audio.link = Some(Link::Echo);
        self.media
            .engine
            .echo(now, engine_id, true)
            .map_err(|_| SwitchError::MediaUnavailable { leg: id.to_owned() })?;
        self.refresh_hold(now, id);
        self.update_inband(now, id);
        Ok(())
    }

    fn stop_record(&mut self, now: Instant, id: &str) -> Result<(), SwitchError> {
        self.negotiated_audio(id)?;
        if self.stop_recording(now, id) {
            Ok(())
        } else {
            Err(SwitchError::InvalidState {
                leg: id.to_owned(),
                state: "not recording",
                command: "stop_record",
            })
        }
    }
}
