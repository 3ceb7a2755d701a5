//! The control protocol of switchd, shared by the daemon, `switchctl` and the
//! REST layer.
//!
//! Newline-delimited JSON over a Unix stream socket. Each request carries an
//! `id` (echoed in the reply) and a `cmd`; each reply is either
//! `{"id":…,"ok":true,…}` or `{"id":…,"ok":false,"error":{"code":…,"message":…}}`.
//! Events are lines `{"event":"leg.ringing","seq":N,…}` with a global,
//! monotonic `seq`. The full contract is `docs/control-protocol.md`.
//!
//! # Layout
//! - [`command`]: requests and the commands they carry.
//! - [`reply`]: replies, their result bodies and the stable error codes.
//! - [`event`]: events and the leg/trunk descriptions they share with replies.
//! - [`media`]: arguments of the media commands, and media values shared by
//!   events and leg descriptions.
//! - [`ring`]: the bounded ring of recent events that lets a client resume
//!   with `since`.
//! - [`codec`]: turning lines into requests (with typed errors) and back.
//! - [`validate`]: the argument checks that need no daemon state.
//! - [`error`]: what can go wrong reading the daemon's lines or talking to it.
//! - `client` (feature `client`): an async client over tokio.
#![warn(missing_docs)]

#[cfg(feature = "client")]
pub mod client;
pub mod codec;
pub mod command;
pub mod error;
pub mod event;
pub mod media;
pub mod reply;
pub mod ring;
pub mod validate;

#[cfg(feature = "client")]
pub use client::{Client, ClientError};
pub use command::{Command, Originate, Request, RequestId, TrunkSpec};
pub use error::Error;
pub use event::{Event, EventKind, HangupCause, LegDirection, LegInfo, LegState, TrunkInfo};
pub use media::{
    Collect, CollectReason, DtmfMethod, LegMediaInfo, Play, Record, RecordMode, SendDtmf, Voice,
};
pub use reply::{ErrorCode, Reply, ReplyBody, ReplyError};
pub use ring::EventRing;
