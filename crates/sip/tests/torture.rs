//! RFC 4475 (SIP torture tests) and RFC 5118 (IPv6 torture tests) messages
//! through `message::parse`, each against the verdict the RFCs call for, plus
//! random mutations of each proving that parsing never panics.
//!
//! The data files under `tests/torture/` were typed from the RFC texts
//! (RFC 4475 §3, RFC 5118 §4); names follow the RFCs' own file names.

use std::path::PathBuf;

use switchd_sip::message::{
    FramingError, ParseLimits, Parsed, Rejection, StreamFramer, encode_request, encode_response,
    parse, top_via,
};

/// What our message layer must do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Parsed into a typed message.
    Accept,
    /// Refused and answered with this status.
    Reject(u16),
    /// Refused silently (malformed responses).
    Drop,
}

use Verdict::{Accept, Drop, Reject};

const CASES: &[(&str, Verdict)] = &[
    // RFC 4475 §3.1.1: valid messages.
    ("wsinv", Accept),
    ("intmeth", Reject(501)), // valid, but an unknown method
    ("esc01", Accept),
    ("escnull", Accept),
    ("esc02", Reject(501)), // RE%47IST%45R is not REGISTER
    ("lwsdisp", Accept),
    ("longreq", Accept),
    ("dblreq", Accept), // the trailing INVITE is ignored (§18.3)
    ("semiuri", Accept),
    ("transports", Accept),
    ("mpart01", Accept),
    ("unreason", Accept),
    ("noreason", Accept),
    // RFC 4475 §3.1.2: invalid messages.
    ("badinv01", Reject(400)),
    ("clerr", Reject(400)),
    ("ncl", Reject(400)),
    ("scalar02", Reject(400)),
    ("scalarlg", Drop),
    ("quotbal", Reject(400)),
    ("ltgtruri", Reject(400)),
    ("lwsruri", Reject(400)),
    ("lwsstart", Reject(400)),
    ("trws", Reject(400)),
    ("escruri", Reject(400)),
    // The RFC lets an element ignore a Date it does not interpret; we never
    // read Date.
    ("baddate", Accept),
    ("regbadct", Reject(400)),
    ("badaspec", Reject(400)),
    ("baddn", Reject(400)),
    ("badvers", Reject(505)),
    ("mismatch01", Reject(400)),
    ("mismatch02", Reject(400)),
    ("bigcode", Drop),
    // RFC 4475 §3.2-3.4: transaction and application semantics. Those that
    // parse are the endpoint's to judge (420 for bext01, 415 for invut…).
    ("badbranch", Accept),
    ("insuf", Reject(400)),
    ("unkscm", Reject(416)),
    ("novelsc", Reject(416)),
    ("unksm2", Accept),
    ("bext01", Accept),
    ("invut", Accept),
    ("regaut01", Accept),
    ("multi01", Reject(400)),
    ("mcl01", Reject(400)),
    ("bcast", Accept),
    ("zeromf", Accept),
    ("cparam01", Accept),
    ("cparam02", Accept),
    ("regescrt", Accept),
    ("sdp01", Accept),
    ("inv2543", Accept),
    // RFC 5118 §4.
    ("ipv6-good", Accept),
    ("ipv6-bad", Reject(400)),
    ("port-ambiguous", Accept), // [2001:db8::10:5070] is an address, no port
    ("port-unambiguous", Accept),
    ("via-received-param-with-delim", Accept),
    ("via-received-param-no-delim", Accept),
    ("ipv6-in-sdp", Accept),
    ("mult-ip-in-header", Accept),
    ("ipv4-mapped-ipv6", Accept),
    ("ipv6-correct-abnf-2-colons", Accept),
    ("ipv6-bug-abnf-3-colons", Reject(400)),
];

/// Requests whose answer copies back a broken header other than the one
/// reported (scalar02 has a bad CSeq besides its Max-Forwards, badvers a
/// `SIP/7.0` Via besides its version).
const ANSWER_COPIES_BAD_HEADER: &[&str] = &["badvers", "scalar02"];

fn load(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "torture",
        &format!("{name}.dat"),
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn status_of(answer: &[u8]) -> Option<u16> {
    let line = answer.split(|b| *b == b'\r').next()?;
    std::str::from_utf8(line)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn every_data_file_has_a_verdict() {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "torture"]
        .iter()
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("torture dir")
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".dat")
                .map(str::to_owned)
        })
        .collect();
    files.sort();
    let mut named: Vec<String> = CASES.iter().map(|(n, _)| (*n).to_owned()).collect();
    named.sort();
    assert_eq!(files, named);
}

#[test]
fn torture_messages_get_their_verdicts() {
    let mut failures = Vec::new();
    for (name, expected) in CASES {
        let got = match parse(&load(name), ParseLimits::default()) {
            Ok(_) => Accept,
            Err(Rejection { response: None, .. }) => Drop,
            Err(Rejection {
                response: Some(answer),
                reason,
            }) => {
                // Our answers must themselves be valid responses, except
                // where they copy back the header that was wrong.
                let sound = match parse(&answer, ParseLimits::default()) {
                    Ok(Parsed::Response(_)) => true,
                    Ok(Parsed::Request(_)) => false,
                    Err(refused) => {
                        refused.reason == reason || ANSWER_COPIES_BAD_HEADER.contains(name)
                    }
                };
                assert!(
                    sound,
                    "{name} ({reason}): answer does not parse: {}",
                    String::from_utf8_lossy(&answer)
                );
                Reject(status_of(&answer).unwrap_or(0))
            }
        };
        if got != *expected {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn request(name: &str) -> rsip::Request {
    match parse(&load(name), ParseLimits::default()) {
        Ok(Parsed::Request(request)) => request,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn accepted_messages_print_back_to_the_same_message() {
    for (name, verdict) in CASES {
        if *verdict != Accept {
            continue;
        }
        match parse(&load(name), ParseLimits::default()) {
            Ok(Parsed::Request(request)) => {
                let printed = encode_request(&request);
                let again = parse(&printed, ParseLimits::default());
                assert!(
                    matches!(&again, Ok(Parsed::Request(r)) if *r == request),
                    "{name}: {again:?}\n{}",
                    String::from_utf8_lossy(&printed)
                );
            }
            Ok(Parsed::Response(response)) => {
                let printed = encode_response(&response);
                let again = parse(&printed, ParseLimits::default());
                assert!(
                    matches!(&again, Ok(Parsed::Response(r)) if r.headers == response.headers && r.body == response.body),
                    "{name}"
                );
            }
            Err(e) => panic!("{name}: {e:?}"),
        }
    }
}

#[test]
fn details_of_selected_messages() {
    // wsinv: folded, LWS-laden top Via read right.
    let wsinv = request("wsinv");
    let via = top_via(&wsinv.headers).expect("top via");
    assert_eq!(
        (via.transport.as_str(), via.host.as_str(), via.branch()),
        ("UDP", "192.0.2.2", Some("390skdjuw"))
    );
    assert_eq!(wsinv.body.len(), 150);

    // dblreq: only the REGISTER, with an empty body.
    let dblreq = request("dblreq");
    assert_eq!(dblreq.method, rsip::Method::Register);
    assert!(dblreq.body.is_empty());

    // mpart01: binary body kept byte for byte, and printed unchanged.
    let raw = load("mpart01");
    let mpart = request("mpart01");
    assert!(raw.ends_with(&mpart.body) && mpart.body.len() > 300);
    assert!(encode_request(&mpart).ends_with(&mpart.body));

    // RFC 5118: IPv6 references survive parsing and printing.
    let good = request("ipv6-good");
    assert!(encode_request(&good).starts_with(b"REGISTER sip:[2001:db8::10] SIP/2.0\r\n"));
    let unambiguous = request("port-unambiguous");
    assert_eq!(unambiguous.uri.port().map(|p| *p.value()), Some(5070));
    let via = top_via(&request("via-received-param-with-delim").headers).expect("via");
    assert_eq!(via.received(), Some("[2001:db8::9:255]"));
    assert_eq!(via.host_ip(), "2001:db8::9:1".parse().ok());

    // 501 answers carry Allow.
    let Err(Rejection {
        response: Some(answer),
        ..
    }) = parse(&load("intmeth"), ParseLimits::default())
    else {
        panic!("intmeth answered")
    };
    assert!(String::from_utf8_lossy(&answer).contains("\r\nAllow: INVITE, ACK, BYE"));
}

#[test]
fn torture_messages_frame_on_a_stream() {
    // Every message with a sound Content-Length frames exactly; dblreq's
    // trailing INVITE is a second message on a stream.
    let mut framer = StreamFramer::new(ParseLimits::default().max_message);
    let dblreq = load("dblreq");
    for chunk in dblreq.chunks(13) {
        framer.push(chunk);
    }
    let first = framer.next_message().expect("frames").expect("a message");
    assert!(first.starts_with(b"REGISTER ") && first.ends_with(b"Content-Length: 0\r\n\r\n"));
    let second = framer.next_message().expect("frames").expect("a message");
    assert!(second.starts_with(b"INVITE sip:joe@example.com"));
    assert!(matches!(
        parse(&second, ParseLimits::default()),
        Ok(Parsed::Request(_))
    ));

    let mut framer = StreamFramer::new(ParseLimits::default().max_message);
    framer.push(&load("ncl"));
    assert_eq!(framer.next_message(), Err(FramingError::BadContentLength));
}

/// xorshift64*: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b" ",
    b"\t",
    b":",
    b";",
    b",",
    b"<",
    b">",
    b"\"",
    b"\\",
    b"[",
    b"]",
    b"@",
    b"%",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"Content-Length: 99999999999999999999\r\n",
    b"l: -1\r\n",
    b"\r\n ",
    b"SIP/2.0",
    b"sip:[::1]",
    b"Via: SIP/2.0/UDP [",
    b"CSeq: 1\r\n",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
            1 => {
                let what = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(at..at, what.iter().copied());
            }
            2 => {
                let end = (at + rng.below(40)).min(out.len());
                out.drain(at..end);
            }
            3 => out.truncate(at),
            4 => {
                let end = (at + rng.below(80)).min(out.len());
                let copy: Vec<u8> = out[at..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, copy);
            }
            _ => {
                let i = rng.below(out.len() + 1);
                out.insert(i, b"\r\n :;,<>\"[]"[rng.below(11)]);
            }
        }
    }
    out
}

#[test]
fn random_mutations_never_panic() {
    // More rounds on demand: TORTURE_ROUNDS=50000 TORTURE_SEED=7 cargo test --release
    let per_message: usize = std::env::var("TORTURE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let seed: u64 = std::env::var("TORTURE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_cafe_f00d_d00d);
    let limits = ParseLimits {
        max_message: 8 * 1024,
        max_headers: 64,
    };
    let mut rng = Rng(seed | 1);
    let mut accepted = 0usize;
    for (name, _) in CASES {
        let original = load(name);
        for round in 0..per_message {
            let input = mutate(&mut rng, &original);
            let outcome = std::panic::catch_unwind(|| {
                let parsed = parse(&input, limits);
                // Whatever we accept, we print as something we accept again.
                let printed = match &parsed {
                    Ok(Parsed::Request(request)) => Some(encode_request(request)),
                    Ok(Parsed::Response(response)) => Some(encode_response(response)),
                    Err(_) => None,
                };
                if let Some(printed) = printed {
                    assert!(
                        parse(&printed, limits).is_ok(),
                        "printed form refused: {:?}",
                        String::from_utf8_lossy(&printed)
                    );
                }
                let mut framer = StreamFramer::new(limits.max_message);
                for chunk in input.chunks(1 + round % 97) {
                    framer.push(chunk);
                    while let Ok(Some(message)) = framer.next_message() {
                        let _ = parse(&message, limits);
                    }
                }
                parsed.is_ok()
            });
            match outcome {
                Ok(ok) => accepted += usize::from(ok),
                Err(_) => panic!(
                    "{name} mutation {round} panicked on {:?}",
                    String::from_utf8_lossy(&input)
                ),
            }
        }
    }
    // The mutations are mild enough that some still parse: the harness is
    // exercising the typed path too, not only the early refusals.
    assert!(
        accepted > CASES.len() * per_message / 20,
        "only {accepted} accepted"
    );
}
