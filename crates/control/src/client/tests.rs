use super::*;
use crate::reply::ErrorCode;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::AsyncBufReadExt;
use tokio::net::UnixListener;
use tokio::task::JoinHandle;

/// A directory of its own under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("switchd-control-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fake daemon: for each request line it reads, it sends the next group of
/// lines (with `ID` replaced by the request's id), then closes. It returns
/// the request lines it read.
fn fake_daemon(dir: &TempDir, script: Vec<Vec<String>>) -> (PathBuf, JoinHandle<Vec<String>>) {
    let path = dir.0.join("control.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = tokio::io::BufReader::new(read).lines();
        let mut seen = Vec::new();
        for group in script {
            let Some(line) = lines.next_line().await.unwrap() else {
                break;
            };
            let id = parse_object(line.as_bytes()).unwrap()["id"].to_string();
            seen.push(line);
            for out in group {
                write
                    .write_all(out.replace("ID", &id).as_bytes())
                    .await
                    .unwrap();
                write.write_all(b"\n").await.unwrap();
            }
        }
        seen
    });
    (path, task)
}

fn lines(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

const RINGING: &str = r#"{"event":"leg.ringing","seq":4,"time":10,"leg":"a"}"#;
const ANSWERED: &str = r#"{"event":"leg.answered","seq":5,"time":20,"leg":"a"}"#;

#[tokio::test]
async fn call_matches_the_reply_and_queues_events_meanwhile() {
    let dir = TempDir::new();
    let script = vec![
        lines(&[RINGING, r#"{"id":ID,"ok":true,"version":"9.9"}"#]),
        lines(&[ANSWERED, r#"{"id":ID,"ok":true}"#]),
    ];
    let (path, daemon) = fake_daemon(&dir, script);
    let mut client = Client::connect(&path).await.unwrap();

    let body = client.call(Command::Ping).await.unwrap();
    assert_eq!(
        body,
        ReplyBody::Pong {
            version: "9.9".into()
        }
    );
    let body = client
        .call(Command::TrunkRemove { name: "t".into() })
        .await
        .unwrap();
    assert_eq!(body, ReplyBody::Empty {});

    let first = client.next_event().await.unwrap().unwrap();
    assert_eq!(
        (first.seq, first.kind),
        (4, EventKind::Ringing { leg: "a".into() })
    );
    let second = client.next_event().await.unwrap().unwrap();
    assert_eq!(second.seq, 5);
    assert_eq!(
        client.next_event().await.unwrap(),
        None,
        "the daemon closed"
    );

    let seen = daemon.await.unwrap();
    assert_eq!(seen[0], r#"{"id":1,"cmd":"ping"}"#);
    assert_eq!(seen[1], r#"{"id":2,"cmd":"trunk_remove","name":"t"}"#);
}

#[tokio::test]
async fn error_replies_become_remote_errors_and_keep_the_raw_line() {
    let dir = TempDir::new();
    let error = r#"{"id":ID,"ok":false,"error":{"code":"unknown_leg","message":"no leg x"}}"#;
    let (path, _daemon) = fake_daemon(&dir, vec![lines(&[error]), lines(&[error])]);
    let mut client = Client::connect(&path).await.unwrap();

    match client.call(Command::Answer { leg: "x".into() }).await {
        Err(Error::Remote(e)) => assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::UnknownLeg, "no leg x")
        ),
        other => panic!("expected a remote error, got {other:?}"),
    }
    let received = client
        .request(Command::Answer { leg: "x".into() })
        .await
        .unwrap();
    assert_eq!(received.line, error.replace("ID", "2"));
    assert!(received.reply.result.is_err());
}

#[tokio::test]
async fn subscribe_returns_the_seq_and_events_follow() {
    let dir = TempDir::new();
    let script = vec![lines(&[r#"{"id":ID,"ok":true,"seq":3}"#, RINGING])];
    let (path, daemon) = fake_daemon(&dir, script);
    let mut client = Client::connect(&path).await.unwrap();

    assert_eq!(client.subscribe(Some(2)).await.unwrap(), 3);
    assert_eq!(
        client.next_event_line().await.unwrap().as_deref(),
        Some(RINGING)
    );
    assert_eq!(
        daemon.await.unwrap()[0],
        r#"{"id":1,"cmd":"subscribe","since":2}"#
    );
}

#[tokio::test]
async fn an_over_long_line_is_skipped_with_an_error() {
    let dir = TempDir::new();
    let long = format!(
        r#"{{"event":"leg.ringing","seq":1,"time":0,"leg":"{}"}}"#,
        "a".repeat(10_000)
    );
    let script = vec![lines(&[&long, r#"{"id":ID,"ok":true,"version":"1"}"#])];
    let (path, _daemon) = fake_daemon(&dir, script);
    let mut client = Client::connect(&path)
        .await
        .unwrap()
        .with_max_line_len(1000);

    assert!(matches!(
        client.call(Command::Ping).await,
        Err(Error::LineTooLong { limit: 1000 })
    ));
    // The reply after the long line is still there; it belongs to the failed
    // call (id 1), so it is skipped as a late reply and the stream ends.
    assert_eq!(client.next_event_line().await.unwrap(), None);
}

#[tokio::test]
async fn a_closed_connection_fails_the_call() {
    let dir = TempDir::new();
    let (path, _daemon) = fake_daemon(&dir, vec![vec![]]);
    let mut client = Client::connect(&path).await.unwrap();
    assert!(matches!(
        client.call(Command::Legs).await,
        Err(Error::Closed)
    ));
}

#[tokio::test]
async fn a_body_unfit_for_the_command_is_a_protocol_error() {
    let dir = TempDir::new();
    let (path, _daemon) = fake_daemon(&dir, vec![lines(&[r#"{"id":ID,"ok":true,"version":"1"}"#])]);
    let mut client = Client::connect(&path).await.unwrap();
    assert!(matches!(
        client.call(Command::Legs).await,
        Err(Error::InvalidField { field: "body", .. })
    ));
}

#[tokio::test]
async fn a_reply_for_another_id_is_refused() {
    let dir = TempDir::new();
    let (path, _daemon) = fake_daemon(&dir, vec![lines(&[r#"{"id":"zz","ok":true}"#])]);
    let mut client = Client::connect(&path).await.unwrap();
    match client.call(Command::Unsubscribe).await {
        Err(Error::UnexpectedReply { id }) => assert_eq!(id, "\"zz\""),
        other => panic!("expected UnexpectedReply, got {other:?}"),
    }
}

#[tokio::test]
async fn a_full_event_queue_drops_the_oldest_and_reports_a_gap() {
    let dir = TempDir::new();
    let mut group: Vec<String> = (1..=5)
        .map(|seq| format!(r#"{{"event":"leg.trying","seq":{seq},"time":0,"leg":"a"}}"#))
        .collect();
    group.push(r#"{"id":ID,"ok":true,"stats":{}}"#.to_owned());
    let (path, _daemon) = fake_daemon(&dir, vec![group]);
    // Each event line is 51 bytes: room for two.
    let mut client = Client::connect(&path)
        .await
        .unwrap()
        .with_max_queued_event_bytes(110);

    client.call(Command::Stats).await.unwrap();
    let gap = client.next_event().await.unwrap().unwrap();
    assert_eq!((gap.seq, gap.kind), (0, EventKind::Gap { from: 1, to: 3 }));
    let seqs = [
        client.next_event().await.unwrap(),
        client.next_event().await.unwrap(),
    ];
    assert_eq!(seqs.map(|e| e.map(|e| e.seq)), [Some(4), Some(5)]);
}

#[tokio::test]
async fn connecting_to_a_missing_socket_is_an_io_error() {
    let dir = TempDir::new();
    let result = Client::connect(dir.0.join("absent.sock")).await;
    assert!(matches!(result, Err(Error::Io(_))));
}
