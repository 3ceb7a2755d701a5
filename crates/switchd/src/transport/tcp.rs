//! SIP over TCP: accepting and opening connections, framing what they read,
//! and writing what the switch sends on the right one.

use crate::core::Input;
use crate::metrics as m;
use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use switchd_sip::message::{FramingError, StreamFramer};
use switchd_sip::{Peer, Transmit, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Bytes read from a connection at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Limits and timers of SIP TCP connections.
#[derive(Debug, Clone)]
pub(crate) struct TcpSettings {
    /// Largest framed message.
    pub max_message: usize,
    /// A connection silent this long in both directions is closed.
    pub idle_timeout: Duration,
    /// Time allowed to open an outbound connection.
    pub connect_timeout: Duration,
    /// Messages queued per connection.
    pub write_queue: usize,
    /// Most connections at once.
    pub max_connections: usize,
}

/// What every connection task shares.
#[derive(Debug, Clone)]
pub(crate) struct TcpContext {
    inputs: mpsc::Sender<Input>,
    limit: Arc<Semaphore>,
    next_id: Arc<AtomicU64>,
    settings: Arc<TcpSettings>,
}

impl TcpContext {
    /// A context feeding `inputs`.
    pub(crate) fn new(inputs: mpsc::Sender<Input>, settings: TcpSettings) -> Self {
        Self {
            inputs,
            limit: Arc::new(Semaphore::new(settings.max_connections)),
            next_id: Arc::new(AtomicU64::new(1)),
            settings: Arc::new(settings),
        }
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.limit.clone().try_acquire_owned().ok();
        if permit.is_none() {
            m::table_full("tcp_connections");
        }
        permit
    }

    fn publish_open(&self) {
        m::tcp_connections(
            self.settings
                .max_connections
                .saturating_sub(self.limit.available_permits()),
        );
    }
}

struct Connection {
    remote: SocketAddr,
    /// Unknown until an outbound connection is established.
    local: Option<SocketAddr>,
    writer: mpsc::Sender<Bytes>,
}

/// The core's table of open connections, bounded by the connection limit.
pub(crate) struct TcpConnections {
    context: TcpContext,
    by_id: HashMap<u64, Connection>,
    /// Outbound connection tasks; dropping the table (the core ended) closes them.
    outbound: tokio::task::JoinSet<()>,
}

impl TcpConnections {
    /// An empty table.
    pub(crate) fn new(context: TcpContext) -> Self {
        Self {
            context,
            by_id: HashMap::new(),
            outbound: tokio::task::JoinSet::new(),
        }
    }

    /// An accepted connection.
    pub(crate) fn register(&mut self, id: u64, peer: Peer, writer: mpsc::Sender<Bytes>) {
        self.by_id.insert(
            id,
            Connection {
                remote: peer.remote,
                local: peer.local,
                writer,
            },
        );
    }

    /// An outbound connection got its local address.
    pub(crate) fn connected(&mut self, id: u64, local: SocketAddr) {
        if let Some(connection) = self.by_id.get_mut(&id) {
            connection.local = Some(local);
        }
    }

    /// A connection is gone.
    pub(crate) fn closed(&mut self, id: u64) {
        self.by_id.remove(&id);
    }

    /// Queues `transmit` on the connection it names, or on any connection to
    /// its remote, or on a new one; never waits.
    pub(crate) fn send(&mut self, transmit: Transmit) {
        let Transmit { peer, payload } = transmit;
        let exact = self
            .by_id
            .values()
            .find(|c| c.remote == peer.remote && peer.local.is_some() && c.local == peer.local);
        let chosen = exact.or_else(|| self.by_id.values().find(|c| c.remote == peer.remote));
        match chosen {
            Some(connection) => match connection.writer.try_send(payload) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => m::sip_dropped("tcp_queue_full"),
                Err(mpsc::error::TrySendError::Closed(_)) => m::sip_dropped("tcp_closed"),
            },
            None => self.open(peer.remote, payload),
        }
    }

    fn open(&mut self, remote: SocketAddr, payload: Bytes) {
        let Some(permit) = self.context.admit() else {
            m::sip_dropped("tcp_limit");
            return;
        };
        let id = self.context.next_id();
        let (writer, queue) = mpsc::channel(self.context.settings.write_queue.max(1));
        // A fresh channel has room for the first message.
        let _ = writer.try_send(payload);
        self.by_id.insert(
            id,
            Connection {
                remote,
                local: None,
                writer,
            },
        );
        let context = self.context.clone();
        while self.outbound.try_join_next().is_some() {}
        self.outbound.spawn(async move {
            let connect = TcpStream::connect(remote);
            let stream = match tokio::time::timeout(context.settings.connect_timeout, connect).await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::info!(%remote, %error, "TCP connect failed");
                    let _ = context.inputs.send(Input::StreamClosed { id }).await;
                    return;
                }
                Err(_) => {
                    tracing::info!(%remote, "TCP connect timed out");
                    let _ = context.inputs.send(Input::StreamClosed { id }).await;
                    return;
                }
            };
            let Ok(local) = stream.local_addr() else {
                let _ = context.inputs.send(Input::StreamClosed { id }).await;
                return;
            };
            if context
                .inputs
                .send(Input::StreamConnected { id, local })
                .await
                .is_err()
            {
                return;
            }
            let peer = Peer {
                transport: Transport::Tcp,
                remote,
                local: Some(local),
            };
            serve_connection(stream, id, peer, queue, permit, context).await;
        });
    }
}

/// Accepts connections on `listener` forever, within the connection limit.
/// Connections are tasks of a set owned here, so aborting this task at
/// shutdown closes them all.
pub(crate) async fn accept_loop(listener: TcpListener, context: TcpContext) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap finished connections so the set stays within the limit.
        while connections.try_join_next().is_some() {}
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!(%error, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(permit) = context.admit() else {
            tracing::debug!(%remote, "TCP connection limit reached; closing");
            continue;
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let id = context.next_id();
        let (writer, queue) = mpsc::channel(context.settings.write_queue.max(1));
        let peer = Peer {
            transport: Transport::Tcp,
            remote,
            local: Some(local),
        };
        if context
            .inputs
            .send(Input::StreamOpened { id, peer, writer })
            .await
            .is_err()
        {
            return;
        }
        connections.spawn(serve_connection(
            stream,
            id,
            peer,
            queue,
            permit,
            context.clone(),
        ));
    }
}

/// Reads and writes one connection until it closes, fails to frame, or idles out.
async fn serve_connection(
    stream: TcpStream,
    id: u64,
    peer: Peer,
    mut queue: mpsc::Receiver<Bytes>,
    permit: OwnedSemaphorePermit,
    context: TcpContext,
) {
    context.publish_open();
    let settings = context.settings.clone();
    let (mut reader, mut writer) = stream.into_split();
    let mut framer = StreamFramer::new(settings.max_message);
    let mut chunk = vec![0u8; READ_CHUNK];
    let idle = tokio::time::sleep(settings.idle_timeout);
    tokio::pin!(idle);
    let remote = peer.remote;
    loop {
        tokio::select! {
            read = reader.read(&mut chunk) => {
                let len = match read {
                    Ok(0) => break,
                    Ok(len) => len,
                    Err(error) => {
                        tracing::debug!(%remote, %error, "TCP read failed");
                        break;
                    }
                };
                framer.push(chunk.get(..len).unwrap_or_default());
                if !deliver_messages(&mut framer, peer, &context.inputs).await {
                    break;
                }
            }
            message = queue.recv() => {
                let Some(message) = message else { break };
                let write = tokio::time::timeout(settings.idle_timeout, writer.write_all(&message));
                if !matches!(write.await, Ok(Ok(()))) {
                    tracing::debug!(%remote, "TCP write failed or stalled");
                    break;
                }
            }
            () = &mut idle => {
                tracing::debug!(%remote, "TCP connection idle; closing");
                break;
            }
        }
        idle.as_mut()
            .reset(tokio::time::Instant::now() + settings.idle_timeout);
    }
    let _ = context.inputs.send(Input::StreamClosed { id }).await;
    drop(permit);
    context.publish_open();
}

/// Hands every whole message buffered to the core; false when the
/// connection must close (framing error, or the core is gone).
async fn deliver_messages(
    framer: &mut StreamFramer,
    peer: Peer,
    inputs: &mpsc::Sender<Input>,
) -> bool {
    loop {
        match framer.next_message() {
            Ok(Some(message)) => {
                if inputs
                    .send(Input::StreamMessage { peer, message })
                    .await
                    .is_err()
                {
                    return false;
                }
            }
            Ok(None) => return true,
            Err(error) => {
                let reason = match error {
                    FramingError::BadContentLength => "bad_content_length",
                    FramingError::TooLarge => "too_large",
                };
                tracing::info!(remote = %peer.remote, %error, "closing TCP connection: cannot frame");
                m::tcp_framing_error(reason);
                return false;
            }
        }
    }
}
