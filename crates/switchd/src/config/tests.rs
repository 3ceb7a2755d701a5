use super::*;
use crate::Error;
use std::path::Path;
use std::time::Duration;
use switchd_sip::Transport;
use switchd_switch::RouteAction;

const SHIPPED: &str = include_str!("../../../../switchd.toml");

fn parse(text: &str) -> Result<Config, Error> {
    Config::parse(text, Path::new("test.toml"))
}

/// The key named by a validation error, or the message of a syntax error.
fn complaint(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(Error::ConfigInvalid { key, .. }) => key,
        Err(Error::ConfigSyntax { source, .. }) => source.to_string(),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn shipped_file_parses_with_the_documented_defaults() {
    let config = parse(SHIPPED).unwrap();
    let defaults = Config::default();
    assert_eq!(config.sip.listen, defaults.sip.listen);
    assert_eq!(config.sip.max_tcp_connections, 1024);
    assert_eq!(config.control.event_ring, 10_000);
    assert_eq!(
        config.control.socket,
        Path::new("/run/switchd/control.sock")
    );
    assert_eq!(config.metrics.listen, "127.0.0.1:9560".parse().unwrap());
    // Nothing is contacted on a fresh machine: no trunk is enabled.
    assert!(config.trunks.is_empty());
    assert_eq!(config.switch_routes().len(), 1);
    assert_eq!(config.switch_routes()[0].action, RouteAction::Answer);
}

#[test]
fn shipped_file_states_every_default() {
    // Each uncommented value in the file must be the built-in default, so
    // that the file documents what an empty file means.
    let shipped = parse(SHIPPED).unwrap();
    let empty = parse("").unwrap();
    assert_eq!(format!("{:?}", shipped.sip), format!("{:?}", empty.sip));
    assert_eq!(format!("{:?}", shipped.rtp), format!("{:?}", empty.rtp));
    assert_eq!(format!("{:?}", shipped.calls), format!("{:?}", empty.calls));
    assert_eq!(
        format!("{:?}", shipped.control),
        format!("{:?}", empty.control)
    );
    assert_eq!(
        format!("{:?}", shipped.metrics),
        format!("{:?}", empty.metrics)
    );
    assert_eq!(format!("{:?}", shipped.log), format!("{:?}", empty.log));
    assert_eq!(format!("{:?}", shipped.media), format!("{:?}", empty.media));
}

#[test]
fn full_example_becomes_switch_settings() {
    let config = parse(
        r#"
        [sip]
        listen = ["udp:127.0.0.1:5070", "tcp:[::1]:5070"]
        advertise = "192.0.2.1"
        t1_ms = 250
        [rtp]
        port_min = 40000
        port_max = 40100
        [calls]
        park_timeout = 2.5
        [[trunk]]
        name = "carrier"
        host = "sip.example.net"
        transport = "tcp"
        username = "u"
        register = true
        [[route]]
        user = "1*"
        host = "example.com"
        action = "reject"
        status = 486
        [[route]]
        user = "*"
        action = "park"
        "#,
    )
    .unwrap();
    assert_eq!(config.sip.listen[1].transport, Transport::Tcp);
    let switch = config.switch_config(vec![(Transport::Udp, "192.0.2.1:5070".parse().unwrap())]);
    assert_eq!(switch.endpoint.t1, Duration::from_millis(250));
    assert_eq!(switch.rtp_ports, 40000..=40100);
    assert_eq!(switch.park_timeout, Duration::from_millis(2500));
    assert_eq!(switch.trunks[0].name, "carrier");
    assert_eq!(switch.routes[0].action, RouteAction::Reject { status: 486 });
    assert_eq!(switch.routes[0].host.as_deref(), Some("example.com"));
    assert_eq!(switch.routes[1].action, RouteAction::Park);
    assert_eq!(switch.endpoint.advertised.len(), 1);
}

#[test]
fn invalid_values_name_their_key() {
    let cases = [
        ("[rtp]\nport_min = 30000\nport_max = 20000", "rtp.port_max"),
        ("[rtp]\nport_min = 20001", "rtp.port_min"),
        ("[rtp]\nport_min = 80", "rtp.port_min"),
        ("[sip]\nlisten = []", "sip.listen"),
        (
            "[sip]\nlisten = [\"udp:127.0.0.1:5060\", \"udp:127.0.0.1:5060\"]",
            "sip.listen[1]",
        ),
        ("[sip]\nt1_ms = 0", "sip.t1_ms"),
        ("[sip]\ntcp_idle_timeout = -1", "sip.tcp_idle_timeout"),
        ("[calls]\ndrain_grace = nan", "calls.drain_grace"),
        ("[control]\nevent_ring = 0", "control.event_ring"),
        ("[media]\nmedia_timeout = 0", "media.media_timeout"),
        ("[media]\ntts_command = \"\"", "media.tts_command"),
        ("[media]\ntts_cache = \"\"", "media.tts_cache"),
        (
            "[media]\nprompt_cache_entries = 0",
            "media.prompt_cache_entries",
        ),
        ("[log]\nlevel = \"[[[\"", "log.level"),
        (
            "[[route]]\nuser = \"*\"\naction = \"reject\"\nstatus = 200",
            "route[0].status",
        ),
        (
            "[[route]]\nuser = \"*\"\naction = \"reject\"",
            "route[0].status",
        ),
        (
            "[[route]]\nuser = \"*\"\naction = \"answer\"\nstatus = 486",
            "route[0].status",
        ),
        (
            "[[route]]\nuser = \"\"\naction = \"answer\"",
            "route[0].user",
        ),
        (
            "[[trunk]]\nname = \"a\"\nhost = \"h\"\n[[trunk]]\nname = \"a\"\nhost = \"h2\"",
            "trunk[1].name",
        ),
        (
            "[[trunk]]\nname = \"a\"\nhost = \"h\"\ntransport = \"tls\"",
            "trunk[0].transport",
        ),
        (
            "[[trunk]]\nname = \"a\"\nhost = \"h\"\nregister = true",
            "trunk[0].username",
        ),
    ];
    for (text, key) in cases {
        assert_eq!(complaint(text), key, "for:\n{text}");
    }
}

#[test]
fn schema_errors_name_the_key() {
    let cases = [
        ("[sip]\nlisen = []", "lisen"),
        ("[sip]\nlisten = [\"sctp:0.0.0.0:5060\"]", "sctp"),
        ("[sip]\nlisten = [\"udp:nowhere\"]", "udp:nowhere"),
        ("[rtp]\nport_min = \"low\"", "port_min"),
        ("[rtp]\nkernel_relay = \"always\"", "always"),
        ("[rtp]\nkernel_relay = true", "kernel_relay"),
        ("[log]\nformat = \"xml\"", "xml"),
        ("[[route]]\nuser = \"*\"\naction = \"teleport\"", "teleport"),
        ("[media]\ntts = \"say\"", "tts"),
        (
            "[[trunk]]\nname = \"a\"\nhost = \"h\"\nsecret = \"x\"",
            "secret",
        ),
        ("[unknown]\nx = 1", "unknown"),
    ];
    for (text, needle) in cases {
        let message = complaint(text);
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
}

#[test]
fn media_settings_and_the_rtp_address() {
    let config = parse(
        r#"
        [sip]
        listen = ["tcp:127.0.0.2:5060", "udp:127.0.0.3:5060"]
        [rtp]
        port_min = 40000
        port_max = 40011
        [media]
        media_timeout = 7.5
        tts_command = "/opt/tts/bin/speak"
        tts_cache = "/var/cache/switchd/tts"
        prompt_cache_entries = 3
        media_timeout_hangup = true
        "#,
    )
    .unwrap();
    // The first UDP listen address, when [rtp] bind is unset.
    assert_eq!(
        config.media_ip(),
        "127.0.0.3".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(config.rtp_pairs(), 6);
    assert_eq!(config.media.media_timeout, 7.5);
    assert_eq!(config.media.tts_command, Path::new("/opt/tts/bin/speak"));
    assert_eq!(config.media.prompt_cache_entries, 3);
    let switch = config.switch_config(Vec::new());
    assert_eq!(switch.media_timeout, Duration::from_millis(7500));
    assert!(switch.media_timeout_hangup);
    let bound = parse("[rtp]\nbind = \"127.0.0.9\"").unwrap();
    assert_eq!(
        bound.media_ip(),
        "127.0.0.9".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(
        parse("").unwrap().media_ip(),
        "0.0.0.0".parse::<std::net::IpAddr>().unwrap()
    );
}

#[test]
fn kernel_relay_modes_and_interfaces() {
    use crate::config::KernelRelayMode;
    assert_eq!(parse("").unwrap().rtp.kernel_relay, KernelRelayMode::Auto);
    for (text, mode) in [
        ("off", KernelRelayMode::Off),
        ("auto", KernelRelayMode::Auto),
        ("on", KernelRelayMode::On),
    ] {
        let config = parse(&format!("[rtp]\nkernel_relay = \"{text}\"")).unwrap();
        assert_eq!(config.rtp.kernel_relay, mode);
    }
    let config = parse("[rtp]\nkernel_relay_interfaces = [\"eth0\", \"lo\"]").unwrap();
    assert_eq!(config.rtp.kernel_relay_interfaces, ["eth0", "lo"]);
    // The switch hands directions to the kernel only once the daemon loaded it.
    assert!(!config.switch_config(Vec::new()).offload_media);
}

#[test]
fn inband_dtmf_is_a_media_policy() {
    assert_eq!(
        parse("").unwrap().switch_config(Vec::new()).inband_dtmf,
        switchd_switch::InbandDtmf::Auto
    );
    for (text, policy) in [
        ("always", switchd_switch::InbandDtmf::Always),
        ("never", switchd_switch::InbandDtmf::Never),
        ("auto", switchd_switch::InbandDtmf::Auto),
    ] {
        let config = parse(&format!("[media]\ninband_dtmf = \"{text}\"")).unwrap();
        assert_eq!(config.switch_config(Vec::new()).inband_dtmf, policy);
    }
    assert!(parse("[media]\ninband_dtmf = \"sometimes\"").is_err());
}

#[test]
fn echo_is_a_route_action() {
    let text = "[[route]]\nuser = \"*\"\naction = \"echo\"";
    let routes = parse(text).unwrap().switch_routes();
    assert_eq!(routes[0].action, RouteAction::Echo);
}

#[test]
fn error_message_names_file_and_key() {
    let error = parse("[rtp]\nport_min = 3").unwrap_err().to_string();
    assert!(
        error.contains("test.toml") && error.contains("rtp.port_min"),
        "{error}"
    );
}

#[test]
fn load_reports_a_missing_file() {
    let error = Config::load(Path::new("/nonexistent/switchd.toml")).unwrap_err();
    assert!(matches!(error, Error::ConfigRead { .. }), "{error}");
}

#[test]
fn hold_prompt_is_optional_and_empty_means_none() {
    assert_eq!(parse("").unwrap().media.hold_prompt_path(), None);
    let empty = parse("[media]\nhold_prompt = \"\"").unwrap();
    assert_eq!(empty.media.hold_prompt_path(), None);
    let set = parse("[media]\nhold_prompt = \"/srv/moh.wav\"").unwrap();
    assert_eq!(
        set.media.hold_prompt_path(),
        Some(Path::new("/srv/moh.wav"))
    );
    // The daemon loads it; the switch config built from the file has none.
    assert!(set.switch_config(Vec::new()).hold_prompt.is_none());
}
