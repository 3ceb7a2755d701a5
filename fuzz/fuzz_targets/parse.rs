//! Fuzzes `message::parse` and `StreamFramer` with arbitrary bytes: neither
//! may panic, and whatever parses must print and parse again.
//!
//! Run with `cargo +nightly fuzz run parse` from `fuzz/` (see Cargo.toml).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchd_sip::message::{
    ParseLimits, Parsed, StreamFramer, encode_request, encode_response, parse,
};

fuzz_target!(|data: &[u8]| {
    let limits = ParseLimits::default();
    match parse(data, limits) {
        Ok(Parsed::Request(request)) => {
            let printed = encode_request(&request);
            assert!(
                parse(&printed, limits).is_ok(),
                "printed request does not parse"
            );
        }
        Ok(Parsed::Response(response)) => {
            let printed = encode_response(&response);
            assert!(
                parse(&printed, limits).is_ok(),
                "printed response does not parse"
            );
        }
        Err(_) => {}
    }

    // The same bytes as a stream, in uneven pieces chosen by the first byte.
    let piece = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut framer = StreamFramer::new(limits.max_message);
    for chunk in data.chunks(piece) {
        framer.push(chunk);
        while let Ok(Some(message)) = framer.next_message() {
            let _ = parse(&message, limits);
        }
    }
});
