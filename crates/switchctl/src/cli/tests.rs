use super::*;
use switchd_control::HangupCause;

fn parse(args: &[&str]) -> Cli {
    let argv = std::iter::once("switchctl").chain(args.iter().copied());
    match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => panic!("{args:?}: {e}"),
    }
}

fn command(args: &[&str]) -> Command {
    parse(args).command.to_command()
}

#[test]
fn originate_maps_every_flag() {
    let got = command(&[
        "originate",
        "sip:bob@127.0.0.1",
        "--leg",
        "call-1",
        "--from",
        "1000",
        "--display-name",
        "Alice Smith",
        "--trunk",
        "main",
        "--privacy",
        "--ring-timeout",
        "2.5",
        "--max-duration",
        "90",
        "--header",
        "X-Campaign: 42",
        "--header",
        "X-Tag:a:b",
    ]);
    let headers = BTreeMap::from([
        ("X-Campaign".to_owned(), "42".to_owned()),
        ("X-Tag".to_owned(), "a:b".to_owned()),
    ]);
    let expected = Command::Originate(Originate {
        to: "sip:bob@127.0.0.1".into(),
        leg: Some("call-1".into()),
        from: Some("1000".into()),
        display_name: Some("Alice Smith".into()),
        trunk: Some("main".into()),
        privacy: true,
        ring_timeout: Some(2.5),
        max_duration: Some(90.0),
        headers,
    });
    assert_eq!(got, expected);
}

#[test]
fn originate_defaults_leave_arguments_unset() {
    let expected = Command::Originate(Originate {
        to: "100".into(),
        ..Originate::default()
    });
    assert_eq!(command(&["originate", "100"]), expected);
}

#[test]
fn a_header_without_colon_is_refused() {
    let argv = ["switchctl", "originate", "100", "--header", "X-Campaign 42"];
    assert!(Cli::try_parse_from(argv).is_err());
    let argv = ["switchctl", "originate", "100", "--header", ": 42"];
    assert!(Cli::try_parse_from(argv).is_err());
}

#[test]
fn leg_commands_map() {
    assert_eq!(
        command(&["ring", "a"]),
        Command::Ring {
            leg: "a".into(),
            status: None
        }
    );
    assert_eq!(
        command(&["ring", "a", "--status", "183"]),
        Command::Ring {
            leg: "a".into(),
            status: Some(183)
        }
    );
    assert_eq!(
        command(&["answer", "a"]),
        Command::Answer { leg: "a".into() }
    );
    assert_eq!(
        command(&["reject", "a", "--status", "486"]),
        Command::Reject {
            leg: "a".into(),
            status: Some(486)
        }
    );
    assert_eq!(
        command(&["hangup", "a", "--cause", "user_busy"]),
        Command::Hangup {
            leg: "a".into(),
            cause: Some(HangupCause::UserBusy)
        }
    );
    assert_eq!(
        command(&["hangup", "a"]),
        Command::Hangup {
            leg: "a".into(),
            cause: None
        }
    );
    assert_eq!(command(&["leg", "a"]), Command::Leg { leg: "a".into() });
    assert!(Cli::try_parse_from(["switchctl", "hangup", "a", "--cause", "bored"]).is_err());
}

#[test]
fn listing_and_event_commands_map() {
    assert_eq!(command(&["ping"]), Command::Ping);
    assert_eq!(command(&["legs"]), Command::Legs);
    assert_eq!(command(&["trunks"]), Command::Trunks);
    assert_eq!(command(&["stats"]), Command::Stats);
    assert_eq!(command(&["events"]), Command::Subscribe { since: None });
    assert_eq!(
        command(&["events", "--since", "41"]),
        Command::Subscribe { since: Some(41) }
    );
}

#[test]
fn trunk_commands_map() {
    let got = command(&[
        "trunk-add",
        "main",
        "--host",
        "127.0.0.1",
        "--port",
        "5080",
        "--transport",
        "tcp",
        "--username",
        "u",
        "--password",
        "p",
        "--auth-user",
        "au",
        "--register",
        "--register-expires",
        "600",
    ]);
    let expected = Command::TrunkAdd(TrunkSpec {
        name: "main".into(),
        host: "127.0.0.1".into(),
        port: Some(5080),
        transport: Some("tcp".into()),
        username: Some("u".into()),
        password: Some("p".into()),
        auth_user: Some("au".into()),
        register: true,
        register_expires: Some(600),
    });
    assert_eq!(got, expected);
    assert!(
        Cli::try_parse_from(["switchctl", "trunk-add", "main"]).is_err(),
        "--host is required"
    );
    assert_eq!(
        command(&["trunk-remove", "main"]),
        Command::TrunkRemove {
            name: "main".into()
        }
    );
}

#[test]
fn socket_and_json_are_global_with_a_default() {
    let cli = parse(&["legs"]);
    if std::env::var_os("SWITCHD_SOCKET").is_none() {
        assert_eq!(cli.socket, PathBuf::from(DEFAULT_SOCKET));
    }
    assert!(!cli.json);
    let cli = parse(&["legs", "--json", "--socket", "/tmp/s.sock"]);
    assert_eq!((cli.socket, cli.json), (PathBuf::from("/tmp/s.sock"), true));
    let cli = parse(&["--socket", "/tmp/t.sock", "ping"]);
    assert_eq!(cli.socket, PathBuf::from("/tmp/t.sock"));
}
