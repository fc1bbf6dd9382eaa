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
fn the_first_report_of_a_limit_ends_slow_start_and_the_trend_takes_over() {
    let mut w = Window::new(320, 20, 640);
    let sent = w.epoch();
    // Sixteen batches of one window all come back with the share reported: the first ends
    // slow start (no doubling, no decrease: one share is no trend yet); the share holding
    // steady, the others grow it as clear answers would, by about one batch per round trip.
    for _ in 0..16 {
        w.on_answer(sent, 20, Signal::Near(0.82));
    }
    assert!(!w.in_slow_start());
    assert_eq!(w.epoch(), sent, "no decrease");
    assert!((337..=340).contains(&w.limit()), "{}", w.limit());
}

/// A window that has left slow start at `share` (its trend measured from there), at `limit`.
fn after_slow_start(share: f64, limit: usize) -> Window {
    let mut w = Window::new(limit, 20, 640);
    w.on_answer(w.epoch(), 20, Signal::Near(share));
    assert_eq!(w.limit(), limit);
    w
}

#[test]
fn a_rising_share_shrinks_the_window_to_what_the_limit_leaves_before_it_is_reached() {
    // 0.80 → 0.96 over 160 operations: 0.001 per operation, so 40 more reach the limit: the
    // window shrinks to 40 / 1.5, once.
    let mut w = after_slow_start(0.80, 160);
    let sent = w.epoch();
    w.on_answer(sent, 160, Signal::Near(0.96));
    assert_eq!(w.limit(), 26);
    // Answers to that round trip change it no more.
    w.on_answer(sent, 20, Signal::Near(0.99));
    assert_eq!(w.limit(), 26);
    // A rise that leaves more than that, but under 1.5 windows: halved.
    let mut w = after_slow_start(0.80, 160);
    let sent = w.epoch();
    for share in [0.81, 0.90] {
        w.on_answer(sent, 100, Signal::Near(share));
    }
    // The first answer grew it to 172 (a change under the trend step); 200 left is under 1.5
    // windows of that, and 200 / 1.5 is more than half: halved.
    assert_eq!(w.limit(), 86);
}

#[test]
fn a_share_rising_slowly_enough_lets_the_window_grow() {
    // 0.80 → 0.82 over 400 operations: 9,000 more before the limit, far more than the window.
    let mut w = after_slow_start(0.80, 160);
    for _ in 0..19 {
        w.on_answer(w.epoch(), 20, Signal::Near(0.81));
    }
    let before = w.limit();
    w.on_answer(w.epoch(), 20, Signal::Near(0.82));
    assert!(w.limit() > before, "{before} → {}", w.limit());
}

#[test]
fn a_steady_or_falling_share_grows_it_and_a_steady_full_one_holds_it() {
    // Falling: the bucket refills faster than the window spends it.
    let mut w = after_slow_start(0.97, 100);
    let before = w.limit();
    round_trips(&mut w, 1, Signal::Near(0.95));
    assert!(w.limit() > before, "{before} → {}", w.limit());
    // Steady below the high water mark: grows as on a clear answer.
    let mut w = after_slow_start(0.90, 100);
    round_trips(&mut w, 1, Signal::Near(0.90));
    assert!((117..=121).contains(&w.limit()), "{}", w.limit());
    // Steady at it: spending what the bucket refills; held.
    let mut w = after_slow_start(HIGH_WATER, 100);
    round_trips(&mut w, 3, Signal::Near(HIGH_WATER));
    assert_eq!(w.limit(), 100);
}

#[test]
fn a_429_halves_once_per_round_trip_and_a_trend_starts_anew() {
    let mut w = after_slow_start(0.80, 160);
    let sent = w.epoch();
    w.on_answer(sent, 20, Signal::Throttled(None));
    w.on_answer(sent, 20, Signal::Throttled(None));
    assert_eq!(w.limit(), 80, "answers to one round trip halve it once");
    // Answers to requests sent after the decrease halve it again.
    w.on_answer(
        w.epoch(),
        20,
        Signal::Throttled(Some(Duration::from_secs(1))),
    );
    assert_eq!(w.limit(), 40);
    // The next report starts a trend: no decrease from a rise measured across the 429.
    w.on_answer(w.epoch(), 20, Signal::Near(0.99));
    assert_eq!(w.limit(), 40);
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
