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
    /// A Via header value does not follow RFC 3261 §20.42 (`detail` says
    /// where it broke).
    #[error("malformed Via header: {detail}")]
    MalformedVia {
        /// What was wrong.
        detail: &'static str,
    },
    /// A header the operation needs is absent.
    #[error("missing {name} header")]
    MissingHeader {
        /// The header's name.
        name: &'static str,
    },
    /// A header value (CSeq, From, To, Contact, Record-Route…) could not be
    /// read.
    #[error("malformed {name} header: {detail}")]
    MalformedHeader {
        /// The header's name.
        name: &'static str,
        /// The offending value (or what was wrong with it).
        detail: String,
    },
    /// A From or To header lacks the tag a dialog needs (§12.1).
    #[error("{header} header has no tag")]
    MissingTag {
        /// `From` or `To`.
        header: &'static str,
    },
    /// A URI is not a SIP/SIPS URI this crate can use.
    #[error("invalid uri ({reason}): {uri}")]
    InvalidUri {
        /// What was wrong.
        reason: &'static str,
        /// The URI text (truncated).
        uri: String,
    },
    /// An in-dialog request has a CSeq below the last one received (§12.2.2):
    /// answer 500.
    #[error("CSeq {received} lower than the last ({last})")]
    CSeqOutOfOrder {
        /// The CSeq number received.
        received: u32,
        /// The last CSeq number seen in the dialog.
        last: u32,
    },
    /// More Record-Route entries than a dialog keeps.
    #[error("route set longer than {limit} entries")]
    TooManyRoutes {
        /// The limit.
        limit: usize,
    },
    /// A 401/407 carries no Digest challenge that can be answered.
    #[error("no usable authentication challenge: {detail}")]
    NoUsableChallenge {
        /// Why (none present, unsupported algorithm or qop, malformed).
        detail: String,
    },
    /// The server challenged again a request that already carried our
    /// credentials for that realm, without `stale=true`: they are wrong.
    #[error("credentials rejected for realm {realm:?}")]
    CredentialsRejected {
        /// The realm.
        realm: String,
    },
    /// An SDP body could not be parsed.
    #[error("malformed SDP at line {line}: {reason}")]
    MalformedSdp {
        /// 1-based line number (0: the body as a whole).
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// An SDP body exceeds one of the parser's limits.
    #[error("SDP has too many {what} (limit {limit})")]
    SdpTooLarge {
        /// What was counted (`lines`, `media`, `formats`, `attributes`).
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// No audio stream of the offer uses a codec we support: answer 488.
    #[error("no common codec")]
    NoCommonCodec,
    /// An SDP answer arrived but we have no outstanding offer.
    #[error("SDP answer without a pending offer")]
    NoPendingOffer,
    /// No address is configured in `advertised` for this transport, so no
    /// Via sent-by can be written.
    #[error("no advertised address for {transport}")]
    NoAdvertisedAddress {
        /// The transport the message was to go on.
        transport: crate::transport::Transport,
    },
    /// The request's method has its own entry point (ACK: `send_ack`,
    /// CANCEL: `cancel`).
    #[error("{method} cannot be sent with send_request; use {use_instead}")]
    WrongMethodForCall {
        /// The method given.
        method: &'static str,
        /// The endpoint method to call instead.
        use_instead: &'static str,
    },
    /// The INVITE client transaction is not one that can be cancelled (not
    /// an INVITE, already final, or already cancelled).
    #[error("transaction cannot be cancelled")]
    NotCancellable,
    /// The server transaction already sent its final response.
    #[error("transaction already answered with a final response")]
    AlreadyAnswered,
    /// `send_ack` was given an ACK that matches no 2xx received on the
    /// INVITE transaction (not an ACK, no 2xx yet, or another To tag).
    #[error("no 2xx received that this ACK acknowledges")]
    NoSuccessToAcknowledge,
}
