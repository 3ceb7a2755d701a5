//! The daemon started in-process on ephemeral loopback ports: control socket,
//! metrics endpoint, SIP over UDP and TCP, shutdown. Loopback traffic only.
// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use switchd::{Config, Running};
use switchd_sip::Transport;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, UdpSocket, UnixStream};
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(10);

/// A fresh directory for one daemon's control socket.
fn socket_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("switchd-test-{}-{n}", std::process::id()))
}

struct Daemon {
    running: Option<Running>,
    control: PathBuf,
    dir: PathBuf,
}

impl Daemon {
    async fn start(extra: &str) -> Self {
        let dir = socket_dir();
        let control = dir.join("run").join("control.sock");
        let text = format!(
            r#"
            [sip]
            listen = ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]
            [control]
            socket = "{}"
            max_line = 4096
            [metrics]
            listen = "127.0.0.1:0"
            [calls]
            drain_grace = 1
            {extra}
            "#,
            control.display()
        );
        let config = Config::parse(&text, Path::new("test.toml")).unwrap();
        let running = Running::start(config).await.unwrap();
        assert_eq!(running.addresses().control, control);
        Self {
            running: Some(running),
            control,
            dir,
        }
    }

    fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    async fn control(&self) -> Client {
        let stream = UnixStream::connect(&self.control).await.unwrap();
        let (read, write) = stream.into_split();
        Client {
            lines: BufReader::new(read),
            write,
        }
    }

    /// Shuts the daemon down and checks it cleans up.
    async fn stop(mut self) {
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

struct Client {
    lines: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Client {
    async fn send_raw(&mut self, line: &[u8]) {
        self.write.write_all(line).await.unwrap();
    }

    async fn read(&mut self) -> serde_json::Value {
        let mut line = String::new();
        let read = tokio::time::timeout(WAIT, self.lines.read_line(&mut line))
            .await
            .unwrap()
            .unwrap();
        assert!(read > 0, "control connection closed");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    async fn request(&mut self, line: &str) -> serde_json::Value {
        self.send_raw(format!("{line}\n").as_bytes()).await;
        self.read().await
    }
}

#[tokio::test]
async fn control_socket_answers_ping_and_survives_bad_requests() {
    let daemon = Daemon::start("").await;
    let mut client = daemon.control().await;

    let pong = client.request(r#"{"id":1,"cmd":"ping"}"#).await;
    assert_eq!(pong["id"], 1);
    assert_eq!(pong["ok"], true, "{pong}");
    assert!(pong["version"].is_string(), "{pong}");

    let bad = client.request("{not json").await;
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["error"]["code"], "bad_json");

    let unknown = client.request(r#"{"id":"u","cmd":"teleport"}"#).await;
    assert_eq!(unknown["id"], "u");
    assert_eq!(unknown["error"]["code"], "unknown_command");

    let long = format!(r#"{{"id":2,"cmd":"ping","pad":"{}"}}"#, "x".repeat(5000));
    let too_large = client.request(&long).await;
    assert_eq!(too_large["error"]["code"], "too_large");

    // Still usable, and answers in order.
    client
        .send_raw(b"{\"id\":3,\"cmd\":\"ping\"}\n{\"id\":4,\"cmd\":\"ping\"}\n")
        .await;
    assert_eq!(client.read().await["id"], 3);
    assert_eq!(client.read().await["id"], 4);

    let subscribed = client.request(r#"{"id":5,"cmd":"subscribe"}"#).await;
    assert_eq!(subscribed["ok"], true, "{subscribed}");
    assert!(subscribed["seq"].is_u64(), "{subscribed}");
    daemon.stop().await;

    // Stopping closes open control connections.
    let mut rest = String::new();
    let read = tokio::time::timeout(WAIT, client.lines.read_line(&mut rest))
        .await
        .unwrap();
    assert_eq!(read.unwrap(), 0, "expected end of stream, got {rest}");
}

/// Sends `message` from `socket` to the daemon and returns the first
/// response whose status line starts with `status`.
async fn sip_until(
    socket: &UdpSocket,
    to: std::net::SocketAddr,
    message: &str,
    status: &str,
) -> String {
    socket.send_to(message.as_bytes(), to).await.unwrap();
    let mut buffer = vec![0u8; 65_535];
    loop {
        let (len, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&buffer[..len]).into_owned();
        if text.starts_with(status) {
            return text;
        }
    }
}

#[tokio::test]
async fn answered_call_is_reported_to_subscribers() {
    let daemon = Daemon::start("[[route]]\nuser = \"*\"\naction = \"answer\"").await;
    let mut events = daemon.control().await;
    let subscribed = events.request(r#"{"id":1,"cmd":"subscribe"}"#).await;
    assert_eq!(subscribed["seq"], 0);

    let sip = daemon.running().addresses().sip(Transport::Udp).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = socket.local_addr().unwrap();
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let dialog = |method: &str, cseq: u32, branch: &str, to_tag: &str| {
        format!(
            "{method} sip:100@{sip} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:caller@127.0.0.1>;tag=caller\r\n\
             To: <sip:100@127.0.0.1>{to_tag}\r\n\
             Call-ID: subscriber-test@127.0.0.1\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:caller@{local}>\r\n"
        )
    };
    let invite = format!(
        "{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        dialog("INVITE", 1, "inv", ""),
        sdp.len()
    );
    let ok = sip_until(&socket, sip, &invite, "SIP/2.0 200").await;
    let to_tag = ok
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("to:"))
        .and_then(|line| line.split(";tag=").nth(1))
        .map(|tag| format!(";tag={}", tag.trim()))
        .unwrap();
    let ack = format!(
        "{}Content-Length: 0\r\n\r\n",
        dialog("ACK", 1, "ack", &to_tag)
    );
    socket.send_to(ack.as_bytes(), sip).await.unwrap();
    let answered = events.read().await;
    assert_eq!(answered["event"], "leg.answered", "{answered}");
    assert_eq!(answered["seq"], 1);

    let bye = format!(
        "{}Content-Length: 0\r\n\r\n",
        dialog("BYE", 2, "bye", &to_tag)
    );
    sip_until(&socket, sip, &bye, "SIP/2.0 200").await;
    let hungup = events.read().await;
    assert_eq!(hungup["event"], "leg.hungup", "{hungup}");
    assert_eq!(hungup["leg"], answered["leg"]);
    assert_eq!(hungup["cause"], "normal_clearing");
    daemon.stop().await;
}

#[tokio::test]
async fn metrics_endpoint_serves_switchd_series() {
    let daemon = Daemon::start("").await;
    // One command so that a command counter exists.
    daemon
        .control()
        .await
        .request(r#"{"id":1,"cmd":"ping"}"#)
        .await;
    let addr = daemon.running().addresses().metrics.unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("switchd_build_info"), "{response}");
    assert!(
        response.contains("switchd_control_commands_total{command=\"ping\",result=\"ok\"}"),
        "{response}"
    );
    daemon.stop().await;
}

fn options(transport: &str, local: std::net::SocketAddr, extra_header: &str) -> String {
    format!(
        "OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch=z9hG4bK-test-{transport};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:tester@127.0.0.1>;tag=t1\r\n\
         To: <sip:probe@127.0.0.1>\r\n\
         Call-ID: daemon-test-{transport}@127.0.0.1\r\n\
         CSeq: 1 OPTIONS\r\n\
         {extra_header}\
         Content-Length: 0\r\n\r\n"
    )
}

async fn udp_exchange(daemon: &Daemon, message: &str) -> String {
    let sip = daemon.running().addresses().sip(Transport::Udp).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let message = message.replace("LOCAL", &socket.local_addr().unwrap().to_string());
    socket.send_to(message.as_bytes(), sip).await.unwrap();
    let mut buffer = vec![0u8; 65_535];
    let (len, from) = tokio::time::timeout(WAIT, socket.recv_from(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, sip);
    String::from_utf8_lossy(&buffer[..len]).into_owned()
}

#[tokio::test]
async fn malformed_sip_datagram_gets_400() {
    let daemon = Daemon::start("").await;
    let local = "127.0.0.1:1".parse().unwrap();
    let bad = options("UDP", local, "").replace("Max-Forwards: 70", "Max-Forwards: many");
    let bad = bad.replace("127.0.0.1:1", "LOCAL");
    let answer = udp_exchange(&daemon, &bad).await;
    assert!(answer.starts_with("SIP/2.0 400"), "{answer}");
    assert!(
        answer.contains("Call-ID: daemon-test-UDP@127.0.0.1"),
        "{answer}"
    );
    daemon.stop().await;
}

#[tokio::test]
async fn options_over_udp_gets_200() {
    let daemon = Daemon::start("").await;
    let message =
        options("UDP", "127.0.0.1:1".parse().unwrap(), "").replace("127.0.0.1:1", "LOCAL");
    let answer = udp_exchange(&daemon, &message).await;
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    daemon.stop().await;
}

#[tokio::test]
async fn options_over_tcp_is_answered_on_the_same_connection() {
    let daemon = Daemon::start("").await;
    let sip = daemon.running().addresses().sip(Transport::Tcp).unwrap();
    let mut stream = TcpStream::connect(sip).await.unwrap();
    let message = options("TCP", stream.local_addr().unwrap(), "");
    // Split in two writes: the framer must join them.
    let (head, tail) = message.split_at(40);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    tokio::time::timeout(WAIT, reader.read_line(&mut status))
        .await
        .unwrap()
        .unwrap();
    assert!(status.starts_with("SIP/2.0 200"), "{status}");
    daemon.stop().await;
}

#[tokio::test]
async fn unframeable_tcp_stream_is_closed() {
    let daemon = Daemon::start("").await;
    let sip = daemon.running().addresses().sip(Transport::Tcp).unwrap();
    let mut stream = TcpStream::connect(sip).await.unwrap();
    let message = options("TCP", stream.local_addr().unwrap(), "")
        .replace("Content-Length: 0", "Content-Length: x");
    stream.write_all(message.as_bytes()).await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest))
        .await
        .unwrap();
    assert!(
        read.is_ok() || read.is_err(),
        "the daemon closed the connection"
    );
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    daemon.stop().await;
}

#[tokio::test]
async fn stale_control_socket_is_replaced() {
    let dir = socket_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let text = format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:0\"]\n[control]\nsocket = \"{}\"\n[metrics]\nenabled = false\n",
        path.display()
    );
    let running = Running::start(Config::parse(&text, Path::new("stale.toml")).unwrap())
        .await
        .unwrap();
    let stream = UnixStream::connect(&path).await.unwrap();
    let (read, write) = stream.into_split();
    let mut client = Client {
        lines: BufReader::new(read),
        write,
    };
    assert_eq!(client.request(r#"{"id":1,"cmd":"ping"}"#).await["ok"], true);
    let daemon = Daemon {
        running: Some(running),
        control: path,
        dir,
    };
    daemon.stop().await;
}

#[tokio::test]
async fn a_taken_port_fails_the_start_naming_the_address() {
    let first = Daemon::start("").await;
    let udp = first.running().addresses().sip(Transport::Udp).unwrap();
    let text = format!(
        "[sip]\nlisten = [\"udp:{udp}\"]\n[control]\nsocket = \"{}\"\n[metrics]\nenabled = false\n",
        first.dir.join("other.sock").display()
    );
    let config = Config::parse(&text, Path::new("taken.toml")).unwrap();
    let error = Running::start(config).await.unwrap_err();
    assert!(error.to_string().contains(&udp.to_string()), "{error}");
    first.stop().await;
}
