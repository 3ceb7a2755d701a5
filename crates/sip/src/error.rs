//! The crate's error type.

/// Errors from the SIP core. STUB: variants are added by each module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transaction table is full.
    #[error("transaction table full ({limit} transactions)")]
    TooManyTransactions {
        /// The configured limit.
        limit: usize,
    },
    /// No such transaction (it ended, or never existed).
    #[error("no such transaction")]
    UnknownTransaction,
}
