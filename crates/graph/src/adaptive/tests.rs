use serde_json::json;

use super::*;
use crate::request::MAX_BATCH;

/// Made-up instants: round trips of [`RTT`] from a start.
const RTT: Duration = Duration::from_millis(50);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Requests of the current epoch sent at `at`.
fn sent(w: &Window, at: Instant) -> Sent {
    Sent {
        epoch: w.epoch(),
        at,
    }
}

/// The answer to `ops` operations sent one round trip before `at`.
fn answer(w: &mut Window, at: Instant, ops: usize, signal: Signal) {
    let s = sent(w, at - RTT);
    w.on_answer(s, ops, signal, at);
}

/// Sends windows of `MAX_BATCH`-operation requests from `*at`, each answered with `signal` one
/// round trip later, `rounds` times; `*at` moves on.
fn round_trips(w: &mut Window, at: &mut Instant, rounds: usize, signal: Signal) {
    for _ in 0..rounds {
        let (s, n) = (sent(w, *at), w.limit() / MAX_BATCH);
        *at += RTT;
        for _ in 0..n.max(1) {
            w.on_answer(s, MAX_BATCH, signal, *at);
        }
    }
}

#[test]
fn until_the_first_answer_one_batch_goes_then_a_clear_one_opens_the_window() {
    let t0 = Instant::now();
    let mut g = Gate::new(Window::new(80, 20, 640), ms(1000));
    let Admission::Go(first) = g.admit(20, t0) else {
        panic!("the first request goes")
    };
    assert_eq!(
        g.admit(20, t0),
        Admission::Full,
        "one $batch until an answer"
    );
    g.answered(first, 20, Signal::Clear, t0 + RTT);
    // Opened to the initial 80, and slow start counts the answer.
    assert_eq!(g.window.limit(), 100);
    assert!(g.window.in_slow_start());
}

#[test]
fn a_first_answer_from_a_spent_bucket_keeps_the_window_at_one_batch() {
    let t0 = Instant::now();
    let mut w = Window::new(80, 20, 640);
    answer(&mut w, t0 + RTT, 20, Signal::Near(1.0));
    assert_eq!(w.limit(), 20);
    assert!(!w.in_slow_start());
    let mut w = Window::new(80, 20, 640);
    answer(&mut w, t0 + RTT, 20, Signal::Throttled(None));
    assert_eq!(w.limit(), 20);
}

#[test]
fn slow_start_doubles_every_round_trip_up_to_the_cap() {
    let mut at = Instant::now();
    let mut w = Window::new(80, 20, 640);
    answer(&mut w, at, 20, Signal::Clear);
    assert_eq!(w.limit(), 100);
    round_trips(&mut w, &mut at, 1, Signal::Clear);
    assert_eq!(w.limit(), 200);
    round_trips(&mut w, &mut at, 1, Signal::Clear);
    assert_eq!(w.limit(), 400);
    round_trips(&mut w, &mut at, 5, Signal::Clear);
    assert_eq!(w.limit(), 640);
    assert!(w.in_slow_start());
}

/// A window that has left slow start at `share`, reported at `at`, at `limit` (opened to it by
/// a first clear answer of no size).
fn after_slow_start(share: f64, limit: usize, at: Instant) -> Window {
    let mut w = Window::new(limit, 20, 640);
    answer(&mut w, at, 0, Signal::Clear);
    w.limit = limit as f64;
    answer(&mut w, at, 20, Signal::Near(share));
    assert_eq!(w.limit(), limit);
    assert!(!w.in_slow_start());
    w
}

#[test]
fn the_first_report_of_a_limit_ends_slow_start_and_one_share_caps_nothing() {
    let t0 = Instant::now();
    let mut w = after_slow_start(0.82, 320, t0);
    // Fifteen more batches come back at once with the share: no cost is known (the bucket has
    // not moved by the trend step), so they grow it as clear answers would, by about one
    // batch per round trip.
    for _ in 0..15 {
        answer(&mut w, t0, 20, Signal::Near(0.82));
    }
    assert_eq!(w.cost(), None);
    assert!((337..=340).contains(&w.limit()), "{}", w.limit());
}

#[test]
fn the_cost_of_an_operation_comes_from_the_bucket_s_movement_and_caps_the_window() {
    let t0 = Instant::now();
    let mut w = after_slow_start(0.80, 320, t0);
    // 0.80 → 0.96 in 100 ms over 160 operations: the bucket moved 0.16 + 0.01 refilled.
    answer(&mut w, t0 + ms(100), 160, Signal::Near(0.96));
    let cost = w.cost().expect("measured");
    assert!((cost - 0.17 / 160.0).abs() < 1e-12, "{cost}");
    // What is left (0.04, less 0.005 of rounding) plus one round trip's refill (0.005), over
    // the cost and the margin: 0.04 / 0.0010625 / 1.25 = 30.1 operations.
    assert_eq!(w.limit(), 30);
}

#[test]
fn a_throttle_bound_run_keeps_in_flight_what_the_bucket_refills() {
    let mut at = Instant::now();
    let mut w = after_slow_start(HIGH_WATER, 40, at);
    // The share holds at the high water mark: 40 operations a round trip spend what refills.
    // Until the cost is known, the window is held.
    round_trips(&mut w, &mut at, 7, Signal::Near(HIGH_WATER));
    assert_eq!((w.cost(), w.limit()), (None, 40));
    // At 0.4 s the refill alone has moved the bucket by the trend step: 0.04 over the 300
    // operations answered since, 7,500 operations to the limit.
    round_trips(&mut w, &mut at, 1, Signal::Near(HIGH_WATER));
    let cost = w.cost().expect("measured");
    assert!((cost - 0.04 / 300.0).abs() < 1e-12, "{cost}");
    // Capped at (0.005 left + 0.005 refilled per round trip) / cost / 1.25 = 60, growing to it
    // by a batch per round trip.
    round_trips(&mut w, &mut at, 5, Signal::Near(HIGH_WATER));
    assert_eq!(w.limit(), 60);
    // The limit reached: only the refill of one round trip may be in flight.
    answer(&mut w, at, 20, Signal::Near(1.0));
    assert_eq!(w.limit(), 30);
    // A falling share lifts the cap, but the window grows back additively, not at once.
    answer(&mut w, at, 20, Signal::Near(0.95));
    assert_eq!(w.limit(), 43);
}

#[test]
fn a_429_halves_once_per_round_trip_and_a_measure_starts_anew() {
    let t0 = Instant::now();
    let mut w = after_slow_start(0.80, 160, t0);
    let s = sent(&w, t0);
    w.on_answer(s, 20, Signal::Throttled(None), t0 + RTT);
    w.on_answer(s, 20, Signal::Throttled(None), t0 + RTT);
    assert_eq!(w.limit(), 80, "answers to one round trip halve it once");
    // Answers to requests sent after the decrease halve it again.
    answer(&mut w, t0 + RTT * 2, 20, Signal::Throttled(Some(ms(1000))));
    assert_eq!(w.limit(), 40);
    // The next report starts a measure: nothing is learned across the 429.
    answer(&mut w, t0 + RTT * 3, 20, Signal::Near(0.99));
    assert_eq!((w.cost(), w.limit()), (None, 40));
    // Never below the floor (one full $batch).
    for i in 4..7 {
        answer(&mut w, t0 + RTT * i, 20, Signal::Throttled(None));
    }
    assert_eq!(w.limit(), 20);
}

#[test]
fn a_429_holds_every_request_until_its_retry_after() {
    let t0 = Instant::now();
    let mut g = Gate::new(Window::new(20, 20, 640), Duration::from_secs(1));
    // A first clear answer opens the window to 40 (slow start).
    let Admission::Go(probe) = g.admit(20, t0) else {
        panic!("first request goes")
    };
    g.answered(probe, 20, Signal::Clear, t0);
    let Admission::Go(first) = g.admit(20, t0) else {
        panic!("first request goes")
    };
    assert!(matches!(g.admit(20, t0), Admission::Go(_)));
    assert_eq!(g.admit(20, t0), Admission::Full, "window of 40 is full");
    g.answered(
        first,
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
    assert!(matches!(g.admit(1, until), Admission::Go(_)));
    // Without Retry-After, the fallback hold.
    let mut g = Gate::new(Window::new(40, 20, 640), Duration::from_secs(1));
    let Admission::Go(first) = g.admit(20, t0) else {
        panic!()
    };
    g.answered(first, 20, Signal::Throttled(None), t0);
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
    assert!(matches!(g.admit(20, t0), Admission::Go(_)));
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
