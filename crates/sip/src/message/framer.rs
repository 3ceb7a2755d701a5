//! Cutting a stream transport into messages by Content-Length (RFC 3261 §18.3).

use bytes::{Buf, Bytes, BytesMut};

use super::raw::expand_compact;

/// Cuts a TCP byte stream into whole messages by Content-Length (RFC 3261
/// §18.3), with a size limit.
///
/// The buffer never holds more than `max_message` bytes plus one read: once a
/// message is known to exceed the limit, [`StreamFramer::next_message`]
/// reports [`FramingError::TooLarge`] and further input is discarded.
#[derive(Debug)]
pub struct StreamFramer {
    buffer: BytesMut,
    max_message: usize,
    failed: Option<FramingError>,
    /// Line feeds in the current run of keep-alive bytes.
    keepalive_lfs: u8,
    /// Double-CRLF pings seen and not yet taken.
    pings: usize,
}

impl Default for StreamFramer {
    fn default() -> Self {
        Self::new(super::ParseLimits::default().max_message)
    }
}

/// The stream cannot be framed any further; the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingError {
    /// Content-Length missing, malformed, or negative.
    BadContentLength,
    /// The message would exceed the size limit.
    TooLarge,
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::BadContentLength => "missing or malformed Content-Length on a stream",
            Self::TooLarge => "message exceeds the size limit",
        })
    }
}

impl std::error::Error for FramingError {}

impl StreamFramer {
    /// A framer refusing messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            max_message,
            failed: None,
            keepalive_lfs: 0,
            pings: 0,
        }
    }

    /// Bytes currently buffered (for a gauge).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        // Keep-alives and the message must both fit; anything beyond one
        // message plus one read is refused rather than buffered.
        if self.buffer.len().saturating_add(data.len()) > self.max_message.saturating_mul(2) {
            self.skip_keepalives();
            if self.buffer.len().saturating_add(data.len()) > self.max_message.saturating_mul(2) {
                self.failed = Some(FramingError::TooLarge);
                self.buffer.clear();
                return;
            }
        }
        self.buffer.extend_from_slice(data);
    }

    fn skip_keepalives(&mut self) {
        let mut skip = 0;
        for byte in self.buffer.iter() {
            match byte {
                b'\r' => {}
                b'\n' => {
                    // RFC 5626 §3.5.1: CRLF CRLF is a ping, answered by CRLF.
                    self.keepalive_lfs += 1;
                    if self.keepalive_lfs == 2 {
                        self.pings = self.pings.saturating_add(1);
                        self.keepalive_lfs = 0;
                    }
                }
                _ => {
                    self.keepalive_lfs = 0;
                    break;
                }
            }
            skip += 1;
        }
        self.buffer.advance(skip);
    }

    /// Double-CRLF keep-alive pings (RFC 5626 §3.5.1) seen since the last
    /// call; the transport answers each with a single CRLF pong.
    pub fn take_pings(&mut self) -> usize {
        std::mem::take(&mut self.pings)
    }

    /// The next whole message, if one is buffered. CRLF keep-alives
    /// (RFC 5626 §4.4.1) between messages are skipped.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FramingError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        self.skip_keepalives();
        let result = self.cut();
        if let Err(error) = result {
            self.failed = Some(error);
            self.buffer.clear();
        }
        result
    }

    fn cut(&mut self) -> Result<Option<Bytes>, FramingError> {
        let Some(head_len) = find_head_end(&self.buffer) else {
            if self.buffer.len() > self.max_message {
                return Err(FramingError::TooLarge);
            }
            return Ok(None);
        };
        let head = self.buffer.get(..head_len).unwrap_or_default();
        let body_len = content_length(head)?;
        let total = head_len
            .checked_add(body_len)
            .ok_or(FramingError::TooLarge)?;
        if total > self.max_message {
            return Err(FramingError::TooLarge);
        }
        if self.buffer.len() < total {
            return Ok(None);
        }
        Ok(Some(self.buffer.split_to(total).freeze()))
    }
}

/// Length of the header section including the blank line, if complete.
fn find_head_end(buffer: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    for (i, b) in buffer.iter().enumerate() {
        if *b != b'\n' {
            continue;
        }
        let line = buffer.get(line_start..i).unwrap_or_default();
        if line_start > 0 && (line.is_empty() || line == b"\r") {
            return Some(i + 1);
        }
        line_start = i + 1;
    }
    None
}

/// The Content-Length of a header section: mandatory on streams, exactly one
/// value, digits only.
fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let text = std::str::from_utf8(head).map_err(|_| FramingError::BadContentLength)?;
    let mut found = None;
    for line in text.split('\n').skip(1) {
        // Content-Length is never folded by sane peers; a folded one fails
        // the digit check below, which closes the connection: acceptable.
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim_end_matches([' ', '\t']);
        let long = expand_compact(name).unwrap_or(name);
        if !long.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        if found.is_some() {
            return Err(FramingError::BadContentLength);
        }
        found = Some(parse_length(value).ok_or(FramingError::BadContentLength)?);
    }
    found.ok_or(FramingError::BadContentLength)
}

/// Parses a Content-Length value: `1*DIGIT` with surrounding whitespace.
pub(crate) fn parse_length(value: &str) -> Option<usize> {
    let value = value.trim_matches([' ', '\t', '\r']);
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\nCall-ID: x\r\n\r\nhello";

    #[test]
    fn cuts_a_message_split_across_pushes() {
        let mut framer = StreamFramer::new(1024);
        for chunk in MSG.chunks(7) {
            assert_eq!(framer.next_message(), Ok(None));
            framer.push(chunk);
        }
        assert_eq!(framer.next_message(), Ok(Some(Bytes::from_static(MSG))));
        assert_eq!(framer.next_message(), Ok(None));
        assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn cuts_two_messages_from_one_push_and_skips_keepalives() {
        let mut framer = StreamFramer::new(1024);
        let mut data = b"\r\n\r\n".to_vec();
        data.extend_from_slice(MSG);
        data.extend_from_slice(b"\r\n\r\n");
        data.extend_from_slice(MSG);
        framer.push(&data);
        assert_eq!(framer.next_message(), Ok(Some(Bytes::from_static(MSG))));
        assert_eq!(framer.next_message(), Ok(Some(Bytes::from_static(MSG))));
        assert_eq!(framer.next_message(), Ok(None));
        assert_eq!(framer.take_pings(), 2);
        assert_eq!(framer.take_pings(), 0);

        // A ping split across reads still counts once.
        framer.push(b"\r\n");
        assert_eq!(framer.next_message(), Ok(None));
        framer.push(b"\r\n");
        assert_eq!(framer.next_message(), Ok(None));
        assert_eq!(framer.take_pings(), 1);
    }

    #[test]
    fn refuses_bad_content_length() {
        for head in [
            "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -5\r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1x\r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: \r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\nContent-Length: 0\r\n\r\n",
        ] {
            let mut framer = StreamFramer::new(1024);
            framer.push(head.as_bytes());
            assert_eq!(
                framer.next_message(),
                Err(FramingError::BadContentLength),
                "{head}"
            );
            // The failure is sticky: the stream is unusable.
            framer.push(MSG);
            assert_eq!(framer.next_message(), Err(FramingError::BadContentLength));
        }
    }

    #[test]
    fn refuses_messages_over_the_limit() {
        let mut framer = StreamFramer::new(64);
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 100\r\n\r\n");
        assert_eq!(framer.next_message(), Err(FramingError::TooLarge));

        // A header section that never ends is refused once over the limit.
        let mut framer = StreamFramer::new(64);
        for _ in 0..100 {
            framer.push(b"X-Filler: aaaaaaaaaa\r\n");
        }
        assert_eq!(framer.next_message(), Err(FramingError::TooLarge));
        assert_eq!(framer.buffered(), 0);

        // Huge lengths do not overflow.
        let mut framer = StreamFramer::new(64);
        framer.push(b"A\r\nl: 99999999999999999999999999\r\n\r\n");
        assert!(framer.next_message().is_err());
    }
}
