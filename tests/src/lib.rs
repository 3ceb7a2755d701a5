//! Harness for switchd's integration tests: start the real `switchd` binary
//! on loopback ports of its own, drive it with `sipp` and the control socket,
//! and show its log when a test fails.
//!
//! Every test starts its own [`Daemon`]; ports and RTP ranges are unique per
//! daemon ([`ports`]), so tests run in parallel threads.
//!
//! # Layout
//! - [`binary`]: finding the built `switchd` and `sipp`.
//! - [`config`]: the TOML config a test daemon runs with.
//! - [`daemon`]: starting, waiting for and stopping the daemon.
//! - [`control`]: a blocking client of the control socket with event helpers.
//! - [`sipp`]: running sipp scenarios and reading their call counts.
//! - [`audio`]: an RTP peer and SIP UA of our own, μ-law, and the audio
//!   analysis (dominant frequency, correlation) that audio tests assert on.
//! - [`metrics`]: reading the daemon's Prometheus page.
//! - [`netns`]: re-running a test inside a private network namespace.
//! - [`ports`], [`scratch`]: free ports and per-test scratch directories.
#![warn(missing_docs)]
// A harness that cannot set up its test has nothing better to do than fail
// the test loudly: `expect` with a message is the error handling here.
#![allow(clippy::expect_used)]

pub mod audio;
pub mod binary;
pub mod config;
pub mod control;
pub mod daemon;
pub mod metrics;
pub mod netns;
pub mod ports;
pub mod scratch;
pub mod sipp;

pub use config::{DaemonConfig, RouteAction, TrunkConfig};
pub use control::Control;
pub use daemon::Daemon;
pub use sipp::{Sipp, SippOutcome};

/// The directory of this crate's sipp scenarios (`tests/scenarios`).
pub fn scenario_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
