//! The core task: the one owner of the switch. Everything that happens
//! reaches it as an [`Input`] over one bounded channel; after each input it
//! drains the switch's transmits, events and name look-ups, and re-arms its
//! single timer at the switch's next deadline.

mod engine;
mod media;
mod offload;
mod subscribers;

pub(crate) use engine::Engine;
pub(crate) use offload::KernelForwarding;
pub(crate) use subscribers::Subscribers;

use crate::control::Outbox;
use crate::media::adapter::{self, Dispatch};
use crate::media::{MediaFiles, RtpSockets};
use crate::metrics as m;
use crate::transport::{TcpConnections, UdpSockets};
use bytes::Bytes;
use media::LoadedCommand;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use switchd_control::command::TrunkSpec;
use switchd_control::{Command, EventKind, EventRing, Reply, ReplyBody, Request, codec};
use switchd_player::recorder::RecordingSummary;
use switchd_player::wav::Prompt;
use switchd_sip::{Peer, Transport};
use switchd_switch::stats::cause_name;
use switchd_switch::{ResolveRequest, Route};
use tokio::sync::{mpsc, oneshot};

/// How long one name look-up may take before it counts as "no address".
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the switch's counters are copied to the metrics.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Everything the core reacts to.
#[derive(Debug)]
pub(crate) enum Input {
    /// A UDP datagram arrived.
    Datagram { peer: Peer, data: Bytes },
    /// A TCP connection framed a whole message.
    StreamMessage { peer: Peer, message: Bytes },
    /// An inbound TCP connection was accepted.
    StreamOpened {
        id: u64,
        peer: Peer,
        writer: mpsc::Sender<Bytes>,
    },
    /// An outbound TCP connection is established with this local address.
    StreamConnected { id: u64, local: SocketAddr },
    /// A TCP connection ended (or never got established).
    StreamClosed { id: u64 },
    /// A control request from connection `conn`; `done` is dropped once its
    /// reply is queued on `outbox`.
    Control {
        conn: u64,
        request: Request,
        outbox: Arc<Outbox>,
        done: oneshot::Sender<()>,
    },
    /// A control connection closed.
    ControlClosed { conn: u64 },
    /// A name look-up finished.
    Resolved {
        token: u64,
        addresses: Vec<SocketAddr>,
    },
    /// New routes, trunks and hold prompt from a re-read config file.
    Reload {
        routes: Vec<Route>,
        trunks: Vec<TrunkSpec>,
        hold_prompt: Option<Prompt>,
    },
    /// Shutting down: stop taking calls, end the rest within `grace`.
    Drain { grace: Duration },
    /// The watchdog asks whether the core still turns.
    Heartbeat { alive: oneshot::Sender<()> },
    /// A `play`, `collect` or `record` has its files; apply and reply.
    MediaLoaded(Box<LoadedCommand>),
    /// A recording's files are finished (or failed to be).
    RecordingFinished {
        leg: String,
        paths: Vec<PathBuf>,
        result: Result<RecordingSummary, String>,
    },
}

/// The sockets the core sends on.
pub(crate) struct Sockets {
    /// SIP over UDP.
    pub udp: UdpSockets,
    /// SIP over TCP.
    pub tcp: TcpConnections,
    /// RTP and RTCP.
    pub rtp: RtpSockets,
    /// The kernel relay, when loaded.
    pub kernel: Option<KernelForwarding>,
}

/// The core task's state.
pub(crate) struct Core<E> {
    engine: E,
    inputs: mpsc::Receiver<Input>,
    /// For look-up tasks to feed their answer back.
    feedback: mpsc::Sender<Input>,
    udp: UdpSockets,
    tcp: TcpConnections,
    rtp: RtpSockets,
    kernel: Option<KernelForwarding>,
    files: Arc<MediaFiles>,
    ring: EventRing,
    subscribers: Subscribers,
    ring_capacity: usize,
    draining: bool,
}

/// The current time on tokio's clock, so tests with paused time see it move.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl<E: Engine> Core<E> {
    /// A core driving `engine`.
    pub(crate) fn new(
        engine: E,
        inputs: mpsc::Receiver<Input>,
        feedback: mpsc::Sender<Input>,
        sockets: Sockets,
        files: Arc<MediaFiles>,
        event_ring: usize,
    ) -> Self {
        let Sockets {
            udp,
            tcp,
            rtp,
            kernel,
        } = sockets;
        Self {
            engine,
            inputs,
            feedback,
            udp,
            tcp,
            rtp,
            kernel,
            files,
            ring: EventRing::new(event_ring),
            subscribers: Subscribers::default(),
            ring_capacity: event_ring.max(1),
            draining: false,
        }
    }

    /// Runs until drained after [`Input::Drain`], or until every sender is gone.
    pub(crate) async fn run(mut self) {
        // Whatever the switch produced while being built goes out first.
        self.flush();
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        let mut deadline = self.engine.poll_timeout();
        // The deadline the sleep is set to: most wakes (a batch of relayed
        // RTP) leave the deadline as it was, and resetting the sleep to the
        // same instant would still touch the timer wheel.
        let mut armed = None;
        let mut stats = tokio::time::interval(STATS_INTERVAL);
        stats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if let Some(at) = deadline.filter(|at| armed != Some(*at)) {
                sleep.as_mut().reset(tokio::time::Instant::from_std(at));
                armed = Some(at);
            }
            tokio::select! {
                input = self.inputs.recv() => match input {
                    Some(input) => self.handle(input),
                    None => break,
                },
                () = self.rtp.ready() => self.receive_rtp(),
                () = &mut sleep, if deadline.is_some() => self.engine.handle_timeout(now()),
                _ = stats.tick() => {
                    m::publish_switch_stats(&self.engine.stats());
                    m::publish_prompt_cache(&self.files.cache_stats());
                    continue;
                }
            }
            self.flush();
            if self.draining && self.engine.is_drained() {
                tracing::info!("drained");
                break;
            }
            deadline = self.engine.poll_timeout();
        }
        self.subscribers.close_all();
    }

    fn handle(&mut self, input: Input) {
        let now = now();
        match input {
            Input::Datagram { peer, data } => {
                self.engine.handle_datagram(now, peer, &data);
            }
            Input::StreamMessage { peer, message } => {
                self.engine.handle_stream_message(now, peer, &message);
            }
            Input::StreamOpened { id, peer, writer } => self.tcp.register(id, peer, writer),
            Input::StreamConnected { id, local } => self.tcp.connected(id, local),
            Input::StreamClosed { id } => self.tcp.closed(id),
            Input::Control {
                conn,
                request,
                outbox,
                done,
            } => {
                let Request { id, command } = request;
                match adapter::dispatch(command) {
                    Dispatch::Media(media) => self.start_media(id, media, outbox, done),
                    Dispatch::Switch(command) => {
                        self.handle_control(now, conn, Request { id, command }, &outbox);
                        drop(done);
                    }
                }
            }
            Input::ControlClosed { conn } => self.subscribers.remove(conn),
            Input::Resolved { token, addresses } => {
                self.engine.handle_resolved(now, token, addresses)
            }
            Input::Reload {
                routes,
                trunks,
                hold_prompt,
            } => {
                tracing::info!(
                    routes = routes.len(),
                    trunks = trunks.len(),
                    hold_prompt_s = hold_prompt.as_ref().map(|p| p.duration().as_secs_f64()),
                    "reloading routes and trunks, and the hold prompt"
                );
                self.engine.reload(now, routes, trunks);
                self.engine.set_hold_prompt(now, hold_prompt);
            }
            Input::Drain { grace } => {
                tracing::info!(grace_s = grace.as_secs_f64(), "draining");
                self.draining = true;
                self.engine.start_drain(now, grace);
            }
            Input::Heartbeat { alive } => {
                let _ = alive.send(());
            }
            Input::MediaLoaded(loaded) => self.apply_media(now, *loaded),
            Input::RecordingFinished { leg, paths, result } => {
                // One summary covers the files of a split recording; each
                // file gets its `record.finished`.
                for path in paths {
                    self.engine
                        .handle_recording_finished(now, &leg, path, result.clone());
                }
            }
        }
    }

    /// Hands the switch a batch of RTP/RTCP datagrams from the sockets
    /// found ready.
    fn receive_rtp(&mut self) {
        let now = now();
        self.rtp.read_batch();
        for (local_port, source, packet) in self.rtp.batch() {
            self.engine.handle_rtp(now, local_port, source, packet);
        }
    }

    fn handle_control(&mut self, now: Instant, conn: u64, request: Request, outbox: &Arc<Outbox>) {
        let name = request.command.name();
        let leg = request.command.leg().map(str::to_owned);
        let result = match request.command {
            Command::Subscribe { since } => {
                let seq = self.ring.last_seq();
                let replay = since
                    .map(|since| self.ring.since(since))
                    .unwrap_or_default();
                self.subscribers.add(conn, outbox.clone());
                let reply = Reply {
                    id: request.id,
                    result: Ok(ReplyBody::Subscribed { seq }),
                };
                outbox.push_reply(codec::encode_reply(&reply));
                // The replay follows the reply; live events follow the replay.
                outbox.push_replay(&replay);
                m::control_command(name, "ok");
                return;
            }
            Command::Unsubscribe => {
                self.subscribers.remove(conn);
                Ok(ReplyBody::Empty {})
            }
            command @ (Command::Leg { .. } | Command::Legs) => {
                // Counters of what the kernel relay forwarded, up to now.
                self.engine.refresh_offload_counters();
                self.apply_offload(now);
                self.engine.handle_command(now, command)
            }
            command => self.engine.handle_command(now, command),
        };
        self.reply(request.id, name, leg.as_deref(), result, outbox);
    }

    /// Hands everything the engine has to give to where it goes.
    fn flush(&mut self) {
        // The kernel relay first: the switch may not send on a stream the
        // kernel forwarded until it has the kernel's counters, and a rule
        // must be gone before its port closes.
        self.apply_offload(now());
        // Sockets next: a port that fails to bind hangs its leg up, which
        // has SIP and events of its own to send below.
        self.apply_socket_actions();
        self.send_rtp();
        while let Some(transmit) = self.engine.poll_transmit() {
            match transmit.peer.transport {
                Transport::Udp => self.udp.send(&transmit),
                Transport::Tcp => self.tcp.send(transmit),
            }
        }
        while let Some(kind) = self.engine.poll_event() {
            self.publish(kind);
        }
        while let Some(request) = self.engine.poll_resolve() {
            self.resolve(request);
        }
        self.finish_recordings();
    }

    fn publish(&mut self, kind: EventKind) {
        log_event(&kind, |leg| self.engine.call_id(leg));
        let name = kind.name();
        let event = self.ring.push(kind, wall_clock_ms());
        let kept = usize::try_from(event.seq)
            .unwrap_or(usize::MAX)
            .min(self.ring_capacity);
        m::event_recorded(name, kept);
        self.subscribers.broadcast(&event);
    }

    fn resolve(&self, request: ResolveRequest) {
        let feedback = self.feedback.clone();
        tokio::spawn(async move {
            let ResolveRequest { token, host, port } = request;
            let lookup = tokio::net::lookup_host((host.as_str(), port));
            let addresses = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(found)) => found.collect(),
                Ok(Err(error)) => {
                    tracing::warn!(%host, %error, "name look-up failed");
                    Vec::new()
                }
                Err(_) => {
                    tracing::warn!(%host, "name look-up timed out");
                    Vec::new()
                }
            };
            let _ = feedback.send(Input::Resolved { token, addresses }).await;
        });
    }
}

/// One log line per event, with the leg and, while the switch still knows
/// the leg, its Call-ID.
fn log_event<'a>(kind: &EventKind, call_id_of: impl Fn(&str) -> Option<&'a str>) {
    let event = kind.name();
    match kind {
        EventKind::Incoming { leg } => {
            tracing::info!(event, leg = %leg.id, call_id = %leg.call_id, from = %leg.from, to = %leg.to, "leg event");
        }
        EventKind::Trying { leg }
        | EventKind::Ringing { leg }
        | EventKind::EarlyMedia { leg }
        | EventKind::Answered { leg } => {
            let call_id = call_id_of(leg).unwrap_or_default();
            tracing::info!(event, leg = %leg, call_id, "leg event");
        }
        EventKind::Hungup {
            leg,
            cause,
            sip_status,
            ..
        } => {
            let call_id = call_id_of(leg).unwrap_or_default();
            tracing::info!(event, leg = %leg, call_id, cause = cause_name(*cause), sip_status, "leg event");
        }
        EventKind::TrunkRegistered { trunk, expires } => {
            tracing::info!(event, trunk = %trunk, expires, "trunk event");
        }
        EventKind::TrunkFailed {
            trunk,
            sip_status,
            reason,
        } => {
            tracing::warn!(event, trunk = %trunk, sip_status, reason = %reason, "trunk event");
        }
        EventKind::Gap { from, to } => tracing::info!(event, from, to, "event gap"),
        EventKind::PlayStarted { leg }
        | EventKind::PlayFinished { leg }
        | EventKind::PlayStopped { leg }
        | EventKind::CollectTimeout { leg }
        | EventKind::MediaTimeout { leg } => {
            tracing::info!(event, leg = %leg, "media event");
        }
        // Digits may be PINs or card numbers: logged by count, never by value.
        EventKind::CollectDone {
            leg,
            digits,
            reason,
        } => {
            tracing::info!(event, leg = %leg, digits = digits.len(), ?reason, "media event");
        }
        EventKind::Dtmf { leg, method, .. } => {
            tracing::debug!(event, leg = %leg, ?method, "media event");
        }
        EventKind::RecordFinished {
            leg,
            path,
            duration_ms,
            bytes,
            error,
        } => match error {
            Some(error) => {
                tracing::warn!(event, leg = %leg, path = %path, duration_ms, bytes, %error, "recording failed")
            }
            None => {
                tracing::info!(event, leg = %leg, path = %path, duration_ms, bytes, "media event")
            }
        },
    }
}

#[cfg(test)]
mod tests;
