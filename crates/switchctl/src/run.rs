//! Connecting, sending the command, printing the outcome, and the exit code.

use crate::cli::{Cli, Cmd};
use crate::format;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use switchd_control::codec::decode_event;
use switchd_control::validate::validate_command;
use switchd_control::{Client, ClientError, ReplyError};

/// The daemon answered with an error (or the arguments were refused locally).
const EXIT_ERROR_REPLY: u8 = 1;
/// The daemon could not be reached, or the conversation broke.
const EXIT_CONNECTION: u8 = 2;

/// Runs one invocation to its exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let command = cli.command.to_command();
    // The daemon checks too; checking here spares a connection and gives the
    // same message (a NaN duration, say, would otherwise travel as null).
    if let Err(e) = validate_command(&command) {
        return reply_error(&e);
    }
    let mut client = match Client::connect(&cli.socket).await {
        Ok(client) => client,
        Err(e) => return connection_error(&cli.socket, &e),
    };
    let follow = matches!(cli.command, Cmd::Events { .. });
    let received = match client.request(command).await {
        Ok(received) => received,
        Err(e) => return connection_error(&cli.socket, &e),
    };
    if cli.json && !follow {
        print(&format!("{}\n", received.line));
    }
    let body = match received.reply.result {
        Ok(body) => body,
        Err(e) => return reply_error(&e),
    };
    if !follow {
        if !cli.json {
            print(&format::body(&body));
        }
        return ExitCode::SUCCESS;
    }
    follow_events(&mut client, &cli.socket, cli.json).await
}

/// Prints events until the daemon goes away or stdout closes.
async fn follow_events(client: &mut Client, socket: &Path, json: bool) -> ExitCode {
    loop {
        let line = match client.next_event_line().await {
            Ok(Some(line)) => line,
            Ok(None) => return connection_error(socket, &ClientError::Closed),
            Err(e) => return connection_error(socket, &e),
        };
        let text = match decode_event(line.as_bytes()) {
            Ok(event) if !json => format::event(&event),
            // Raw when asked, and for events newer than this switchctl.
            _ => line,
        };
        if !print(&format!("{text}\n")) {
            return ExitCode::SUCCESS;
        }
    }
}

/// Writes to stdout; false once the reader has gone (`| head`), which is
/// not an error worth a panic.
fn print(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}

fn reply_error(e: &ReplyError) -> ExitCode {
    eprintln!("error: {}: {}", e.code, e.message);
    ExitCode::from(EXIT_ERROR_REPLY)
}

fn connection_error(socket: &Path, e: &ClientError) -> ExitCode {
    match e {
        ClientError::Io(io) => {
            eprintln!(
                "error: cannot talk to switchd at {}: {io}",
                socket.display()
            );
            eprintln!(
                "hint: is switchd running? Point at its control socket with --socket PATH or SWITCHD_SOCKET."
            );
        }
        other => eprintln!("error: {} (socket {})", other, socket.display()),
    }
    ExitCode::from(EXIT_CONNECTION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::PathBuf;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::UnixListener;

    /// A socket path in a fresh directory, and a fake daemon answering one
    /// request with `reply` (`ID` replaced by the request's id).
    fn fake_daemon(name: &str, reply: &'static str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("switchctl-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("control.sock");
        let listener = UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let line = BufReader::new(read)
                .lines()
                .next_line()
                .await
                .unwrap()
                .unwrap();
            let request: serde_json::Value = serde_json::from_str(&line).unwrap();
            let out = reply.replace("ID", &request["id"].to_string());
            write
                .write_all(format!("{out}\n").as_bytes())
                .await
                .unwrap();
        });
        path
    }

    fn cli(socket: &Path, args: &[&str]) -> Cli {
        let socket = socket.to_str().unwrap();
        let argv = ["switchctl", "--socket", socket]
            .into_iter()
            .chain(args.iter().copied());
        Cli::try_parse_from(argv).unwrap()
    }

    #[tokio::test]
    async fn exit_codes_follow_the_outcome() {
        let ok = fake_daemon("ok", r#"{"id":ID,"ok":true,"version":"1"}"#);
        assert_eq!(run(cli(&ok, &["ping"])).await, ExitCode::SUCCESS);

        let refused = fake_daemon(
            "err",
            r#"{"id":ID,"ok":false,"error":{"code":"unknown_leg","message":"x"}}"#,
        );
        assert_eq!(
            run(cli(&refused, &["answer", "a"])).await,
            ExitCode::from(1)
        );

        let absent = std::env::temp_dir().join("switchctl-absent-dir/control.sock");
        assert_eq!(run(cli(&absent, &["ping"])).await, ExitCode::from(2));

        // Refused before connecting: no daemon needed.
        let nan = ["originate", "100", "--ring-timeout", "NaN"];
        assert_eq!(run(cli(&absent, &nan)).await, ExitCode::from(1));

        for dir in [&ok, &refused] {
            let _ = std::fs::remove_dir_all(dir.parent().unwrap());
        }
    }
}
