//! DTMF in SIP INFO bodies (pure functions over the body; the SIP layer hands it over).
//!
//! Two body types are common: `application/dtmf-relay` (Cisco's, `Signal=5\r\nDuration=160`)
//! and `application/dtmf` (the digit alone). Peers vary in case, spacing, line endings and
//! in writing `*`/`#` as event codes 10/11; all of that is accepted. Bodies are small, so a
//! long one is refused before it is looked at.

use std::time::Duration;

use super::Digit;
use crate::Error;
use crate::error::{InfoBodyProblem, clip};

/// Longest body read; a real DTMF body is under 40 bytes.
pub const MAX_BODY_LEN: usize = 512;

/// Longest `Duration=` honoured; longer values are capped to it.
pub const MAX_DURATION: Duration = Duration::from_secs(60);

/// Duration reported when the body gives none.
pub const DEFAULT_DURATION: Duration = Duration::from_millis(100);

/// What one INFO body carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoDtmf {
    /// The key.
    pub digit: Digit,
    /// How long it was held, when the body says.
    pub duration: Option<Duration>,
}

/// Reads the digit out of an INFO body of `content_type` (parameters allowed).
pub fn parse_info_body(content_type: &str, body: &[u8]) -> Result<InfoDtmf, Error> {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if body.len() > MAX_BODY_LEN {
        return Err(body_error(InfoBodyProblem::TooLong, ""));
    }
    let text = std::str::from_utf8(body).map_err(|_| body_error(InfoBodyProblem::NotText, ""))?;
    match media_type.as_str() {
        "application/dtmf-relay" => parse_dtmf_relay(text),
        "application/dtmf" => Ok(InfoDtmf {
            digit: parse_signal(text.trim())?,
            duration: None,
        }),
        _ => Err(Error::InfoContentType {
            content_type: clip(content_type, 64),
        }),
    }
}

/// Reads an `application/dtmf-relay` body.
pub fn parse_dtmf_relay(text: &str) -> Result<InfoDtmf, Error> {
    let mut digit = None;
    let mut duration = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "signal" if digit.is_none() => digit = Some(parse_signal(value)?),
            "duration" if duration.is_none() => {
                let millis: u64 = value
                    .parse()
                    .map_err(|_| body_error(InfoBodyProblem::BadDuration, value))?;
                duration = Some(Duration::from_millis(millis).min(MAX_DURATION));
            }
            _ => {}
        }
    }
    let digit = digit.ok_or_else(|| body_error(InfoBodyProblem::MissingSignal, ""))?;
    Ok(InfoDtmf { digit, duration })
}

/// One signal value: a digit character, or the event codes 10/11 some peers send for `*`/`#`.
fn parse_signal(value: &str) -> Result<Digit, Error> {
    if value.is_empty() {
        return Err(body_error(InfoBodyProblem::MissingSignal, ""));
    }
    let mut chars = value.chars();
    let single = match (chars.next(), chars.next()) {
        (Some(c), None) => Digit::from_char(c),
        _ => None,
    };
    single
        .or_else(|| match value {
            "10" => Digit::from_event(10),
            "11" => Digit::from_event(11),
            _ => None,
        })
        .ok_or_else(|| body_error(InfoBodyProblem::BadSignal, value))
}

fn body_error(problem: InfoBodyProblem, value: &str) -> Error {
    Error::InfoBody {
        problem,
        value: clip(value, 32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digit(c: char) -> Digit {
        Digit::from_char(c).unwrap()
    }

    #[test]
    fn dtmf_relay_with_duration() {
        let info =
            parse_info_body("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n").unwrap();
        assert_eq!(info.digit, digit('5'));
        assert_eq!(info.duration, Some(Duration::from_millis(160)));
    }

    #[test]
    fn dtmf_relay_variants_peers_send() {
        let cases: [(&str, &[u8], char); 6] = [
            (
                "Application/DTMF-Relay; charset=utf-8",
                b"signal = *\nduration = 250",
                '*',
            ),
            ("application/dtmf-relay", b"Signal=#", '#'),
            ("application/dtmf-relay", b"Signal=10\r\nDuration=100", '*'),
            ("application/dtmf-relay", b"Signal=11", '#'),
            ("application/dtmf-relay", b"Signal=d\r\n", 'D'),
            ("application/dtmf-relay", b"Junk\r\nSignal= 0 \r\n", '0'),
        ];
        for (content_type, body, want) in cases {
            let info = parse_info_body(content_type, body).unwrap();
            assert_eq!(info.digit, digit(want), "{content_type} {body:?}");
        }
    }

    #[test]
    fn application_dtmf_is_the_digit_alone() {
        let info = parse_info_body("application/dtmf", b"9\r\n").unwrap();
        assert_eq!(
            info,
            InfoDtmf {
                digit: digit('9'),
                duration: None
            }
        );
    }

    #[test]
    fn bad_bodies_are_errors_not_panics() {
        let relay = "application/dtmf-relay";
        let problem = |content_type: &str, body: &[u8]| match parse_info_body(content_type, body) {
            Err(Error::InfoBody { problem, .. }) => Some(problem),
            _ => None,
        };
        assert_eq!(
            problem(relay, b"Duration=100"),
            Some(InfoBodyProblem::MissingSignal)
        );
        assert_eq!(
            problem(relay, b"Signal="),
            Some(InfoBodyProblem::MissingSignal)
        );
        assert_eq!(
            problem(relay, b"Signal=E"),
            Some(InfoBodyProblem::BadSignal)
        );
        assert_eq!(
            problem(relay, b"Signal=16"),
            Some(InfoBodyProblem::BadSignal)
        );
        assert_eq!(
            problem(relay, b"Signal=1\nDuration=-5"),
            Some(InfoBodyProblem::BadDuration)
        );
        assert_eq!(
            problem(relay, &[0xff, 0xfe]),
            Some(InfoBodyProblem::NotText)
        );
        assert_eq!(
            problem(relay, &[b'x'; 4096]),
            Some(InfoBodyProblem::TooLong)
        );
        assert_eq!(
            problem("application/dtmf", b""),
            Some(InfoBodyProblem::MissingSignal)
        );
        assert_eq!(
            problem("application/dtmf", b"12"),
            Some(InfoBodyProblem::BadSignal)
        );
        let long_type = "x".repeat(1000);
        match parse_info_body(&long_type, b"5") {
            Err(Error::InfoContentType { content_type }) => assert_eq!(content_type.len(), 64),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn huge_duration_is_capped() {
        let info =
            parse_info_body("application/dtmf-relay", b"Signal=1\nDuration=99999999999").unwrap();
        assert_eq!(info.duration, Some(MAX_DURATION));
    }
}
