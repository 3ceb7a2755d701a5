//! systemd notifications (`Type=notify`): READY once the sockets are bound,
//! STOPPING when draining starts, WATCHDOG while the core keeps turning.
//! Without `$NOTIFY_SOCKET` (not under systemd, tests) these do nothing.

use crate::core::Input;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

fn send(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "cannot notify systemd");
    }
}

/// Tells systemd the daemon is serving.
pub(crate) fn ready(status: &str) {
    send(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(status),
    ]);
}

/// Tells systemd the daemon is shutting down.
pub(crate) fn stopping() {
    send(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("draining calls"),
    ]);
}

/// Pets the watchdog every half `WatchdogSec`, but only while the core
/// answers: a wedged core must get the daemon restarted.
pub(crate) async fn watchdog(inputs: mpsc::Sender<Input>) {
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = (period / 2).max(Duration::from_millis(100));
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let (alive, answered) = oneshot::channel();
        let asked = tokio::time::timeout(every, inputs.send(Input::Heartbeat { alive }));
        if !matches!(asked.await, Ok(Ok(()))) {
            tracing::warn!("core did not take the watchdog heartbeat");
            continue;
        }
        match tokio::time::timeout(every, answered).await {
            Ok(Ok(())) => send(&[sd_notify::NotifyState::Watchdog]),
            _ => tracing::warn!("core did not answer the watchdog heartbeat"),
        }
    }
}
