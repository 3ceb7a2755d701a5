//! The RFC 4475/5118 torture messages (from `crates/sip/tests/torture/`)
//! sent to the running daemon over UDP: it must keep answering, and answer
//! the malformed ones with the status the SIP crate's own torture test
//! expects.
//!
//! The messages name foreign hosts in Via, Contact and SDP, so the test runs
//! inside a private network namespace holding only loopback
//! ([`switchd_tests::netns`]): nothing the daemon answers can leave.

// Test helpers outside `#[test]` functions: failing loudly is their job.
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchd_tests::{Daemon, DaemonConfig, RouteAction, netns};

/// Messages the message layer refuses with an answer, and that answer's
/// status; the same verdicts as `crates/sip/tests/torture.rs`.
const REJECTED: &[(&str, u16)] = &[
    ("intmeth", 501),
    ("esc02", 501),
    ("badinv01", 400),
    ("clerr", 400),
    ("ncl", 400),
    ("scalar02", 400),
    ("quotbal", 400),
    ("ltgtruri", 400),
    ("lwsruri", 400),
    ("lwsstart", 400),
    ("trws", 400),
    ("escruri", 400),
    ("regbadct", 400),
    ("badaspec", 400),
    ("baddn", 400),
    ("badvers", 505),
    ("mismatch01", 400),
    ("mismatch02", 400),
    ("insuf", 400),
    ("unkscm", 416),
    ("novelsc", 416),
    ("multi01", 400),
    ("mcl01", 400),
    ("ipv6-bad", 400),
    ("ipv6-bug-abnf-3-colons", 400),
];

fn torture_dir() -> PathBuf {
    switchd_tests::workspace_root().join("crates/sip/tests/torture")
}

/// A header's value: the first line named `long` or `short` (any case).
fn header<'a>(message: &'a str, long: &str, short: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case(long) || name.eq_ignore_ascii_case(short)).then(|| value.trim())
    })
}

/// The port of the top Via's sent-by (5060 when it has none): where a
/// response to the message goes, on the address it came from.
fn via_port(message: &str) -> u16 {
    let Some(via) = header(message, "Via", "v") else {
        return 5060;
    };
    let sent_by = via.split(';').next().unwrap_or("");
    // "SIP/2.0/UDP host:port", with any amount of space around the slashes.
    let host_port = sent_by
        .rsplit(|c: char| c.is_whitespace())
        .find(|s| !s.is_empty())
        .unwrap_or("");
    let after_bracket = host_port
        .rsplit_once(']')
        .map_or(host_port, |(_, rest)| rest);
    after_bracket
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or(5060)
}

/// Where responses to messages with one Via port are caught, UDP and TCP.
struct Catcher {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl Catcher {
    fn bind(port: u16) -> Self {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).expect("bind UDP catcher");
        udp.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind TCP catcher");
        tcp.set_nonblocking(true).expect("nonblocking");
        Self { udp, tcp }
    }

    /// Responses arriving within `window`, stopping early at a final one
    /// for `call_id` when `stop_at_final`.
    fn collect(&self, window: Duration, call_id: Option<&str>, stop_at_final: bool) -> Vec<String> {
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while Instant::now() < deadline {
            if let Ok((n, _)) = self.udp.recv_from(&mut buf) {
                out.push(String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned());
            }
            if let Ok((mut stream, _)) = self.tcp.accept() {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let mut text = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    match stream.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => text.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                        {
                            break;
                        }
                        Err(_) => break,
                    }
                }
                out.push(String::from_utf8_lossy(&text).into_owned());
            }
            if stop_at_final && out.iter().any(|r| final_status(r, call_id).is_some()) {
                break;
            }
        }
        out
    }
}

/// The status of `response` when it is final and about `call_id` (any
/// Call-ID when the request had none).
fn final_status(response: &str, call_id: Option<&str>) -> Option<u16> {
    let status: u16 = response.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()?;
    let matches = match call_id {
        Some(id) => header(response, "Call-ID", "i") == Some(id),
        None => true,
    };
    (status >= 200 && matches).then_some(status)
}

#[test]
fn torture_messages_leave_the_daemon_answering() {
    if !netns::isolate("torture_messages_leave_the_daemon_answering") {
        return;
    }
    // INVITEs that parse get a plain rejection: no media towards foreign hosts.
    let mut daemon = Daemon::start(
        "torture",
        &DaemonConfig::with_route(RouteAction::Reject(480)),
    );
    let mut names: Vec<String> = std::fs::read_dir(torture_dir())
        .unwrap_or_else(|e| panic!("{}: {e}", torture_dir().display()))
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".dat")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 50,
        "expected the RFC 4475/5118 set, found {} files",
        names.len()
    );

    let expected: HashMap<&str, u16> = REJECTED.iter().copied().collect();
    let mut catchers: HashMap<u16, Catcher> = HashMap::new();
    let mut wrong = Vec::new();
    for name in &names {
        let bytes =
            std::fs::read(torture_dir().join(format!("{name}.dat"))).expect("read torture message");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let port = via_port(&text);
        let catcher = catchers.entry(port).or_insert_with(|| Catcher::bind(port));
        // Late answers (retransmissions) to earlier messages are not this one's.
        catcher.collect(Duration::from_millis(30), None, false);
        catcher
            .udp
            .send_to(&bytes, daemon.sip_addr())
            .expect("send torture message");
        let call_id = header(&text, "Call-ID", "i");
        let want = expected.get(name.as_str()).copied();
        let window = if want.is_some() {
            Duration::from_secs(2)
        } else {
            Duration::from_millis(150)
        };
        let responses = catcher.collect(window, call_id, want.is_some());
        if let Some(want) = want {
            let got: Vec<u16> = responses
                .iter()
                .filter_map(|r| final_status(r, call_id))
                .collect();
            if got.first() != Some(&want) {
                wrong.push(format!(
                    "{name}: want {want}, got {got:?} (all responses: {responses:?})"
                ));
            }
        }
        daemon.assert_running();
    }

    // Still alive: OPTIONS from a well-formed peer gets 200, ping answers.
    let peer = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind peer");
    peer.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let local = peer.local_addr().expect("peer addr");
    let options = format!(
        "OPTIONS sip:probe@{daemon_addr} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-torture-probe;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:tester@{local}>;tag=probe1\r\n\
         To: <sip:probe@{daemon_addr}>\r\n\
         Call-ID: torture-probe@127.0.0.1\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n",
        daemon_addr = daemon.sip_addr()
    );
    peer.send_to(options.as_bytes(), daemon.sip_addr())
        .expect("send OPTIONS");
    let mut buf = vec![0u8; 65_536];
    let status = peer.recv_from(&mut buf).ok().and_then(|(n, _)| {
        final_status(
            &String::from_utf8_lossy(buf.get(..n).unwrap_or_default()),
            None,
        )
    });
    assert_eq!(status, Some(200), "OPTIONS after the torture messages");
    daemon.control().ping();
    daemon.assert_running();
    assert!(
        wrong.is_empty(),
        "wrong answers to malformed messages:\n{}",
        wrong.join("\n")
    );
}
