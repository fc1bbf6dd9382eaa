//! A plan measured under Microsoft Graph's identity and access limits (the emulator's
//! `graphLimits`, modelled on microsoft-graph-docs `concepts/throttling-limits.md`): the
//! resource units it used, the floor the limits impose on it, its time, and the requests Graph
//! answered 429.
//!
//! The floor: the application+tenant bucket holds one window's quota `Q` and refills `Q` per 10
//! seconds. Starting full, `R` resource units cannot all be admitted before `(R − Q) / (Q / 10 s)`;
//! starting spent (as right after another run of the same application: the throttle-bound case,
//! where every resource unit waits for the refill), not before `R / (Q / 10 s)`.

use std::time::Duration;

use graph_emulator::limits::{Quota, TenantSize};
use graph_emulator::{Knobs, RunningEmulator};

use super::common::{Measured, Target, ThrottledRuns, step_failed};
use crate::BenchError;
use crate::stats::{fmt_duration, fmt_kib, median, ratio};

impl ThrottledRuns {
    /// The floor of run `i`.
    pub fn floor(&self, i: usize) -> Duration {
        let r = self.resource_units.get(i).copied().unwrap_or(0) as f64;
        let q = Quota {
            quota: self.quota,
            window: Duration::from_secs(10),
        };
        let burst = if self.spent { 0.0 } else { q.quota };
        Duration::from_secs_f64(((r - burst).max(0.0)) / q.per_second())
    }

    /// Median of wall / floor over the runs (`None` when a floor is zero: not throttle-bound).
    pub fn over_floor(&self) -> Option<f64> {
        let ratios: Vec<u64> = (0..self.runs.walls.len())
            .map(|i| {
                let f = self.floor(i).as_secs_f64();
                if f == 0.0 {
                    None
                } else {
                    Some((self.runs.walls[i].as_secs_f64() / f * 1000.0) as u64)
                }
            })
            .collect::<Option<Vec<u64>>>()?;
        median(&ratios).map(|r| r as f64 / 1000.0)
    }

    /// The largest share of Graph operations answered 429 in one run.
    pub fn throttled_share(&self) -> f64 {
        let ops = self.runs.traffic.graph_operations.max(1) as f64;
        self.throttled.iter().copied().max().unwrap_or(0) as f64 / ops
    }

    /// The table row.
    pub fn row(&self) -> String {
        let t = &self.runs.traffic;
        let floors: Vec<Duration> = (0..self.runs.walls.len()).map(|i| self.floor(i)).collect();
        format!(
            "| {} | {} ms | {} | {} | {} | {} | {} | {} ({:.2} %) | {} | {} ({} `$batch`) | {} |",
            self.bucket(),
            self.runs.latency_ms,
            median(&self.resource_units).unwrap_or(0),
            median(&floors).map_or("—".into(), fmt_duration),
            self.runs.wall_cell(),
            self.over_floor().map_or("—".into(), |r| format!("{r:.2}×")),
            self.runs.waves_cell(),
            self.throttled.iter().max().copied().unwrap_or(0),
            self.throttled_share() * 100.0,
            t.graph_operations,
            t.http_requests,
            t.batches,
            self.runs
                .rss
                .iter()
                .max()
                .map_or("—".into(), |k| fmt_kib(*k)),
        )
    }

    /// How the bucket started.
    pub fn bucket(&self) -> &'static str {
        if self.spent { "spent" } else { "full" }
    }

    /// The target lines: within 15 % of the floor, under 1 % answered 429.
    pub fn targets(&self) -> String {
        let met = |ok: bool| if ok { "met" } else { "not met" };
        let b = self.bucket();
        let mut out = match self.over_floor() {
            Some(r) => format!(
                "- Bucket {b} at the start: wall within 15 % of the floor — **{}** ({} of it).\n",
                met(r <= 1.15),
                ratio(r, 1.0)
            ),
            None => format!(
                "- Bucket {b} at the start: the plan stayed within the bucket's burst: no floor (not throttle-bound).\n"
            ),
        };
        out.push_str(&format!(
            "- Bucket {b} at the start: under 1 % of Graph operations answered 429 — **{}** ({:.2} %).\n",
            met(self.throttled_share() < 0.01),
            self.throttled_share() * 100.0
        ));
        out
    }
}

/// The table head of [`ThrottledRuns::row`].
pub const HEAD: &str = "| bucket at start | latency | resource units | floor | wall | wall / floor | waves after token | answered 429 | Graph operations | HTTP requests | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|";

/// Plans `spec` `runs` times against `tenant` under Graph's limits at `latency_ms`, each run
/// with fresh buckets: full, or `spent`.
pub(super) fn measure(
    target: &Target<'_>,
    emu: &RunningEmulator,
    spec: &str,
    latency_ms: u64,
    runs: usize,
    tag: &str,
    spent: bool,
) -> Result<ThrottledRuns, BenchError> {
    let tenant = target.tenant_id;
    let users = emu
        .state()
        .read()
        .tenants
        .get(tenant)
        .map_or(0, |t| t.users.len());
    let mut out = ThrottledRuns {
        runs: Measured::new(latency_ms, false),
        quota: Quota::resource_units(TenantSize::of(users)).quota,
        resource_units: Vec::new(),
        throttled: Vec::new(),
        spent,
    };
    for i in 0..runs {
        emu.set_knobs(Knobs {
            latency_ms,
            graph_limits: true,
            ..Knobs::default()
        });
        if spent {
            emu.start_limits_spent();
        }
        emu.clear_log();
        let r = target.run(
            false,
            &["plan", spec, "--detailed-exitcode"],
            &format!("{tag}-{}-{i}", if spent { "spent" } else { "full" }),
        )?;
        if r.code == 1 {
            return Err(step_failed("plan under Graph's limits", "plan", &r));
        }
        out.runs.add(&r, &emu.request_log());
        let usage = emu.limits_usage(tenant);
        out.resource_units.push(usage.resource_units);
        out.throttled.push(usage.throttled);
    }
    Ok(out)
}

/// [`measure`] with the bucket full, then spent.
pub(super) fn measure_both(
    target: &Target<'_>,
    emu: &RunningEmulator,
    spec: &str,
    latency_ms: u64,
    runs: usize,
    tag: &str,
) -> Result<Vec<ThrottledRuns>, BenchError> {
    [false, true]
        .into_iter()
        .map(|spent| measure(target, emu, spec, latency_ms, runs, tag, spent))
        .collect()
}

/// The rows and target lines of [`measure_both`].
pub(super) fn table(all: &[ThrottledRuns]) -> String {
    let rows: Vec<String> = all.iter().map(ThrottledRuns::row).collect();
    let targets: String = all.iter().map(ThrottledRuns::targets).collect();
    format!("{HEAD}\n{}\n\n{targets}", rows.join("\n"))
}
