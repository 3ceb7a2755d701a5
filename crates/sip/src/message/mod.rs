//! Framing, normalising and validating SIP messages in front of `rsip`.
//!
//! STUB: signatures are the contract; bodies are being written.

use bytes::Bytes;

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
    /// Low-cardinality reason, used as a metric label (`bad_start_line`,
    /// `bad_version`, `bad_header`, `content_length`, `too_large`,
    /// `unknown_method`, `unsupported_scheme`, …).
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
        Self { max_message: 64 * 1024, max_headers: 256 }
    }
}

/// Parses and validates one whole message (a UDP datagram, or what
/// [`StreamFramer`] cut from a TCP stream).
pub fn parse(bytes: &[u8], limits: ParseLimits) -> Result<Parsed, Rejection> {
    let _ = (bytes, limits);
    todo!()
}

/// Prints a request; the body is appended as bytes, never re-encoded.
pub fn encode_request(request: &rsip::Request) -> Bytes {
    let _ = request;
    todo!()
}

/// Prints a response; the body is appended as bytes, never re-encoded.
pub fn encode_response(response: &rsip::Response) -> Bytes {
    let _ = response;
    todo!()
}

/// Cuts a TCP byte stream into whole messages by Content-Length (RFC 3261
/// §18.3), with a size limit.
#[derive(Debug, Default)]
pub struct StreamFramer {
    _private: (),
}

/// The stream cannot be framed any further; the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingError {
    /// Content-Length missing, malformed, or negative.
    BadContentLength,
    /// The message would exceed the size limit.
    TooLarge,
}

impl StreamFramer {
    /// A framer refusing messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        let _ = max_message;
        todo!()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        let _ = data;
        todo!()
    }

    /// The next whole message, if one is buffered. CRLF keep-alives
    /// (RFC 5626 §4.4.1) between messages are skipped.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FramingError> {
        todo!()
    }
}
