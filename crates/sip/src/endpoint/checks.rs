//! Checks the endpoint makes on a new request before the TU sees it
//! (RFC 3261 §8.2.2 and §8.2.3): Max-Forwards, Require, Content-Type.

use super::build::with_header;
use rsip::headers::UntypedHeader;

/// A request the endpoint answers itself.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// Metric label.
    pub reason: &'static str,
    /// Status code.
    pub code: u16,
    /// Header to add to the response (Unsupported, Accept).
    pub header: Option<rsip::Header>,
}

impl Refusal {
    /// The response, built from the base response to the request.
    pub(crate) fn apply(self, base: rsip::Response) -> rsip::Response {
        match self.header {
            Some(header) => with_header(base, header),
            None => base,
        }
    }
}

/// The options the checks compare against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckPolicy<'a> {
    /// Option tags we implement (Require).
    pub supported: &'a [String],
    /// Body media types we accept (`type/subtype`, lower-case).
    pub accepted_content_types: &'a [String],
}

/// Runs the checks on a new request (never ACK or CANCEL, whose Require is
/// ignored per §8.2.2.3).
pub(crate) fn check_request(request: &rsip::Request, policy: CheckPolicy<'_>) -> Option<Refusal> {
    check_max_forwards(request)
        .or_else(|| check_require(request, policy.supported))
        .or_else(|| check_content_type(request, policy.accepted_content_types))
}

/// Max-Forwards 0: only OPTIONS may still be answered by a UA (§11.2 and
/// §16.3 item 2 for the 483).
fn check_max_forwards(request: &rsip::Request) -> Option<Refusal> {
    if request.method == rsip::Method::Options {
        return None;
    }
    let value = request.headers.iter().find_map(|h| match h {
        rsip::Header::MaxForwards(mf) => Some(mf.value().trim().to_owned()),
        _ => None,
    })?;
    (value.parse::<u32>().ok() == Some(0)).then_some(Refusal {
        reason: "max_forwards",
        code: 483,
        header: None,
    })
}

fn check_require(request: &rsip::Request, supported: &[String]) -> Option<Refusal> {
    let unsupported: Vec<&str> = request
        .headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::Require(r) => Some(r.value()),
            _ => None,
        })
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|tag| !tag.is_empty() && !supported.iter().any(|s| s.eq_ignore_ascii_case(tag)))
        .collect();
    if unsupported.is_empty() {
        return None;
    }
    Some(Refusal {
        reason: "require",
        code: 420,
        header: Some(rsip::Header::Unsupported(rsip::headers::Unsupported::new(
            unsupported.join(", "),
        ))),
    })
}

fn check_content_type(request: &rsip::Request, accepted: &[String]) -> Option<Refusal> {
    if request.body.is_empty() {
        return None;
    }
    let media_type = request.headers.iter().find_map(|h| match h {
        rsip::Header::ContentType(ct) => ct
            .value()
            .split(';')
            .next()
            .map(|t| t.trim().to_ascii_lowercase()),
        _ => None,
    });
    let ok = media_type.is_some_and(|t| accepted.iter().any(|a| a.eq_ignore_ascii_case(&t)));
    if ok {
        return None;
    }
    Some(Refusal {
        reason: "content_type",
        code: 415,
        header: Some(rsip::Header::Accept(rsip::headers::Accept::new(
            accepted.join(", "),
        ))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: rsip::Method, headers: Vec<rsip::Header>, body: &[u8]) -> rsip::Request {
        rsip::Request {
            method,
            uri: rsip::Uri::try_from("sip:a@127.0.0.1").unwrap(),
            version: rsip::Version::V2,
            headers: headers.into(),
            body: body.to_vec(),
        }
    }

    fn policy<'a>(supported: &'a [String], accepted: &'a [String]) -> CheckPolicy<'a> {
        CheckPolicy {
            supported,
            accepted_content_types: accepted,
        }
    }

    #[test]
    fn max_forwards_zero_refused_except_options() {
        let mf0 = vec![rsip::Header::MaxForwards("0".into())];
        let refusal = check_request(
            &request(rsip::Method::Invite, mf0.clone(), b""),
            policy(&[], &[]),
        )
        .unwrap();
        assert_eq!((refusal.code, refusal.reason), (483, "max_forwards"));
        assert!(
            check_request(&request(rsip::Method::Options, mf0, b""), policy(&[], &[])).is_none()
        );
    }

    #[test]
    fn require_lists_unsupported_tags() {
        let supported = vec!["timer".to_owned()];
        let req = request(
            rsip::Method::Invite,
            vec![rsip::Header::Require("100rel, timer".into())],
            b"",
        );
        let refusal = check_request(&req, policy(&supported, &[])).unwrap();
        assert_eq!(refusal.code, 420);
        assert_eq!(refusal.header.unwrap().to_string(), "Unsupported: 100rel");
    }

    #[test]
    fn body_type_must_be_accepted() {
        let accepted = vec!["application/sdp".to_owned()];
        let sdp = vec![rsip::Header::ContentType(
            "Application/SDP; charset=x".into(),
        )];
        assert!(
            check_request(
                &request(rsip::Method::Invite, sdp, b"v=0"),
                policy(&[], &accepted)
            )
            .is_none()
        );
        let html = vec![rsip::Header::ContentType("text/html".into())];
        let refusal = check_request(
            &request(rsip::Method::Info, html, b"<p>"),
            policy(&[], &accepted),
        )
        .unwrap();
        assert_eq!(refusal.code, 415);
        assert_eq!(
            refusal.header.unwrap().to_string(),
            "Accept: application/sdp"
        );
        // No body, no Content-Type needed.
        assert!(
            check_request(
                &request(rsip::Method::Bye, vec![], b""),
                policy(&[], &accepted)
            )
            .is_none()
        );
    }
}
