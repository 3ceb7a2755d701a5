//! The daemon's side of media: the RTP/RTCP sockets the switch opens and
//! closes, and the control commands that need files (`play`, `collect`,
//! `record`), loaded off the core task and handed to the switch typed.
//!
//! - `rtp`: the RTP/RTCP sockets in one epoll set the core reads, and sending.
//! - `requests`: the file-backed commands and their loading.
//! - `tts`: text-to-speech through an external program, cached on disk.
//! - `resample`: the engine's WAV to 8 kHz mono.
//! - `hold`: `[media] hold_prompt`, loaded at start.
//! - `kernel`: the kernel relay (eBPF) forwarding settled bridges.
//! - `kernel_start`: loading it as `[rtp] kernel_relay` says.
//! - `adapter`: the one place naming the switch's and the control
//!   protocol's media items.

pub(crate) mod adapter;
mod hold;
pub(crate) mod kernel;
pub(crate) mod kernel_start;
mod requests;
mod resample;
mod rtp;
#[cfg(test)]
mod test_support;
mod tts;

pub(crate) use adapter::{FinishedRecording, RtpTransmit, SocketAction};
pub(crate) use hold::load_hold_prompt;
pub(crate) use requests::{Loaded, MediaFiles, MediaFilesSettings, MediaRequest};
pub(crate) use rtp::RtpSockets;
pub(crate) use tts::TtsSettings;
