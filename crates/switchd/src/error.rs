//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that stops the daemon from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", file.display())]
    ConfigRead {
        /// The file.
        file: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The config file is not valid TOML, or a key is unknown or mistyped
    /// (the TOML error quotes the offending line and key).
    #[error("config file {}: {source}", file.display())]
    ConfigSyntax {
        /// The file.
        file: PathBuf,
        /// The parser's error, with line, column and key.
        source: Box<toml::de::Error>,
    },
    /// A config value is well-formed but not acceptable.
    #[error("config file {}: `{key}`: {reason}", file.display())]
    ConfigInvalid {
        /// The file.
        file: PathBuf,
        /// The key, as a dotted path (`rtp.port_min`, `route[2].status`).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A listening socket could not be bound.
    #[error("cannot bind {what} on {address}: {source}")]
    Bind {
        /// `sip udp`, `sip tcp`, `metrics`, `control`.
        what: &'static str,
        /// The address or path.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// Preparing the control socket's path failed (directory, stale file, mode).
    #[error("control socket {}: cannot {action}: {source}", path.display())]
    ControlSocket {
        /// The socket's path.
        path: PathBuf,
        /// What was being done (`create its directory`, `remove the stale socket`, `set its mode`).
        action: &'static str,
        /// Why.
        source: io::Error,
    },
    /// The Prometheus recorder could not be installed.
    #[error("cannot install the metrics recorder: {detail}")]
    Metrics {
        /// The exporter's message.
        detail: String,
    },
    /// Logging could not be set up (bad filter, or set up twice).
    #[error("cannot set up logging: {detail}")]
    Logging {
        /// Why.
        detail: String,
    },
    /// `[rtp] kernel_relay = "on"` and the eBPF program could not be loaded
    /// or attached.
    #[error("cannot start the kernel relay ([rtp] kernel_relay = \"on\"): {source}")]
    KernelRelay {
        /// Why.
        source: crate::media::kernel::KernelRelayError,
    },
    /// The async runtime could not be built.
    #[error("cannot start the async runtime: {source}")]
    Runtime {
        /// Why.
        source: io::Error,
    },
    /// A task the daemon cannot run without stopped.
    #[error("the {task} task stopped unexpectedly")]
    TaskFailed {
        /// Which task.
        task: &'static str,
    },
}
