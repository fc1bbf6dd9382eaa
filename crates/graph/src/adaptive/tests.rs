use serde_json::json;

use super::*;
use crate::request::MAX_BATCH;

/// Sends windows of `batch`-operation requests, each answered with `signal`, `rounds` times.
fn round_trips(w: &mut Window, rounds: usize, signal: Signal) {
    for _ in 0..rounds {
        let (epoch, n) = (w.epoch(), w.limit() / MAX_BATCH);
        for _ in 0..n.max(1) {
            w.on_answer(epoch, MAX_BATCH, signal);
        }
    }
}

#[test]
fn slow_start_doubles_every_round_trip_up_to_the_cap() {
    let mut w = Window::new(80, 20, 640);
    round_trips(&mut w, 1, Signal::Clear);
    assert_eq!(w.limit(), 160);
    round_trips(&mut w, 1, Signal::Clear);
    assert_eq!(w.limit(), 320);
    round_trips(&mut w, 5, Signal::Clear);
    assert_eq!(w.limit(), 640);
    assert!(w.in_slow_start());
}

#[test]
fn the_first_report_of_a_limit_ends_slow_start_with_one_halving() {
    let mut w = Window::new(320, 20, 640);
    let sent = w.epoch();
    // Sixteen batches of one window all come back with the share reported.
    for _ in 0..16 {
        w.on_answer(sent, 20, Signal::Near(0.82));
    }
    assert_eq!(w.limit(), 160, "halved once, not sixteen times");
    assert!(!w.in_slow_start());
    // Then it grows by about one batch per round trip, slower near the high water mark.
    let before = w.limit();
    round_trips(&mut w, 1, Signal::Clear);
    assert!(
        (before + 19..=before + 21).contains(&w.limit()),
        "{}",
        w.limit()
    );
    let before = w.limit();
    round_trips(&mut w, 1, Signal::Near(HIGH_WATER - 0.01));
    assert!(w.limit() - before <= 2, "{} → {}", before, w.limit());
}

#[test]
fn the_high_water_mark_and_429_shrink_once_per_round_trip() {
    let mut w = Window::new(160, 20, 640);
    w.on_answer(w.epoch(), 20, Signal::Near(0.82));
    assert_eq!(w.limit(), 80);
    let sent = w.epoch();
    w.on_answer(sent, 20, Signal::Near(0.97));
    assert!(w.limit() >= 80, "below the high water mark it still grows");
    let w80 = w.limit() as f64;
    w.on_answer(sent, 20, Signal::Near(0.99));
    w.on_answer(sent, 20, Signal::Throttled(None));
    assert_eq!(
        w.limit(),
        (w80 * NEAR_DECREASE) as usize,
        "answers to one round trip shrink it once"
    );
    // Answers to requests sent after the decrease shrink it again: a 429 halves it.
    let before = w.limit();
    w.on_answer(
        w.epoch(),
        20,
        Signal::Throttled(Some(Duration::from_secs(1))),
    );
    assert_eq!(w.limit(), before / 2);
    // Never below the floor (one full $batch).
    for _ in 0..3 {
        w.on_answer(w.epoch(), 20, Signal::Throttled(None));
    }
    assert_eq!(w.limit(), 20);
}

#[test]
fn a_429_holds_every_request_until_its_retry_after() {
    let t0 = Instant::now();
    let mut g = Gate::new(Window::new(40, 20, 640), Duration::from_secs(1));
    let Admission::Go { epoch } = g.admit(20, t0) else {
        panic!("first request goes")
    };
    assert!(matches!(g.admit(20, t0), Admission::Go { .. }));
    assert_eq!(g.admit(20, t0), Admission::Full, "window of 40 is full");
    g.answered(
        epoch,
        20,
        Signal::Throttled(Some(Duration::from_millis(2500))),
        t0,
    );
    let until = t0 + Duration::from_millis(2500);
    // Held, even though the window has room again (and whatever the window says).
    assert_eq!(
        g.admit(1, t0 + Duration::from_secs(2)),
        Admission::HoldUntil(until)
    );
    assert_eq!(
        g.admit(1, until),
        Admission::Full,
        "the other request is still out"
    );
    g.release(20);
    assert!(matches!(g.admit(1, until), Admission::Go { .. }));
    // Without Retry-After, the fallback hold.
    let mut g = Gate::new(Window::new(40, 20, 640), Duration::from_secs(1));
    let Admission::Go { epoch } = g.admit(20, t0) else {
        panic!()
    };
    g.answered(epoch, 20, Signal::Throttled(None), t0);
    assert_eq!(
        g.admit(1, t0),
        Admission::HoldUntil(t0 + Duration::from_secs(1))
    );
    assert_eq!(g.in_flight(), 0);
}

#[test]
fn a_request_larger_than_the_window_goes_alone() {
    let t0 = Instant::now();
    let mut g = Gate::new(Window::new(1, 1, 1), Duration::from_secs(1));
    assert!(matches!(g.admit(20, t0), Admission::Go { .. }));
    assert_eq!(g.admit(1, t0), Admission::Full);
}

#[test]
fn signals_are_read_from_headers_and_batch_answers() {
    let mut h = HeaderMap::new();
    assert_eq!(Signal::of(200, &h), Signal::Clear);
    h.insert(LIMIT_PERCENTAGE, "0.91".parse().unwrap());
    assert_eq!(Signal::of(200, &h), Signal::Near(0.91));
    h.insert("retry-after", "1.5".parse().unwrap());
    assert_eq!(
        Signal::of(429, &h),
        Signal::Throttled(Some(Duration::from_millis(1500)))
    );
    let body = json!({"responses": [
        {"id": "1", "status": 200, "headers": {"x-ms-throttle-limit-percentage": "0.85"}},
        {"id": "2", "status": 429, "headers": {"Retry-After": "0.250"}},
        {"id": "3", "status": 429, "headers": {"Retry-After": "0.750"}},
        {"id": "4", "status": 200},
    ]});
    assert_eq!(
        Signal::of_batch(&body),
        Signal::Throttled(Some(Duration::from_millis(750)))
    );
    let body = json!({"responses": [
        {"id": "1", "status": 200, "headers": {"X-Ms-Throttle-Limit-Percentage": "0.85"}},
        {"id": "2", "status": 200, "headers": {"x-ms-throttle-limit-percentage": "0.9"}},
    ]});
    assert_eq!(Signal::of_batch(&body), Signal::Near(0.9));
    assert_eq!(Signal::of_batch(&json!({})), Signal::Clear);
}
