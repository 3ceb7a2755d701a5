use super::*;

const CLOCK: u32 = 8000;
const END_TIMEOUT: Duration = Duration::from_millis(300);

fn digit(c: char) -> Digit {
    Digit::from_char(c).unwrap()
}

fn receiver() -> Rfc4733Receiver {
    Rfc4733Receiver::new(CLOCK, END_TIMEOUT)
}

fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
    TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .encode()
}

fn drain(receiver: &mut Rfc4733Receiver) -> Vec<(char, Duration)> {
    std::iter::from_fn(|| receiver.poll_event())
        .map(|e| (e.digit.as_char(), e.duration))
        .collect()
}

/// Feeds the sender's packets, paced by their offsets from `start`.
fn feed(receiver: &mut Rfc4733Receiver, start: Instant, packets: &[EventPacket]) {
    for packet in packets {
        let at = start + Duration::from_micros(u64::from(packet.offset_ticks) * 125);
        receiver
            .handle_packet(at, packet.marker, packet.timestamp, &packet.payload)
            .unwrap();
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn payload_round_trips_and_reads_the_wire_layout() {
    let event = TelephoneEvent {
        event: 11,
        end: true,
        volume: 63,
        duration: 0x0320,
    };
    assert_eq!(event.encode(), [11, 0xbf, 0x03, 0x20]);
    assert_eq!(TelephoneEvent::decode(&event.encode()), Ok(event));
    // The reserved bit is ignored, trailing bytes too.
    let decoded = TelephoneEvent::decode(&[5, 0x4a, 0, 160, 9, 9]).unwrap();
    assert_eq!(
        (decoded.end, decoded.volume, decoded.duration),
        (false, 10, 160)
    );
    assert_eq!(decoded.digit(), Some(digit('5')));
    assert_eq!(
        TelephoneEvent {
            event: 16,
            ..decoded
        }
        .digit(),
        None
    );
    assert_eq!(
        TelephoneEvent::decode(&[1, 2, 3]),
        Err(Error::TelephoneEventTruncated { len: 3 })
    );
}

#[test]
fn sender_sequence_has_marker_updates_and_three_ends() {
    let packets = Rfc4733Sender::new(160).packets(digit('7'), 800, 5000, 10);
    assert_eq!(packets.len(), 5 + 2);
    assert!(packets[0].marker);
    assert!(packets[1..].iter().all(|p| !p.marker));
    assert!(packets.iter().all(|p| p.timestamp == 5000));
    let durations: Vec<u16> = packets
        .iter()
        .map(|p| TelephoneEvent::decode(&p.payload).unwrap().duration)
        .collect();
    assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
    let ends = packets
        .iter()
        .filter(|p| TelephoneEvent::decode(&p.payload).unwrap().end)
        .count();
    assert_eq!(ends, 3);
    let offsets: Vec<u32> = packets.iter().map(|p| p.offset_ticks).collect();
    assert_eq!(offsets, [160, 320, 480, 640, 800, 960, 1120]);
}

#[test]
fn sender_and_receiver_agree_and_triple_end_reports_once() {
    let mut rx = receiver();
    let t0 = Instant::now();
    let packets = Rfc4733Sender::new(160).packets(digit('7'), 800, 5000, 10);
    feed(&mut rx, t0, &packets);
    assert_eq!(drain(&mut rx), [('7', ms(100))]);
    assert_eq!(rx.stats().duplicates, 2);
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn missing_marker_bit_still_reports() {
    let mut rx = receiver();
    let t0 = Instant::now();
    rx.handle_packet(t0, false, 100, &payload(3, false, 160))
        .unwrap();
    rx.handle_packet(t0 + ms(20), false, 100, &payload(3, false, 320))
        .unwrap();
    rx.handle_packet(t0 + ms(40), false, 100, &payload(3, true, 480))
        .unwrap();
    assert_eq!(drain(&mut rx), [('3', ms(60))]);
}

#[test]
fn lost_end_packets_end_the_digit_when_the_next_starts() {
    let mut rx = receiver();
    let t0 = Instant::now();
    rx.handle_packet(t0, true, 1000, &payload(1, false, 160))
        .unwrap();
    rx.handle_packet(t0 + ms(20), false, 1000, &payload(1, false, 320))
        .unwrap();
    assert!(drain(&mut rx).is_empty());
    // Same key again, new timestamp, no marker: a second press.
    rx.handle_packet(t0 + ms(200), false, 2600, &payload(1, false, 160))
        .unwrap();
    assert_eq!(drain(&mut rx), [('1', ms(40))]);
    rx.handle_packet(t0 + ms(220), false, 2600, &payload(1, true, 320))
        .unwrap();
    assert_eq!(drain(&mut rx), [('1', ms(40))]);
    assert_eq!(rx.stats().ends_lost, 1);
    assert_eq!(rx.stats().digits, 2);
}

#[test]
fn lost_end_packets_end_the_digit_at_the_timeout() {
    let mut rx = receiver();
    let t0 = Instant::now();
    rx.handle_packet(t0, true, 1000, &payload(9, false, 160))
        .unwrap();
    rx.handle_packet(t0 + ms(20), false, 1000, &payload(9, false, 320))
        .unwrap();
    let deadline = rx.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + ms(20) + END_TIMEOUT);
    rx.handle_timeout(deadline - ms(1));
    assert!(drain(&mut rx).is_empty());
    rx.handle_timeout(deadline);
    assert_eq!(drain(&mut rx), [('9', ms(40))]);
    assert_eq!(rx.poll_timeout(), None);
    // The end packets arriving late are stragglers, not a new digit.
    rx.handle_packet(deadline + ms(5), false, 1000, &payload(9, true, 480))
        .unwrap();
    assert!(drain(&mut rx).is_empty());
}

#[test]
fn different_digits_back_to_back_in_order() {
    let mut rx = receiver();
    let t0 = Instant::now();
    let sender = Rfc4733Sender::new(160);
    let mut at = t0;
    for (i, key) in "0123456789*#ABCD".chars().enumerate() {
        let timestamp = 10_000 + i as u32 * 1600;
        feed(&mut rx, at, &sender.packets(digit(key), 640, timestamp, 10));
        at += ms(200);
    }
    let digits: String = drain(&mut rx).iter().map(|(c, _)| *c).collect();
    assert_eq!(digits, "0123456789*#ABCD");
}

#[test]
fn late_packet_of_an_earlier_event_is_ignored() {
    let mut rx = receiver();
    let t0 = Instant::now();
    rx.handle_packet(t0, true, 1000, &payload(4, true, 800))
        .unwrap();
    rx.handle_packet(t0 + ms(200), true, 3000, &payload(5, false, 160))
        .unwrap();
    rx.handle_packet(t0 + ms(210), false, 1000, &payload(4, false, 640))
        .unwrap();
    rx.handle_packet(t0 + ms(220), false, 3000, &payload(5, true, 320))
        .unwrap();
    let digits: String = drain(&mut rx).iter().map(|(c, _)| *c).collect();
    assert_eq!(digits, "45");
}

#[test]
fn long_event_in_segments_is_one_digit_with_its_full_duration() {
    let mut rx = receiver();
    let t0 = Instant::now();
    // 20 s at 8 kHz = 160 000 ticks: three segments.
    let packets = Rfc4733Sender::new(400).packets(digit('#'), 160_000, u32::MAX - 1000, 10);
    let timestamps: std::collections::BTreeSet<u32> = packets.iter().map(|p| p.timestamp).collect();
    assert_eq!(timestamps.len(), 3);
    feed(&mut rx, t0, &packets);
    assert_eq!(drain(&mut rx), [('#', Duration::from_secs(20))]);
    assert_eq!(rx.stats().ends_lost, 0);
}

#[test]
fn duration_field_wrapping_in_place_accumulates() {
    let mut rx = receiver();
    let t0 = Instant::now();
    let mut at = t0;
    let mut ticks: u32 = 0;
    while ticks < 70_000 {
        ticks += 400;
        at += ms(50);
        rx.handle_packet(at, ticks == 400, 42, &payload(0, false, ticks as u16))
            .unwrap();
    }
    rx.handle_packet(at, false, 42, &payload(0, true, ticks as u16))
        .unwrap();
    assert_eq!(
        drain(&mut rx),
        [('0', Duration::from_micros(u64::from(ticks) * 125))]
    );
}

#[test]
fn reordered_update_does_not_shorten_the_event() {
    let mut rx = receiver();
    let t0 = Instant::now();
    rx.handle_packet(t0, true, 7, &payload(2, false, 480))
        .unwrap();
    rx.handle_packet(t0, false, 7, &payload(2, false, 320))
        .unwrap();
    rx.handle_timeout(t0 + END_TIMEOUT);
    assert_eq!(drain(&mut rx), [('2', ms(60))]);
}

#[test]
fn non_dtmf_and_malformed_payloads_are_counted_not_reported() {
    let mut rx = receiver();
    let t0 = Instant::now();
    rx.handle_packet(t0, true, 1, &payload(16, true, 800))
        .unwrap();
    assert!(rx.handle_packet(t0, true, 1, &[1, 2]).is_err());
    assert!(rx.handle_packet(t0, true, 1, &[]).is_err());
    assert!(drain(&mut rx).is_empty());
    let stats = rx.stats();
    assert_eq!((stats.not_dtmf, stats.malformed, stats.packets), (1, 2, 3));
}

#[test]
fn random_packets_never_panic_and_stay_bounded() {
    let mut rx = receiver();
    let t0 = Instant::now();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..20_000u64 {
        let bits = next();
        let len = (bits % 7) as usize;
        let bytes = bits.to_be_bytes();
        let _ = rx.handle_packet(
            t0 + ms(i),
            bits & 1 == 0,
            (bits >> 32) as u32 % 4096,
            &bytes[..len],
        );
        if i % 3 == 0 {
            rx.handle_timeout(t0 + ms(i));
        }
    }
    assert!(rx.queue.len() <= QUEUE_CAP);
    assert!(rx.stats().digits > 0);
}

#[test]
fn timestamps_restarting_far_behind_are_new_events() {
    let mut rx = receiver();
    let t0 = Instant::now();
    rx.handle_packet(t0, true, 3_000_000, &payload(6, true, 800))
        .unwrap();
    rx.handle_packet(t0 + ms(500), true, 1_000, &payload(6, true, 800))
        .unwrap();
    assert_eq!(drain(&mut rx).len(), 2);
}

#[test]
fn reset_forgets_the_last_event() {
    let mut rx = receiver();
    let t0 = Instant::now();
    rx.handle_packet(t0, true, 500, &payload(8, true, 800))
        .unwrap();
    rx.handle_packet(t0 + ms(20), true, 500, &payload(8, true, 800))
        .unwrap();
    assert_eq!(drain(&mut rx).len(), 1);
    rx.handle_packet(t0 + ms(30), true, 900, &payload(8, false, 160))
        .unwrap();
    rx.reset();
    assert_eq!(rx.poll_timeout(), None, "the event in progress is dropped");
    // A new stream reusing the old timestamp is a new press.
    rx.handle_packet(t0 + ms(40), true, 500, &payload(8, true, 800))
        .unwrap();
    assert_eq!(drain(&mut rx), [('8', ms(100))]);
}
