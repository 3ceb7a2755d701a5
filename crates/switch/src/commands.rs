//! Control commands applied to the switch.

use crate::error::SwitchError;
use crate::leg::Side;
use crate::switch::Switch;
use std::time::Instant;
use switchd_control::{Command, HangupCause, LegState, ReplyBody};

impl Switch {
    pub(crate) fn dispatch_command(
        &mut self,
        now: Instant,
        command: Command,
    ) -> Result<ReplyBody, SwitchError> {
        if let Some(result) = self.dispatch_media_command(now, &command) {
            return result;
        }
        match command {
            Command::Ping => Ok(ReplyBody::Pong {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            }),
            Command::Originate(args) => self.originate(now, args),
            Command::Ring { leg, status } => {
                self.ring_inbound(now, &leg, status.unwrap_or(180))?;
                self.leg_reply(now, &leg)
            }
            Command::Answer { leg } => {
                self.check_pending_inbound(&leg, "answer")?;
                self.answer_inbound(now, &leg);
                self.leg_reply(now, &leg)
            }
            Command::Reject { leg, status } => {
                let status = status.unwrap_or(603);
                if !(400..=699).contains(&status) {
                    return Err(SwitchError::invalid(
                        "status",
                        format!("{status}: expected 400..=699"),
                    ));
                }
                self.check_pending_inbound(&leg, "reject")?;
                self.reject_inbound(now, &leg, status, HangupCause::CallRejected);
                self.leg_reply(now, &leg)
            }
            Command::Hangup { leg, cause } => {
                let current = self
                    .legs
                    .get(&leg)
                    .ok_or_else(|| SwitchError::UnknownLeg { leg: leg.clone() })?;
                if current.state == LegState::Ended {
                    return Err(SwitchError::InvalidState {
                        leg,
                        state: "ended",
                        command: "hangup",
                    });
                }
                let cause = cause.unwrap_or_else(|| default_hangup_cause(current));
                self.end_leg(now, &leg, cause);
                self.leg_reply(now, &leg)
            }
            Command::Legs => {
                let mut legs: Vec<_> = self.legs.values().map(|l| self.leg_info(now, l)).collect();
                legs.sort_by(|a, b| b.age_ms.cmp(&a.age_ms).then_with(|| a.id.cmp(&b.id)));
                Ok(ReplyBody::Legs { legs })
            }
            Command::Leg { leg } => self.leg_reply(now, &leg),
            Command::Trunks => Ok(ReplyBody::Trunks {
                trunks: self.trunks.info(),
            }),
            Command::TrunkAdd(spec) => {
                self.add_trunk(now, spec)?;
                Ok(ReplyBody::Empty {})
            }
            Command::TrunkRemove { name } => {
                if self.remove_trunk(now, &name) {
                    Ok(ReplyBody::Empty {})
                } else {
                    Err(SwitchError::UnknownTrunk { name })
                }
            }
            Command::Stats => Ok(ReplyBody::Stats {
                stats: self.stats().to_map(),
            }),
            Command::Subscribe { .. }
            | Command::Unsubscribe
            | Command::Bridge { .. }
            | Command::Unbridge { .. }
            | Command::Play(_)
            | Command::StopPlay { .. }
            | Command::Collect(_)
            | Command::Record(_)
            | Command::StopRecord { .. }
            | Command::SendDtmf(_)
            | Command::Echo { .. } => Err(SwitchError::NotForSwitch {
                command: command.name(),
            }),
        }
    }

    pub(crate) fn leg_reply(&self, now: Instant, id: &str) -> Result<ReplyBody, SwitchError> {
        let leg = self
            .legs
            .get(id)
            .ok_or_else(|| SwitchError::UnknownLeg { leg: id.to_owned() })?;
        Ok(ReplyBody::Leg {
            leg: self.leg_info(now, leg),
            existing: false,
        })
    }
}

/// `hangup` without a cause: refusing an inbound call is a rejection,
/// abandoning an outbound one before answer is a cancel by its originator
/// (us), and ending a call in progress is normal clearing.
fn default_hangup_cause(leg: &crate::leg::Leg) -> HangupCause {
    let answered = leg.state == LegState::Answered;
    match (&leg.side, answered) {
        (_, true) => HangupCause::NormalClearing,
        (Side::Inbound(_), false) => HangupCause::CallRejected,
        (Side::Outbound(_), false) => HangupCause::OriginatorCancel,
    }
}
