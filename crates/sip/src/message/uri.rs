//! The Request-URI: checked here, because `rsip` misreads `<sip:…>`, fails on
//! IPv6 references and prints non-SIP schemes as `scheme://`.

use std::net::Ipv6Addr;

use rsip::{Host, HostWithPort, Scheme, Uri};

/// Why a Request-URI is refused; the status to answer with follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UriError {
    /// Not a URI, or a SIP URI that breaks the grammar (400).
    Malformed(&'static str),
    /// A syntactically fine URI with a scheme we do not serve (416).
    UnsupportedScheme,
}

/// Placeholder host that stands in for an IPv6 reference while `rsip`
/// parses the rest of the URI.
const V6_PLACEHOLDER: &str = "ipv6-reference.invalid";

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Checks `host[:port]` of a SIP URI; returns the bracketed IPv6 reference if
/// there is one.
fn check_hostport(hostport: &str) -> Result<Option<&str>, UriError> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or(UriError::Malformed("unclosed IPv6 reference"))?;
        v6.parse::<Ipv6Addr>()
            .map_err(|_| UriError::Malformed("bad IPv6 reference"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or(UriError::Malformed("junk after IPv6 reference"))?,
            ),
        };
        let reference = hostport.get(..v6.len() + 2);
        check_port(port)?;
        return Ok(reference);
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        return Err(UriError::Malformed("bad host"));
    }
    check_port(port)?;
    Ok(None)
}

fn check_port(port: Option<&str>) -> Result<(), UriError> {
    match port {
        None => Ok(()),
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => p
            .parse::<u16>()
            .map(|_| ())
            .map_err(|_| UriError::Malformed("bad port")),
        Some(_) => Err(UriError::Malformed("bad port")),
    }
}

/// Parses a Request-URI: sip, sips (checked, then typed by `rsip`) or tel.
pub(crate) fn parse_request_uri(text: &str) -> Result<Uri, UriError> {
    let (scheme, rest) = text
        .split_once(':')
        .ok_or(UriError::Malformed("no scheme"))?;
    if !is_scheme(scheme) || rest.is_empty() {
        return Err(UriError::Malformed("bad scheme"));
    }
    if scheme.eq_ignore_ascii_case("tel") {
        if rest
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(UriError::Malformed("bad tel URI"));
        }
        return Ok(Uri {
            scheme: Some(Scheme::Other("tel".into())),
            host_with_port: HostWithPort::from(Host::Domain(rest.to_owned().into())),
            ..Default::default()
        });
    }
    if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
        return Err(UriError::UnsupportedScheme);
    }
    // The user part may hold `?`, `;` and `:` (RFC 3261 §25.1); it ends at
    // the `@`, which it cannot hold unescaped.
    let (user, after_user) = match rest.split_once('@') {
        Some((user, after)) => (Some(user), after),
        None => (None, rest),
    };
    if user.is_some_and(str::is_empty) {
        return Err(UriError::Malformed("empty user"));
    }
    // §19.1.1: headers are not allowed in a Request-URI.
    if after_user.contains('?') {
        return Err(UriError::Malformed("headers in Request-URI"));
    }
    let hostport = after_user.split(';').next().unwrap_or_default();
    let v6 = check_hostport(hostport)?;
    let for_rsip = match (v6, user) {
        (Some(reference), user) => {
            let tail = after_user.get(reference.len()..).unwrap_or_default();
            let user = user.map(|u| format!("{u}@")).unwrap_or_default();
            format!("{scheme}:{user}{V6_PLACEHOLDER}{tail}")
        }
        (None, _) => text.to_owned(),
    };
    // rsip misreads some legal user parts (a `;` in it, for one) without
    // failing, so its result is used only if it agrees with our split.
    let (host, port) = match v6 {
        Some(reference) => (V6_PLACEHOLDER, hostport.get(reference.len() + 1..)),
        None => hostport
            .split_once(':')
            .map_or((hostport, None), |(h, p)| (h, Some(p))),
    };
    let agrees = |uri: &Uri| {
        uri.host().to_string().eq_ignore_ascii_case(host)
            && uri.port().map(|p| p.value().to_string()).as_deref() == port
            && uri.auth.as_ref().map(|a| a.user.as_str()) == user.and_then(|u| u.split(':').next())
    };
    let mut uri = match Uri::try_from(for_rsip.as_str()) {
        Ok(uri) if agrees(&uri) => uri,
        _ => fallback_uri(scheme, rest, hostport)?,
    };
    if let Some(reference) = v6 {
        uri.host_with_port.host = Host::Domain(reference.to_owned().into());
    }
    Ok(uri)
}

/// Builds the URI by hand when `rsip` refuses one we checked (escaped or
/// unusual user parts): the host and port are exact, parameters kept as
/// `Other`.
fn fallback_uri(scheme: &str, rest: &str, hostport: &str) -> Result<Uri, UriError> {
    let (user, after_user) = match rest.split_once('@') {
        Some((user, after)) => (Some(user), after),
        None => (None, rest),
    };
    // The port follows the last colon, after the `]` of an IPv6 reference.
    let port_colon = match hostport.rfind(']') {
        Some(bracket) => hostport
            .get(bracket..)
            .and_then(|tail| tail.find(':'))
            .map(|i| i + bracket),
        None => hostport.find(':'),
    };
    let host_with_port = match port_colon {
        Some(colon) => {
            let host = hostport.get(..colon).unwrap_or_default();
            let port: u16 = hostport
                .get(colon + 1..)
                .and_then(|p| p.parse().ok())
                .ok_or(UriError::Malformed("bad port"))?;
            HostWithPort {
                host: Host::Domain(host.to_owned().into()),
                port: Some(port.into()),
            }
        }
        None => HostWithPort::from(Host::Domain(hostport.to_owned().into())),
    };
    let params = after_user
        .split(';')
        .skip(1)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((name, value)) => rsip::Param::Other(name.into(), Some(value.into())),
            None => rsip::Param::Other(p.into(), None),
        })
        .collect();
    Ok(Uri {
        scheme: Some(if scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else {
            Scheme::Sip
        }),
        auth: user.map(|u| rsip::Auth {
            user: u.to_owned(),
            password: None,
        }),
        host_with_port,
        params,
        headers: Vec::new(),
    })
}

/// Prints a URI, fixing `rsip`'s `scheme://` for schemes other than sip/sips.
pub(crate) fn print_uri(uri: &Uri) -> String {
    let text = uri.to_string();
    match &uri.scheme {
        Some(Scheme::Other(scheme)) => {
            let prefix = format!("{scheme}://");
            match text.strip_prefix(&prefix) {
                Some(rest) => format!("{scheme}:{rest}"),
                None => text,
            }
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_reference_round_trips() {
        let uri = parse_request_uri("sip:[2001:db8::10]:5070;transport=tcp").expect("parses");
        assert_eq!(uri.host().to_string(), "[2001:db8::10]");
        assert_eq!(print_uri(&uri), "sip:[2001:db8::10]:5070;transport=TCP");
        let uri = parse_request_uri("sip:user@[2001:db8::10]").expect("parses");
        assert_eq!(print_uri(&uri), "sip:user@[2001:db8::10]");
    }

    #[test]
    fn refuses_ambiguous_and_bad_hosts() {
        for text in [
            "sip:2001:db8::10",
            "sip:[2001:db8:::192.0.2.1]",
            "sip:[2001:db8::10",
            "<sip:user@example.com>",
            "sip:user@example.com?Route=%3Csip:example.com%3E",
            "sip:host:99999",
            "sip:",
        ] {
            assert!(
                matches!(parse_request_uri(text), Err(UriError::Malformed(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn fallback_keeps_host_port_and_params() {
        let uri = fallback_uri(
            "sips",
            "u%40x@[2001:db8::1]:5071;lr;a=b",
            "[2001:db8::1]:5071",
        )
        .expect("builds");
        assert_eq!(print_uri(&uri), "sips:u%40x@[2001:db8::1]:5071;lr;a=b");
        let uri = fallback_uri("sip", "example.com:5060", "example.com:5060").expect("builds");
        assert_eq!(uri.port().map(|p| *p.value()), Some(5060));
    }

    #[test]
    fn unknown_schemes_are_unsupported_and_tel_prints_back() {
        assert_eq!(
            parse_request_uri("soap.beep://192.0.2.103:3002"),
            Err(UriError::UnsupportedScheme)
        );
        assert_eq!(
            parse_request_uri("nobodyknowsthisscheme:x"),
            Err(UriError::UnsupportedScheme)
        );
        let tel = parse_request_uri("tel:+1-201-555-0123").expect("parses");
        assert_eq!(print_uri(&tel), "tel:+1-201-555-0123");
    }
}
