//! The crate's error type: what can go wrong reading the daemon's lines and
//! talking to it. Errors in a *request* are [`ReplyError`]s instead, because
//! they travel back to the client inside a reply.

use crate::reply::ReplyError;

/// Errors decoding replies and events, and errors of the async client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket failed (connect, read or write).
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    /// The line is not JSON.
    #[error("line is not JSON: {source}")]
    Json {
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The line is JSON but not an object.
    #[error("line is not a JSON object")]
    NotObject,
    /// A field every line of its kind carries is absent (`ok`, `error`, `event`…).
    #[error("missing field `{field}`")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// A field has the wrong shape, or a reply's body does not fit its command.
    #[error("invalid `{field}`: {detail}")]
    InvalidField {
        /// The field's name (`body` for a reply's merged fields).
        field: &'static str,
        /// What was wrong, as serde or the check said it.
        detail: String,
    },
    /// The peer sent a line longer than the limit; it was skipped.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A reply whose id matches no request in flight.
    #[error("reply with unexpected id {id}")]
    UnexpectedReply {
        /// The id as it appeared on the wire.
        id: String,
    },
    /// The daemon answered with an error.
    #[error("{0}")]
    Remote(ReplyError),
    /// The daemon closed the connection while a reply was awaited.
    #[error("connection closed by the daemon")]
    Closed,
}

impl Error {
    /// Whether the error comes from the daemon's reply rather than from
    /// talking to it (switchctl exits with 1 for these, 2 for the rest).
    pub fn is_remote(&self) -> bool {
        matches!(self, Error::Remote(_))
    }
}
