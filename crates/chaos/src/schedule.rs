//! Fault schedules drawn from a seed: which spec on which scenario, which faults, whether and when
//! the entractl process is killed.

use graph_emulator::knobs::{Knobs, Throttle};
use graph_emulator::rng::SplitMix64;

/// A spec of the campaign and the scenario it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Spec path relative to the repository root.
    pub spec: &'static str,
    /// graph-emulator scenario.
    pub scenario: &'static str,
    /// The spec manages the MFA posture (conditional access writes; the apply gets
    /// `--allow-security-downgrade` when its plan has security downgrades).
    pub mfa: bool,
}

/// The example specs (and the two chaos variants that fit the emulator's scenarios). The specs that
/// manage MFA run on `p1-legacy` on purpose: on `p1` (baseline-scope enforcement, Microsoft-managed
/// policies that refuse app exclusions) the seed's MFA remediation cannot converge until entractl
/// handles enforced tenants (issue 17).
pub const TARGETS: &[Target] = &[
    Target {
        spec: "specs/kandji-passport-mac-login.yaml",
        scenario: "p1-legacy",
        mfa: true,
    },
    Target {
        spec: "specs/kandji-passport-explicit.yaml",
        scenario: "p1-legacy",
        mfa: true,
    },
    Target {
        spec: "crates/chaos/specs/contoso-portal-p1.yaml",
        scenario: "p1",
        mfa: false,
    },
    Target {
        spec: "crates/chaos/specs/empty-tenant.yaml",
        scenario: "empty",
        mfa: false,
    },
];

/// A kind of fault a run injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// 429 storm (small token bucket), with `Retry-After`.
    ThrottleRetryAfter,
    /// 429 storm without `Retry-After` (the client backs off on its own).
    ThrottleNoRetryAfter,
    /// Conditional access limited to 1 request/s, 429 without `Retry-After`.
    ConditionalAccessThrottle,
    /// Random 503, 504 and dropped connections on whole HTTP requests.
    ServerErrors,
    /// Partial `$batch` failures (inner 429, 503, or 504 after processing).
    BatchPartial,
    /// Replication delay (created or changed objects invisible for a while).
    ReplicationDelay,
    /// Latency with jitter.
    Latency,
}

impl FaultKind {
    /// Every kind, in report order.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::ThrottleRetryAfter,
        FaultKind::ThrottleNoRetryAfter,
        FaultKind::ConditionalAccessThrottle,
        FaultKind::ServerErrors,
        FaultKind::BatchPartial,
        FaultKind::ReplicationDelay,
        FaultKind::Latency,
    ];

    /// Short name for the report.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ThrottleRetryAfter => "429 storm with Retry-After",
            FaultKind::ThrottleNoRetryAfter => "429 storm without Retry-After",
            FaultKind::ConditionalAccessThrottle => {
                "conditional access 1 req/s (429, no Retry-After)"
            }
            FaultKind::ServerErrors => "5xx bursts and dropped connections",
            FaultKind::BatchPartial => "partial $batch failures",
            FaultKind::ReplicationDelay => "replication delay",
            FaultKind::Latency => "latency + jitter",
        }
    }
}

/// Limits of the schedules (the CI smoke run uses smaller ones).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest replication delay drawn (ms).
    pub max_replication_ms: u64,
    /// Largest fault rate for 5xx/dropped connections.
    pub max_fault_rate: f64,
    /// Largest partial-batch fault rate.
    pub max_batch_fault_rate: f64,
    /// Share of runs whose entractl is SIGKILLed mid-apply (0..=1).
    pub kill_share: f64,
}

impl Limits {
    /// `make chaos`: replication delays up to 2 s (30 s works too, with `--max-replication-ms
    /// 30000`, only slower), fault rates up to 20 %, half the runs killed.
    pub fn full() -> Limits {
        Limits {
            max_replication_ms: 2_000,
            max_fault_rate: 0.2,
            max_batch_fault_rate: 0.3,
            kill_share: 0.5,
        }
    }

    /// The CI smoke run: millisecond-scale delays.
    pub fn smoke() -> Limits {
        Limits {
            max_replication_ms: 150,
            max_fault_rate: 0.15,
            max_batch_fault_rate: 0.25,
            kill_share: 0.5,
        }
    }
}

/// Everything one run does, decided up front from its seed.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The run's seed (also the emulator's).
    pub seed: u64,
    /// What is applied where.
    pub target: Target,
    /// The faults injected.
    pub faults: Vec<FaultKind>,
    /// The emulator knobs that inject them.
    pub knobs: Knobs,
    /// SIGKILL entractl once this many write requests (POST/PATCH/DELETE) have reached Graph.
    pub kill_after_writes: Option<u32>,
}

/// The seed of run `index` of a campaign seeded with `seed`.
pub fn run_seed(seed: u64, index: usize) -> u64 {
    let mut r = SplitMix64::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    r.next_u64()
}

/// Draws the schedule of one run. Every schedule injects at least one fault.
pub fn draw(seed: u64, limits: &Limits) -> Schedule {
    let mut r = SplitMix64::new(seed);
    let target = TARGETS[(r.next_u64() % TARGETS.len() as u64) as usize];
    let mut faults: Vec<FaultKind> = Vec::new();
    // Each kind with some probability; at least one of the "hard" faults.
    for k in FaultKind::ALL {
        let p = match k {
            FaultKind::ConditionalAccessThrottle if !target.mfa => 0.0,
            FaultKind::ThrottleRetryAfter | FaultKind::ThrottleNoRetryAfter => 0.3,
            FaultKind::Latency => 0.3,
            _ => 0.45,
        };
        if r.next_f64() < p {
            faults.push(k);
        }
    }
    // One throttle flavour at a time (they share the token bucket).
    if faults.contains(&FaultKind::ThrottleRetryAfter)
        && faults.contains(&FaultKind::ThrottleNoRetryAfter)
    {
        faults.retain(|k| *k != FaultKind::ThrottleNoRetryAfter);
    }
    if !faults.iter().any(|k| {
        matches!(
            k,
            FaultKind::ThrottleRetryAfter
                | FaultKind::ThrottleNoRetryAfter
                | FaultKind::ServerErrors
                | FaultKind::BatchPartial
        )
    }) {
        let hard = [
            FaultKind::ServerErrors,
            FaultKind::BatchPartial,
            FaultKind::ThrottleRetryAfter,
            FaultKind::ThrottleNoRetryAfter,
        ];
        faults.push(hard[(r.next_u64() % hard.len() as u64) as usize]);
    }
    faults.sort();
    let mut knobs = Knobs::default();
    for k in &faults {
        match k {
            FaultKind::ThrottleRetryAfter | FaultKind::ThrottleNoRetryAfter => {
                knobs.throttle = Some(Throttle {
                    capacity: 2.0 + r.upto(6) as f64,
                    refill_per_second: 3.0 + r.upto(12) as f64,
                });
                knobs.omit_retry_after = *k == FaultKind::ThrottleNoRetryAfter;
            }
            FaultKind::ConditionalAccessThrottle => knobs.ca_throttle = true,
            FaultKind::ServerErrors => {
                knobs.fault_rate = 0.03 + r.next_f64() * (limits.max_fault_rate - 0.03).max(0.0);
            }
            FaultKind::BatchPartial => {
                knobs.batch_fault_rate =
                    0.05 + r.next_f64() * (limits.max_batch_fault_rate - 0.05).max(0.0);
            }
            FaultKind::ReplicationDelay => {
                knobs.replication_delay_ms = 1 + r.upto(limits.max_replication_ms.max(1) - 1);
            }
            FaultKind::Latency => {
                knobs.latency_ms = r.upto(5);
                knobs.jitter_ms = r.upto(20);
            }
        }
    }
    let kill_after_writes = if r.next_f64() < limits.kill_share {
        // The examples make 3 to 12 writes; 1..=8 kills most applies mid-way.
        Some(1 + r.upto(7) as u32)
    } else {
        None
    };
    Schedule {
        seed,
        target,
        faults,
        knobs,
        kill_after_writes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_replay_by_seed_and_always_inject_a_fault() {
        let l = Limits::smoke();
        let mut kinds = std::collections::BTreeSet::new();
        let mut kills = 0;
        for i in 0..300 {
            let s = run_seed(7, i);
            let a = draw(s, &l);
            let b = draw(s, &l);
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            assert!(!a.faults.is_empty());
            assert!(a.knobs.replication_delay_ms <= l.max_replication_ms);
            kinds.extend(a.faults.iter().copied());
            kills += usize::from(a.kill_after_writes.is_some());
            if a.faults.contains(&FaultKind::ConditionalAccessThrottle) {
                assert!(a.target.mfa);
            }
        }
        assert_eq!(kinds.len(), FaultKind::ALL.len(), "{kinds:?}");
        assert!((50..250).contains(&kills), "{kills}");
        assert_ne!(run_seed(7, 0), run_seed(7, 1));
        assert_ne!(run_seed(7, 0), run_seed(8, 0));
    }
}
