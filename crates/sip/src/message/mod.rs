//! Framing, normalising and validating SIP messages in front of `rsip`.
//!
//! `rsip` is kept for what it does right (typed headers and URIs, printing
//! what we build) and is fed only text it handles: [`parse`] first splits
//! the message itself (`raw`), unfolds and expands header fields, checks
//! what `rsip` does not (`validate`, `uri`), answers what it must refuse
//! (`reject`) and hands `rsip` a normalised header section, the body kept
//! as the bytes Content-Length delimited (RFC 3261 §18.3).

pub(crate) mod address;
mod framer;
mod raw;
mod reject;
mod uri;
mod validate;
pub mod via;

use bytes::Bytes;

pub use framer::{FramingError, StreamFramer};
pub use reject::reject_response;
pub use via::{ViaInfo, parse_via_value, stamp_received, top_via};

use raw::{RawError, RawMessage};
use uri::UriError;
use validate::{Fail, bad};

/// A validated message, typed by `rsip`, body kept as the raw bytes that
/// Content-Length delimited.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A request.
    Request(rsip::Request),
    /// A response.
    Response(rsip::Response),
}

/// Why a message was not accepted, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Low-cardinality reason, used as a metric label: `empty`,
    /// `bad_header`, `too_many_headers`, `too_large`, `bad_start_line`,
    /// `bad_version`, `bad_encoding`, `missing_header`, `duplicate_header`,
    /// `bad_via`, `bad_address`, `bad_call_id`, `bad_max_forwards`,
    /// `content_length`, `bad_cseq`, `cseq_mismatch`, `bad_uri`,
    /// `unsupported_scheme`, `unknown_method`.
    pub reason: &'static str,
    /// The answer to send back to the message's source (a 400, 416, 501, 505
    /// built from the raw Via/From/To/Call-ID/CSeq), or `None` to drop it
    /// silently (malformed responses, requests too broken to answer, ACK).
    pub response: Option<Bytes>,
}

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Largest whole message.
    pub max_message: usize,
    /// Most header lines.
    pub max_headers: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_message: 64 * 1024,
            max_headers: 256,
        }
    }
}

/// The methods this layer lets through, as sent in the `Allow` header of a
/// 501 answer. Others are refused before `rsip`, which cannot type them.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, MESSAGE, NOTIFY, PRACK, PUBLISH, REFER, SUBSCRIBE, UPDATE";

/// Max-Forwards assumed when a request carries none (RFC 3261 §8.1.1.6).
pub const DEFAULT_MAX_FORWARDS: u32 = 70;

/// A request's Max-Forwards, [`DEFAULT_MAX_FORWARDS`] when absent (`parse`
/// has already refused malformed values).
pub fn max_forwards(request: &rsip::Request) -> u32 {
    use rsip::headers::UntypedHeader;
    request
        .headers
        .iter()
        .find_map(|h| match h {
            rsip::Header::MaxForwards(max) => max.value().trim().parse().ok(),
            _ => None,
        })
        .unwrap_or(DEFAULT_MAX_FORWARDS)
}

/// Parses and validates one whole message (a UDP datagram, or what
/// [`StreamFramer`] cut from a TCP stream).
pub fn parse(bytes: &[u8], limits: ParseLimits) -> Result<Parsed, Rejection> {
    if bytes.len() > limits.max_message {
        // 513 Message Too Large (RFC 3261 §21.5.11), answered from the
        // headers within the first max_message bytes; the rest is not read.
        let head = bytes.get(..limits.max_message).unwrap_or_default();
        // The cut may fall inside a line: answer only from whole lines.
        let whole_lines = head.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let head = head.get(..whole_lines).unwrap_or_default();
        let response = raw::split(head, limits.max_headers).ok().and_then(|raw| {
            let method = raw
                .start_line
                .split(' ')
                .next()
                .filter(|m| !m.starts_with("SIP/"))?;
            reject::build(Some(method), &raw.headers, 513, "Message Too Large", &[])
        });
        return Err(Rejection {
            reason: "too_large",
            response,
        });
    }
    let raw = raw::split(bytes, limits.max_headers).map_err(|error| Rejection {
        reason: match error {
            RawError::Empty => "empty",
            RawError::BadHeaderLine | RawError::StrayContinuation => "bad_header",
            RawError::TooManyHeaders => "too_many_headers",
        },
        response: None,
    })?;
    let is_response = raw.start_line.starts_with("SIP/");
    if is_response {
        parse_response(&raw)
            .map(Parsed::Response)
            .map_err(|reason| Rejection {
                reason,
                response: None,
            })
    } else {
        parse_request(&raw).map(Parsed::Request)
    }
}

/// The body as Content-Length delimits it: a longer datagram is cut
/// (§18.3), a shorter one is an error.
fn delimit<'a>(raw: &RawMessage<'a>, content_length: Option<usize>) -> Result<&'a [u8], Fail> {
    match content_length {
        None => Ok(raw.body),
        Some(length) => raw
            .body
            .get(..length)
            .ok_or(bad("Content-Length Larger Than Body", "content_length")),
    }
}

/// The header section rebuilt one field per line, long names, Content-Length
/// last and equal to the body length.
fn normalised(start_line: &str, raw: &RawMessage<'_>, body_len: usize) -> String {
    let mut text = String::with_capacity(512);
    text.push_str(start_line);
    text.push_str("\r\n");
    for header in raw.headers.iter().filter(|h| !h.is("Content-Length")) {
        text.push_str(&header.name);
        text.push_str(": ");
        text.push_str(&header.value);
        text.push_str("\r\n");
    }
    text.push_str(&format!("Content-Length: {body_len}\r\n\r\n"));
    text
}

fn parse_request(raw: &RawMessage<'_>) -> Result<rsip::Request, Rejection> {
    let answer = |fail: Fail, extra: &[String]| Rejection {
        reason: fail.label,
        response: reject::build(
            raw.start_line.split(' ').next(),
            &raw.headers,
            fail.status,
            fail.phrase,
            extra,
        ),
    };
    let (method, uri_text) = validate::request_line(&raw.start_line).map_err(|f| answer(f, &[]))?;
    let content_length = validate::headers(raw).map_err(|f| answer(f, &[]))?;
    let (_, cseq_method) =
        validate::cseq(raw.first("CSeq").unwrap_or_default()).map_err(|f| answer(f, &[]))?;
    if cseq_method != method {
        return Err(answer(
            bad("CSeq Method Does Not Match", "cseq_mismatch"),
            &[],
        ));
    }
    let uri = uri::parse_request_uri(uri_text).map_err(|error| match error {
        UriError::Malformed(_) => answer(bad("Bad Request-URI", "bad_uri"), &[]),
        UriError::UnsupportedScheme => answer(
            Fail {
                status: 416,
                phrase: "Unsupported URI Scheme",
                label: "unsupported_scheme",
            },
            &[],
        ),
    })?;
    if !validate::KNOWN_METHODS.contains(&method) {
        let fail = Fail {
            status: 501,
            phrase: "Not Implemented",
            label: "unknown_method",
        };
        return Err(answer(fail, &[format!("Allow: {ALLOW}")]));
    }
    let body = delimit(raw, content_length).map_err(|f| answer(f, &[]))?;
    // rsip reads the method case-insensitively and the URI is ours already,
    // so a placeholder Request-URI keeps rsip away from IPv6 references.
    let text = normalised(
        &format!("{method} sip:placeholder.invalid SIP/2.0"),
        raw,
        body.len(),
    );
    let mut request = rsip::Request::try_from(text.as_str())
        .map_err(|_| answer(bad("Bad Header", "bad_header"), &[]))?;
    request.uri = uri;
    request.body = body.to_vec();
    Ok(request)
}

fn parse_response(raw: &RawMessage<'_>) -> Result<rsip::Response, &'static str> {
    let (code, reason) = validate::status_line(&raw.start_line).ok_or("bad_start_line")?;
    let content_length = validate::headers(raw).map_err(|f| f.label)?;
    validate::cseq(raw.first("CSeq").unwrap_or_default()).map_err(|f| f.label)?;
    let body = delimit(raw, content_length).map_err(|f| f.label)?;
    let text = normalised(&format!("SIP/2.0 {code} {reason}"), raw, body.len());
    let mut response = rsip::Response::try_from(text.as_str()).map_err(|_| "bad_header")?;
    response.body = body.to_vec();
    Ok(response)
}

/// Writes the header fields, then Content-Length from the body, then the
/// body bytes untouched.
fn encode(start_line: String, headers: &rsip::Headers, body: &[u8]) -> Bytes {
    let mut text = start_line;
    for header in headers
        .iter()
        .filter(|h| !matches!(h, rsip::Header::ContentLength(_)))
    {
        text.push_str(&header.to_string());
        text.push_str("\r\n");
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = text.into_bytes();
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// Prints a request; the body is appended as bytes, never re-encoded.
pub fn encode_request(request: &rsip::Request) -> Bytes {
    let start = format!(
        "{} {} SIP/2.0\r\n",
        request.method,
        uri::print_uri(&request.uri)
    );
    encode(start, &request.headers, &request.body)
}

/// Prints a response; the body is appended as bytes, never re-encoded.
pub fn encode_response(response: &rsip::Response) -> Bytes {
    encode(
        format!("SIP/2.0 {}\r\n", response.status_code),
        &response.headers,
        &response.body,
    )
}

#[cfg(test)]
mod tests;
