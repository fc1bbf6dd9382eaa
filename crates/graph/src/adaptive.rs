//! Adaptive concurrency: how many Graph operations (requests, or requests inside `$batch`es) a
//! client keeps in flight, paced to Graph's identity and access limits
//! (`concepts/throttling-limits.md`: resource units per application and tenant in token buckets
//! stated per 10 seconds).
//!
//! Additive increase, multiplicative decrease, as TCP does with its congestion window, bounded by
//! what the bucket has left:
//! - until the first answer, one `$batch` goes (the bucket may be spent already); while no
//!   answer hints at a limit, the window then doubles every round trip (slow start), then grows
//!   by its minimum (one `$batch`) per round trip;
//! - Graph's `x-ms-throttle-limit-percentage` (sent once more than 0.8 of a limit is used) ends
//!   slow start. Over every stretch in which the bucket moved by at least [`TREND_STEP`] (the
//!   share gained, plus what refilled meanwhile: [`REFILL_PER_SECOND`]), the window learns what
//!   one operation costs. From then on every reported share caps it: what the bucket still holds
//!   (less what rounding may hide, [`ROUNDING`]),
//!   plus what refills in one round trip, divided by [`MARGIN`]. So a run that starts with a full
//!   bucket spends it at full speed and tapers before it is empty, and a throttle-bound run keeps
//!   in flight what the bucket refills, not more. Until the cost is known, a share at
//!   [`HIGH_WATER`] holds the window;
//! - a 429 halves the window (once per round trip: answers to requests sent before the last
//!   decrease no longer change it) and holds every new request until its `Retry-After` has
//!   passed (or the back-off base when Graph gives none), so throttled requests never come back
//!   as a storm.
//!
//! [`Window`] and [`Gate`] are plain state, tested with made-up instants; [`Governor`] is their
//! async wrapper. Conditional access calls are not governed here (they are paced at 1 request/s).

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::request::headers_from_json;
use crate::retry::retry_after;

/// Share of a limit from which a steady share holds the window while the cost of an operation
/// is not known yet.
pub const HIGH_WATER: f64 = 0.99;
/// The smallest movement of the bucket a cost is measured over: four hundredths, so that the
/// rounding of the shares at both ends moves the measure by a quarter at most (graph-emulator
/// reports hundredths; Graph's page does not state a precision).
pub const TREND_STEP: f64 = 0.04;
/// What a reported share may hide by rounding: half a hundredth (a share reported as 0.99 may be
/// 0.994); the bucket is taken to hold that much less.
pub const ROUNDING: f64 = 0.005;
/// Share of a limit its bucket refills per second: Graph states the identity and access limits
/// per 10 seconds.
pub const REFILL_PER_SECOND: f64 = 0.1;
/// How many times over the bucket (with one round trip's refill) must hold what is in flight.
pub const MARGIN: f64 = 1.25;
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

/// When a request was let go: the window's epoch and the instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub epoch: u64,
    pub at: Instant,
}

/// The window of operations in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    limit: f64,
    min: f64,
    max: f64,
    /// The size to open to once the first answer is clear (until then, one `$batch` goes).
    probing: Option<f64>,
    slow_start: bool,
    epoch: u64,
    trend: Option<Trend>,
    /// Share of the limit one operation costs, once measured.
    cost: Option<f64>,
    /// Smoothed round trip, in seconds.
    rtt: Option<f64>,
}

/// Where the bucket's movement is measured from: a reported share, when, and the operations
/// answered since.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Trend {
    share: f64,
    at: Instant,
    ops: f64,
}

impl Window {
    /// A window opening to `initial` operations once the first answer is clear, kept within
    /// `[min, max]`; until then it lets `min` go.
    pub fn new(initial: usize, min: usize, max: usize) -> Window {
        let (min, max) = (min.max(1) as f64, max.max(min).max(1) as f64);
        Window {
            limit: min,
            min,
            max,
            probing: Some((initial as f64).clamp(min, max)),
            slow_start: true,
            epoch: 0,
            trend: None,
            cost: None,
            rtt: None,
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

    /// Share of the limit one operation costs, once measured.
    pub fn cost(&self) -> Option<f64> {
        self.cost
    }

    /// Takes in the answer, at `now`, to `ops` operations sent at `sent`. Answers to requests
    /// sent before the last decrease do not grow or halve it: the window has already reacted to
    /// their round. What they say of the bucket still counts.
    pub fn on_answer(&mut self, sent: Sent, ops: usize, signal: Signal, now: Instant) {
        let rtt = now.saturating_duration_since(sent.at).as_secs_f64();
        self.rtt = Some(self.rtt.map_or(rtt, |r| 0.875 * r + 0.125 * rtt));
        if let Some(initial) = self.probing.take()
            && signal == Signal::Clear
        {
            self.limit = self.limit.max(initial);
        }
        let ops = ops.max(1) as f64;
        // Additive increase: the window's minimum (one `$batch`) per round trip.
        let step = if sent.epoch < self.epoch {
            0.0
        } else if self.slow_start {
            ops
        } else {
            self.min * ops / self.limit
        };
        match signal {
            Signal::Clear => {
                // Under the reported share again: a later report starts a new measure.
                self.trend = None;
                self.limit += step;
            }
            Signal::Near(share) => self.near(ops, share, step, now),
            Signal::Throttled(_) => {
                self.trend = None;
                self.decrease(sent.epoch, 0.5);
            }
        }
        self.limit = self.limit.clamp(self.min, self.max);
    }

    /// An answer reporting `share` of a limit used: see the module documentation.
    fn near(&mut self, ops: f64, share: f64, step: f64, now: Instant) {
        // The first report ends slow start; one share alone does not grow the window.
        let step = if std::mem::replace(&mut self.slow_start, false) {
            0.0
        } else {
            step
        };
        self.measure(ops, share, now);
        match self.cost {
            Some(cost) => {
                let refill = REFILL_PER_SECOND * self.rtt.unwrap_or(0.0);
                let cap = ((1.0 - share - ROUNDING).max(0.0) + refill) / cost / MARGIN;
                self.limit = (self.limit + step).min(cap);
            }
            None if share < HIGH_WATER => self.limit += step,
            None => {}
        }
    }

    /// Learns the cost of an operation from how far the bucket moved since the trend's start:
    /// the share gained, plus what refilled meanwhile.
    fn measure(&mut self, ops: f64, share: f64, now: Instant) {
        let Some(trend) = self.trend.as_mut() else {
            self.trend = Some(Trend {
                share,
                at: now,
                ops: 0.0,
            });
            return;
        };
        trend.ops += ops;
        let elapsed = now.saturating_duration_since(trend.at).as_secs_f64();
        let moved = share - trend.share + REFILL_PER_SECOND * elapsed;
        if moved + 1e-9 >= TREND_STEP {
            self.cost = Some(moved / trend.ops);
            *trend = Trend {
                share,
                at: now,
                ops: 0.0,
            };
        }
    }

    /// Shrinks the window to `factor` of itself, once for the requests sent since the last
    /// decrease.
    fn decrease(&mut self, sent: u64, factor: f64) {
        self.slow_start = false;
        if sent == self.epoch {
            self.limit *= factor;
            self.epoch += 1;
        }
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
    /// Go: sent now, in this epoch.
    Go(Sent),
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
            Admission::Go(Sent {
                epoch: self.window.epoch(),
                at: now,
            })
        } else {
            Admission::Full
        }
    }

    /// The answer to `ops` operations admitted at `sent` arrived at `now`.
    pub fn answered(&mut self, sent: Sent, ops: usize, signal: Signal, now: Instant) {
        self.release(ops);
        self.window.on_answer(sent, ops, signal, now);
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
    sent: Sent,
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
                Admission::Go(sent) => {
                    return Permit {
                        governor: self,
                        ops,
                        sent,
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
            .answered(self.sent, self.ops, signal, Instant::now());
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
