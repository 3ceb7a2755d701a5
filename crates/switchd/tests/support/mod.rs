//! Helpers shared by the in-process daemon tests (`daemon.rs`, `media.rs`):
//! a started daemon that cleans up after itself, a control socket client,
//! the SIP requests of a test caller, and a metrics scrape. Loopback only.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]
// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchd::{Config, Running};
use switchd_sip::Transport;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, UdpSocket, UnixStream};
use tokio::sync::oneshot;

/// How long any single wait on the daemon may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A daemon running in this process, and the scratch directory it owns
/// (removed on drop).
pub struct Daemon {
    /// The daemon; `None` once [`Daemon::stop`] has taken it to serve.
    pub running: Option<Running>,
    /// Its control socket.
    pub control: PathBuf,
    /// The scratch directory removed on drop.
    pub dir: PathBuf,
}

impl Daemon {
    /// Starts a daemon from the config `text`, owning `dir`.
    pub async fn launch(text: &str, dir: PathBuf) -> Self {
        let config = Config::parse(text, Path::new("test.toml")).unwrap();
        let running = Running::start(config).await.unwrap();
        let control = running.addresses().control.clone();
        Self {
            running: Some(running),
            control,
            dir,
        }
    }

    /// The running daemon (panics after [`Daemon::stop`]).
    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    /// Its first UDP SIP address.
    pub fn sip(&self) -> SocketAddr {
        self.running().addresses().sip(Transport::Udp).unwrap()
    }

    /// A new connection to its control socket.
    pub async fn control(&self) -> Client {
        Client::connect(&self.control).await
    }

    /// Shuts the daemon down and checks it cleans up.
    pub async fn stop(mut self) {
        let running = self.running.take().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(running.serve(async {
            let _ = stopped.await;
        }));
        stop.send(()).unwrap();
        tokio::time::timeout(WAIT, serving)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(!self.control.exists(), "control socket left behind");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One connection to the control socket, one JSON line at a time.
pub struct Client {
    /// The daemon's side, line by line (tests read it directly to see the
    /// end of the stream).
    pub lines: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Client {
    /// Connects to the control socket at `path`.
    pub async fn connect(path: &Path) -> Self {
        let stream = UnixStream::connect(path).await.unwrap();
        let (read, write) = stream.into_split();
        Self {
            lines: BufReader::new(read),
            write,
        }
    }

    /// Writes `bytes` as they are (no newline added).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.unwrap();
    }

    /// The next line, parsed as JSON; fails on a closed connection.
    pub async fn read(&mut self) -> Value {
        let mut line = String::new();
        let read = tokio::time::timeout(WAIT, self.lines.read_line(&mut line))
            .await
            .unwrap()
            .unwrap();
        assert!(read > 0, "control connection closed");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Sends `request` as one line (a JSON value, or any text) and returns
    /// the next line read, which is its reply unless events are subscribed.
    pub async fn request(&mut self, request: impl Display) -> Value {
        self.send_raw(format!("{request}\n").as_bytes()).await;
        self.read().await
    }

    /// The next event named `name`, skipping others.
    pub async fn event(&mut self, name: &str) -> Value {
        loop {
            let event = self.read().await;
            if event["event"] == name {
                return event;
            }
        }
    }
}

/// What identifies a test caller's dialog with the daemon: the requests'
/// start line and headers are built from it.
pub struct Dialog<'a> {
    /// The user called (`sip:{user}@{daemon}`).
    pub user: &'a str,
    /// The daemon's SIP address.
    pub daemon: SocketAddr,
    /// The caller's SIP socket.
    pub local: SocketAddr,
    /// The Call-ID of every request.
    pub call_id: &'a str,
}

impl Dialog<'_> {
    /// The start line and headers of a request, without body headers; each
    /// method and CSeq gets a branch of its own.
    pub fn head(&self, method: &str, cseq: u32, to_tag: &str) -> String {
        let Self {
            user,
            daemon,
            local,
            call_id,
        } = self;
        format!(
            "{method} sip:{user}@{daemon} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK{method}{cseq};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:caller@127.0.0.1>;tag=caller\r\n\
             To: <sip:{user}@127.0.0.1>{to_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:caller@{local}>\r\n"
        )
    }

    /// An INVITE (CSeq 1) carrying `sdp`.
    pub fn invite(&self, sdp: &str) -> String {
        format!(
            "{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            self.head("INVITE", 1, ""),
            sdp.len()
        )
    }

    /// A request without a body, inside the dialog the 2xx's `to_tag` made.
    pub fn bodiless(&self, method: &str, cseq: u32, to_tag: &str) -> String {
        format!(
            "{}Content-Length: 0\r\n\r\n",
            self.head(method, cseq, to_tag)
        )
    }
}

/// An SDP offer of PCMU at 127.0.0.1:`rtp_port`.
pub fn pcmu_offer(rtp_port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
    )
}

/// The first datagram on `socket` whose status line starts with `status`,
/// skipping others (provisional responses).
pub async fn receive_until(socket: &UdpSocket, status: &str) -> String {
    let mut buffer = vec![0u8; 65_535];
    loop {
        let (len, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(buffer.get(..len).unwrap_or_default()).into_owned();
        if text.starts_with(status) {
            return text;
        }
    }
}

/// The `;tag=…` of the To header of `response`, as a request in its
/// dialog appends it.
pub fn to_tag(response: &str) -> String {
    response
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("to:"))
        .and_then(|line| line.split(";tag=").nth(1))
        .map(|tag| format!(";tag={}", tag.trim()))
        .unwrap()
}

/// The whole HTTP response of the metrics endpoint at `addr`.
pub async fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    response
}
