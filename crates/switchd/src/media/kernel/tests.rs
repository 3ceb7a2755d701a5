//! The program on the loopback interface with real sockets: forwarding and
//! the rewrite, what it leaves to the daemon, counters, removal. Needs root
//! (CAP_BPF, CAP_NET_ADMIN), as `.ci/run` has; `SWITCHD_SKIP_BPF_TESTS=1`
//! skips these elsewhere. Every packet goes to 127.0.0.1; other programs
//! on `lo` (other tests, daemons) see what this one leaves alone.

use super::*;
use std::net::UdpSocket;
use std::time::Duration;

/// The relay attached to `lo`, or `None` when told to skip.
fn relay() -> Option<KernelRelay> {
    if std::env::var_os("SWITCHD_SKIP_BPF_TESTS").is_some_and(|v| v == "1") {
        eprintln!("skipped: SWITCHD_SKIP_BPF_TESTS=1");
        return None;
    }
    match KernelRelay::load(&["lo".to_string()]) {
        Ok(relay) => Some(relay),
        Err(error) => panic!(
            "cannot load the kernel relay ({error}); these tests need root \
             (CAP_BPF, CAP_NET_ADMIN): run as root or set SWITCHD_SKIP_BPF_TESTS=1"
        ),
    }
}

fn socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind on loopback");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    socket
}

fn v4(socket: &UdpSocket) -> SocketAddrV4 {
    match socket.local_addr().expect("local address") {
        std::net::SocketAddr::V4(address) => address,
        other => panic!("not IPv4: {other}"),
    }
}

/// Whatever `socket` receives until it is quiet for 200 ms (100 at most).
fn drain(socket: &UdpSocket) -> Vec<(Vec<u8>, std::net::SocketAddr)> {
    let mut buffer = [0u8; 2048];
    let mut got = Vec::new();
    while got.len() < 100 {
        match socket.recv_from(&mut buffer) {
            Ok((len, from)) => got.push((buffer[..len].to_vec(), from)),
            Err(_) => break,
        }
    }
    got
}

fn rtp(first: u8, marker_pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![first, marker_pt];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&ts.to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

struct Legs {
    peer_a: UdpSocket,
    leg_a: UdpSocket,
    leg_b: UdpSocket,
    peer_b: UdpSocket,
}

impl Legs {
    fn new() -> Self {
        Self {
            peer_a: socket(),
            leg_a: socket(),
            leg_b: socket(),
            peer_b: socket(),
        }
    }

    fn rule(&self) -> KernelRule {
        KernelRule {
            ingress: v4(&self.leg_a),
            from: v4(&self.peer_a),
            ssrc_in: 0xA0A0,
            pt_in: 0,
            egress: v4(&self.leg_b),
            to: v4(&self.peer_b),
            pt_out: 8,
            ssrc_out: 0xB0B0,
            seq_offset: 1000,
            ts_offset: 5000,
            clock_rate: 8000,
        }
    }

    fn send(&self, packet: &[u8]) {
        self.peer_a
            .send_to(packet, self.leg_a.local_addr().expect("leg A"))
            .expect("send on loopback");
    }
}

#[test]
fn forwards_and_rewrites_a_settled_direction() {
    let Some(mut relay) = relay() else { return };
    let legs = Legs::new();
    relay.install(&legs.rule()).expect("install");
    for n in 0..20u16 {
        let marker = if n == 0 { 0x80 } else { 0 };
        let payload = [n as u8; 160];
        legs.send(&rtp(
            0x80,
            marker,
            65530u16.wrapping_add(n),
            160 * u32::from(n),
            0xA0A0,
            &payload,
        ));
        std::thread::sleep(Duration::from_millis(5));
    }
    let at_b = drain(&legs.peer_b);
    assert!(
        drain(&legs.leg_a).is_empty(),
        "leg A's socket saw forwarded packets"
    );
    assert_eq!(at_b.len(), 20);
    for (n, (packet, from)) in at_b.iter().enumerate() {
        assert_eq!(
            *from,
            legs.leg_b.local_addr().expect("leg B"),
            "source of packet {n}"
        );
        let seq = 65530u16.wrapping_add(n as u16).wrapping_add(1000);
        let ts = 160 * n as u32 + 5000;
        let marker = if n == 0 { 0x80 } else { 0 };
        let payload = [n as u8; 160];
        assert_eq!(
            packet,
            &rtp(0x80, marker | 8, seq, ts, 0xB0B0, &payload),
            "packet {n}"
        );
    }
    let counters = relay
        .read(v4(&legs.leg_a))
        .expect("read")
        .expect("installed");
    assert_eq!((counters.packets, counters.payload_bytes), (20, 3200));
    assert_eq!(
        counters.highest_seq,
        Some((65530u16.wrapping_add(19), 160 * 19))
    );
    assert!(counters.last_ns > 0);
    // 5 ms apart on a 20 ms timestamp step: the jitter estimate is some ticks.
    assert!(counters.jitter_x16 / 16 < 8000, "{counters:?}");
}

#[test]
fn leaves_everything_else_to_the_daemon() {
    let Some(mut relay) = relay() else { return };
    let legs = Legs::new();
    relay.install(&legs.rule()).expect("install");
    let stranger = socket();
    let leg_a = legs.leg_a.local_addr().expect("leg A");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("another SSRC", rtp(0x80, 0, 1, 1, 0x1234, &[1; 20])),
        (
            "a telephone-event",
            rtp(0x80, 101, 1, 1, 0xA0A0, &[1, 10, 0, 160]),
        ),
        ("CSRCs", rtp(0x81, 0, 1, 1, 0xA0A0, &[1; 20])),
        ("an extension", rtp(0x90, 0, 1, 1, 0xA0A0, &[0; 20])),
        ("padding", rtp(0xA0, 0, 1, 1, 0xA0A0, &[1; 20])),
        ("version 1", rtp(0x40, 0, 1, 1, 0xA0A0, &[1; 20])),
        ("a short datagram", vec![0x80, 0, 1, 2, 3]),
        ("garbage", vec![0xFF; 64]),
    ];
    for (what, packet) in &cases {
        legs.send(packet);
        let got = drain(&legs.leg_a);
        assert_eq!(got.len(), 1, "{what} did not reach leg A's socket");
        assert_eq!(&got[0].0, packet, "{what} was changed");
    }
    stranger
        .send_to(&rtp(0x80, 0, 1, 1, 0xA0A0, &[1; 20]), leg_a)
        .expect("send");
    assert_eq!(
        drain(&legs.leg_a).len(),
        1,
        "a stranger's packet was not left alone"
    );
    assert!(drain(&legs.peer_b).is_empty());
    let counters = relay
        .read(v4(&legs.leg_a))
        .expect("read")
        .expect("installed");
    assert_eq!(counters.packets, 0);
}

#[test]
fn removal_returns_the_final_counters_and_stops_forwarding() {
    let Some(mut relay) = relay() else { return };
    let legs = Legs::new();
    relay.install(&legs.rule()).expect("install");
    for n in 0..3u16 {
        legs.send(&rtp(0x80, 0, n, 160 * u32::from(n), 0xA0A0, &[0; 160]));
    }
    assert_eq!(drain(&legs.peer_b).len(), 3);
    let last = relay.remove(v4(&legs.leg_a)).expect("remove");
    assert_eq!(last.map(|c| c.packets), Some(3));
    assert_eq!(relay.read(v4(&legs.leg_a)).expect("read"), None);
    assert_eq!(relay.remove(v4(&legs.leg_a)).expect("remove again"), None);
    legs.send(&rtp(0x80, 0, 3, 480, 0xA0A0, &[0; 160]));
    assert_eq!(drain(&legs.leg_a).len(), 1);
    assert!(drain(&legs.peer_b).is_empty());
}

#[test]
fn a_wildcard_rule_matches_any_local_address() {
    let Some(mut relay) = relay() else { return };
    let legs = Legs::new();
    let mut rule = legs.rule();
    rule.ingress = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, rule.ingress.port());
    rule.egress = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, rule.egress.port());
    relay.install(&rule).expect("install");
    legs.send(&rtp(0x80, 0, 7, 7, 0xA0A0, &[3; 160]));
    let at_b = drain(&legs.peer_b);
    assert_eq!(at_b.len(), 1);
    // The new source address is the one the packet was sent to.
    assert_eq!(at_b[0].1, legs.leg_b.local_addr().expect("leg B"));
}

/// Set in the environment of the test re-run inside its own namespace.
const IN_NETNS: &str = "SWITCHD_KERNEL_RELAY_NETNS";

/// Runs `test` (its full libtest name) again inside a new network namespace
/// with `lo` up; true when this is that run.
fn isolated(test: &str) -> bool {
    if std::env::var_os(IN_NETNS).is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("the test executable");
    let output = std::process::Command::new("unshare")
        .args([
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(IN_NETNS, "1")
        .output()
        .expect("unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the isolated run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

fn ip(args: &str) {
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("ip {args}")])
        .status()
        .expect("ip (iproute2)");
    assert!(status.success(), "ip {args}");
}

/// A network namespace of the test's own, deleted when dropped.
struct FarNamespace(String);

impl Drop for FarNamespace {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

/// A peer on another host, as far as the relay can tell: inside a
/// namespace created here (inside another created for the test), reached
/// through a veth pair, so every packet stays inside them.
#[test]
fn forwards_to_a_peer_behind_an_interface() {
    if std::env::var_os("SWITCHD_SKIP_BPF_TESTS").is_some_and(|v| v == "1") {
        return;
    }
    if !isolated("media::kernel::tests::forwards_to_a_peer_behind_an_interface") {
        return;
    }
    let far = FarNamespace(format!("switchd-kr-{}", std::process::id()));
    ip(&format!("netns add {}", far.0));
    ip(&format!(
        "link add kr0 type veth peer name kr1 netns {}",
        far.0
    ));
    ip("addr add 10.199.0.1/24 dev kr0");
    ip("link set kr0 up");
    ip(&format!("-n {} addr add 10.199.0.2/24 dev kr1", far.0));
    ip(&format!("-n {} link set kr1 up", far.0));
    // The far end's socket, made on a thread that entered its namespace.
    let path = format!("/run/netns/{}", far.0);
    let peer_b = std::thread::spawn(move || {
        let namespace = std::fs::File::open(path).expect("the far namespace");
        nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let socket = UdpSocket::bind("10.199.0.2:0").expect("bind the far end");
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("read timeout");
        socket
    })
    .join()
    .expect("the far end's thread");
    let Some(mut relay) = relay() else { return };
    let (peer_a, leg_a) = (socket(), socket());
    let leg_b = UdpSocket::bind("0.0.0.0:0").expect("a wildcard leg B");
    let leg_b_port = leg_b.local_addr().expect("leg B").port();
    let to = v4(&peer_b);
    relay
        .install(&KernelRule {
            ingress: v4(&leg_a),
            from: v4(&peer_a),
            ssrc_in: 7,
            pt_in: 0,
            egress: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, leg_b_port),
            to,
            pt_out: 0,
            ssrc_out: 9,
            seq_offset: 1,
            ts_offset: 1,
            clock_rate: 8000,
        })
        .expect("install");
    for n in 0..5u16 {
        let packet = rtp(0x80, 0, n, u32::from(n) * 160, 7, &[n as u8; 160]);
        peer_a
            .send_to(&packet, leg_a.local_addr().expect("leg A"))
            .expect("send on loopback");
    }
    let mut buffer = [0u8; 2048];
    for n in 0..5u16 {
        let (len, from) = peer_b
            .recv_from(&mut buffer)
            .expect("a packet at the far end");
        assert_eq!(
            from,
            "10.199.0.1:0"
                .parse::<std::net::SocketAddr>()
                .map(|mut a| {
                    a.set_port(leg_b_port);
                    a
                })
                .expect("address")
        );
        let expected = rtp(0x80, 0, n + 1, u32::from(n) * 160 + 1, 9, &[n as u8; 160]);
        assert_eq!(&buffer[..len], &expected[..], "packet {n} at the far end");
    }
    assert!(drain(&leg_a).is_empty());
}
