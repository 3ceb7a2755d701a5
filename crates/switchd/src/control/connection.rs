//! One control connection: a reader that decodes request lines and waits for
//! each to be answered before reading the next, and a writer draining the
//! connection's [`Outbox`].

use super::{ControlSettings, Outbox};
use crate::core::Input;
use crate::metrics as m;
use std::sync::Arc;
use switchd_control::{ErrorCode, Reply, ReplyError, codec};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};

/// One line read from the client.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A complete line without its newline.
    Complete(Vec<u8>),
    /// A line over the limit, skipped up to its newline.
    TooLong,
    /// The client closed its side.
    End,
}

/// Reads up to the next newline, keeping at most `max` bytes of it.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, max: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            // A last line without newline still counts as a line.
            return Ok(match (too_long, line.is_empty()) {
                (true, _) => Line::TooLong,
                (false, true) => Line::End,
                (false, false) => Line::Complete(line),
            });
        }
        let (part, found_newline) = match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => (buffer.get(..end).unwrap_or_default(), true),
            None => (buffer, false),
        };
        if !too_long {
            if line.len().saturating_add(part.len()) > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(part);
            }
        }
        let used = part.len() + usize::from(found_newline);
        reader.consume(used);
        if found_newline {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete(line)
            });
        }
    }
}

fn error_reply(id: serde_json::Value, error: ReplyError) -> String {
    codec::encode_reply(&Reply {
        id,
        result: Err(error),
    })
}

/// Serves one connection until the client closes it, or its outbox is
/// closed (the core stopped) and flushed. Reader and writer run in this one
/// task, so aborting it closes the socket.
pub(super) async fn serve(
    stream: UnixStream,
    conn: u64,
    settings: &ControlSettings,
    inputs: &mpsc::Sender<Input>,
) {
    let (read_half, write_half) = stream.into_split();
    let outbox = Arc::new(Outbox::new(settings.subscriber_queue));
    let reading = async {
        read_requests(BufReader::new(read_half), conn, settings, inputs, &outbox).await;
        let _ = inputs.send(Input::ControlClosed { conn }).await;
        outbox.close();
    };
    let writing = write_lines(write_half, &outbox);
    tokio::pin!(reading, writing);
    tokio::select! {
        () = &mut reading => writing.await,
        () = &mut writing => {}
    }
}

/// Writes what the outbox holds until it is closed and empty, or the client is gone.
async fn write_lines(mut write_half: OwnedWriteHalf, outbox: &Outbox) {
    while let Some(batch) = outbox.next_batch().await {
        let mut bytes = Vec::with_capacity(batch.iter().map(|line| line.len() + 1).sum());
        for line in batch {
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        if write_half.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

/// Reads and dispatches requests until the client closes its side.
async fn read_requests(
    mut reader: BufReader<OwnedReadHalf>,
    conn: u64,
    settings: &ControlSettings,
    inputs: &mpsc::Sender<Input>,
    outbox: &Arc<Outbox>,
) {
    loop {
        let line = match read_line(&mut reader, settings.max_line).await {
            Ok(Line::Complete(line)) => line,
            Ok(Line::TooLong) => {
                let message = format!("request line over {} bytes", settings.max_line);
                m::control_command("unknown", ErrorCode::TooLarge.as_str());
                let error = ReplyError::new(ErrorCode::TooLarge, message);
                outbox.push_reply(error_reply(serde_json::Value::Null, error));
                continue;
            }
            Ok(Line::End) | Err(_) => return,
        };
        // Blank lines (a stray newline, a keep-alive) are not requests.
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let request = match codec::decode_request(&line) {
            Ok(request) => request,
            Err((id, error)) => {
                m::control_command("unknown", error.code.as_str());
                outbox.push_reply(error_reply(id, error));
                continue;
            }
        };
        let (done, answered) = oneshot::channel();
        let input = Input::Control {
            conn,
            request,
            outbox: outbox.clone(),
            done,
        };
        if inputs.send(input).await.is_err() {
            return;
        }
        // One request at a time: its reply is queued before the next is read.
        let _ = answered.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut reader = BufReader::with_capacity(4, input);
        let mut out = Vec::new();
        loop {
            let line = read_line(&mut reader, max).await.unwrap();
            let end = line == Line::End;
            out.push(line);
            if end {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn splits_lines_and_skips_long_ones() {
        let got = lines(b"ab\n0123456789\ncd\nlast", 5).await;
        assert_eq!(
            got,
            vec![
                Line::Complete(b"ab".to_vec()),
                Line::TooLong,
                Line::Complete(b"cd".to_vec()),
                Line::Complete(b"last".to_vec()),
                Line::End,
            ]
        );
    }

    #[tokio::test]
    async fn line_of_exactly_the_limit_is_kept() {
        assert_eq!(
            lines(b"12345\n", 5).await,
            vec![Line::Complete(b"12345".to_vec()), Line::End]
        );
    }
}
