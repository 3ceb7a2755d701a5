//! The control socket: a Unix stream socket speaking newline-delimited JSON
//! (`docs/control-protocol.md`). Connections decode requests here and hand
//! them, one at a time, to the core.

mod connection;
mod outbox;

pub(crate) use outbox::{Delivery, Outbox};

use crate::Error;
use crate::core::Input;
use crate::metrics as m;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::UnixListener;
use tokio::sync::{Semaphore, mpsc};

/// Owner and group may connect; the socket's group is how operators grant access.
const SOCKET_MODE: u32 = 0o660;

/// Settings of the control connections.
#[derive(Debug, Clone)]
pub(crate) struct ControlSettings {
    /// Most connections at once.
    pub max_connections: usize,
    /// Longest request line.
    pub max_line: usize,
    /// Events queued per subscriber before a gap.
    pub subscriber_queue: usize,
}

/// Creates the socket's directory if missing, removes a stale socket, binds
/// and sets the mode.
pub(crate) fn bind(path: &Path) -> Result<UnixListener, Error> {
    let failed = |action: &'static str| {
        let path = path.to_owned();
        move |source| Error::ControlSocket {
            path,
            action,
            source,
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(failed("create its directory"))?;
    }
    remove_stale(path).map_err(failed("remove the stale socket"))?;
    let listener = UnixListener::bind(path).map_err(|source| Error::Bind {
        what: "control",
        address: path.display().to_string(),
        source,
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(failed("set its mode"))?;
    Ok(listener)
}

/// Removes a socket file left by an earlier run; refuses to remove anything
/// that is not a socket.
fn remove_stale(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "a file that is not a socket is in the way",
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Removes the socket file at shutdown, if it is still ours.
pub(crate) fn remove_socket(path: &Path) {
    let _ = remove_stale(path);
}

/// How long connections get at shutdown to write what is queued for them.
const FLUSH_AT_SHUTDOWN: Duration = Duration::from_millis(500);

/// Accepts control connections until `stop`, within the connection limit.
/// Connections are tasks of a set owned here: when this task is aborted at
/// shutdown, every connection closes with it.
pub(crate) async fn accept_loop(
    listener: UnixListener,
    settings: ControlSettings,
    inputs: mpsc::Sender<Input>,
    stop: Arc<tokio::sync::Notify>,
) {
    let limit = Arc::new(Semaphore::new(settings.max_connections));
    let next_conn = AtomicU64::new(1);
    let settings = Arc::new(settings);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap finished connections so the set stays within the limit.
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.notified() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "control accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!("control connection limit reached; closing");
            m::table_full("control_connections");
            continue;
        };
        let conn = next_conn.fetch_add(1, Ordering::Relaxed);
        let open = || {
            settings
                .max_connections
                .saturating_sub(limit.available_permits())
        };
        m::control_connections(open());
        let (settings, inputs, limit) = (settings.clone(), inputs.clone(), limit.clone());
        connections.spawn(async move {
            connection::serve(stream, conn, &settings, &inputs).await;
            drop(permit);
            m::control_connections(
                settings
                    .max_connections
                    .saturating_sub(limit.available_permits()),
            );
        });
    }
    // Subscribers' outboxes were closed by the core: let their writers send
    // the last events, within a bound; what is still open then is cut.
    let flushing = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(FLUSH_AT_SHUTDOWN, flushing).await;
}
