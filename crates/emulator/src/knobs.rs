//! Realism knobs: latency + jitter, replication delay, throttling, random faults. All randomness comes
//! from the emulator's seeded PRNG.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::limits::Limits;
use crate::rng::SplitMix64;

/// The realism knobs (settable by flags, `RunningEmulator::set_knobs` and `PUT /_emulator/knobs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Knobs {
    /// Fixed latency added to every HTTP request (ms).
    pub latency_ms: u64,
    /// Extra random latency, uniform in [0, jitter_ms] (ms).
    pub jitter_ms: u64,
    /// A created or changed object stays invisible to reads (and to references) for this long (ms).
    pub replication_delay_ms: u64,
    /// Token bucket per tenant for Graph requests (429 with `Retry-After` when empty).
    pub throttle: Option<Throttle>,
    /// Conditional access endpoints limited to 1 request/s per tenant (429 without `Retry-After`).
    pub ca_throttle: bool,
    /// Probability in [0, 1] that an HTTP request fails with 503, 504 or a dropped connection.
    pub fault_rate: f64,
    /// Probability in [0, 1] that one request inside a `$batch` fails on its own (a partial batch
    /// failure): 429 with `Retry-After`, 503 without being processed, or 504 after it was processed
    /// (the client cannot know whether a create took).
    pub batch_fault_rate: f64,
    /// Throttling answers (`throttle`) carry no `Retry-After` header (Graph omits it on some
    /// services; clients must back off on their own).
    pub omit_retry_after: bool,
    /// Microsoft Graph's documented identity and access limits: resource units per request,
    /// buckets per application and tenant by tenant size, write quotas, and their headers
    /// (see [`crate::limits`]). On in the `large` scenario.
    pub graph_limits: bool,
    /// Writes (any method but GET) to these route templates, without the version
    /// (`/users/{id}/authentication/requirements`), fail with 503 without being processed: an
    /// outage of one service, for testing what a client leaves behind when it stops between two
    /// writes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing_writes: Vec<String>,
}

/// A token bucket: `capacity` requests of burst, refilled at `refill_per_second`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Throttle {
    /// Bucket size (burst).
    pub capacity: f64,
    /// Tokens added per second.
    pub refill_per_second: f64,
}

impl std::str::FromStr for Throttle {
    type Err = String;
    /// `CAPACITY/REFILL_PER_SECOND`, e.g. `100/10`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err =
            || format!("invalid throttle `{s}`: write CAPACITY/REFILL_PER_SECOND, e.g. 100/10");
        let (c, r) = s.split_once('/').ok_or_else(err)?;
        let capacity: f64 = c.trim().parse().map_err(|_| err())?;
        let refill_per_second: f64 = r.trim().parse().map_err(|_| err())?;
        if capacity < 1.0 || refill_per_second <= 0.0 {
            return Err(err());
        }
        Ok(Throttle {
            capacity,
            refill_per_second,
        })
    }
}

/// A random failure injected by `fault_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 503 ServiceUnavailable.
    ServiceUnavailable,
    /// 504 GatewayTimeout.
    GatewayTimeout,
    /// The connection is closed without a complete response.
    DropConnection,
}

/// A fault injected into one request of a `$batch` by `batch_fault_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFault {
    /// 429 TooManyRequests with `Retry-After: 1`, not processed.
    Throttled,
    /// 503 ServiceUnavailable, not processed.
    ServiceUnavailable,
    /// Processed, then answered 504 GatewayTimeout.
    GatewayTimeoutAfterApply,
}

impl Knobs {
    /// The knobs a built-in scenario starts with: `large`, the realistic large tenant, has
    /// Graph's identity and access limits on; the others none.
    pub fn of_scenario(name: &str) -> Knobs {
        Knobs {
            graph_limits: name == "large",
            ..Knobs::default()
        }
    }

    /// Whether (and how) one request inside a `$batch` fails.
    pub fn pick_batch_fault(&self, rng: &mut SplitMix64) -> Option<BatchFault> {
        if self.batch_fault_rate <= 0.0 {
            return None;
        }
        if rng.next_f64() >= self.batch_fault_rate {
            return None;
        }
        Some(match rng.next_u64() % 3 {
            0 => BatchFault::Throttled,
            1 => BatchFault::ServiceUnavailable,
            _ => BatchFault::GatewayTimeoutAfterApply,
        })
    }

    /// The latency to inject for one request.
    pub fn pick_latency(&self, rng: &mut SplitMix64) -> Duration {
        Duration::from_millis(self.latency_ms + rng.upto(self.jitter_ms))
    }

    /// Whether (and how) this request fails.
    pub fn pick_fault(&self, rng: &mut SplitMix64) -> Option<Fault> {
        if self.fault_rate <= 0.0 {
            return None;
        }
        let roll = rng.next_f64();
        if roll >= self.fault_rate {
            return None;
        }
        Some(match rng.next_u64() % 3 {
            0 => Fault::ServiceUnavailable,
            1 => Fault::GatewayTimeout,
            _ => Fault::DropConnection,
        })
    }
}

/// Per-tenant throttling state.
#[derive(Debug, Default)]
pub struct ThrottleState {
    buckets: HashMap<String, (f64, Instant)>,
    ca_last: HashMap<String, Instant>,
    /// Graph's identity and access limits (`graph_limits`).
    pub limits: Limits,
}

impl ThrottleState {
    /// Forget all buckets (knobs changed).
    pub fn reset(&mut self) {
        self.buckets.clear();
        self.ca_last.clear();
        self.limits.reset();
    }

    /// Take one token for `tenant`; `Err(retry_after_seconds)` when the bucket is empty.
    pub fn take(&mut self, tenant: &str, t: &Throttle, now: Instant) -> Result<(), f64> {
        let entry = self
            .buckets
            .entry(tenant.to_string())
            .or_insert((t.capacity, now));
        let elapsed = now.saturating_duration_since(entry.1).as_secs_f64();
        entry.0 = (entry.0 + elapsed * t.refill_per_second).min(t.capacity);
        entry.1 = now;
        if entry.0 >= 1.0 {
            entry.0 -= 1.0;
            Ok(())
        } else {
            Err((1.0 - entry.0) / t.refill_per_second)
        }
    }

    /// Conditional access: one request per second per tenant. False when over the limit.
    pub fn take_ca(&mut self, tenant: &str, now: Instant) -> bool {
        match self.ca_last.get(tenant) {
            Some(last) if now.saturating_duration_since(*last) < Duration::from_secs(1) => false,
            _ => {
                self.ca_last.insert(tenant.to_string(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let t: Throttle = "2/1".parse().unwrap();
        let mut s = ThrottleState::default();
        let now = Instant::now();
        assert!(s.take("a", &t, now).is_ok());
        assert!(s.take("a", &t, now).is_ok());
        let retry = s.take("a", &t, now).unwrap_err();
        assert!(retry > 0.0 && retry <= 1.0);
        assert!(s.take("b", &t, now).is_ok(), "buckets are per tenant");
        assert!(s.take("a", &t, now + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn ca_one_per_second() {
        let mut s = ThrottleState::default();
        let now = Instant::now();
        assert!(s.take_ca("a", now));
        assert!(!s.take_ca("a", now + Duration::from_millis(500)));
        assert!(s.take_ca("a", now + Duration::from_millis(1000)));
    }

    #[test]
    fn throttle_parse_errors_say_how_to_fix() {
        assert!(
            "x".parse::<Throttle>()
                .unwrap_err()
                .contains("CAPACITY/REFILL_PER_SECOND")
        );
        assert!("0/1".parse::<Throttle>().is_err());
    }

    #[test]
    fn latency_is_fixed_plus_seeded_jitter() {
        let k = Knobs {
            latency_ms: 10,
            jitter_ms: 5,
            ..Knobs::default()
        };
        let run = |seed| {
            let mut r = SplitMix64::new(seed);
            (0..20)
                .map(|_| k.pick_latency(&mut r).as_millis())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert!(run(3).iter().all(|ms| (10..=15).contains(ms)));
        assert!(run(3).iter().any(|ms| *ms != run(3)[0]) || run(4) != run(3));
        let none = Knobs::default();
        assert!(none.pick_latency(&mut SplitMix64::new(1)).is_zero());
    }

    #[test]
    fn batch_faults_replay_by_seed_and_are_off_by_default() {
        let k = Knobs {
            batch_fault_rate: 0.5,
            ..Knobs::default()
        };
        let run = |seed| {
            let mut r = SplitMix64::new(seed);
            (0..60)
                .map(|_| k.pick_batch_fault(&mut r))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        for kind in [
            BatchFault::Throttled,
            BatchFault::ServiceUnavailable,
            BatchFault::GatewayTimeoutAfterApply,
        ] {
            assert!(run(9).contains(&Some(kind)), "{kind:?}");
        }
        assert!(run(9).contains(&None));
        let mut r = SplitMix64::new(1);
        assert!((0..100).all(|_| Knobs::default().pick_batch_fault(&mut r).is_none()));
    }

    #[test]
    fn faults_replay_by_seed() {
        let k = Knobs {
            fault_rate: 0.5,
            ..Knobs::default()
        };
        let run = |seed| {
            let mut r = SplitMix64::new(seed);
            (0..50).map(|_| k.pick_fault(&mut r)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert!(run(7).iter().any(Option::is_some));
        assert!(run(7).iter().any(Option::is_none));
    }
}
