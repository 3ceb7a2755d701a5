//! `switchctl`: talks to switchd over its control socket.
//!
//! Exit codes: 0 on success, 1 when the daemon answered with an error (or
//! refused arguments locally), 2 when it could not be reached or the
//! connection broke (and for usage errors, as clap does).

mod cli;
mod format;
mod run;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    run::run(cli::Cli::parse()).await
}
