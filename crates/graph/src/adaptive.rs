//! Adaptive concurrency: how many Graph operations (requests, or requests inside `$batch`es) a
//! client keeps in flight, paced to Graph's identity and access limits
//! (`concepts/throttling-limits.md`: resource units per application and tenant in token buckets).
//!
//! Additive increase, multiplicative decrease, as TCP does with its congestion window, steered by
//! the share of the limit Graph reports:
//! - while no answer hints at a limit, the window doubles every round trip (slow start), then
//!   grows by its minimum (one `$batch`) per round trip;
//! - Graph's `x-ms-throttle-limit-percentage` (sent once more than 0.8 of a limit is used) ends
//!   slow start; one share is no trend, so the window keeps its size. From then on it follows
//!   the share's *trend*:
//!   over every change of at least [`TREND_STEP`], the share gained per operation answered says
//!   how many more operations the limit leaves at this pace; when that is less than
//!   [`MARGIN`] windows, the window shrinks to a [`MARGIN`]th of it (at least by half), once per
//!   round trip. A steady or falling share (the bucket refills as fast as it is spent, or
//!   faster) lets it grow, up to [`HIGH_WATER`] where a steady share holds it. So a run that
//!   starts with a full bucket spends it at full speed and slows down before it is empty, not
//!   after, and a throttle-bound run keeps spending what the bucket refills;
//! - a 429 halves the window (once per round trip: answers to requests sent before the last
//!   decrease no longer change it) and holds every new request until its `Retry-After` has
//!   passed (or the back-off base when Graph gives none), so throttled requests never come back
//!   as a storm.
//!
//! [`Window`] and [`Gate`] are plain state, tested without time; [`Governor`] is their async
//! wrapper. Conditional access calls are not governed here (they are paced at 1 request/s).

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::request::headers_from_json;
use crate::retry::retry_after;

/// Share of a limit from which a steady share holds the window (it grows only while the share
/// falls).
pub const HIGH_WATER: f64 = 0.99;
/// The smallest change of the reported share a trend is measured over: two hundredths, so that
/// one rounding does not make a trend (graph-emulator reports hundredths; Graph's page does not
/// state a precision).
pub const TREND_STEP: f64 = 0.02;
/// How many windows of operations the limit must leave at the current pace for the window to
/// keep its size.
pub const MARGIN: f64 = 1.5;
/// The header Graph sends once more than 0.8 of a limit is used (0.8 to 1.8).
pub const LIMIT_PERCENTAGE: &str = "x-ms-throttle-limit-percentage";

/// What an answer says about Graph's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// No sign of a limit.
    Clear,
    /// `x-ms-throttle-limit-percentage`: the share of a limit used.
    Near(f64),
    /// 429 (with Graph's `Retry-After`, if it gave one).
    Throttled(Option<Duration>),
}

impl Signal {
    /// The stronger of two signals (a 429 over a share, a larger share over a smaller).
    pub fn max(self, other: Signal) -> Signal {
        match (self, other) {
            (Signal::Throttled(a), Signal::Throttled(b)) => Signal::Throttled(a.max(b)),
            (t @ Signal::Throttled(_), _) | (_, t @ Signal::Throttled(_)) => t,
            (Signal::Near(a), Signal::Near(b)) => Signal::Near(a.max(b)),
            (n @ Signal::Near(_), Signal::Clear) | (Signal::Clear, n @ Signal::Near(_)) => n,
            (Signal::Clear, Signal::Clear) => Signal::Clear,
        }
    }

    /// The signal of one answer: its status and headers.
    pub fn of(status: u16, headers: &HeaderMap) -> Signal {
        if status == 429 {
            return Signal::Throttled(retry_after(headers));
        }
        headers
            .get(LIMIT_PERCENTAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|u| u.is_finite())
            .map_or(Signal::Clear, Signal::Near)
    }

    /// The strongest signal of the answers inside a `$batch` response body.
    pub fn of_batch(body: &Value) -> Signal {
        let answers = body.get("responses").and_then(Value::as_array);
        answers.into_iter().flatten().fold(Signal::Clear, |acc, r| {
            let status = r.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
            let headers = headers_from_json(r.get("headers"));
            acc.max(Signal::of(status, &headers))
        })
    }
}

/// The window of operations in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    limit: f64,
    min: f64,
    max: f64,
    slow_start: bool,
    epoch: u64,
    trend: Option<Trend>,
}

/// Where the share's trend is measured from: a reported share, and the operations answered since.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Trend {
    share: f64,
    ops: f64,
}

impl Window {
    /// A window starting at `initial` operations, kept within `[min, max]`.
    pub fn new(initial: usize, min: usize, max: usize) -> Window {
        let (min, max) = (min.max(1) as f64, max.max(min).max(1) as f64);
        Window {
            limit: (initial as f64).clamp(min, max),
            min,
            max,
            slow_start: true,
            epoch: 0,
            trend: None,
        }
    }

    /// Operations allowed in flight.
    pub fn limit(&self) -> usize {
        self.limit.floor() as usize
    }

    /// Counts the decreases; a request remembers the epoch it was sent in.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Still doubling every round trip.
    pub fn in_slow_start(&self) -> bool {
        self.slow_start
    }

    /// Takes in the answer to `ops` operations sent in epoch `sent`. Answers to requests sent
    /// before the last decrease change nothing: the window has already reacted to their round.
    pub fn on_answer(&mut self, sent: u64, ops: usize, signal: Signal) {
        if sent < self.epoch {
            return;
        }
        let ops = ops.max(1) as f64;
        // Additive increase: the window's minimum (one `$batch`) per round trip.
        let step = self.min * ops / self.limit;
        match signal {
            Signal::Clear if self.slow_start => self.limit += ops,
            Signal::Clear => {
                // Under the reported share again: a later report starts a new trend.
                self.trend = None;
                self.limit += step;
            }
            Signal::Near(share) => self.near(sent, ops, share, step),
            Signal::Throttled(_) => {
                self.trend = None;
                self.decrease(sent, 0.5);
            }
        }
        self.limit = self.limit.clamp(self.min, self.max);
    }

    /// An answer reporting `share` of a limit used: see the module documentation.
    fn near(&mut self, sent: u64, ops: f64, share: f64, step: f64) {
        // The first report ends slow start; the trend decides from the next.
        self.slow_start = false;
        let Some(trend) = self.trend.as_mut() else {
            self.trend = Some(Trend { share, ops: 0.0 });
            return;
        };
        trend.ops += ops;
        if (share - trend.share).abs() + 1e-9 < TREND_STEP {
            if share < HIGH_WATER {
                self.limit += step;
            }
            return;
        }
        let gained = (share - trend.share) / trend.ops;
        *trend = Trend { share, ops: 0.0 };
        if gained > 0.0 {
            // Operations until the limit, at the pace of the last ones.
            let left = (1.0 - share).max(0.0) / gained;
            if left < MARGIN * self.limit {
                let to = (left / MARGIN).min(self.limit * 0.5);
                if self.decrease(sent, 1.0) {
                    self.limit = to;
                }
                return;
            }
        }
        self.limit += step;
    }

    /// Shrinks the window to `factor` of itself, once for the requests sent since the last
    /// decrease (`false`: it already shrank for them).
    fn decrease(&mut self, sent: u64, factor: f64) -> bool {
        self.slow_start = false;
        if sent != self.epoch {
            return false;
        }
        self.limit *= factor;
        self.epoch += 1;
        true
    }
}

/// Admission: the window, the operations in flight and a hold after a 429.
#[derive(Debug, Clone)]
pub struct Gate {
    pub window: Window,
    in_flight: usize,
    hold_until: Option<Instant>,
    /// The hold after a 429 that gave no `Retry-After`.
    fallback_hold: Duration,
}

/// What a request may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go: sent in this epoch.
    Go { epoch: u64 },
    /// Every request is held until then (a 429's `Retry-After`).
    HoldUntil(Instant),
    /// The window is full: wait for an answer.
    Full,
}

impl Gate {
    pub fn new(window: Window, fallback_hold: Duration) -> Gate {
        Gate {
            window,
            in_flight: 0,
            hold_until: None,
            fallback_hold,
        }
    }

    /// Operations in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Admits `ops` operations at `now` (a request larger than the window goes alone).
    pub fn admit(&mut self, ops: usize, now: Instant) -> Admission {
        if let Some(t) = self.hold_until.filter(|t| *t > now) {
            return Admission::HoldUntil(t);
        }
        if self.in_flight == 0 || self.in_flight + ops <= self.window.limit() {
            self.in_flight += ops;
            Admission::Go {
                epoch: self.window.epoch(),
            }
        } else {
            Admission::Full
        }
    }

    /// The answer to `ops` operations admitted in epoch `sent` arrived at `now`.
    pub fn answered(&mut self, sent: u64, ops: usize, signal: Signal, now: Instant) {
        self.release(ops);
        self.window.on_answer(sent, ops, signal);
        if let Signal::Throttled(after) = signal {
            let until = now + after.unwrap_or(self.fallback_hold);
            self.hold_until = Some(self.hold_until.map_or(until, |t| t.max(until)));
        }
    }

    /// Operations that ended without an answer about the limits (a transport failure).
    pub fn release(&mut self, ops: usize) {
        self.in_flight = self.in_flight.saturating_sub(ops);
    }
}

/// The gate shared by a client's requests.
#[derive(Debug)]
pub(crate) struct Governor {
    gate: Mutex<Gate>,
    changed: Notify,
}

/// Operations in flight, until their answer is known.
pub(crate) struct Permit<'a> {
    governor: &'a Governor,
    ops: usize,
    epoch: u64,
    open: bool,
}

impl Governor {
    pub(crate) fn new(gate: Gate) -> Governor {
        Governor {
            gate: Mutex::new(gate),
            changed: Notify::new(),
        }
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `ops` operations may go.
    pub(crate) async fn acquire(&self, ops: usize) -> Permit<'_> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let admission = self.gate().admit(ops, Instant::now());
            match admission {
                Admission::Go { epoch } => {
                    return Permit {
                        governor: self,
                        ops,
                        epoch,
                        open: true,
                    };
                }
                Admission::HoldUntil(t) => tokio::time::sleep_until(t).await,
                Admission::Full => changed.await,
            }
        }
    }
}

impl Permit<'_> {
    /// The answer arrived: what it says about the limits adjusts the window.
    pub(crate) fn answered(mut self, signal: Signal) {
        self.open = false;
        let g = self.governor;
        g.gate()
            .answered(self.epoch, self.ops, signal, Instant::now());
        g.changed.notify_waiters();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.open {
            self.governor.gate().release(self.ops);
            self.governor.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests;
