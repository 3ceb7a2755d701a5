//! Unix signals: SIGTERM/SIGINT end the daemon (after draining), SIGHUP
//! re-reads routes, trunks and the hold prompt from the config file.

use crate::{Config, Reloader};
use std::path::PathBuf;
use tokio::signal::unix::{SignalKind, signal};

/// Completes on the first SIGTERM or SIGINT.
pub async fn terminate() {
    let (term, int) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        }
        _ => {
            tracing::warn!("cannot watch SIGTERM; only Ctrl-C stops the daemon");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// On each SIGHUP, re-reads `path` and hands the new routes, trunks and hold
/// prompt to the switch; a config or hold prompt that does not load is
/// logged and the old settings stay.
pub(crate) async fn reload_on_sighup(path: PathBuf, reloader: Reloader) {
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot watch SIGHUP; reloading is unavailable");
        return;
    };
    while hangups.recv().await.is_some() {
        let reloaded = match Config::load(&path) {
            Ok(config) => {
                tracing::info!(file = %path.display(), "SIGHUP: reloading routes, trunks and the hold prompt (other settings need a restart)");
                reloader.reload(&config).await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = reloaded {
            tracing::error!(%error, "SIGHUP: config not reloaded; keeping the current one");
        }
    }
}
