//! `bare-relay`: the floor of a userspace RTP relay on this machine.
//!
//! media-load.sh runs it on the same load as switchd and rtpengine to learn
//! what receiving and forwarding alone costs, with nothing parsed or
//! rewritten. Pair i has a caller-facing port `base + 4i` and a
//! callee-facing port `base + 4i + 2` (both even, leaving the odd RTCP
//! ports free, as a real relay would). A packet on the caller-facing port
//! teaches the pair its caller's address (symmetric learning) and leaves
//! from the callee-facing port to `--callee`; a packet on the callee-facing
//! port leaves from the caller-facing port to the learned caller, or is
//! dropped while none is known.
//!
//! Two I/O models (`--mode`): `mio`, one thread draining every ready socket
//! (the leanest safe epoll relay), and `tokio`, a current-thread runtime
//! with one task per socket (switchd's I/O model without its logic).
//!
//! About every 500 ms the packet counts go to `--stats-file` as one JSON
//! line, written to a temporary file and renamed so readers never see half
//! a line. The relay ends on SIGTERM/SIGINT (their default action), after
//! `--max-seconds`, or when the stats file's directory disappears (the load
//! script removed its work directory without stopping it). Only loopback
//! addresses are accepted: this is a test tool and its traffic stays here.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Room for the largest UDP payload, so nothing is forwarded truncated.
const MAX_DATAGRAM: usize = 65_535;
/// How often the counts are written out.
const STATS_INTERVAL: Duration = Duration::from_millis(500);
/// More pairs than any load on this machine needs; bounds what is bound.
const MAX_PAIRS: usize = 4096;
/// Lifetime when `--max-seconds` is not given: longer than any load run.
const DEFAULT_MAX_SECONDS: u64 = 900;

/// Everything that stops the relay before or while it runs.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A bind or callee address off this machine.
    #[error(
        "--{option} {address} is not a loopback address: this tool's traffic stays on this machine"
    )]
    NotLoopback {
        /// The option's name.
        option: &'static str,
        /// The address refused.
        address: IpAddr,
    },
    /// An option whose value is out of range.
    #[error("--{option} {value}: expected {expected}")]
    OutOfRange {
        /// The option's name.
        option: &'static str,
        /// The value given, printed.
        value: String,
        /// What the option takes.
        expected: &'static str,
    },
    /// The port layout would run past port 65535.
    #[error("{pairs} pairs from port {base} run past port 65535")]
    PortsExhausted {
        /// The first caller-facing port.
        base: u16,
        /// The number of pairs asked for.
        pairs: usize,
    },
    /// A relay socket could not be bound.
    #[error("cannot bind {address}: {source}")]
    Bind {
        /// The address it was to be bound to.
        address: SocketAddr,
        /// Why not.
        source: io::Error,
    },
    /// The event loop's own machinery failed (poll, registration, runtime).
    #[error("{operation} failed: {source}")]
    EventLoop {
        /// What was being done.
        operation: &'static str,
        /// Why it failed.
        source: io::Error,
    },
    /// The stats file could not be written, for another reason than its
    /// directory having gone.
    #[error("cannot write {}: {source}", path.display())]
    StatsFile {
        /// The stats file.
        path: PathBuf,
        /// Why not.
        source: io::Error,
    },
}

/// Which I/O model relays the packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IoModel {
    /// One thread, one `mio::Poll`, every socket drained when ready.
    Mio,
    /// A current-thread tokio runtime, one task per socket.
    Tokio,
}

/// A UDP relay that only receives and forwards, for measuring the floor of
/// a userspace relay's CPU.
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(args_override_self = true)]
pub struct Options {
    /// Address every relay socket is bound on (loopback only).
    #[arg(long)]
    pub bind: IpAddr,
    /// The first caller-facing port (even); pair i uses base+4i and base+4i+2.
    #[arg(long)]
    pub base: u16,
    /// How many caller/callee port pairs.
    #[arg(long)]
    pub pairs: usize,
    /// Where packets from callers go (loopback only).
    #[arg(long)]
    pub callee: SocketAddr,
    /// Where the counts are written, as one JSON line, about every 500 ms.
    #[arg(long)]
    pub stats_file: PathBuf,
    /// The I/O model.
    #[arg(long, value_enum)]
    pub mode: IoModel,
    /// The relay ends by itself after this many seconds.
    #[arg(long, default_value_t = DEFAULT_MAX_SECONDS)]
    pub max_seconds: u64,
}

impl Options {
    /// Refuses what parses but must not run: addresses off this machine,
    /// counts and ports out of range.
    pub fn check(&self) -> Result<(), RelayError> {
        for (option, address) in [("bind", self.bind), ("callee", self.callee.ip())] {
            if !address.is_loopback() {
                return Err(RelayError::NotLoopback { option, address });
            }
        }
        let out_of_range = |option, value: &dyn std::fmt::Display, expected| {
            Err(RelayError::OutOfRange {
                option,
                value: value.to_string(),
                expected,
            })
        };
        if self.pairs == 0 || self.pairs > MAX_PAIRS {
            return out_of_range("pairs", &self.pairs, "1 to 4096");
        }
        if self.base == 0 || self.base % 2 == 1 {
            return out_of_range("base", &self.base, "an even port above 0");
        }
        if self.callee.port() == 0 {
            return out_of_range("callee", &self.callee, "a port above 0");
        }
        port_layout(self.base, self.pairs).map(drop)
    }
}

mod event_loops;
mod relay;
#[cfg(test)]
mod tests;

use event_loops::{run_mio, run_tokio};
use relay::{Relay, bind_pairs, port_layout};

/// Binds the pairs and relays with the chosen I/O model until told to stop.
pub fn run(options: &Options) -> Result<(), RelayError> {
    options.check()?;
    let ports = port_layout(options.base, options.pairs)?;
    let pairs = bind_pairs(options.bind, &ports)?;
    let relay = Arc::new(Relay::new(
        options.pairs,
        options.callee,
        options.stats_file.clone(),
        Duration::from_secs(options.max_seconds),
    ));
    eprintln!(
        "bare-relay: {:?}, {} pairs on {} ports {}..={}, callee {}",
        options.mode,
        options.pairs,
        options.bind,
        options.base,
        ports.last().map_or(options.base, |&(_, last)| last),
        options.callee,
    );
    match options.mode {
        IoModel::Mio => run_mio(pairs, &relay),
        IoModel::Tokio => run_tokio(pairs, relay),
    }
}

fn main() -> ExitCode {
    let options = <Options as clap::Parser>::parse();
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bare-relay: {error}");
            ExitCode::FAILURE
        }
    }
}
