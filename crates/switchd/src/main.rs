//! The `switchd` binary: arguments, config, logging, runtime; the rest is the library.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use switchd::{Config, logging, signals};

/// switchd: an embedded SIP/RTP media switch.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The config file.
    #[arg(long, short, default_value = "/etc/switchd/switchd.toml")]
    config: PathBuf,
    /// Validate the config file (and load the files it names, such as the
    /// hold prompt), print "config ok" and exit.
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("switchd: {error}");
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        if let Err(error) = switchd::check_files(&config) {
            eprintln!("switchd: {error}");
            return ExitCode::from(2);
        }
        println!("config ok");
        return ExitCode::SUCCESS;
    }
    if let Err(error) = logging::init(&config.log) {
        eprintln!("switchd: {error}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => {
            eprintln!("switchd: {}", switchd::Error::Runtime { source });
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(switchd::run(config, signals::terminate())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "switchd failed");
            eprintln!("switchd: {error}");
            ExitCode::FAILURE
        }
    }
}
