//! Messages the endpoint writes itself: responses (100, 200 to CANCEL, 4xx/5xx
//! refusals), the CANCEL of §9.1, our Via, and random tokens.

use crate::dialog;
use crate::transaction::key::{MAGIC_COOKIE, cseq};
use rand::Rng;
use rand::distr::Alphanumeric;
use rsip::headers::UntypedHeader;

/// A random token of `len` alphanumerics.
pub(crate) fn token(rng: &mut impl Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(rng.sample(Alphanumeric)))
        .collect()
}

/// A new RFC 3261 branch.
pub(crate) fn branch(rng: &mut impl Rng) -> String {
    format!("{MAGIC_COOKIE}{}", token(rng, 16))
}

/// A response to `request` per RFC 3261 §8.2.6.2 ([`dialog::response_to`]),
/// with a Server header when one is configured.
pub(crate) fn response_to(
    request: &rsip::Request,
    code: u16,
    to_tag: Option<&str>,
    server: Option<&str>,
) -> rsip::Response {
    let response = dialog::response_to(request, code, to_tag);
    match server {
        Some(server) => with_header(
            response,
            rsip::Header::Server(rsip::headers::Server::new(server)),
        ),
        None => response,
    }
}

/// Adds a header before Content-Length (kept last for readability).
pub(crate) fn with_header(mut response: rsip::Response, header: rsip::Header) -> rsip::Response {
    let mut headers: Vec<rsip::Header> = response.headers.into();
    let at = headers
        .iter()
        .position(|h| matches!(h, rsip::Header::ContentLength(_)))
        .unwrap_or(headers.len());
    headers.insert(at, header);
    response.headers = headers.into();
    response
}

/// The CANCEL for an INVITE we sent (§9.1): same Request-URI, top Via,
/// Route, From, To, Call-ID and CSeq number.
pub(crate) fn cancel_for(invite: &rsip::Request) -> rsip::Request {
    let mut headers = rsip::Headers::default();
    if let Some(via) = invite
        .headers
        .iter()
        .find(|h| matches!(h, rsip::Header::Via(_)))
    {
        headers.push(via.clone());
    }
    for header in invite.headers.iter() {
        if matches!(header, rsip::Header::Route(_)) {
            headers.push(header.clone());
        }
    }
    headers.push(rsip::Header::MaxForwards(rsip::headers::MaxForwards::new(
        "70",
    )));
    for header in invite.headers.iter() {
        if matches!(
            header,
            rsip::Header::From(_) | rsip::Header::To(_) | rsip::Header::CallId(_)
        ) {
            headers.push(header.clone());
        }
    }
    let seq = cseq(&invite.headers).map_or(1, |(n, _)| n);
    headers.push(rsip::Header::CSeq(rsip::headers::CSeq::new(format!(
        "{seq} CANCEL"
    ))));
    if let Some(ua) = invite
        .headers
        .iter()
        .find(|h| matches!(h, rsip::Header::UserAgent(_)))
    {
        headers.push(ua.clone());
    }
    headers.push(rsip::Header::ContentLength(
        rsip::headers::ContentLength::new("0"),
    ));
    rsip::Request {
        method: rsip::Method::Cancel,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// Puts `via` as the only Via (we originate, never forward) and fills in Max-Forwards, User-Agent and
/// Content-Length where missing (Content-Length always matches the body).
pub(crate) fn prepare_outgoing(request: &mut rsip::Request, via: String, user_agent: Option<&str>) {
    let mut headers: Vec<rsip::Header> = std::mem::take(&mut request.headers).into();
    headers.retain(|h| !matches!(h, rsip::Header::ContentLength(_) | rsip::Header::Via(_)));
    headers.insert(0, rsip::Header::Via(rsip::headers::Via::new(via)));
    if !headers
        .iter()
        .any(|h| matches!(h, rsip::Header::MaxForwards(_)))
    {
        headers.insert(
            1,
            rsip::Header::MaxForwards(rsip::headers::MaxForwards::new("70")),
        );
    }
    if let Some(ua) = user_agent
        && !headers
            .iter()
            .any(|h| matches!(h, rsip::Header::UserAgent(_)))
    {
        headers.push(rsip::Header::UserAgent(rsip::headers::UserAgent::new(ua)));
    }
    headers.push(rsip::Header::ContentLength(
        rsip::headers::ContentLength::new(request.body.len().to_string()),
    ));
    request.headers = headers.into();
}
