//! The core driven with a scripted engine: ordering of replies and events,
//! subscriptions, the timer, transmits and draining.

use super::*;
use crate::transport::{TcpContext, TcpSettings};
use std::sync::Mutex;
use switchd_control::{ErrorCode, HangupCause, ReplyError};
use switchd_sip::Transmit;

/// What the scripted engine saw, shared with the test.
#[derive(Debug, Default)]
struct Seen {
    timeouts: usize,
    reloads: usize,
    /// Lengths of the prompts `play` got.
    played: Vec<usize>,
}

struct Scripted {
    seen: Arc<Mutex<Seen>>,
    deadline: Option<Instant>,
    transmits: Vec<Transmit>,
    events: Vec<EventKind>,
    draining: bool,
}

impl Scripted {
    fn new(seen: Arc<Mutex<Seen>>) -> Self {
        Self {
            seen,
            deadline: None,
            transmits: Vec::new(),
            events: Vec::new(),
            draining: false,
        }
    }
}

impl Engine for Scripted {
    fn handle_datagram(&mut self, _: Instant, peer: Peer, datagram: &[u8]) {
        let mut payload = b"echo ".to_vec();
        payload.extend_from_slice(datagram);
        self.transmits.push(Transmit {
            peer,
            payload: payload.into(),
        });
    }
    fn handle_stream_message(&mut self, _: Instant, _: Peer, _: &[u8]) {}
    fn handle_command(&mut self, now: Instant, command: Command) -> Result<ReplyBody, ReplyError> {
        match command {
            Command::Ping => Ok(ReplyBody::Pong {
                version: "test".to_owned(),
            }),
            Command::Hangup { leg, .. } => {
                self.events.push(EventKind::Hungup {
                    leg,
                    cause: HangupCause::NormalClearing,
                    sip_status: Some(200),
                    ring_ms: 0,
                    talk_ms: 0,
                });
                self.deadline = Some(now + Duration::from_secs(5));
                Ok(ReplyBody::Empty {})
            }
            _ => Err(ReplyError::new(ErrorCode::UnknownLeg, "no such leg")),
        }
    }
    fn handle_resolved(&mut self, _: Instant, _: u64, _: Vec<SocketAddr>) {}
    fn reload(&mut self, _: Instant, _: Vec<Route>, _: Vec<TrunkSpec>) {
        self.seen.lock().unwrap().reloads += 1;
    }
    fn start_drain(&mut self, _: Instant, _: Duration) {
        self.draining = true;
    }
    fn is_drained(&self) -> bool {
        self.draining
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|deadline| deadline <= now) {
            self.deadline = None;
            self.seen.lock().unwrap().timeouts += 1;
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop()
    }
    fn poll_event(&mut self) -> Option<EventKind> {
        (!self.events.is_empty()).then(|| self.events.remove(0))
    }
    fn poll_resolve(&mut self) -> Option<ResolveRequest> {
        None
    }
    fn stats(&self) -> switchd_switch::SwitchStats {
        switchd_switch::SwitchStats::default()
    }
    fn call_id(&self, _leg: &str) -> Option<&str> {
        None
    }
    fn play(
        &mut self,
        _: Instant,
        leg: &str,
        prompt: switchd_player::wav::Prompt,
        _: switchd_player::playback::Repeat,
    ) -> Result<ReplyBody, ReplyError> {
        self.seen.lock().unwrap().played.push(prompt.len());
        self.events.push(EventKind::PlayStarted {
            leg: leg.to_owned(),
        });
        Ok(ReplyBody::Empty {})
    }
}

/// File loading without a TTS engine.
fn test_files() -> Arc<MediaFiles> {
    Arc::new(MediaFiles::new(crate::media::MediaFilesSettings {
        prompt_cache_entries: 4,
        tts: crate::media::TtsSettings {
            command: "/nonexistent/tts".into(),
            cache_dir: std::env::temp_dir().join("switchd-core-tests-tts"),
            max_entries: 4,
        },
    }))
}

struct Harness {
    inputs: mpsc::Sender<Input>,
    seen: Arc<Mutex<Seen>>,
    core: tokio::task::JoinHandle<()>,
}

fn start(udp: UdpSockets) -> Harness {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (inputs, receiver) = mpsc::channel(16);
    let settings = TcpSettings {
        max_message: 65_536,
        idle_timeout: Duration::from_secs(300),
        connect_timeout: Duration::from_secs(5),
        write_queue: 8,
        max_connections: 4,
    };
    let tcp = TcpConnections::new(TcpContext::new(inputs.clone(), settings));
    let rtp = RtpSockets::new("127.0.0.1".parse().unwrap(), 4).unwrap();
    let core = Core::new(
        Scripted::new(seen.clone()),
        receiver,
        inputs.clone(),
        Sockets {
            udp,
            tcp,
            rtp,
            kernel: None,
        },
        test_files(),
        100,
    );
    Harness {
        inputs,
        seen,
        core: tokio::spawn(core.run()),
    }
}

impl Harness {
    /// Sends a command as control connection `conn` and waits until it is answered.
    async fn command(&self, conn: u64, outbox: &Arc<Outbox>, id: u64, command: Command) {
        let (done, answered) = oneshot::channel();
        let request = Request {
            id: id.into(),
            command,
        };
        let input = Input::Control {
            conn,
            request,
            outbox: outbox.clone(),
            done,
        };
        self.inputs.send(input).await.unwrap();
        let _ = answered.await;
    }
}

/// Everything queued on `outbox` so far, as JSON.
async fn drain_lines(outbox: &Outbox) -> Vec<serde_json::Value> {
    let batch = tokio::time::timeout(Duration::from_secs(5), outbox.next_batch())
        .await
        .unwrap()
        .unwrap();
    batch
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn hangup(leg: &str) -> Command {
    Command::Hangup {
        leg: leg.to_owned(),
        cause: None,
    }
}

#[tokio::test]
async fn reply_comes_before_the_events_its_command_caused() {
    let harness = start(UdpSockets::default());
    let outbox = Arc::new(Outbox::new(16));
    harness
        .command(1, &outbox, 1, Command::Subscribe { since: None })
        .await;
    harness.command(1, &outbox, 2, hangup("a")).await;
    let lines = drain_lines(&outbox).await;
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        (lines[0]["id"].as_u64(), lines[0]["seq"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(lines[1]["id"], 2);
    assert_eq!(lines[1]["ok"], true);
    assert_eq!(lines[2]["event"], "leg.hungup");
    assert_eq!(lines[2]["seq"], 1);
    assert_eq!(lines[2]["leg"], "a");
}

#[tokio::test]
async fn errors_from_the_engine_become_error_replies() {
    let harness = start(UdpSockets::default());
    let outbox = Arc::new(Outbox::new(16));
    harness
        .command(
            1,
            &outbox,
            9,
            Command::Leg {
                leg: "nope".to_owned(),
            },
        )
        .await;
    let lines = drain_lines(&outbox).await;
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(lines[0]["error"]["code"], "unknown_leg");
}

#[tokio::test]
async fn resubscribing_with_since_replays_what_was_missed() {
    let harness = start(UdpSockets::default());
    let quiet = Arc::new(Outbox::new(16));
    for leg in ["a", "b", "c"] {
        harness.command(1, &quiet, 1, hangup(leg)).await;
    }
    let outbox = Arc::new(Outbox::new(16));
    harness
        .command(2, &outbox, 5, Command::Subscribe { since: Some(1) })
        .await;
    let lines = drain_lines(&outbox).await;
    assert_eq!(lines[0]["seq"], 3, "reply carries the last seq: {lines:?}");
    let replayed: Vec<_> = lines[1..]
        .iter()
        .map(|l| (l["seq"].as_u64(), l["leg"].clone()))
        .collect();
    assert_eq!(replayed, vec![(Some(2), "b".into()), (Some(3), "c".into())]);
}

#[tokio::test]
async fn unsubscribed_and_closed_connections_get_no_events() {
    let harness = start(UdpSockets::default());
    let outbox = Arc::new(Outbox::new(16));
    harness
        .command(1, &outbox, 1, Command::Subscribe { since: None })
        .await;
    harness.command(1, &outbox, 2, Command::Unsubscribe).await;
    let other = Arc::new(Outbox::new(16));
    harness
        .command(2, &other, 1, Command::Subscribe { since: None })
        .await;
    harness
        .inputs
        .send(Input::ControlClosed { conn: 2 })
        .await
        .unwrap();
    harness
        .command(3, &Arc::new(Outbox::new(16)), 1, hangup("x"))
        .await;
    assert_eq!(drain_lines(&outbox).await.len(), 2, "two replies, no event");
    assert_eq!(drain_lines(&other).await.len(), 1, "one reply, no event");
}

#[tokio::test(start_paused = true)]
async fn timer_fires_at_the_engine_deadline() {
    let harness = start(UdpSockets::default());
    harness
        .command(1, &Arc::new(Outbox::new(16)), 1, hangup("a"))
        .await;
    tokio::time::sleep(Duration::from_millis(4_900)).await;
    assert_eq!(harness.seen.lock().unwrap().timeouts, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Let the core run after its timer.
    harness
        .command(1, &Arc::new(Outbox::new(16)), 2, Command::Ping)
        .await;
    assert_eq!(harness.seen.lock().unwrap().timeouts, 1);
}

#[tokio::test]
async fn udp_transmits_leave_from_the_socket_they_name() {
    let (_receiver, sender) = crate::transport::bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
    let local = sender.local_addr().unwrap();
    let mut udp = UdpSockets::default();
    udp.add(local, sender);
    let harness = start(udp);
    let far = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer = Peer {
        transport: Transport::Udp,
        remote: far.local_addr().unwrap(),
        local: Some(local),
    };
    harness
        .inputs
        .send(Input::Datagram {
            peer,
            data: Bytes::from_static(b"hi"),
        })
        .await
        .unwrap();
    let mut buffer = [0u8; 64];
    let (len, from) = tokio::time::timeout(Duration::from_secs(5), far.recv_from(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buffer[..len], b"echo hi");
    assert_eq!(from, local);
}

#[tokio::test]
async fn reload_reaches_the_engine_and_drain_ends_the_core() {
    let harness = start(UdpSockets::default());
    harness
        .inputs
        .send(Input::Reload {
            routes: Vec::new(),
            trunks: Vec::new(),
            hold_prompt: None,
        })
        .await
        .unwrap();
    harness
        .inputs
        .send(Input::Drain {
            grace: Duration::from_secs(1),
        })
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), harness.core)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(harness.seen.lock().unwrap().reloads, 1);
}

#[tokio::test]
async fn play_is_loaded_then_replied_to_before_its_events() {
    let dir = std::env::temp_dir().join(format!("switchd-core-play-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("prompt.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for _ in 0..480 {
        writer.write_sample(100i16).unwrap();
    }
    writer.finalize().unwrap();

    let harness = start(UdpSockets::default());
    let outbox = Arc::new(Outbox::new(16));
    harness
        .command(1, &outbox, 1, Command::Subscribe { since: None })
        .await;
    let play = |file: &std::path::Path| {
        Command::Play(switchd_control::Play {
            leg: "a".to_owned(),
            file: Some(file.display().to_string()),
            ..Default::default()
        })
    };
    harness.command(1, &outbox, 2, play(&path)).await;
    // `command` returned: the connection may send its next request, and
    // the reply is already queued ahead of the event.
    harness
        .command(1, &outbox, 3, play(&dir.join("gone.wav")))
        .await;
    let lines = drain_lines(&outbox).await;
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(
        (lines[1]["id"].as_u64(), &lines[1]["ok"]),
        (Some(2), &true.into())
    );
    assert_eq!(lines[2]["event"], "play.started");
    assert_eq!(lines[3]["id"], 3);
    assert_eq!(lines[3]["error"]["code"], "file_not_found");
    assert_eq!(harness.seen.lock().unwrap().played, vec![480]);
    let _ = std::fs::remove_dir_all(&dir);
}
