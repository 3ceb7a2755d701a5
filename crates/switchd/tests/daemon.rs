//! The daemon started in-process on ephemeral loopback ports: control socket,
//! metrics endpoint, SIP over UDP and TCP, shutdown. Loopback traffic only.
// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use support::{Client, Daemon, Dialog, WAIT};
use switchd::{Config, Running};
use switchd_sip::Transport;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UdpSocket};

/// A fresh directory for one daemon's control socket.
fn socket_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("switchd-test-{}-{n}", std::process::id()))
}

impl Daemon {
    /// A daemon on UDP and TCP with metrics, its config ending with `extra`.
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
        let daemon = Self::launch(&text, dir).await;
        assert_eq!(daemon.running().addresses().control, control);
        daemon
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
async fn sip_until(socket: &UdpSocket, to: SocketAddr, message: &str, status: &str) -> String {
    socket.send_to(message.as_bytes(), to).await.unwrap();
    support::receive_until(socket, status).await
}

#[tokio::test]
async fn answered_call_is_reported_to_subscribers() {
    let daemon = Daemon::start("[[route]]\nuser = \"*\"\naction = \"answer\"").await;
    let mut events = daemon.control().await;
    let subscribed = events.request(r#"{"id":1,"cmd":"subscribe"}"#).await;
    assert_eq!(subscribed["seq"], 0);

    let sip = daemon.sip();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = socket.local_addr().unwrap();
    let dialog = Dialog {
        user: "100",
        daemon: sip,
        local,
        call_id: "subscriber-test@127.0.0.1",
    };
    let invite = dialog.invite(&support::pcmu_offer(40000));
    let ok = sip_until(&socket, sip, &invite, "SIP/2.0 200").await;
    let to_tag = support::to_tag(&ok);
    let ack = dialog.bodiless("ACK", 1, &to_tag);
    socket.send_to(ack.as_bytes(), sip).await.unwrap();
    let answered = events.read().await;
    assert_eq!(answered["event"], "leg.answered", "{answered}");
    assert_eq!(answered["seq"], 1);

    let bye = dialog.bodiless("BYE", 2, &to_tag);
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
    let response = support::scrape(addr).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("switchd_build_info"), "{response}");
    assert!(
        response.contains("switchd_control_commands_total{command=\"ping\",result=\"ok\"}"),
        "{response}"
    );
    daemon.stop().await;
}

fn options(transport: &str, local: SocketAddr, extra_header: &str) -> String {
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
    let sip = daemon.sip();
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

/// A TCP connection to the daemon's SIP port, and an OPTIONS naming it.
async fn tcp_options(daemon: &Daemon) -> (TcpStream, String) {
    let sip = daemon.running().addresses().sip(Transport::Tcp).unwrap();
    let stream = TcpStream::connect(sip).await.unwrap();
    let message = options("TCP", stream.local_addr().unwrap(), "");
    (stream, message)
}

#[tokio::test]
async fn options_over_tcp_is_answered_on_the_same_connection() {
    let daemon = Daemon::start("").await;
    let (mut stream, message) = tcp_options(&daemon).await;
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
    let (mut stream, message) = tcp_options(&daemon).await;
    let message = message.replace("Content-Length: 0", "Content-Length: x");
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
    let mut client = Client::connect(&path).await;
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
    let udp = first.sip();
    let text = format!(
        "[sip]\nlisten = [\"udp:{udp}\"]\n[control]\nsocket = \"{}\"\n[metrics]\nenabled = false\n",
        first.dir.join("other.sock").display()
    );
    let config = Config::parse(&text, Path::new("taken.toml")).unwrap();
    let error = Running::start(config).await.unwrap_err();
    assert!(error.to_string().contains(&udp.to_string()), "{error}");
    first.stop().await;
}
