//! The port layout, the sockets, and what the relay shares between them:
//! where packets go and what was counted.

use super::*;

/// The (caller-facing, callee-facing) port of each pair: `base + 4i` and
/// `base + 4i + 2`.
pub fn port_layout(base: u16, pairs: usize) -> Result<Vec<(u16, u16)>, RelayError> {
    (0..pairs)
        .map(|i| {
            let caller_facing = u16::try_from(i)
                .ok()
                .and_then(|i| i.checked_mul(4))
                .and_then(|offset| base.checked_add(offset));
            caller_facing
                .and_then(|port| Some((port, port.checked_add(2)?)))
                .ok_or(RelayError::PortsExhausted { base, pairs })
        })
        .collect()
}

/// The two bound sockets of one pair.
#[derive(Debug)]
pub struct SocketPair {
    /// Receives from and sends to the caller.
    pub caller_facing: UdpSocket,
    /// Sends to and receives from the callee.
    pub callee_facing: UdpSocket,
}

/// Binds every pair's sockets, non-blocking, on `bind`.
pub fn bind_pairs(bind: IpAddr, ports: &[(u16, u16)]) -> Result<Vec<SocketPair>, RelayError> {
    let bind_one = |port| {
        let address = SocketAddr::new(bind, port);
        UdpSocket::bind(address)
            .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
            .map_err(|source| RelayError::Bind { address, source })
    };
    ports
        .iter()
        .map(|&(caller_port, callee_port)| {
            Ok(SocketPair {
                caller_facing: bind_one(caller_port)?,
                callee_facing: bind_one(callee_port)?,
            })
        })
        .collect()
}

/// The side of a pair a socket faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The caller-facing socket.
    Caller,
    /// The callee-facing socket.
    Callee,
}

/// Packet counts, shared by the I/O model and the stats writer.
#[derive(Debug, Default)]
pub struct Counters {
    caller_in: AtomicU64,
    callee_out: AtomicU64,
    callee_in: AtomicU64,
    caller_out: AtomicU64,
    pub(crate) unlearned_drops: AtomicU64,
    send_errors: AtomicU64,
    recv_errors: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What the relay shares between its sockets: where packets go, what it
/// counted, and when it stops.
#[derive(Debug)]
pub struct Relay {
    callee: SocketAddr,
    /// Each pair's caller, as last seen on its caller-facing port.
    learned_callers: Vec<Mutex<Option<SocketAddr>>>,
    /// Whether each pair has seen a packet from its caller and its callee.
    seen: Vec<[AtomicBool; 2]>,
    pub(crate) counters: Counters,
    stats_file: PathBuf,
    started: Instant,
    /// None when the lifetime runs past what `Instant` can hold.
    deadline: Option<Instant>,
    stop: AtomicBool,
}

impl Relay {
    /// A relay of `pairs` pairs forwarding callers' packets to `callee`.
    pub fn new(pairs: usize, callee: SocketAddr, stats_file: PathBuf, lifetime: Duration) -> Self {
        let started = Instant::now();
        Self {
            callee,
            learned_callers: (0..pairs).map(|_| Mutex::new(None)).collect(),
            seen: (0..pairs).map(|_| Default::default()).collect(),
            counters: Counters::default(),
            stats_file,
            started,
            deadline: started.checked_add(lifetime),
            stop: AtomicBool::new(false),
        }
    }

    /// Counts a packet that arrived on `pair`'s `side` from `source`, and
    /// tells where to forward it; `None` drops it (no caller learned yet).
    pub fn route(&self, pair: usize, side: Side, source: SocketAddr) -> Option<SocketAddr> {
        if let Some(seen) = self.seen.get(pair) {
            let index = match side {
                Side::Caller => 0,
                Side::Callee => 1,
            };
            if let Some(flag) = seen.get(index) {
                flag.store(true, Ordering::Relaxed);
            }
        }
        let learned = self.learned_callers.get(pair)?;
        let mut learned = learned.lock().unwrap_or_else(PoisonError::into_inner);
        match side {
            Side::Caller => {
                bump(&self.counters.caller_in);
                *learned = Some(source);
                Some(self.callee)
            }
            Side::Callee => {
                bump(&self.counters.callee_in);
                if learned.is_none() {
                    bump(&self.counters.unlearned_drops);
                }
                *learned
            }
        }
    }

    /// Counts the outcome of forwarding a packet that arrived on `side`.
    pub fn sent(&self, side: Side, result: io::Result<usize>) {
        match (result, side) {
            (Ok(_), Side::Caller) => bump(&self.counters.callee_out),
            (Ok(_), Side::Callee) => bump(&self.counters.caller_out),
            (Err(_), _) => bump(&self.counters.send_errors),
        }
    }

    /// Counts a failed receive (other than "would block").
    pub fn receive_failed(&self) {
        bump(&self.counters.recv_errors);
    }

    /// Asks the event loop to end at its next stats tick.
    #[cfg(test)]
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether the relay should end now: asked to, or past its lifetime.
    pub fn should_stop(&self, now: Instant) -> bool {
        self.stop.load(Ordering::Relaxed) || self.deadline.is_some_and(|deadline| now >= deadline)
    }

    /// The counts as one line of JSON.
    pub fn stats_line(&self, now: Instant) -> String {
        let c = &self.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let flowing = self
            .seen
            .iter()
            .filter(|sides| sides.iter().all(|flag| flag.load(Ordering::Relaxed)))
            .count();
        format!(
            "{{\"caller_in\":{},\"callee_out\":{},\"callee_in\":{},\"caller_out\":{},\
             \"unlearned_drops\":{},\"send_errors\":{},\"recv_errors\":{},\
             \"pairs\":{},\"pairs_flowing\":{},\"uptime_ms\":{}}}\n",
            get(&c.caller_in),
            get(&c.callee_out),
            get(&c.callee_in),
            get(&c.caller_out),
            get(&c.unlearned_drops),
            get(&c.send_errors),
            get(&c.recv_errors),
            self.seen.len(),
            flowing,
            now.saturating_duration_since(self.started).as_millis(),
        )
    }

    /// Writes the counts; `Ok(false)` when the stats file's directory is
    /// gone, which means the relay should end.
    pub fn write_stats(&self, now: Instant) -> Result<bool, RelayError> {
        match replace_file(&self.stats_file, self.stats_line(now).as_bytes()) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(RelayError::StatsFile {
                path: self.stats_file.clone(),
                source,
            }),
        }
    }
}

/// Writes `contents` beside `path`, then renames it over `path`, so that a
/// reader sees either the old line or the new one.
fn replace_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, contents)?;
    std::fs::rename(&temporary, path)
}
