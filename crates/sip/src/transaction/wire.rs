//! The one place where transactions and the endpoint parse and print
//! messages, so the framing and validation rules of
//! [`message`](crate::message) apply everywhere alike.

use crate::message::{ParseLimits, Parsed, Rejection};
use bytes::Bytes;

/// Parses one whole received message.
pub(crate) fn parse(bytes: &[u8], limits: ParseLimits) -> Result<Parsed, Rejection> {
    crate::message::parse(bytes, limits)
}

/// Prints a request.
pub(crate) fn encode_request(request: &rsip::Request) -> Bytes {
    crate::message::encode_request(request)
}

/// Prints a response.
pub(crate) fn encode_response(response: &rsip::Response) -> Bytes {
    crate::message::encode_response(response)
}
