//! DTMF: digits in from RFC 4733 telephone-events, SIP INFO and in-band
//! tones, each press reported once as a `dtmf` event and handed to the
//! leg's collector; digits out for `send_dtmf`, as telephone-events when
//! the leg negotiated them, else as INFO requests, one digit at a time.

use crate::error::SwitchError;
use crate::leg::state_name;
use crate::lifecycle::hop_peer;
use crate::switch::{ClientPurpose, Switch};
use crate::timers::TimerKey;
use std::time::{Duration, Instant};
use switchd_control::validate::{MAX_DTMF_DURATION_SECS, MAX_SEND_DIGITS};
use switchd_control::{DtmfMethod as WireMethod, EventKind, LegState, SendDtmf};
use switchd_media::engine::TelephoneEventPacket;
use switchd_player::dtmf::info::MAX_BODY_LEN;
use switchd_player::dtmf::rfc4733::Rfc4733Sender;
use switchd_player::dtmf::{Digit, DtmfEvent, DtmfMethod};
use switchd_sip::ServerTxId;
use switchd_sip::dialog::{HeaderKind, first_value};
use switchd_sip::rsip;

/// Most digits waiting to be sent on a leg (several `send_dtmf` in a row).
const MAX_QUEUED_DIGITS: usize = 64;
/// Digit length when `send_dtmf` gives none.
const DEFAULT_DIGIT: Duration = Duration::from_millis(100);
/// Longest digit we send (the protocol's limit).
const MAX_DIGIT: Duration = Duration::from_secs(MAX_DTMF_DURATION_SECS as u64);
/// Shortest digit we send: below 40 ms receivers may miss it.
const MIN_DIGIT: Duration = Duration::from_millis(40);
/// Silence between digits sent, after the end packets (RFC 4733 §2.5.1.4
/// repeats them 20 ms apart) so receivers see separate presses.
const DIGIT_GAP: Duration = Duration::from_millis(100);
/// Volume of the digits we send, in -dBm0.
const DIGIT_VOLUME: u8 = 10;
/// The INFO body type we send, and the two we read.
const DTMF_RELAY: &str = "application/dtmf-relay";
const DTMF: &str = "application/dtmf";

fn wire_method(method: DtmfMethod) -> WireMethod {
    match method {
        DtmfMethod::Rfc4733 => WireMethod::Rfc4733,
        DtmfMethod::SipInfo => WireMethod::Info,
        DtmfMethod::InBand => WireMethod::Inband,
    }
}

impl Switch {
    /// A telephone-event packet the engine received on the leg.
    pub(crate) fn on_telephone_event(
        &mut self,
        now: Instant,
        id: &str,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
    ) {
        if let Some(audio) = self.media.legs.get_mut(id) {
            // Malformed events are counted by the pipeline's receiver.
            let _ = audio.dtmf.handle_rfc4733(now, marker, timestamp, payload);
            self.drain_digits(now, id);
        }
    }

    /// An in-dialog INFO: DTMF bodies feed the leg's pipeline (400 when
    /// unreadable); other INFO packages are acknowledged and ignored.
    pub(crate) fn on_info(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        id: &str,
        request: &rsip::Request,
    ) {
        let content_type = first_value(&request.headers, HeaderKind::ContentType)
            .map(str::to_owned)
            .unwrap_or_default();
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if mime != DTMF_RELAY && mime != DTMF {
            return self.respond_status(now, tx, request, 200, Vec::new());
        }
        let body = request
            .body
            .get(..MAX_BODY_LEN + 1)
            .unwrap_or(&request.body);
        let read = self
            .media
            .legs
            .get_mut(id)
            .map(|audio| audio.dtmf.handle_info(now, &content_type, body));
        let status = match read {
            Some(Err(_)) => 400,
            _ => 200,
        };
        self.respond_status(now, tx, request, status, Vec::new());
        self.drain_digits(now, id);
    }

    /// Reads what the in-band detectors heard during the last ticks.
    pub(crate) fn drain_inband(&mut self, now: Instant) {
        if self.media.inband_legs.is_empty() {
            return;
        }
        let mut heard = Vec::new();
        for id in &self.media.inband_legs {
            let Some(audio) = self.media.legs.get_mut(id) else {
                continue;
            };
            let Some(tones) = audio.inband.as_ref() else {
                continue;
            };
            let mut any = false;
            while let Some(tone) = tones.pop() {
                any = true;
                audio.dtmf.handle_event(
                    now,
                    DtmfEvent {
                        digit: tone.digit,
                        duration: tone.duration,
                        method: DtmfMethod::InBand,
                    },
                );
            }
            if any {
                heard.push(id.clone());
            }
        }
        for id in heard {
            self.drain_digits(now, &id);
        }
    }

    /// Reports the leg's new key presses and hands them to its collector.
    pub(crate) fn drain_digits(&mut self, now: Instant, id: &str) {
        let Some(audio) = self.media.legs.get_mut(id) else {
            return;
        };
        while let Some(event) = audio.dtmf.poll_event() {
            self.media.totals.dtmf_in += 1;
            self.events.push_back(EventKind::Dtmf {
                leg: id.to_owned(),
                digit: event.digit.as_char(),
                duration_ms: u64::try_from(event.duration.as_millis()).unwrap_or(u64::MAX),
                method: wire_method(event.method),
            });
            if let Some(collector) = audio.collector.as_mut() {
                collector.handle_digit(now, event.digit);
            }
        }
        self.drive_collector(now, id);
        self.reschedule_media(id);
    }

    /// The leg's own deadline: its pipeline's, its collector's, or its next
    /// digit to send.
    pub(crate) fn reschedule_media(&mut self, id: &str) {
        let key = TimerKey::Media(id.to_owned());
        let next = self.media.legs.get(id).and_then(|audio| {
            [
                audio.dtmf.poll_timeout(),
                audio.collector.as_ref().and_then(|c| c.poll_timeout()),
                audio.next_digit_at,
            ]
            .into_iter()
            .flatten()
            .min()
        });
        match next {
            Some(at) => self.timers.set(key, at),
            None => self.timers.cancel(&key),
        }
    }

    /// The leg's deadline passed.
    pub(crate) fn on_media_timer(&mut self, now: Instant, id: &str) {
        let Some(audio) = self.media.legs.get_mut(id) else {
            return;
        };
        audio.dtmf.handle_timeout(now);
        if let Some(collector) = audio.collector.as_mut() {
            collector.handle_timeout(now);
        }
        if audio.next_digit_at.is_some_and(|at| at <= now) {
            self.send_next_digit(now, id);
        }
        self.drain_digits(now, id);
    }

    /// `send_dtmf`: queues the digits; the first goes at once.
    pub(crate) fn send_dtmf(&mut self, now: Instant, args: SendDtmf) -> Result<(), SwitchError> {
        let id = args.leg.as_str();
        let leg = self
            .legs
            .get(id)
            .ok_or_else(|| SwitchError::UnknownLeg { leg: id.to_owned() })?;
        if !matches!(leg.state, LegState::Answered | LegState::Early) {
            return Err(SwitchError::InvalidState {
                leg: id.to_owned(),
                state: state_name(leg.state),
                command: "send_dtmf",
            });
        }
        let has_dialog = leg.dialog.is_some();
        let digits = parse_digits(&args.digits)?;
        let duration = match args.duration {
            None => DEFAULT_DIGIT,
            Some(secs) => Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| (MIN_DIGIT..=MAX_DIGIT).contains(d))
                .ok_or_else(|| {
                    SwitchError::invalid(
                        "duration",
                        format!("{secs}: expected 0.04..={MAX_DTMF_DURATION_SECS} seconds"),
                    )
                })?,
        };
        let audio = self
            .media
            .legs
            .get_mut(id)
            .ok_or_else(|| SwitchError::MediaUnavailable { leg: id.to_owned() })?;
        let events = audio.media.is_some_and(|m| m.telephone_event.is_some());
        if !events && !has_dialog {
            return Err(SwitchError::MediaUnavailable { leg: id.to_owned() });
        }
        if audio.dtmf_out.len() + digits.len() > MAX_QUEUED_DIGITS {
            return Err(SwitchError::LimitReached {
                table: "dtmf_queue",
                limit: MAX_QUEUED_DIGITS,
            });
        }
        audio.dtmf_out.extend(digits);
        audio.dtmf_out_duration = duration;
        if audio.next_digit_at.is_none() {
            self.send_next_digit(now, id);
        }
        self.reschedule_media(id);
        Ok(())
    }

    /// Sends the leg's next queued digit and plans the one after.
    fn send_next_digit(&mut self, now: Instant, id: &str) {
        let Some(audio) = self.media.legs.get_mut(id) else {
            return;
        };
        let Some(digit) = audio.dtmf_out.pop_front() else {
            audio.next_digit_at = None;
            return;
        };
        let duration = audio.dtmf_out_duration;
        audio.next_digit_at = (!audio.dtmf_out.is_empty()).then(|| now + duration + DIGIT_GAP);
        self.media.totals.dtmf_out += 1;
        match audio.media.filter(|m| m.telephone_event.is_some()) {
            Some(media) => {
                let clock = media.codec.rtp_clock_rate();
                let ticks = duration.as_micros() * u128::from(clock) / 1_000_000;
                let ticks = u32::try_from(ticks).unwrap_or(u32::MAX);
                let packets: Vec<TelephoneEventPacket> = Rfc4733Sender::new(clock / 50)
                    .packets(digit, ticks, 0, DIGIT_VOLUME)
                    .into_iter()
                    .map(TelephoneEventPacket::from)
                    .collect();
                let engine_id = audio.engine_id;
                // Refused only without telephone-event, checked above.
                let _ = self.media.engine.send_dtmf(now, engine_id, &packets);
            }
            None => self.send_info_digit(now, id, digit, duration),
        }
    }

    /// One digit as an in-dialog INFO (application/dtmf-relay).
    fn send_info_digit(&mut self, now: Instant, id: &str, digit: Digit, duration: Duration) {
        let Some(leg) = self.leg_mut(id) else { return };
        let fallback = leg.peer;
        let Some(dialog) = leg.dialog.as_mut() else {
            return;
        };
        let body = format!(
            "Signal={}\r\nDuration={}\r\n",
            digit.as_char(),
            duration.as_millis()
        );
        let (request, hop) = dialog.make_request(
            rsip::Method::Info,
            Some((DTMF_RELAY.to_owned(), body.into_bytes())),
        );
        let sent = hop_peer(&hop, fallback)
            .and_then(|peer| self.endpoint.send_request(now, request, peer).ok());
        match sent {
            Some(tx) => {
                self.client_txs.insert(tx, ClientPurpose::Fire);
            }
            None => self.counters.sip_send_failures += 1,
        }
    }
}

/// The digits of `send_dtmf`: 1 to 32 of `0-9*#A-D`.
fn parse_digits(text: &str) -> Result<Vec<Digit>, SwitchError> {
    if text.is_empty() || text.chars().count() > MAX_SEND_DIGITS {
        return Err(SwitchError::invalid(
            "digits",
            format!("expected 1 to {MAX_SEND_DIGITS} digits"),
        ));
    }
    text.chars()
        .map(|c| {
            Digit::from_char(c)
                .ok_or_else(|| SwitchError::invalid("digits", format!("{c:?} is not 0-9*#A-D")))
        })
        .collect()
}
