//! The relay's rules without sockets, then both I/O models on loopback.

use super::*;
use crate::relay::Side;
use clap::Parser;
use std::net::Ipv4Addr;
use std::sync::mpsc;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn parsed(extra: &[&str]) -> Result<Options, clap::Error> {
    let mut args = vec![
        "bare-relay",
        "--bind",
        "127.0.0.1",
        "--base",
        "7200",
        "--pairs",
        "3",
        "--callee",
        "127.0.0.1:7110",
        "--stats-file",
        "/nonexistent/stats",
        "--mode",
        "mio",
    ];
    args.extend_from_slice(extra);
    Options::try_parse_from(args)
}

#[test]
fn options_parse_into_the_documented_layout() {
    let options = parsed(&["--mode", "tokio"]).unwrap();
    options.check().unwrap();
    assert_eq!(options.mode, IoModel::Tokio);
    assert_eq!(options.max_seconds, DEFAULT_MAX_SECONDS);
    assert_eq!(
        port_layout(options.base, options.pairs).unwrap(),
        [(7200, 7202), (7204, 7206), (7208, 7210)]
    );
    assert!(parsed(&["--mode", "epoll"]).is_err());
    assert!(parsed(&["--pairs", "many"]).is_err());
}

#[test]
fn addresses_off_this_machine_are_refused() {
    let refused = |extra: &[&str]| parsed(extra).unwrap().check().unwrap_err();
    assert!(matches!(
        refused(&["--bind", "10.0.0.1"]),
        RelayError::NotLoopback { option: "bind", .. }
    ));
    assert!(matches!(
        refused(&["--callee", "192.0.2.1:7110"]),
        RelayError::NotLoopback {
            option: "callee",
            ..
        }
    ));
    let v6 = parsed(&["--bind", "::1", "--callee", "[::1]:7110"]).unwrap();
    v6.check().unwrap();
    parsed(&["--bind", "127.0.0.2"]).unwrap().check().unwrap();
}

#[test]
fn counts_and_ports_out_of_range_are_refused() {
    let refused = |extra: &[&str]| parsed(extra).unwrap().check().unwrap_err();
    assert!(matches!(
        refused(&["--pairs", "0"]),
        RelayError::OutOfRange {
            option: "pairs",
            ..
        }
    ));
    assert!(matches!(
        refused(&["--pairs", "5000"]),
        RelayError::OutOfRange { .. }
    ));
    assert!(matches!(
        refused(&["--base", "7201"]),
        RelayError::OutOfRange { option: "base", .. }
    ));
    assert!(matches!(
        refused(&["--callee", "127.0.0.1:0"]),
        RelayError::OutOfRange {
            option: "callee",
            ..
        }
    ));
    // 65524 + 4 * 2 + 2 = 65534 fits; one pair more does not.
    parsed(&["--base", "65524"]).unwrap().check().unwrap();
    assert!(matches!(
        refused(&["--base", "65524", "--pairs", "4"]),
        RelayError::PortsExhausted {
            base: 65524,
            pairs: 4
        }
    ));
}

#[test]
fn callee_packets_go_to_the_last_learned_caller_and_are_dropped_before_one() {
    let callee: SocketAddr = "127.0.0.1:7110".parse().unwrap();
    let relay = Relay::new(2, callee, PathBuf::new(), Duration::from_secs(1));
    let (first, moved): (SocketAddr, SocketAddr) = (
        "127.0.0.1:7100".parse().unwrap(),
        "127.0.0.1:7102".parse().unwrap(),
    );
    assert_eq!(relay.route(0, Side::Callee, callee), None);
    assert_eq!(relay.route(0, Side::Caller, first), Some(callee));
    assert_eq!(relay.route(0, Side::Callee, callee), Some(first));
    assert_eq!(relay.route(0, Side::Caller, moved), Some(callee));
    assert_eq!(relay.route(0, Side::Callee, callee), Some(moved));
    // Pair 1 learned nothing from pair 0's caller; a pair that does not
    // exist routes nowhere.
    assert_eq!(relay.route(1, Side::Callee, callee), None);
    assert_eq!(relay.route(2, Side::Caller, first), None);
    let line = relay.stats_line(Instant::now());
    assert_eq!(field(&line, "caller_in"), 2);
    assert_eq!(field(&line, "callee_in"), 4);
    assert_eq!(field(&line, "unlearned_drops"), 2);
    assert_eq!(field(&line, "pairs_flowing"), 1);
}

/// A number from the stats line; panics when missing, failing the test.
fn field(line: &str, name: &str) -> u64 {
    let (_, rest) = line.split_once(&format!("\"{name}\":")).unwrap();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bare-relay-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Running {
    relay: Arc<Relay>,
    ended: mpsc::Receiver<Result<(), RelayError>>,
    caller_facing: SocketAddr,
    callee_facing: SocketAddr,
}

/// Runs a one-pair relay on ephemeral loopback ports in a thread.
fn start(mode: IoModel, callee: SocketAddr, stats_file: PathBuf) -> Running {
    let pairs = bind_pairs(LOCALHOST, &[(0, 0)]).unwrap();
    let caller_facing = pairs[0].caller_facing.local_addr().unwrap();
    let callee_facing = pairs[0].callee_facing.local_addr().unwrap();
    let relay = Arc::new(Relay::new(1, callee, stats_file, Duration::from_secs(30)));
    let (done, ended) = mpsc::channel();
    let shared = Arc::clone(&relay);
    std::thread::spawn(move || {
        let result = match mode {
            IoModel::Mio => run_mio(pairs, &shared),
            IoModel::Tokio => run_tokio(pairs, shared),
        };
        let _ = done.send(result);
    });
    Running {
        relay,
        ended,
        caller_facing,
        callee_facing,
    }
}

fn peer() -> UdpSocket {
    let socket = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
}

fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buffer = [0u8; 64];
    let (len, from) = socket.recv_from(&mut buffer).unwrap();
    (buffer[..len].to_vec(), from)
}

/// Waits (bounded) for the relay thread to do what the test cannot
/// observe from a socket: here real sockets and threads, not simulated
/// time, decide when that happens.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn relays_both_ways(mode: IoModel) {
    let dir = scratch_dir(&format!("both-ways-{mode:?}"));
    let (caller, callee) = (peer(), peer());
    let stats_file = dir.join("stats.json");
    let running = start(mode, callee.local_addr().unwrap(), stats_file.clone());

    // Before the caller is known, the callee's packet has nowhere to go.
    callee.send_to(b"early", running.callee_facing).unwrap();
    let drops = &running.relay.counters.unlearned_drops;
    wait_for("the unlearned drop", || drops.load(Ordering::Relaxed) == 1);

    caller.send_to(b"hello", running.caller_facing).unwrap();
    assert_eq!(receive(&callee), (b"hello".to_vec(), running.callee_facing));
    callee.send_to(b"echo", running.callee_facing).unwrap();
    // Had "early" been kept and sent once the caller was learned, it
    // would arrive here first.
    assert_eq!(receive(&caller), (b"echo".to_vec(), running.caller_facing));

    running.relay.request_stop();
    let ended = running.ended.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(ended.is_ok(), "{ended:?}");
    // The relay writes the counts at the tick that ends it.
    let line = std::fs::read_to_string(&stats_file).unwrap();
    let expected = [
        ("caller_in", 1),
        ("callee_out", 1),
        ("callee_in", 2),
        ("caller_out", 1),
        ("unlearned_drops", 1),
        ("send_errors", 0),
        ("pairs", 1),
        ("pairs_flowing", 1),
    ];
    for (name, value) in expected {
        assert_eq!(field(&line, name), value, "{name} in {line}");
    }
    assert!(line.starts_with('{') && line.ends_with("}\n"), "{line}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn mio_relays_both_ways_after_learning_the_caller() {
    relays_both_ways(IoModel::Mio);
}

#[test]
fn tokio_relays_both_ways_after_learning_the_caller() {
    relays_both_ways(IoModel::Tokio);
}

fn ends_without_its_stats_directory(mode: IoModel) {
    let dir = scratch_dir(&format!("orphan-{mode:?}"));
    let stats_file = dir.join("stats.json");
    let running = start(mode, "127.0.0.1:9".parse().unwrap(), stats_file.clone());
    wait_for("the first stats line", || stats_file.exists());
    std::fs::remove_dir_all(&dir).unwrap();
    let ended = running.ended.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(ended.is_ok(), "{ended:?}");
    assert!(
        !running.relay.should_stop(Instant::now()),
        "ended for another reason"
    );
}

#[test]
fn mio_relay_ends_when_its_stats_directory_disappears() {
    ends_without_its_stats_directory(IoModel::Mio);
}

#[test]
fn tokio_relay_ends_when_its_stats_directory_disappears() {
    ends_without_its_stats_directory(IoModel::Tokio);
}
