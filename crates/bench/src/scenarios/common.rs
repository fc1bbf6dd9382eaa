//! What the scenarios share: the options, the figures they return, how entractl is run against
//! an emulator tenant, and the emulator set-ups.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET};
use graph_emulator::{EmulatorConfig, Knobs, RunningEmulator, TenantSource};
use serde_json::Value;

use crate::BenchError;
use crate::analyze::{self, Traffic};
use crate::measure::{self, ProcRun};
use crate::stats::{fmt_duration, fmt_kib, median, min};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `entractl` binary to measure.
    pub entractl: PathBuf,
    /// The repository root (for `specs/` and `git describe`).
    pub root: PathBuf,
    /// Scratch directory (spec files, journals, process output).
    pub scratch: PathBuf,
    /// Tiny sizes and one run each (CI).
    pub smoke: bool,
}

impl Options {
    pub(super) fn runs(&self) -> usize {
        if self.smoke { 1 } else { 3 }
    }
}

/// Everything one run found, for tests and for the report.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Scenario 1, per (latency, mode).
    pub converged_plan: Vec<Measured>,
    /// Scenario 2, per mode.
    pub apply_from_empty: Vec<ApplyMeasured>,
    /// Scenario 3, per (latency, mode); empty when skipped.
    pub assignments: Vec<Measured>,
    /// Scenario 3 skip reason.
    pub assignments_skipped: Option<String>,
    /// The fleet scenario (issue 10).
    pub fleet: Option<FleetMeasured>,
}

/// Repeated runs of one entractl command in one configuration.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Injected latency per request.
    pub latency_ms: u64,
    /// `--naive`.
    pub naive: bool,
    /// Requests of the first run (the same in every run: the counts do not depend on timing).
    pub traffic: Traffic,
    /// Whether every run sent the same requests.
    pub stable: bool,
    /// Waves after the token, per run.
    pub waves: Vec<usize>,
    /// Wall time per run.
    pub walls: Vec<Duration>,
    /// Peak RSS per run (KiB).
    pub rss: Vec<u64>,
    /// Exit codes per run.
    pub codes: Vec<i32>,
}

/// One configuration of scenario 2.
#[derive(Debug, Clone)]
pub struct ApplyMeasured {
    /// The apply runs.
    pub runs: Measured,
    /// Duplicate objects found after each apply (empty = none).
    pub duplicates: Vec<String>,
    /// Whether a plan after each apply found nothing to change.
    pub converged: bool,
}

impl Measured {
    pub(super) fn new(latency_ms: u64, naive: bool) -> Self {
        Measured {
            latency_ms,
            naive,
            traffic: Traffic::default(),
            stable: true,
            waves: Vec::new(),
            walls: Vec::new(),
            rss: Vec::new(),
            codes: Vec::new(),
        }
    }

    pub(super) fn add(&mut self, run: &ProcRun, log: &[graph_emulator::LogEntry]) {
        let t = analyze::traffic(log);
        if self.codes.is_empty() {
            self.traffic = t;
        } else if t != self.traffic {
            self.stable = false;
        }
        self.waves
            .push(analyze::waves_after_token(log, self.latency_ms));
        self.walls.push(run.wall);
        if let Some(k) = run.peak_rss_kib {
            self.rss.push(k);
        }
        self.codes.push(run.code);
    }

    pub(super) fn mode(&self) -> &'static str {
        if self.naive { "naive" } else { "batched" }
    }

    pub(super) fn wall_median(&self) -> Duration {
        median(&self.walls).unwrap_or_default()
    }

    pub(super) fn wall_cell(&self) -> String {
        match (median(&self.walls), min(&self.walls)) {
            (Some(m), Some(n)) if self.walls.len() > 1 => {
                format!("{} ({})", fmt_duration(m), fmt_duration(n))
            }
            (Some(m), _) => fmt_duration(m),
            _ => "—".into(),
        }
    }

    pub(super) fn rss_cell(&self) -> String {
        self.rss
            .iter()
            .max()
            .map_or("not measured".into(), |k| fmt_kib(*k))
    }

    pub(super) fn waves_cell(&self) -> String {
        if self.latency_ms < 20 {
            "—".into()
        } else {
            median(&self.waves).map_or("—".into(), |w| w.to_string())
        }
    }

    pub(super) fn row(&self) -> String {
        let t = &self.traffic;
        format!(
            "| {} ms | {} | {} ({} `$batch`) | {} | {} | {} | {} |{}",
            self.latency_ms,
            self.mode(),
            t.http_requests,
            t.batches,
            t.graph_operations,
            self.waves_cell(),
            self.wall_cell(),
            self.rss_cell(),
            if self.stable {
                ""
            } else {
                " request counts differed between runs |"
            }
        )
    }
}

pub(super) const TABLE_HEAD: &str = "| latency | mode | HTTP requests | Graph operations | waves after token | wall | peak RSS |\n|---|---|---|---|---|---|---|";

/// How to run entractl against one emulator tenant.
pub(super) struct Target<'a> {
    pub(super) opts: &'a Options,
    pub(super) base_url: String,
    pub(super) tenant_id: &'static str,
}

impl Target<'_> {
    pub(super) fn command(&self, naive: bool, args: &[&str]) -> Command {
        let mut c = Command::new(&self.opts.entractl);
        c.current_dir(&self.opts.root);
        c.env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("AZURE_TENANT_ID", self.tenant_id)
            .env("AZURE_CLIENT_ID", CI_CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET);
        c.args(["--color", "never", "--auth", "client-secret"])
            .args([
                "--graph-url",
                &self.base_url,
                "--authority-url",
                &self.base_url,
            ]);
        if naive {
            c.arg("--naive");
        }
        c.args(args);
        c
    }

    pub(super) fn run(&self, naive: bool, args: &[&str], tag: &str) -> Result<ProcRun, BenchError> {
        measure::run(&self.command(naive, args), &self.opts.scratch.join(tag))
    }

    /// Apply `spec` (MFA downgrades allowed: a sandbox) so the tenant is converged before a measurement;
    /// the journal and outputs go under `<scratch>/<tag>-journal` and `<scratch>/<tag>-apply`.
    pub(super) fn converge(
        &self,
        scenario: &'static str,
        spec: &str,
        tag: &str,
    ) -> Result<(), BenchError> {
        let journal = path_str(&self.opts.scratch.join(format!("{tag}-journal")));
        let setup = self.run(
            false,
            &[
                "apply",
                spec,
                "--auto-approve",
                "--allow-security-downgrade",
                "--journal-dir",
                &journal,
            ],
            &format!("{tag}-apply"),
        )?;
        if setup.code != 0 {
            return Err(step_failed(
                scenario,
                "apply (to converge the tenant)",
                &setup,
            ));
        }
        Ok(())
    }
}

pub(super) fn step_failed(scenario: &'static str, step: &str, run: &ProcRun) -> BenchError {
    BenchError::Step {
        scenario,
        step: step.to_string(),
        code: run.code,
        stderr: run.stderr_head(),
    }
}

pub(super) fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Adds copies of the tenant's conditional access policies until it holds `count` (smoke: keeps
/// none, so that setup does no paced conditional-access writes).
pub(super) fn set_ca_policies(emu: &RunningEmulator, count: usize) {
    let ids: Vec<String> = (0..count).map(|_| emu.state().new_guid()).collect();
    emu.with_tenant(|t| {
        let originals: Vec<graph_emulator::Record> =
            t.conditional_access_policies.iter().cloned().collect();
        if count == 0 {
            for r in &originals {
                t.conditional_access_policies.remove(r.id());
            }
            return;
        }
        let mut n = originals.len();
        let mut i = 0;
        while n < count && !originals.is_empty() {
            let mut r = originals[i % originals.len()].clone();
            let name = r.str("displayName").unwrap_or("policy").to_string();
            r.obj.insert("id".into(), Value::String(ids[i].clone()));
            r.obj.insert(
                "displayName".into(),
                Value::String(format!("{name} (copy {})", i + 1)),
            );
            t.conditional_access_policies.insert(r);
            n += 1;
            i += 1;
        }
    });
}

/// The Contoso scenario the Kandji spec converges on: `p1-legacy` on purpose, because on `p1`
/// (baseline-scope enforcement, Microsoft-managed policies that refuse app exclusions) the seed
/// spec's MFA remediation cannot converge until entractl handles enforced tenants (issue 17).
pub(super) const CONTOSO: &str = "p1-legacy";

pub(super) fn start(source: TenantSource, knobs: Knobs) -> Result<RunningEmulator, BenchError> {
    let mut cfg = EmulatorConfig::scenario("p1");
    cfg.sources = vec![source];
    cfg.knobs = knobs;
    Ok(graph_emulator::start(cfg)?)
}

pub(super) fn latency(ms: u64) -> Knobs {
    Knobs {
        latency_ms: ms,
        ..Knobs::default()
    }
}

/// Issue 10's fleet figures: reported as skipped until entractl has `plan --fleet`.
/// One run of the fleet scenario.
#[derive(Debug, Clone)]
pub struct FleetMeasured {
    /// Tenants in the fleet (each a converged copy of scenario 1's tenant).
    pub tenants: usize,
    /// `--parallel`.
    pub parallel: usize,
    /// Injected latency per request.
    pub latency_ms: u64,
    /// The whole run's requests.
    pub traffic: Traffic,
    /// Graph operations of each tenant (by tenant id), token and envelopes left out.
    pub per_tenant: BTreeMap<String, usize>,
    /// Graph operations of one single-tenant plan of the same tenant (scenario 1, batched).
    pub single_tenant: Option<usize>,
    /// The `plan --fleet` process.
    pub walls: Vec<Duration>,
    pub rss: Vec<u64>,
    pub codes: Vec<i32>,
}

impl FleetMeasured {
    /// Every tenant sent exactly the single-tenant figure.
    pub fn per_tenant_equal(&self) -> bool {
        self.per_tenant.len() == self.tenants
            && self
                .single_tenant
                .is_some_and(|n| self.per_tenant.values().all(|&v| v == n))
    }
}
