//! Control connections that asked for events.

use crate::control::{Delivery, Outbox};
use crate::metrics as m;
use std::collections::HashMap;
use std::sync::Arc;
use switchd_control::Event;

/// Subscribed control connections by connection number. Bounded by the
/// control connection limit: one entry per connection at most.
#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    by_conn: HashMap<u64, Arc<Outbox>>,
}

impl Subscribers {
    /// Starts (or keeps) streaming events to `conn`.
    pub(crate) fn add(&mut self, conn: u64, outbox: Arc<Outbox>) {
        self.by_conn.insert(conn, outbox);
        m::subscribers(self.by_conn.len());
    }

    /// Stops streaming events to `conn`.
    pub(crate) fn remove(&mut self, conn: u64) {
        if self.by_conn.remove(&conn).is_some() {
            m::subscribers(self.by_conn.len());
        }
    }

    /// Closes every subscriber's outbox at shutdown: its writer sends what
    /// is queued (the last `leg.hungup`s) and then ends the connection.
    pub(crate) fn close_all(&mut self) {
        for (_, outbox) in self.by_conn.drain() {
            outbox.close();
        }
        m::subscribers(0);
    }

    /// Offers `event` to every subscriber without waiting for any.
    pub(crate) fn broadcast(&self, event: &Event) {
        for outbox in self.by_conn.values() {
            if outbox.push_event(event) == Delivery::GapStarted {
                m::subscriber_gap();
            }
        }
    }
}
