//! An async client for the control socket (feature `client`).
//!
//! One request is in flight at a time: [`Client::call`] writes a request with
//! a fresh numeric id and reads until the reply with that id, queueing the
//! events that arrive meanwhile for [`Client::next_event`]. Reading is bounded
//! twice over: no line may exceed the line limit (the rest of an over-long
//! line is skipped), and queued events may not exceed a byte budget (the
//! oldest are dropped and reported as one `gap`, as the daemon's ring does).

use crate::codec::{
    MAX_LINE_LEN, check_fits, decode_event, encode_event, encode_request, event_from_object,
    is_event_object, parse_object, reply_from_object,
};
use crate::command::{Command, Request};
use crate::error::Error;
use crate::event::{Event, EventKind};
use crate::reply::{Reply, ReplyBody};
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

/// The client's error: the crate's [`Error`] (io, protocol, or
/// [`Error::Remote`] carrying the daemon's [`ReplyError`](crate::ReplyError)).
pub type ClientError = Error;

/// Default budget for events queued while waiting for replies, in bytes.
pub const MAX_QUEUED_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// A reply as decoded, with the line it came from (for `--json` output).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedReply {
    /// The decoded reply; a daemon error is in `reply.result`.
    pub reply: Reply,
    /// The line exactly as the daemon sent it, without the newline.
    pub line: String,
}

/// A connection to the daemon's control socket.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// The line being read; kept here so reads are cancel-safe.
    partial: Vec<u8>,
    /// Skipping the rest of a line that went over the limit.
    discarding: bool,
    max_line_len: usize,
    next_id: u64,
    queued_events: VecDeque<String>,
    queued_bytes: usize,
    max_queued_bytes: usize,
    /// First and last seq of events dropped from a full queue, not yet reported.
    dropped: Option<(u64, u64)>,
}

impl Client {
    /// Connects to the socket at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when the socket cannot be reached.
    pub async fn connect(path: impl AsRef<Path>) -> Result<Self, Error> {
        Ok(Self::from_stream(UnixStream::connect(path).await?))
    }

    /// Wraps a connected stream, with the default limits.
    pub fn from_stream(stream: UnixStream) -> Self {
        let (read, writer) = stream.into_split();
        Self {
            reader: BufReader::new(read),
            writer,
            partial: Vec::new(),
            discarding: false,
            max_line_len: MAX_LINE_LEN,
            next_id: 1,
            queued_events: VecDeque::new(),
            queued_bytes: 0,
            max_queued_bytes: MAX_QUEUED_EVENT_BYTES,
            dropped: None,
        }
    }

    /// Sets the longest line accepted from the daemon (default [`MAX_LINE_LEN`]).
    pub fn with_max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes;
        self
    }

    /// Sets the budget for queued events (default [`MAX_QUEUED_EVENT_BYTES`]).
    pub fn with_max_queued_event_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes;
        self
    }

    /// Sends `command` and returns its reply, success or daemon error alike.
    ///
    /// Not cancel-safe: a call dropped while writing may leave half a request
    /// on the socket, so drop the client too. (A call dropped while waiting is
    /// harmless: its late reply is recognised and skipped.)
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Closed`], [`Error::LineTooLong`], the decoding
    /// errors of [`codec`](crate::codec), [`Error::UnexpectedReply`], and
    /// [`Error::InvalidField`] (`body`) when a success does not fit `command`.
    pub async fn request(&mut self, command: Command) -> Result<ReceivedReply, Error> {
        let id = self.next_id;
        self.next_id += 1;
        let request = Request {
            id: Value::from(id),
            command,
        };
        let mut text = encode_request(&request);
        text.push('\n');
        self.writer.write_all(text.as_bytes()).await?;
        loop {
            let line = self.read_line().await?.ok_or(Error::Closed)?;
            let map = parse_object(&line)?;
            if is_event_object(&map) {
                self.queue_event(line)?;
                continue;
            }
            let reply = reply_from_object(map)?;
            let ours = match &reply.id {
                Value::Number(n) => match n.as_u64() {
                    Some(n) if n == id => true,
                    Some(n) if n < id => continue, // late reply to an abandoned call
                    _ => false,
                },
                // The daemon could not read our id (`bad_json`): it can only be ours.
                Value::Null => reply.result.is_err(),
                _ => false,
            };
            if !ours {
                return Err(Error::UnexpectedReply {
                    id: reply.id.to_string(),
                });
            }
            check_fits(&reply, &request.command)?;
            return Ok(ReceivedReply {
                reply,
                line: into_string(line)?,
            });
        }
    }

    /// Sends `command` and returns the body of a successful reply.
    ///
    /// # Errors
    /// As [`Client::request`], and [`Error::Remote`] for an error reply.
    pub async fn call(&mut self, command: Command) -> Result<ReplyBody, Error> {
        self.request(command)
            .await?
            .reply
            .result
            .map_err(Error::Remote)
    }

    /// Subscribes to events from now, or from `since` + 1 (what the daemon
    /// still keeps, after a `gap` event if some is lost). Returns the last
    /// seq assigned when the subscription started.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn subscribe(&mut self, since: Option<u64>) -> Result<u64, Error> {
        match self.call(Command::Subscribe { since }).await? {
            ReplyBody::Subscribed { seq } => Ok(seq),
            // `call` already checked that the body fits `subscribe`.
            _ => Err(Error::InvalidField {
                field: "body",
                detail: "not a subscription".into(),
            }),
        }
    }

    /// The next event, queued or read; `None` when the daemon closed the connection.
    ///
    /// Cancel-safe: a partly read line stays in the client.
    ///
    /// # Errors
    /// Reading errors as in [`Client::request`]; a line that is not a known
    /// event gives [`Error::InvalidField`] and the stream goes on after it.
    pub async fn next_event(&mut self) -> Result<Option<Event>, Error> {
        match self.next_event_line().await? {
            Some(line) => decode_event(line.as_bytes()).map(Some),
            None => Ok(None),
        }
    }

    /// The next event line as the daemon sent it (a `gap` made by this client
    /// when its queue overflowed has seq 0), or `None` at the end.
    ///
    /// # Errors
    /// As [`Client::next_event`], except that unknown events are returned as is.
    pub async fn next_event_line(&mut self) -> Result<Option<String>, Error> {
        loop {
            if let Some((from, to)) = self.dropped.take() {
                let gap = Event {
                    seq: 0,
                    time: now_ms(),
                    kind: EventKind::Gap { from, to },
                };
                return Ok(Some(encode_event(&gap)));
            }
            if let Some(line) = self.queued_events.pop_front() {
                self.queued_bytes = self.queued_bytes.saturating_sub(line.len());
                return Ok(Some(line));
            }
            let Some(line) = self.read_line().await? else {
                return Ok(None);
            };
            let map = parse_object(&line)?;
            if is_event_object(&map) {
                return into_string(line).map(Some);
            }
            let reply = reply_from_object(map)?;
            let late = reply.id.as_u64().is_some_and(|n| n < self.next_id);
            if !late {
                return Err(Error::UnexpectedReply {
                    id: reply.id.to_string(),
                });
            }
        }
    }

    /// Reads one non-empty line without its newline; `None` at end of stream
    /// (a final line without newline is dropped: the peer died mid-write).
    async fn read_line(&mut self) -> Result<Option<Vec<u8>>, Error> {
        loop {
            let chunk = self.reader.fill_buf().await?;
            if chunk.is_empty() {
                self.partial.clear();
                return Ok(None);
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let taken = newline.unwrap_or(chunk.len());
            let piece = chunk.get(..taken).unwrap_or_default();
            let over = self.partial.len().saturating_add(piece.len()) > self.max_line_len;
            let was_discarding = self.discarding;
            if !was_discarding && !over {
                self.partial.extend_from_slice(piece);
            }
            let consumed = newline.map_or(taken, |n| n + 1);
            self.reader.consume(consumed);
            if !was_discarding && over {
                self.partial.clear();
                self.discarding = newline.is_none();
                return Err(Error::LineTooLong {
                    limit: self.max_line_len,
                });
            }
            if newline.is_some() {
                self.discarding = false;
                let line = std::mem::take(&mut self.partial);
                if !was_discarding && !line.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Some(line));
                }
            }
        }
    }

    fn queue_event(&mut self, line: Vec<u8>) -> Result<(), Error> {
        let line = into_string(line)?;
        while self.queued_bytes.saturating_add(line.len()) > self.max_queued_bytes {
            let Some(oldest) = self.queued_events.pop_front() else {
                break;
            };
            self.queued_bytes = self.queued_bytes.saturating_sub(oldest.len());
            self.note_dropped(&oldest);
        }
        if line.len() > self.max_queued_bytes {
            self.note_dropped(&line);
        } else {
            self.queued_bytes += line.len();
            self.queued_events.push_back(line);
        }
        Ok(())
    }

    fn note_dropped(&mut self, line: &str) {
        let seq = parse_object(line.as_bytes())
            .ok()
            .and_then(|map| event_from_object(map).ok())
            .map_or(0, |event| event.seq);
        self.dropped = Some(match self.dropped {
            Some((from, to)) => (from.min(seq), to.max(seq)),
            None => (seq, seq),
        });
    }
}

fn into_string(line: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(line).map_err(|e| Error::InvalidField {
        field: "line",
        detail: e.to_string(),
    })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
