use super::*;
use crate::cli::Cli;
use clap::Parser;

fn command(args: &[&str]) -> Command {
    let argv = std::iter::once("switchctl").chain(args.iter().copied());
    match Cli::try_parse_from(argv) {
        Ok(cli) => cli.command.to_command(),
        Err(e) => panic!("{args:?}: {e}"),
    }
}

fn refused(args: &[&str]) -> bool {
    let argv = std::iter::once("switchctl").chain(args.iter().copied());
    Cli::try_parse_from(argv).is_err()
}

#[test]
fn leg_only_commands_map() {
    assert_eq!(
        command(&["bridge", "a", "b"]),
        Command::Bridge {
            leg: "a".into(),
            other: "b".into()
        }
    );
    assert_eq!(
        command(&["unbridge", "a"]),
        Command::Unbridge { leg: "a".into() }
    );
    assert_eq!(
        command(&["stop-play", "a"]),
        Command::StopPlay { leg: "a".into() }
    );
    assert_eq!(
        command(&["stop-record", "a"]),
        Command::StopRecord { leg: "a".into() }
    );
    assert_eq!(command(&["echo", "a"]), Command::Echo { leg: "a".into() });
    assert!(refused(&["bridge", "a"]), "bridge needs two legs");
}

#[test]
fn play_takes_a_file_or_text() {
    assert_eq!(
        command(&["play", "a", "--file", "/p.wav", "--loop", "0"]),
        Command::Play(Play {
            leg: "a".into(),
            file: Some("/p.wav".into()),
            loops: Some(0),
            ..Play::default()
        })
    );
    assert_eq!(
        command(&["play", "a", "--text", "Hello there", "--voice", "male"]),
        Command::Play(Play {
            leg: "a".into(),
            text: Some("Hello there".into()),
            voice: Some(Voice::Male),
            ..Play::default()
        })
    );
    assert!(refused(&["play", "a"]), "one of --file/--text is required");
    assert!(refused(&["play", "a", "--file", "f", "--text", "t"]));
    assert!(refused(&["play", "a", "--text", "t", "--voice", "robot"]));
}

#[test]
fn collect_maps_every_flag() {
    let got = command(&[
        "collect",
        "a",
        "--max-digits",
        "4",
        "--timeout",
        "3",
        "--first-digit-timeout",
        "10.5",
        "--terminator",
        "#",
        "--retries",
        "2",
        "--prompt",
        "/pin.wav",
        "--timeout-prompt",
        "/again.wav",
    ]);
    let expected = Command::Collect(Collect {
        leg: "a".into(),
        max_digits: 4,
        timeout: Some(3.0),
        first_digit_timeout: Some(10.5),
        terminator: Some('#'),
        retries: Some(2),
        prompt: Some("/pin.wav".into()),
        timeout_prompt: Some("/again.wav".into()),
    });
    assert_eq!(got, expected);
    assert_eq!(
        command(&["collect", "a", "--max-digits", "1"]),
        Command::Collect(Collect {
            leg: "a".into(),
            max_digits: 1,
            ..Collect::default()
        })
    );
    assert!(refused(&["collect", "a"]), "--max-digits is required");
    assert!(refused(&[
        "collect",
        "a",
        "--max-digits",
        "4",
        "--terminator",
        "##"
    ]));
}

#[test]
fn record_and_send_dtmf_map() {
    assert_eq!(
        command(&["record", "a", "/r.wav", "--mode", "split"]),
        Command::Record(Record {
            leg: "a".into(),
            path: "/r.wav".into(),
            mode: Some(RecordMode::Split),
        })
    );
    assert_eq!(
        command(&["record", "a", "/r.wav"]),
        Command::Record(Record {
            leg: "a".into(),
            path: "/r.wav".into(),
            mode: None,
        })
    );
    assert!(refused(&["record", "a", "/r.wav", "--mode", "stereo"]));
    assert_eq!(
        command(&["send-dtmf", "a", "12#", "--duration", "0.2"]),
        Command::SendDtmf(SendDtmf {
            leg: "a".into(),
            digits: "12#".into(),
            duration: Some(0.2),
        })
    );
}
