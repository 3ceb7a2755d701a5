use super::*;

const SECOND: Duration = Duration::from_secs(1);

fn digit(c: char) -> Digit {
    Digit::from_char(c).unwrap()
}

/// Prompts are named by string here; the daemon uses [`Prompt`].
fn spec() -> CollectSpec<&'static str> {
    CollectSpec {
        max_digits: 4,
        timeout: 3 * SECOND,
        first_digit_timeout: 10 * SECOND,
        terminator: Some(digit('#')),
        retries: 1,
        prompt: Some("greeting"),
        timeout_prompt: Some("try-again"),
    }
}

fn events(collector: &mut Collector<&'static str>) -> Vec<CollectorEvent<&'static str>> {
    std::iter::from_fn(|| collector.poll_event()).collect()
}

fn done(digits: &str, reason: DoneReason) -> CollectorEvent<&'static str> {
    CollectorEvent::Done {
        digits: digits.to_owned(),
        reason,
    }
}

/// Advances to the collector's deadline and fires it, returning the new time.
fn fire(collector: &mut Collector<&'static str>) -> Instant {
    let deadline = collector.poll_timeout().expect("a timer is running");
    collector.handle_timeout(deadline);
    deadline
}

#[test]
fn max_digits_ends_collection_and_timers_start_after_the_prompt() {
    let mut c = Collector::new(spec());
    let t0 = Instant::now();
    c.start(t0);
    assert_eq!(events(&mut c), [CollectorEvent::PlayPrompt("greeting")]);
    assert_eq!(c.poll_timeout(), None, "no timer while the prompt plays");
    let t1 = t0 + 5 * SECOND;
    c.handle_prompt_finished(t1);
    assert_eq!(c.poll_timeout(), Some(t1 + 10 * SECOND));
    for (i, key) in "1234".chars().enumerate() {
        let at = t1 + SECOND * (i as u32 + 1);
        c.handle_digit(at, digit(key));
        if i < 3 {
            assert_eq!(c.poll_timeout(), Some(at + 3 * SECOND), "inter-digit timer");
        }
    }
    assert_eq!(events(&mut c), [done("1234", DoneReason::MaxDigits)]);
    assert!(c.is_finished());
    assert_eq!(c.poll_timeout(), None);
    c.handle_digit(t1 + 9 * SECOND, digit('5'));
    assert!(events(&mut c).is_empty(), "nothing after the end");
}

#[test]
fn digit_during_the_prompt_stops_it() {
    let mut c = Collector::new(spec());
    let t0 = Instant::now();
    c.start(t0);
    events(&mut c);
    c.handle_digit(t0 + SECOND, digit('7'));
    assert_eq!(events(&mut c), [CollectorEvent::StopPrompt]);
    assert_eq!(c.poll_timeout(), Some(t0 + 4 * SECOND));
    c.handle_prompt_finished(t0 + SECOND);
    assert_eq!(
        c.poll_timeout(),
        Some(t0 + 4 * SECOND),
        "late finish changes nothing"
    );
    fire(&mut c);
    assert_eq!(events(&mut c), [done("7", DoneReason::Timeout)]);
}

#[test]
fn terminator_ends_without_being_collected() {
    let mut c = Collector::new(spec());
    let t0 = Instant::now();
    c.start(t0);
    c.handle_prompt_finished(t0);
    c.handle_digit(t0, digit('4'));
    c.handle_digit(t0, digit('2'));
    c.handle_digit(t0, digit('#'));
    assert_eq!(
        events(&mut c),
        [
            CollectorEvent::PlayPrompt("greeting"),
            done("42", DoneReason::Terminator)
        ]
    );
}

#[test]
fn inter_digit_timeout_returns_what_was_entered() {
    let mut c = Collector::new(spec());
    let t0 = Instant::now();
    c.start(t0);
    c.handle_prompt_finished(t0);
    c.handle_digit(t0 + SECOND, digit('9'));
    let deadline = c.poll_timeout().unwrap();
    c.handle_timeout(deadline - Duration::from_millis(1));
    assert!(!c.is_finished(), "early timer call is ignored");
    fire(&mut c);
    assert_eq!(events(&mut c)[1..], [done("9", DoneReason::Timeout)]);
}

#[test]
fn silence_replays_the_timeout_prompt_then_times_out() {
    let mut c = Collector::new(CollectSpec {
        retries: 2,
        ..spec()
    });
    let t0 = Instant::now();
    c.start(t0);
    c.handle_prompt_finished(t0);
    let mut all = events(&mut c);
    for _ in 0..2 {
        let now = fire(&mut c);
        assert_eq!(
            c.poll_timeout(),
            None,
            "no timer while the retry prompt plays"
        );
        c.handle_prompt_finished(now + SECOND);
        assert_eq!(c.poll_timeout(), Some(now + 11 * SECOND));
        all.extend(events(&mut c));
    }
    fire(&mut c);
    all.extend(events(&mut c));
    assert_eq!(
        all,
        [
            CollectorEvent::PlayPrompt("greeting"),
            CollectorEvent::PlayPrompt("try-again"),
            CollectorEvent::PlayPrompt("try-again"),
            CollectorEvent::Timeout,
        ]
    );
    assert_eq!(c.retries_used(), 2);
    assert!(c.is_finished());
}

#[test]
fn retry_without_timeout_prompt_replays_the_prompt_and_digits_then_succeed() {
    let mut c = Collector::new(CollectSpec {
        timeout_prompt: None,
        ..spec()
    });
    let t0 = Instant::now();
    c.start(t0);
    c.handle_prompt_finished(t0);
    let now = fire(&mut c);
    assert_eq!(
        events(&mut c),
        [
            CollectorEvent::PlayPrompt("greeting"),
            CollectorEvent::PlayPrompt("greeting")
        ]
    );
    c.handle_digit(now + SECOND, digit('3'));
    c.handle_digit(now + SECOND, digit('#'));
    assert_eq!(
        events(&mut c),
        [
            CollectorEvent::StopPrompt,
            done("3", DoneReason::Terminator)
        ]
    );
}

#[test]
fn zero_retries_times_out_after_the_first_wait() {
    let mut c = Collector::new(CollectSpec {
        retries: 0,
        ..spec()
    });
    let t0 = Instant::now();
    c.start(t0);
    c.handle_prompt_finished(t0);
    fire(&mut c);
    assert_eq!(events(&mut c)[1..], [CollectorEvent::Timeout]);
}

#[test]
fn no_prompt_starts_the_first_digit_timer_at_once() {
    let mut c = Collector::new(CollectSpec {
        prompt: None,
        timeout_prompt: None,
        ..spec()
    });
    let t0 = Instant::now();
    c.start(t0);
    assert!(events(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), Some(t0 + 10 * SECOND));
    let t1 = fire(&mut c);
    assert_eq!(
        c.poll_timeout(),
        Some(t1 + 10 * SECOND),
        "a retry waits again"
    );
    fire(&mut c);
    assert_eq!(events(&mut c), [CollectorEvent::Timeout]);
}

#[test]
fn unlimited_digits_stop_at_the_hard_limit() {
    let mut c = Collector::new(CollectSpec {
        max_digits: 0,
        terminator: None,
        ..spec()
    });
    let t0 = Instant::now();
    c.start(t0);
    c.handle_prompt_finished(t0);
    for _ in 0..100 {
        c.handle_digit(t0, digit('1'));
    }
    match &events(&mut c)[1..] {
        [
            CollectorEvent::Done {
                digits,
                reason: DoneReason::MaxDigits,
            },
        ] => {
            assert_eq!(digits.len(), DIGIT_LIMIT)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn inputs_before_start_are_ignored() {
    let mut c = Collector::new(spec());
    let t0 = Instant::now();
    c.handle_digit(t0, digit('1'));
    c.handle_prompt_finished(t0);
    c.handle_timeout(t0 + 100 * SECOND);
    assert!(events(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), None);
}
