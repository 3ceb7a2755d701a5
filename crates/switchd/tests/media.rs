//! Media through the daemon started in-process on loopback: RTP sockets
//! opened for an answered call and echoed, and the file-backed commands
//! (`play`, `record`) with their error replies. Loopback traffic only.
// Helpers outside #[test] functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;
use support::{Client, Daemon, Dialog, WAIT};
use tokio::net::UdpSocket;

/// A scratch directory and an RTP range of its own for one daemon, so tests
/// running at once (and other test binaries) do not share ports.
fn scratch() -> (PathBuf, u16) {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("switchd-media-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let slot = (std::process::id() % 400) as u16 * 40 + n * 8;
    (dir, 41_000 + slot)
}

impl Daemon {
    /// A daemon with an echo route and an answer-all route, in a scratch
    /// directory and RTP range of its own.
    async fn start() -> Self {
        let (dir, port_min) = scratch();
        Self::start_in(dir, port_min).await
    }

    /// A daemon in `dir` whose RTP range starts at `port_min`.
    async fn start_in(dir: PathBuf, port_min: u16) -> Self {
        let text = format!(
            r#"
            [sip]
            listen = ["udp:127.0.0.1:0"]
            [rtp]
            port_min = {port_min}
            port_max = {port_max}
            # These tests count what the daemon's own sockets see; the
            # kernel relay has tests of its own (tests/tests/media_kernel.rs).
            kernel_relay = "off"
            [control]
            socket = "{control}"
            [metrics]
            listen = "127.0.0.1:0"
            [media]
            tts_command = "/nonexistent/espeak-ng"
            tts_cache = "{tts}"
            [[route]]
            user = "echo"
            action = "echo"
            [[route]]
            user = "*"
            action = "answer"
            "#,
            port_max = port_min + 7,
            control = dir.join("control.sock").display(),
            tts = dir.join("tts").display(),
        );
        Self::launch(&text, dir).await
    }
}

/// A caller on loopback: its SIP socket, and its RTP socket, the address in its SDP.
struct Caller {
    sip: UdpSocket,
    rtp: UdpSocket,
}

impl Caller {
    async fn new() -> Self {
        Self {
            sip: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            rtp: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    /// Calls `user`, ACKs the 200 and returns the daemon's RTP address from its SDP answer.
    async fn call(&self, daemon: SocketAddr, user: &str) -> SocketAddr {
        let rtp_port = self.rtp.local_addr().unwrap().port();
        let call_id = format!("media-{user}-{rtp_port}@127.0.0.1");
        let dialog = Dialog {
            user,
            daemon,
            local: self.sip.local_addr().unwrap(),
            call_id: &call_id,
        };
        let invite = dialog.invite(&support::pcmu_offer(rtp_port));
        self.sip.send_to(invite.as_bytes(), daemon).await.unwrap();
        let ok = support::receive_until(&self.sip, "SIP/2.0 200").await;
        let ack = dialog.bodiless("ACK", 1, &support::to_tag(&ok));
        self.sip.send_to(ack.as_bytes(), daemon).await.unwrap();
        let port: u16 = ok
            .lines()
            .find_map(|line| line.strip_prefix("m=audio "))
            .and_then(|rest| rest.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        let ip = ok
            .lines()
            .find_map(|line| line.strip_prefix("c=IN IP4 "))
            .unwrap()
            .trim();
        // Only ever loopback, whatever the SDP says.
        assert_eq!(ip, "127.0.0.1", "{ok}");
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

/// A PCMU RTP packet of 20 ms of silence.
fn rtp_packet(seq: u16) -> Vec<u8> {
    let mut packet = vec![0x80, 0x00];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    packet.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    packet.extend(std::iter::repeat_n(0xffu8, 160));
    packet
}

/// An answered call from a [`Caller`], seen on a subscribed control connection.
struct AnsweredCall {
    /// The control connection subscribed before the call.
    events: Client,
    caller: Caller,
    /// The daemon's RTP address for the leg.
    media: SocketAddr,
    /// The leg's id, from `leg.answered`.
    leg: String,
}

impl AnsweredCall {
    /// Subscribes to `daemon`'s events, calls `user` and waits for `leg.answered`.
    async fn to(daemon: &Daemon, user: &str) -> Self {
        let mut events = daemon.control().await;
        events
            .request(serde_json::json!({"id": 1, "cmd": "subscribe"}))
            .await;
        let caller = Caller::new().await;
        let media = caller.call(daemon.sip(), user).await;
        let answered = events.event("leg.answered").await;
        let leg = answered["leg"].as_str().unwrap().to_owned();
        Self {
            events,
            caller,
            media,
            leg,
        }
    }
}

#[tokio::test]
async fn echo_route_reflects_rtp_and_counts_it() {
    let daemon = Daemon::start().await;
    let AnsweredCall {
        caller, media, leg, ..
    } = AnsweredCall::to(&daemon, "echo").await;

    let mut echoed = 0;
    let mut buffer = [0u8; 2048];
    for seq in 0..25u16 {
        caller.rtp.send_to(&rtp_packet(seq), media).await.unwrap();
        let wait =
            tokio::time::timeout(Duration::from_millis(20), caller.rtp.recv_from(&mut buffer));
        if let Ok(Ok((len, from))) = wait.await {
            assert_eq!(from, media, "RTP comes from the port in the SDP answer");
            assert!(
                len >= 12 && buffer[0] >> 6 == 2,
                "not RTP: {:?}",
                &buffer[..len]
            );
            echoed += 1;
        }
    }
    // Whatever is still on its way.
    while let Ok(Ok(_)) = tokio::time::timeout(
        Duration::from_millis(200),
        caller.rtp.recv_from(&mut buffer),
    )
    .await
    {
        echoed += 1;
    }
    assert!(echoed > 0, "no RTP came back");

    let mut control = daemon.control().await;
    let status = control
        .request(serde_json::json!({"id": 2, "cmd": "leg", "leg": leg}))
        .await;
    let counters = &status["leg"]["media"];
    assert!(counters["packets_in"].as_u64().unwrap() >= 20, "{status}");
    assert!(counters["packets_out"].as_u64().unwrap() > 0, "{status}");

    // The daemon's own socket counters (other daemons of this process add to them).
    let metrics = support::scrape(daemon.running().addresses().metrics.unwrap()).await;
    let value = |name: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{metrics}"))
    };
    assert!(value("switchd_rtp_packets_in_total") >= 20.0);
    assert!(value("switchd_rtp_packets_out_total") >= 1.0);
    assert!(value("switchd_rtp_sockets") >= 2.0);
}

#[tokio::test]
async fn file_commands_reply_with_the_files_errors_and_the_call_stays_up() {
    let daemon = Daemon::start().await;
    let AnsweredCall {
        mut events, leg, ..
    } = AnsweredCall::to(&daemon, "100").await;
    let mut control = daemon.control().await;

    let missing = daemon.dir.join("missing.wav");
    let reply = control
        .request(serde_json::json!({"id": 2, "cmd": "play", "leg": leg, "file": missing}))
        .await;
    assert_eq!(reply["error"]["code"], "file_not_found", "{reply}");

    let stereo = daemon.dir.join("stereo.wav");
    write_wav(&stereo, 11_025, 2);
    let reply = control
        .request(serde_json::json!({"id": 3, "cmd": "play", "leg": leg, "file": stereo}))
        .await;
    assert_eq!(reply["error"]["code"], "bad_audio_format", "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("stereo.wav") && message.contains("11025"),
        "{reply}"
    );

    let reply = control
        .request(serde_json::json!({"id": 4, "cmd": "play", "leg": leg, "text": "hello"}))
        .await;
    assert_eq!(reply["error"]["code"], "tts_unavailable", "{reply}");

    let nowhere = daemon.dir.join("no").join("such").join("call.wav");
    let reply = control
        .request(serde_json::json!({"id": 5, "cmd": "record", "leg": leg, "path": nowhere}))
        .await;
    assert_eq!(reply["error"]["code"], "invalid_argument", "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("call.wav"),
        "{reply}"
    );

    // A good prompt plays: the reply, then play.started.
    let good = daemon.dir.join("good.wav");
    write_wav(&good, 8000, 1);
    let reply = control
        .request(serde_json::json!({"id": 6, "cmd": "play", "leg": leg, "file": good}))
        .await;
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(events.event("play.started").await["leg"], leg.as_str());

    // A recording is created, and its file finished on stop_record.
    let recording = daemon.dir.join("call.wav");
    let reply = control
        .request(serde_json::json!({"id": 7, "cmd": "record", "leg": leg, "path": recording}))
        .await;
    assert_eq!(reply["ok"], true, "{reply}");

    let status = control
        .request(serde_json::json!({"id": 8, "cmd": "leg", "leg": leg}))
        .await;
    assert_eq!(status["leg"]["state"], "answered", "{status}");

    let reply = control
        .request(serde_json::json!({"id": 9, "cmd": "stop_record", "leg": leg}))
        .await;
    assert_eq!(reply["ok"], true, "{reply}");
    let finished = events.event("record.finished").await;
    assert_eq!(
        finished["path"],
        recording.display().to_string(),
        "{finished}"
    );
    assert!(finished.get("error").is_none(), "{finished}");
    assert!(recording.exists());
}

/// One second of a 16-bit WAV at `rate` Hz with `channels` channels.
fn write_wav(path: &Path, rate: u32, channels: u16) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..rate * u32::from(channels) {
        writer.write_sample(((n % 64) as i16 - 32) * 200).unwrap();
    }
    writer.finalize().unwrap();
}

#[tokio::test]
async fn a_port_held_by_another_program_is_skipped() {
    let (dir, port_min) = scratch();
    // Someone else holds the RTCP port of the first pair before we start.
    let _squatter = std::net::UdpSocket::bind(("127.0.0.1", port_min + 1)).unwrap();
    let daemon = Daemon::start_in(dir, port_min).await;
    // The call is answered on the next pair, which is listening: the echo
    // comes back from the port our SDP advertised.
    let AnsweredCall {
        mut events,
        caller,
        media,
        ..
    } = AnsweredCall::to(&daemon, "echo").await;
    assert_eq!(media.port(), port_min + 2);
    let packet = rtp_packet(1);
    caller.rtp.send_to(&packet, media).await.unwrap();
    let mut buffer = [0u8; 2048];
    let (len, from) = tokio::time::timeout(WAIT, caller.rtp.recv_from(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((from, len), (media, packet.len()));
    let stats = events
        .request(serde_json::json!({"id": 2, "cmd": "stats"}))
        .await;
    assert_eq!(stats["stats"]["rtp_bind_failures"], 1, "{stats}");
}
