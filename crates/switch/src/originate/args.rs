//! Checks of `originate` arguments that need no switch state.

use crate::error::SwitchError;
use std::time::Duration;
use switchd_control::command::{Originate, TrunkSpec};
use switchd_sip::Transport;

/// Headers `originate` may not set: the switch or the SIP layer writes them.
const CORE_HEADERS: &[&str] = &[
    "via",
    "from",
    "to",
    "call-id",
    "cseq",
    "contact",
    "content-length",
    "content-type",
    "max-forwards",
    "route",
    "record-route",
    "privacy",
    "p-asserted-identity",
    "authorization",
    "proxy-authorization",
    "v",
    "f",
    "t",
    "i",
    "m",
    "l",
    "c",
];

pub(super) fn is_sip_uri(text: &str) -> bool {
    let lower = text.get(..5).map(str::to_ascii_lowercase);
    lower
        .as_deref()
        .is_some_and(|p| p.starts_with("sip:") || p == "sips:")
}

/// A number or user part: unreserved characters only (RFC 3261 §25.1),
/// so that it can be written into a URI as it is.
pub(super) fn is_user(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-_.!~*'()#".contains(c))
}

pub(super) fn trunk_transport(trunk: &TrunkSpec) -> Transport {
    match trunk.transport.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("tcp") => Transport::Tcp,
        _ => Transport::Udp,
    }
}

pub(super) fn seconds(
    argument: &'static str,
    value: Option<f64>,
) -> Result<Option<Duration>, SwitchError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => {
            Ok(Some(Duration::from_secs_f64(v)))
        }
        Some(v) => Err(SwitchError::invalid(
            argument,
            format!("{v}: expected seconds in (0, 86400]"),
        )),
    }
}

/// The extra headers, checked: token names, no core headers, no line breaks.
pub(super) fn check_headers(args: &Originate) -> Result<Vec<(String, String)>, SwitchError> {
    let mut headers = Vec::new();
    for (name, value) in &args.headers {
        let token = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c));
        if !token {
            return Err(SwitchError::invalid(
                "headers",
                format!("{name:?} is not a header name"),
            ));
        }
        if CORE_HEADERS
            .iter()
            .any(|core| core.eq_ignore_ascii_case(name))
        {
            return Err(SwitchError::invalid(
                "headers",
                format!("{name} is set by the switch"),
            ));
        }
        if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
            return Err(SwitchError::invalid(
                "headers",
                format!("value of {name} has a line break"),
            ));
        }
        headers.push((name.clone(), value.clone()));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn targets_and_users() {
        assert!(is_sip_uri("sip:bob@example.com"));
        assert!(is_sip_uri("SIPS:bob@example.com"));
        assert!(!is_sip_uri("sipx"));
        assert!(!is_sip_uri("tel:+1555"));
        assert!(is_user("+1 555".replace(' ', "").as_str()));
        assert!(is_user("*97#"));
        assert!(!is_user(""));
        assert!(!is_user("bob@example.com"));
        assert!(!is_user("a b"));
        assert!(!is_user(&"9".repeat(65)));
    }

    #[test]
    fn durations_are_bounded() {
        assert_eq!(
            seconds("x", Some(1.5)).unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(seconds("x", None).unwrap(), None);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 100_000.0] {
            assert!(seconds("x", Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn extra_headers_are_checked() {
        let with = |name: &str, value: &str| {
            let mut headers = BTreeMap::new();
            headers.insert(name.to_owned(), value.to_owned());
            check_headers(&Originate {
                headers,
                ..Originate::default()
            })
        };
        assert!(with("X-Account", "42").is_ok());
        for core in [
            "Via",
            "call-id",
            "CSeq",
            "Contact",
            "Content-Length",
            "i",
            "P-Asserted-Identity",
        ] {
            assert!(with(core, "x").is_err(), "{core}");
        }
        assert!(with("Bad Name", "x").is_err());
        assert!(with("X-Inject", "a\r\nVia: evil").is_err());
    }
}
