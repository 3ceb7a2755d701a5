//! Parse and print of a typical INVITE with SDP through the message layer
//! (our raw pass, validation, rsip typing, printing with the body as bytes).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchd_sip::message::{ParseLimits, Parsed, encode_request, parse};

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport\r\n\
Max-Forwards: 70\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@192.0.2.10:5060;transport=udp>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n\
Supported: timer, 100rel\r\n\
User-Agent: bench/1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 153\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n";

fn sip_parse(c: &mut Criterion) {
    let limits = ParseLimits::default();
    // Benchmark the accepting path, not a refusal.
    assert!(matches!(parse(INVITE, limits), Ok(Parsed::Request(r)) if r.body.len() == 153));
    let mut group = c.benchmark_group("sip");
    group.throughput(Throughput::Bytes(INVITE.len() as u64));
    group.bench_function("parse_invite", |b| {
        b.iter(|| parse(black_box(INVITE), limits))
    });
    group.bench_function("parse_and_print_invite", |b| {
        b.iter(|| match parse(black_box(INVITE), limits) {
            Ok(Parsed::Request(request)) => Some(encode_request(&request)),
            _ => None,
        })
    });
    group.finish();
}

criterion_group!(benches, sip_parse);
criterion_main!(benches);
