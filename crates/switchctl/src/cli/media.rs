//! The media subcommands: bridging, playing, collecting, recording, DTMF.

use clap::Subcommand;
use switchd_control::{Collect, Command, Play, Record, RecordMode, SendDtmf, Voice};

/// Subcommands acting on a leg's audio (flattened into the top level).
#[derive(Debug, Clone, Subcommand, PartialEq)]
pub enum MediaCmd {
    /// Connect two answered (or early) legs' audio.
    Bridge {
        /// The leg.
        leg: String,
        /// The leg to bridge it with.
        other: String,
    },
    /// End a leg's bridge (or echo); both legs stay up.
    Unbridge {
        /// The leg.
        leg: String,
    },
    /// Play a WAV file, or speak text, to a leg.
    Play {
        /// The leg.
        leg: String,
        /// WAV file to play (a path the daemon can read).
        #[arg(long, required_unless_present = "text", conflicts_with = "text")]
        file: Option<String>,
        /// Text to speak through the daemon's TTS engine.
        #[arg(long)]
        text: Option<String>,
        /// TTS voice: male or female (the default).
        #[arg(long, value_parser = parse_wire::<Voice>)]
        voice: Option<Voice>,
        /// Times to play (default 1); 0 repeats until stop-play.
        #[arg(long = "loop", value_name = "N")]
        loops: Option<u32>,
    },
    /// Stop what play started.
    StopPlay {
        /// The leg.
        leg: String,
    },
    /// Play a prompt and collect DTMF digits (they arrive as a collect.done event).
    Collect {
        /// The leg.
        leg: String,
        /// Digits after which collection ends (1..=64).
        #[arg(long, value_name = "N")]
        max_digits: u32,
        /// Seconds allowed between digits (default 5).
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
        /// Seconds allowed before the first digit (default: --timeout).
        #[arg(long, value_name = "SECONDS")]
        first_digit_timeout: Option<f64>,
        /// Digit that ends collection early: 0-9, * or # (quote # in a shell).
        #[arg(long, value_name = "DIGIT")]
        terminator: Option<char>,
        /// Further attempts when no digit comes (default 0).
        #[arg(long, value_name = "N")]
        retries: Option<u32>,
        /// WAV played before collecting.
        #[arg(long, value_name = "FILE")]
        prompt: Option<String>,
        /// WAV played after an attempt without digits, before a retry.
        #[arg(long, value_name = "FILE")]
        timeout_prompt: Option<String>,
    },
    /// Record a leg's audio to a WAV file (on the daemon's host).
    Record {
        /// The leg.
        leg: String,
        /// File to write; in split mode, <stem>-in.wav and <stem>-out.wav.
        path: String,
        /// mixed (the default) or split.
        #[arg(long, value_parser = parse_wire::<RecordMode>)]
        mode: Option<RecordMode>,
    },
    /// Stop a leg's recording (a record.finished event follows).
    StopRecord {
        /// The leg.
        leg: String,
    },
    /// Send DTMF digits to a leg.
    SendDtmf {
        /// The leg.
        leg: String,
        /// Digits: 0-9, *, #, A-D (at most 32).
        digits: String,
        /// Seconds per digit (default 0.1).
        #[arg(long, value_name = "SECONDS")]
        duration: Option<f64>,
    },
    /// Reflect a leg's audio back to it (stop with unbridge).
    Echo {
        /// The leg.
        leg: String,
    },
}

impl MediaCmd {
    /// The protocol command this subcommand sends.
    pub fn to_command(&self) -> Command {
        match self.clone() {
            MediaCmd::Bridge { leg, other } => Command::Bridge { leg, other },
            MediaCmd::Unbridge { leg } => Command::Unbridge { leg },
            MediaCmd::Play {
                leg,
                file,
                text,
                voice,
                loops,
            } => Command::Play(Play {
                leg,
                file,
                text,
                voice,
                loops,
            }),
            MediaCmd::StopPlay { leg } => Command::StopPlay { leg },
            MediaCmd::Collect {
                leg,
                max_digits,
                timeout,
                first_digit_timeout,
                terminator,
                retries,
                prompt,
                timeout_prompt,
            } => Command::Collect(Collect {
                leg,
                max_digits,
                timeout,
                first_digit_timeout,
                terminator,
                retries,
                prompt,
                timeout_prompt,
            }),
            MediaCmd::Record { leg, path, mode } => Command::Record(Record { leg, path, mode }),
            MediaCmd::StopRecord { leg } => Command::StopRecord { leg },
            MediaCmd::SendDtmf {
                leg,
                digits,
                duration,
            } => Command::SendDtmf(SendDtmf {
                leg,
                digits,
                duration,
            }),
            MediaCmd::Echo { leg } => Command::Echo { leg },
        }
    }
}

/// A protocol enum by its wire name (`split`, `male`), as the protocol spells it.
fn parse_wire<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
