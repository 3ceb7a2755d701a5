//! What the core task drives: the switch, behind a trait so the driver can
//! be tested with a scripted stand-in.

use crate::media::{FinishedRecording, RtpTransmit, SocketAction};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchd_control::ErrorCode;
use switchd_control::{Command, EventKind, ReplyBody, ReplyError, command::TrunkSpec};
use switchd_player::collector::CollectSpec;
use switchd_player::playback::Repeat;
use switchd_player::recorder::{Recorder, RecordingSummary};
use switchd_player::wav::Prompt;
use switchd_sip::{Peer, Transmit};
use switchd_switch::{
    MediaLegId, OffloadAction, OffloadCounters, ResolveRequest, Route, Switch, SwitchStats,
};

/// The sans-IO state machine the core task owns; mirrors [`Switch`].
pub(crate) trait Engine: Send + 'static {
    fn handle_datagram(&mut self, now: Instant, peer: Peer, datagram: &[u8]);
    fn handle_stream_message(&mut self, now: Instant, peer: Peer, message: &[u8]);
    fn handle_command(&mut self, now: Instant, command: Command) -> Result<ReplyBody, ReplyError>;
    fn handle_resolved(&mut self, now: Instant, token: u64, addresses: Vec<SocketAddr>);
    fn reload(&mut self, now: Instant, routes: Vec<Route>, trunks: Vec<TrunkSpec>);
    fn start_drain(&mut self, now: Instant, grace: Duration);
    fn is_drained(&self) -> bool;
    fn handle_timeout(&mut self, now: Instant);
    fn poll_timeout(&self) -> Option<Instant>;
    fn poll_transmit(&mut self) -> Option<Transmit>;
    fn poll_event(&mut self) -> Option<EventKind>;
    fn poll_resolve(&mut self) -> Option<ResolveRequest>;
    fn stats(&self) -> SwitchStats;
    /// The Call-ID of a leg, for log lines.
    fn call_id(&self, leg: &str) -> Option<&str>;

    // Media. The defaults are an engine without media: nothing to open or
    // send, and the file-backed commands refused.

    /// An RTP (even `local_port`) or RTCP (odd) packet arrived.
    fn handle_rtp(&mut self, _now: Instant, _local_port: u16, _source: SocketAddr, _packet: &[u8]) {
    }
    /// The sockets of `port` are bound.
    fn handle_socket_opened(&mut self, _now: Instant, _port: u16) {}
    /// The sockets of `port` could not be bound.
    fn handle_socket_failed(&mut self, _now: Instant, _port: u16) {}
    /// Sockets to open or close.
    fn poll_socket_action(&mut self) -> Option<SocketAction> {
        None
    }
    /// RTP/RTCP packets to send.
    fn poll_rtp_transmit(&mut self) -> Option<RtpTransmit> {
        None
    }
    /// What the kernel relay is to do.
    fn poll_offload(&mut self) -> Option<OffloadAction> {
        None
    }
    /// Counters asked by [`OffloadAction::Read`] or [`OffloadAction::Remove`].
    fn handle_offload_counters(
        &mut self,
        _now: Instant,
        _leg: MediaLegId,
        _counters: OffloadCounters,
        _removed: bool,
    ) {
    }
    /// [`OffloadAction::Install`] could not be done.
    fn handle_offload_refused(&mut self, _leg: MediaLegId) {}
    /// Read every forwarded direction's counters (before a status query).
    fn refresh_offload_counters(&mut self) {}
    /// The hold prompt changed (the config was re-read).
    fn set_hold_prompt(&mut self, _now: Instant, _prompt: Option<Prompt>) {}
    /// Recordings whose files the daemon must finish.
    fn poll_finished_recording(&mut self) -> Option<FinishedRecording> {
        None
    }
    /// A recording's files are finished (or failed).
    fn handle_recording_finished(
        &mut self,
        _now: Instant,
        _leg: &str,
        _path: PathBuf,
        _result: Result<RecordingSummary, String>,
    ) {
    }
    /// `play` with its prompt loaded.
    fn play(
        &mut self,
        _now: Instant,
        _leg: &str,
        _prompt: Prompt,
        _repeat: Repeat,
    ) -> Result<ReplyBody, ReplyError> {
        Err(no_media())
    }
    /// `collect` with its prompts loaded.
    fn collect(
        &mut self,
        _now: Instant,
        _leg: &str,
        _spec: CollectSpec<Prompt>,
    ) -> Result<ReplyBody, ReplyError> {
        Err(no_media())
    }
    /// `record` with its files created.
    fn record(
        &mut self,
        _now: Instant,
        _leg: &str,
        _recorder: Recorder,
        _paths: Vec<PathBuf>,
    ) -> Result<ReplyBody, ReplyError> {
        Err(no_media())
    }
}

fn no_media() -> ReplyError {
    ReplyError::new(ErrorCode::InvalidState, "this switch handles no media")
}

impl Engine for Switch {
    fn handle_datagram(&mut self, now: Instant, peer: Peer, datagram: &[u8]) {
        Switch::handle_datagram(self, now, peer, datagram);
    }
    fn handle_stream_message(&mut self, now: Instant, peer: Peer, message: &[u8]) {
        Switch::handle_stream_message(self, now, peer, message);
    }
    fn handle_command(&mut self, now: Instant, command: Command) -> Result<ReplyBody, ReplyError> {
        Switch::handle_command(self, now, command)
    }
    fn handle_resolved(&mut self, now: Instant, token: u64, addresses: Vec<SocketAddr>) {
        Switch::handle_resolved(self, now, token, addresses);
    }
    fn reload(&mut self, now: Instant, routes: Vec<Route>, trunks: Vec<TrunkSpec>) {
        Switch::reload(self, now, routes, trunks);
    }
    fn set_hold_prompt(&mut self, now: Instant, prompt: Option<Prompt>) {
        Switch::set_hold_prompt(self, now, prompt);
    }
    fn start_drain(&mut self, now: Instant, grace: Duration) {
        Switch::start_drain(self, now, grace);
    }
    fn is_drained(&self) -> bool {
        Switch::is_drained(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Switch::handle_timeout(self, now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Switch::poll_timeout(self)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        Switch::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<EventKind> {
        Switch::poll_event(self)
    }
    fn poll_resolve(&mut self) -> Option<ResolveRequest> {
        Switch::poll_resolve(self)
    }
    fn stats(&self) -> SwitchStats {
        Switch::stats(self)
    }
    fn call_id(&self, leg: &str) -> Option<&str> {
        Switch::call_id(self, leg)
    }
    fn handle_rtp(&mut self, now: Instant, local_port: u16, source: SocketAddr, packet: &[u8]) {
        Switch::handle_rtp(self, now, local_port, source, packet);
    }
    fn handle_socket_opened(&mut self, now: Instant, port: u16) {
        Switch::handle_socket_opened(self, now, port);
    }
    fn handle_socket_failed(&mut self, now: Instant, port: u16) {
        Switch::handle_socket_failed(self, now, port);
    }
    fn poll_socket_action(&mut self) -> Option<SocketAction> {
        Switch::poll_socket_action(self)
    }
    fn poll_rtp_transmit(&mut self) -> Option<RtpTransmit> {
        Switch::poll_rtp_transmit(self)
    }
    fn poll_finished_recording(&mut self) -> Option<FinishedRecording> {
        Switch::poll_finished_recording(self)
    }
    fn poll_offload(&mut self) -> Option<OffloadAction> {
        Switch::poll_offload(self)
    }
    fn handle_offload_counters(
        &mut self,
        now: Instant,
        leg: MediaLegId,
        counters: OffloadCounters,
        removed: bool,
    ) {
        Switch::handle_offload_counters(self, now, leg, counters, removed);
    }
    fn handle_offload_refused(&mut self, leg: MediaLegId) {
        Switch::handle_offload_refused(self, leg);
    }
    fn refresh_offload_counters(&mut self) {
        Switch::refresh_offload_counters(self);
    }
    fn handle_recording_finished(
        &mut self,
        now: Instant,
        leg: &str,
        path: PathBuf,
        result: Result<RecordingSummary, String>,
    ) {
        Switch::handle_recording_finished(self, now, leg, path, result);
    }
    fn play(
        &mut self,
        now: Instant,
        leg: &str,
        prompt: Prompt,
        repeat: Repeat,
    ) -> Result<ReplyBody, ReplyError> {
        Switch::play(self, now, leg, prompt, repeat)
    }
    fn collect(
        &mut self,
        now: Instant,
        leg: &str,
        spec: CollectSpec<Prompt>,
    ) -> Result<ReplyBody, ReplyError> {
        Switch::collect(self, now, leg, spec)
    }
    fn record(
        &mut self,
        now: Instant,
        leg: &str,
        recorder: Recorder,
        paths: Vec<PathBuf>,
    ) -> Result<ReplyBody, ReplyError> {
        Switch::record(self, now, leg, recorder, paths)
    }
}
