//! The crate's error type: why a command could not be applied.

use switchd_control::{ErrorCode, ReplyError};

/// Why the switch refused a command; each maps to a stable control
/// [`ErrorCode`] through [`SwitchError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    /// No leg with that id.
    #[error("no leg {leg}")]
    UnknownLeg {
        /// The id asked for.
        leg: String,
    },
    /// The leg exists but the command does not apply in its state.
    #[error("leg {leg} is {state}: cannot {command}")]
    InvalidState {
        /// The leg.
        leg: String,
        /// Its state, as written on the wire.
        state: &'static str,
        /// The command refused.
        command: &'static str,
    },
    /// A command the daemon handles itself (subscribe, unsubscribe).
    #[error("{command} is handled by the daemon, not the switch")]
    NotForSwitch {
        /// The command's wire name.
        command: &'static str,
    },
    /// An argument is well-formed but unusable.
    #[error("invalid {argument}: {detail}")]
    InvalidArgument {
        /// Which argument.
        argument: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// No trunk with that name.
    #[error("no trunk {name}")]
    UnknownTrunk {
        /// The name asked for.
        name: String,
    },
    /// A trunk with that name comes from the config file.
    #[error("trunk {name} comes from the config file")]
    TrunkExists {
        /// The name.
        name: String,
    },
    /// A table is full.
    #[error("{table} full (limit {limit})")]
    LimitReached {
        /// Which table (`legs`, `rtp_ports`, `resolves`, `transactions`).
        table: &'static str,
        /// Its configured size.
        limit: usize,
    },
    /// The switch is draining and places no new calls.
    #[error("shutting down")]
    ShuttingDown,
    /// The leg has no negotiated media (yet, or the engine refused it).
    #[error("leg {leg} has no negotiated media")]
    MediaUnavailable {
        /// The leg.
        leg: String,
    },
}

impl SwitchError {
    /// The stable error code sent to the client.
    pub fn code(&self) -> ErrorCode {
        match self {
            SwitchError::UnknownLeg { .. } => ErrorCode::UnknownLeg,
            SwitchError::InvalidState { .. } | SwitchError::NotForSwitch { .. } => {
                ErrorCode::InvalidState
            }
            SwitchError::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            SwitchError::UnknownTrunk { .. } => ErrorCode::UnknownTrunk,
            SwitchError::TrunkExists { .. } => ErrorCode::TrunkExists,
            SwitchError::LimitReached { .. } => ErrorCode::LimitReached,
            SwitchError::ShuttingDown => ErrorCode::ShuttingDown,
            SwitchError::MediaUnavailable { .. } => ErrorCode::MediaUnavailable,
        }
    }

    pub(crate) fn invalid(argument: &'static str, detail: impl Into<String>) -> Self {
        SwitchError::InvalidArgument {
            argument,
            detail: detail.into(),
        }
    }
}

impl From<SwitchError> for ReplyError {
    fn from(error: SwitchError) -> Self {
        ReplyError::new(error.code(), error.to_string())
    }
}
