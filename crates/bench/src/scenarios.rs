//! The scenarios of issue 9, each returning its report section and the figures tests check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, EMPTY_TENANT_ID, P1_TENANT_ID};
use graph_emulator::{EmulatorConfig, Knobs, RunningEmulator, TenantSource};
use serde_json::Value;

use crate::analyze::{self, Traffic};
use crate::measure::{self, ProcRun};
use crate::report::Report;
use crate::stats::{fmt_duration, fmt_kib, median, min, ratio};
use crate::{BenchError, machine};

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
    fn runs(&self) -> usize {
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
    fn new(latency_ms: u64, naive: bool) -> Self {
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

    fn add(&mut self, run: &ProcRun, log: &[graph_emulator::LogEntry]) {
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

    fn mode(&self) -> &'static str {
        if self.naive { "naive" } else { "batched" }
    }

    fn wall_median(&self) -> Duration {
        median(&self.walls).unwrap_or_default()
    }

    fn wall_cell(&self) -> String {
        match (median(&self.walls), min(&self.walls)) {
            (Some(m), Some(n)) if self.walls.len() > 1 => {
                format!("{} ({})", fmt_duration(m), fmt_duration(n))
            }
            (Some(m), _) => fmt_duration(m),
            _ => "—".into(),
        }
    }

    fn rss_cell(&self) -> String {
        self.rss
            .iter()
            .max()
            .map_or("not measured".into(), |k| fmt_kib(*k))
    }

    fn waves_cell(&self) -> String {
        if self.latency_ms < 20 {
            "—".into()
        } else {
            median(&self.waves).map_or("—".into(), |w| w.to_string())
        }
    }

    fn row(&self) -> String {
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

const TABLE_HEAD: &str = "| latency | mode | HTTP requests | Graph operations | waves after token | wall | peak RSS |\n|---|---|---|---|---|---|---|";

/// How to run entractl against one emulator tenant.
struct Target<'a> {
    opts: &'a Options,
    base_url: String,
    tenant_id: &'static str,
}

impl Target<'_> {
    fn command(&self, naive: bool, args: &[&str]) -> Command {
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

    fn run(&self, naive: bool, args: &[&str], tag: &str) -> Result<ProcRun, BenchError> {
        measure::run(&self.command(naive, args), &self.opts.scratch.join(tag))
    }

    /// Apply `spec` (MFA downgrades allowed: a sandbox) so the tenant is converged before a measurement;
    /// the journal and outputs go under `<scratch>/<tag>-journal` and `<scratch>/<tag>-apply`.
    fn converge(&self, scenario: &'static str, spec: &str, tag: &str) -> Result<(), BenchError> {
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

fn step_failed(scenario: &'static str, step: &str, run: &ProcRun) -> BenchError {
    BenchError::Step {
        scenario,
        step: step.to_string(),
        code: run.code,
        stderr: run.stderr_head(),
    }
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Runs every scenario and returns the report (not yet written) and the figures.
pub fn run_all(opts: &Options) -> Result<(Report, Results), BenchError> {
    std::fs::create_dir_all(&opts.scratch)
        .map_err(|e| BenchError::io("create", &opts.scratch, e))?;
    let mut results = Results::default();
    let mut sections = Vec::new();
    eprintln!("[1/6] plan of a converged P1 tenant");
    sections.push(converged_plan(opts, &mut results)?);
    eprintln!("[2/6] apply from an empty tenant with replication delay");
    sections.push(apply_from_empty(opts, &mut results)?);
    eprintln!("[3/6] assignments and per-user MFA scan");
    sections.push(assignments(opts, &mut results)?);
    eprintln!("[4/6] emulator throughput and load time");
    sections.push(emulator_speed(opts)?);
    eprintln!("[5/6] validate");
    sections.push(validate(opts)?);
    eprintln!("[6/6] fleet scale");
    sections.push(fleet(opts, &mut results)?);
    let report = Report {
        machine: machine::detect(&opts.root),
        smoke: opts.smoke,
        entractl: path_str(
            opts.entractl
                .strip_prefix(&opts.root)
                .unwrap_or(&opts.entractl),
        ),
        rss_method: measure::rss_method().to_string(),
        sections,
    };
    Ok((report, results))
}

/// Adds copies of the tenant's conditional access policies until it holds `count` (smoke: keeps
/// none, so that setup does no paced conditional-access writes).
fn set_ca_policies(emu: &RunningEmulator, count: usize) {
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
const CONTOSO: &str = "p1-legacy";

fn start(source: TenantSource, knobs: Knobs) -> Result<RunningEmulator, BenchError> {
    let mut cfg = EmulatorConfig::scenario("p1");
    cfg.sources = vec![source];
    cfg.knobs = knobs;
    Ok(graph_emulator::start(cfg)?)
}

fn latency(ms: u64) -> Knobs {
    Knobs {
        latency_ms: ms,
        ..Knobs::default()
    }
}

/// Scenario 1: plan of specs/kandji-passport-mac-login.yaml on a converged P1 tenant.
fn converged_plan(opts: &Options, results: &mut Results) -> Result<(String, String), BenchError> {
    const S: &str = "scenario 1 (converged plan)";
    let policies = if opts.smoke { 0 } else { 50 };
    let emu = start(TenantSource::Scenario(CONTOSO.into()), Knobs::default())?;
    set_ca_policies(&emu, policies);
    let target = Target {
        opts,
        base_url: emu.base_url(),
        tenant_id: P1_TENANT_ID,
    };
    let spec = "specs/kandji-passport-mac-login.yaml";
    target.converge(S, spec, "s1")?;
    let mut rows = Vec::new();
    for lat in [0u64, 50] {
        emu.set_knobs(latency(lat));
        for naive in [false, true] {
            let mut m = Measured::new(lat, naive);
            for i in 0..opts.runs() {
                emu.clear_log();
                let r = target.run(
                    naive,
                    &["plan", spec, "--detailed-exitcode"],
                    &format!("s1-plan-{lat}-{naive}-{i}"),
                )?;
                if r.code == 1 {
                    return Err(step_failed(S, "plan", &r));
                }
                m.add(&r, &emu.request_log());
            }
            rows.push(m);
        }
    }
    let mut body = format!(
        "`entractl plan specs/kandji-passport-mac-login.yaml` on the `p1-legacy` scenario (Contoso, Entra ID P1, before baseline-scope enforcement) \
         after `entractl apply` converged it, with {policies} conditional access policies \
         ({}). {} run(s) per line.\n\n{TABLE_HEAD}\n",
        if opts.smoke {
            "smoke: the scenario's policies removed"
        } else {
            "the scenario's 7 and copies of them"
        },
        opts.runs()
    );
    for m in &rows {
        body.push_str(&m.row());
        body.push('\n');
    }
    body.push('\n');
    for lat in [0u64, 50] {
        let b = rows.iter().find(|m| m.latency_ms == lat && !m.naive);
        let n = rows.iter().find(|m| m.latency_ms == lat && m.naive);
        if let (Some(b), Some(n)) = (b, n) {
            body.push_str(&format!(
                "- {lat} ms: naive / batched = {} wall, {} HTTP requests.\n",
                ratio(n.wall_median().as_secs_f64(), b.wall_median().as_secs_f64()),
                ratio(
                    n.traffic.http_requests as f64,
                    b.traffic.http_requests as f64
                ),
            ));
        }
    }
    if let Some(b) = rows.iter().find(|m| m.latency_ms == 50 && !m.naive) {
        let waves = median(&b.waves).unwrap_or(0);
        let limit = Duration::from_millis(4 * 50 + 100);
        body.push_str(&format!(
            "- Target: at most 3 waves after the token — **{}** ({waves}).\n",
            if waves <= 3 { "met" } else { "not met" }
        ));
        body.push_str(&format!(
            "- Target: wall time at 50 ms under 4 × latency + 100 ms = 300 ms — **{}** ({}).\n",
            if b.wall_median() < limit {
                "met"
            } else {
                "not met"
            },
            fmt_duration(b.wall_median())
        ));
        let converged = rows.iter().all(|m| m.codes.iter().all(|&c| c == 0));
        body.push_str(&format!(
            "- Every plan found the tenant converged (exit 0 with `--detailed-exitcode`): {}.\n",
            if converged { "yes" } else { "**no**" }
        ));
        body.push_str("\nGraph operations of one batched plan:\n\n");
        for (k, n) in &b.traffic.by_template {
            body.push_str(&format!("- `{k}` × {n}\n"));
        }
    }
    results.converged_plan = rows;
    Ok((
        "1. Plan of a converged P1 tenant (specs/kandji-passport-mac-login.yaml)".into(),
        body,
    ))
}

/// Duplicate objects for the app with this uniqueName (empty = none).
fn duplicates(emu: &RunningEmulator, unique_name: &str) -> Vec<String> {
    emu.with_tenant(|t| {
        let mut found = Vec::new();
        let apps: Vec<&graph_emulator::Record> = t
            .applications
            .iter()
            .filter(|r| r.str("uniqueName") == Some(unique_name))
            .collect();
        if apps.len() != 1 {
            found.push(format!(
                "{} applications with uniqueName {unique_name}",
                apps.len()
            ));
        }
        for app in apps {
            let app_id = app.str("appId").unwrap_or_default();
            let sps: Vec<&graph_emulator::Record> = t
                .service_principals
                .iter()
                .filter(|r| r.str("appId") == Some(app_id))
                .collect();
            if sps.len() > 1 {
                found.push(format!(
                    "{} service principals for appId {app_id}",
                    sps.len()
                ));
            }
            for sp in sps {
                let mut grants: BTreeMap<String, usize> = BTreeMap::new();
                for g in t.oauth2_permission_grants.iter() {
                    if g.str("clientId") == Some(sp.id()) {
                        let key = format!(
                            "{}/{}/{}",
                            g.str("resourceId").unwrap_or_default(),
                            g.str("consentType").unwrap_or_default(),
                            g.str("principalId").unwrap_or_default()
                        );
                        *grants.entry(key).or_default() += 1;
                    }
                }
                let mut assignments: BTreeMap<String, usize> = BTreeMap::new();
                for a in t.app_role_assignments.iter() {
                    if a.str("resourceId") == Some(sp.id()) || a.str("principalId") == Some(sp.id())
                    {
                        let key = format!(
                            "{}/{}/{}",
                            a.str("principalId").unwrap_or_default(),
                            a.str("resourceId").unwrap_or_default(),
                            a.str("appRoleId").unwrap_or_default()
                        );
                        *assignments.entry(key).or_default() += 1;
                    }
                }
                for (k, n) in grants.iter().chain(assignments.iter()) {
                    if *n > 1 {
                        found.push(format!("{n} × {k}"));
                    }
                }
            }
        }
        found
    })
}

/// Scenario 2: apply from an empty tenant with replication delay.
fn apply_from_empty(opts: &Options, results: &mut Results) -> Result<(String, String), BenchError> {
    const S: &str = "scenario 2 (apply from empty)";
    let (delay, lat) = if opts.smoke { (200, 5) } else { (2000, 50) };
    let spec = "specs/kandji-passport-mac-login.yaml";
    let mut rows = Vec::new();
    for naive in [false, true] {
        let mut m = Measured::new(lat, naive);
        let mut dups = Vec::new();
        let mut converged = true;
        for i in 0..opts.runs() {
            let emu = start(TenantSource::Scenario(CONTOSO.into()), Knobs::default())?;
            if opts.smoke {
                set_ca_policies(&emu, 0);
            }
            emu.set_knobs(Knobs {
                latency_ms: lat,
                replication_delay_ms: delay,
                ..Knobs::default()
            });
            let target = Target {
                opts,
                base_url: emu.base_url(),
                tenant_id: P1_TENANT_ID,
            };
            let journal = path_str(&opts.scratch.join(format!("s2-journal-{naive}-{i}")));
            emu.clear_log();
            let r = target.run(
                naive,
                &[
                    "apply",
                    spec,
                    "--auto-approve",
                    "--allow-security-downgrade",
                    "--journal-dir",
                    &journal,
                ],
                &format!("s2-apply-{naive}-{i}"),
            )?;
            if r.code != 0 {
                return Err(step_failed(S, "apply", &r));
            }
            m.add(&r, &emu.request_log());
            dups.extend(duplicates(&emu, "kandji-passport"));
            emu.set_knobs(Knobs::default());
            let p = target.run(
                false,
                &["plan", spec, "--detailed-exitcode"],
                &format!("s2-plan-{naive}-{i}"),
            )?;
            converged &= p.code == 0;
        }
        rows.push(ApplyMeasured {
            runs: m,
            duplicates: dups,
            converged,
        });
    }
    let mut body = format!(
        "`entractl apply specs/kandji-passport-mac-login.yaml --auto-approve` on a fresh `p1-legacy` tenant (none of \
         the spec's objects exist yet) with {delay} ms replication delay and {lat} ms latency per \
         request{}; a fresh tenant per run, {} run(s) per line. After each apply the harness \
         checks the tenant for duplicate objects (applications with the spec's uniqueName, \
         service principals per appId, permission grants, app role assignments) and runs \
         `plan --detailed-exitcode`.\n\n\
         | mode | HTTP requests | Graph operations | waves after token | wall | peak RSS | duplicates | converged after |\n|---|---|---|---|---|---|---|---|\n",
        if opts.smoke {
            " (smoke: conditional access policies removed)"
        } else {
            ""
        },
        opts.runs()
    );
    for a in &rows {
        let m = &a.runs;
        body.push_str(&format!(
            "| {} | {} ({} `$batch`) | {} | {} | {} | {} | {} | {} |\n",
            m.mode(),
            m.traffic.http_requests,
            m.traffic.batches,
            m.traffic.graph_operations,
            m.waves_cell(),
            m.wall_cell(),
            m.rss_cell(),
            if a.duplicates.is_empty() {
                "none".to_string()
            } else {
                format!("**{}**", a.duplicates.join("; "))
            },
            if a.converged { "yes" } else { "**no**" },
        ));
    }
    if let [b, n] = rows.as_slice() {
        body.push_str(&format!(
            "\nnaive / batched = {} wall, {} HTTP requests.\n",
            ratio(
                n.runs.wall_median().as_secs_f64(),
                b.runs.wall_median().as_secs_f64()
            ),
            ratio(
                n.runs.traffic.http_requests as f64,
                b.runs.traffic.http_requests as f64
            ),
        ));
    }
    results.apply_from_empty = rows;
    Ok((
        format!("2. Apply from an empty tenant, {delay} ms replication delay"),
        body,
    ))
}

/// Sizes of scenario 3.
struct Sizes {
    users: usize,
    groups: usize,
    members: usize,
}

fn assignment_fixture(s: &Sizes) -> String {
    let base = graph_emulator::scenarios::text("empty").unwrap_or_default();
    let mut y = format!(
        "{base}\ngenerate:\n  users: {{count: {}, domain: empty.onmicrosoft.com, perUserMfaEvery: 10}}\n  groups:\n    - {{displayName: Mac Users, memberCount: {}}}\n",
        s.members.max(s.users),
        s.members
    );
    for g in 1..s.groups {
        y.push_str(&format!(
            "    - {{displayName: Bench Group {g:03}, memberCount: 10}}\n"
        ));
    }
    y
}

fn assignment_spec(upns: &[String], s: &Sizes) -> String {
    let mut y = String::from(
        "version: 1\ntenant: empty.onmicrosoft.com\ncloud: public\npreset: kandji-passport\npassport:\n  mode: mac-login\n\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n\nassignments:\n  users:\n",
    );
    for u in upns {
        y.push_str(&format!("    - {u}\n"));
    }
    y.push_str("  groups:\n    - Mac Users\n");
    for g in 1..s.groups {
        y.push_str(&format!("    - Bench Group {g:03}\n"));
    }
    y.push_str("  prune: false\n");
    y
}

/// Scenario 3: assignments of many users and groups, per-user MFA scan of the group members.
fn assignments(opts: &Options, results: &mut Results) -> Result<(String, String), BenchError> {
    let sizes = if opts.smoke {
        Sizes {
            users: 50,
            groups: 5,
            members: 100,
        }
    } else {
        Sizes {
            users: 5000,
            groups: 200,
            members: 10000,
        }
    };
    let title = format!(
        "3. Assignments of {} users and {} groups, per-user MFA scan of {} group members",
        sizes.users, sizes.groups, sizes.members
    );
    let emu = start(
        TenantSource::FixtureText {
            name: "bench assignments".into(),
            text: assignment_fixture(&sizes),
        },
        Knobs::default(),
    )?;
    let upns: Vec<String> = emu.with_tenant(|t| {
        let mut v: Vec<String> = t
            .users
            .iter()
            .filter_map(|r| r.str("userPrincipalName").map(str::to_string))
            .collect();
        v.sort();
        v.truncate(sizes.users);
        v
    });
    let spec = opts.scratch.join("s3-spec.yaml");
    std::fs::write(&spec, assignment_spec(&upns, &sizes))
        .map_err(|e| BenchError::io("write", &spec, e))?;
    let spec_s = path_str(&spec);
    let target = Target {
        opts,
        base_url: emu.base_url(),
        tenant_id: EMPTY_TENANT_ID,
    };
    // Lower bound: one request per 20 objects looked up (users, groups) or scanned (members).
    let bound = sizes.users.div_ceil(20) + sizes.groups.div_ceil(20) + sizes.members.div_ceil(20);
    let mut rows = Vec::new();
    let configs: Vec<(u64, bool, usize)> = if opts.smoke {
        vec![(0, false, 1), (0, true, 1)]
    } else {
        vec![(0, false, 3), (0, true, 1), (50, false, 3)]
    };
    for (lat, naive, runs) in configs {
        emu.set_knobs(latency(lat));
        let mut m = Measured::new(lat, naive);
        for i in 0..runs {
            emu.clear_log();
            let r = target.run(
                naive,
                &["plan", &spec_s, "--detailed-exitcode"],
                &format!("s3-plan-{lat}-{naive}-{i}"),
            )?;
            if r.code == 1 {
                let reason = format!(
                    "`entractl plan` failed on the spec: {}",
                    r.stderr_head().lines().next().unwrap_or("no message")
                );
                results.assignments_skipped = Some(reason.clone());
                return Ok((title, format!("Skipped: {reason}\n")));
            }
            m.add(&r, &emu.request_log());
        }
        rows.push(m);
    }
    let first = &rows[0].traffic;
    let looked_up = analyze::operations_matching(first, "/users")
        - analyze::operations_matching(first, "/authentication/requirements");
    let scanned = analyze::operations_matching(first, "/authentication/requirements");
    let mut missing = Vec::new();
    if looked_up + analyze::operations_matching(first, "/groups") == 0 {
        missing.push(format!(
            "entractl sent no user or group request for the {} assigned users and {} groups \
             (assignments, issue 6, not in this build)",
            sizes.users, sizes.groups
        ));
    }
    if scanned == 0 {
        missing.push(format!(
            "entractl read no per-user MFA state of the {} group members (per-user MFA scan, \
             issue 7, not in this build)",
            sizes.members
        ));
    }
    if !missing.is_empty() {
        let reason = missing.join("; ");
        results.assignments_skipped = Some(reason.clone());
        return Ok((
            title,
            format!(
                "Skipped: {reason}. The harness runs this scenario (a tenant of {} users with \
                 `Mac Users` of {} members and {} more groups, a spec assigning {} users and {} \
                 groups) and reports figures once entractl reads them.\n",
                sizes.members.max(sizes.users),
                sizes.members,
                sizes.groups - 1,
                sizes.users,
                sizes.groups
            ),
        ));
    }
    let mut body = format!(
        "`entractl plan` of a spec assigning {} users and {} groups (`Mac Users` with {} members, \
         {} groups of 10) with per-user MFA `disabledForAppUsers` (the preset), on a P1 tenant \
         where nothing is assigned yet and every 10th user has per-user MFA enforced.\n\n{TABLE_HEAD}\n",
        sizes.users,
        sizes.groups,
        sizes.members,
        sizes.groups - 1
    );
    for m in &rows {
        body.push_str(&m.row());
        body.push('\n');
    }
    let b = &rows[0];
    body.push_str(&format!(
        "\n- Lower bound (one request per 20 users, groups and members): {bound} HTTP requests; \
         batched sent {} = {} of it — target within 10%: **{}**.\n",
        b.traffic.http_requests,
        ratio(b.traffic.http_requests as f64, bound as f64),
        if (b.traffic.http_requests as f64) <= bound as f64 * 1.1 {
            "met"
        } else {
            "not met"
        }
    ));
    let peak = rows
        .iter()
        .filter(|m| !m.naive)
        .flat_map(|m| m.rss.iter().copied())
        .max();
    if let Some(k) = peak {
        body.push_str(&format!(
            "- Target: peak RSS under 64 MB — **{}** ({}).\n",
            if k < 64 * 1024 { "met" } else { "not met" },
            fmt_kib(k)
        ));
    }
    body.push_str(&format!(
        "- Operations: {looked_up} on users, {scanned} per-user MFA reads.\n"
    ));
    results.assignments = rows;
    Ok((title, body))
}

/// A token for the emulator's CI client (loopback only).
async fn token(client: &reqwest::Client, base: &str, tenant: &str) -> Result<String, BenchError> {
    let resp = client
        .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CI_CLIENT_ID),
            ("client_secret", CI_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .map_err(|e| BenchError::Other(format!("emulator token request failed: {e}")))?;
    let v: Value = resp
        .json()
        .await
        .map_err(|e| BenchError::Other(format!("emulator token answer unreadable: {e}")))?;
    v.get("access_token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| BenchError::Other("the emulator issued no access token".into()))
}

/// GETs per second with `connections` keep-alive connections for `secs`.
fn throughput(base: &str, connections: usize, duration: Duration) -> Result<f64, BenchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BenchError::Other(format!("cannot start a tokio runtime: {e}")))?;
    rt.block_on(async {
        let setup = reqwest::Client::new();
        let tok = token(&setup, base, P1_TENANT_ID).await?;
        let url = format!("{base}/v1.0/users/alice@contoso.com");
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..connections {
            // One client per connection: HTTP/1.1 keep-alive, one connection each.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .map_err(|e| BenchError::Other(format!("cannot build an HTTP client: {e}")))?;
            let (url, tok) = (url.clone(), tok.clone());
            tasks.spawn(async move {
                let mut ok = 0u64;
                while start.elapsed() < duration {
                    match client.get(&url).bearer_auth(&tok).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            ok += 1;
                        }
                        _ => return Err(()),
                    }
                }
                Ok(ok)
            });
        }
        let mut total = 0u64;
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(Ok(n)) => total += n,
                _ => {
                    return Err(BenchError::Other(
                        "a GET to the emulator failed during the throughput run".into(),
                    ));
                }
            }
        }
        Ok(total as f64 / start.elapsed().as_secs_f64())
    })
}

/// Scenario 4: emulator throughput and the load time of the 100,000-user scenario.
fn emulator_speed(opts: &Options) -> Result<(String, String), BenchError> {
    let emu = start(TenantSource::Scenario(CONTOSO.into()), Knobs::default())?;
    let (conns, dur): (&[usize], Duration) = if opts.smoke {
        (&[1, 2], Duration::from_millis(200))
    } else {
        (&[1, 4, 16], Duration::from_secs(3))
    };
    let mut body = format!(
        "`GET /v1.0/users/alice@contoso.com` (a key lookup, with token check, routing, logging) \
         on the `p1-legacy` scenario without latency, from keep-alive HTTP/1.1 connections in this \
         process for {} per run; median of {} run(s). Client and emulator share the CPUs.\n\n\
         | connections | GETs per second |\n|---|---|\n",
        fmt_duration(dur),
        opts.runs()
    );
    for &c in conns {
        let mut rates = Vec::new();
        for _ in 0..opts.runs() {
            rates.push(throughput(&emu.base_url(), c, dur)? as u64);
        }
        body.push_str(&format!("| {c} | {} |\n", median(&rates).unwrap_or(0)));
    }
    drop(emu);
    let scenario = if opts.smoke { "p1" } else { "large" };
    let mut loads = Vec::new();
    for _ in 0..opts.runs() {
        let t = Instant::now();
        let dir = graph_emulator::load_directory(
            &EmulatorConfig::scenario(scenario),
            "http://127.0.0.1:0",
        )?;
        loads.push(t.elapsed());
        drop(dir);
    }
    body.push_str(&format!(
        "\nLoad time of the `{scenario}` scenario ({}; `graph_emulator::load_directory`, what \
         `graph-emulator --scenario {scenario}` does before it listens): median {} (min {}).\n",
        if opts.smoke {
            "smoke: 300 users instead of the 100,000 of `large`"
        } else {
            "100,000 users, two groups of 10,000 members"
        },
        fmt_duration(median(&loads).unwrap_or_default()),
        fmt_duration(min(&loads).unwrap_or_default()),
    ));
    Ok(("4. Emulator throughput and load time".into(), body))
}

/// Scenario 5: `entractl validate` of the example specs.
fn validate(opts: &Options) -> Result<(String, String), BenchError> {
    let dir = opts.root.join("specs");
    let mut specs: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| BenchError::io("read", &dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| path_str(p.strip_prefix(&opts.root).unwrap_or(&p)))
        .collect();
    specs.sort();
    let runs = if opts.smoke { 2 } else { 15 };
    let mut walls = Vec::new();
    let mut rss = Vec::new();
    for i in 0..runs {
        let mut c = Command::new(&opts.entractl);
        c.current_dir(&opts.root)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .args(["--color", "never", "validate"])
            .args(&specs);
        let r = measure::run(&c, &opts.scratch.join(format!("s5-{i}")))?;
        if r.code != 0 {
            return Err(step_failed("scenario 5 (validate)", "validate", &r));
        }
        walls.push(r.wall);
        rss.extend(r.peak_rss_kib);
    }
    let body = format!(
        "`entractl validate {}` (one process, no network): {runs} runs, median {}, min {}, peak \
         RSS {}.\n",
        specs.join(" "),
        fmt_duration(median(&walls).unwrap_or_default()),
        fmt_duration(min(&walls).unwrap_or_default()),
        rss.iter()
            .max()
            .map_or("not measured".into(), |k| fmt_kib(*k)),
    );
    Ok(("5. `validate` of the example specs".into(), body))
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

/// Adds `count - 1` copies of the emulator's default tenant under new tenant ids (the directory,
/// the converged app and the automation client included); returns every tenant id, the original
/// first.
fn clone_tenant(emu: &RunningEmulator, count: usize) -> Vec<String> {
    let original = emu.tenant_id();
    let ids: Vec<String> = (1..count).map(|_| emu.state().new_guid()).collect();
    let mut state = emu.state().write();
    let Some(base) = state.tenants.get(&original).cloned() else {
        return vec![original];
    };
    for id in &ids {
        let mut t = base.clone();
        t.id = id.clone();
        t.organization
            .insert("id".into(), Value::String(id.clone()));
        state.tenants.insert(id.clone(), t);
    }
    drop(state);
    std::iter::once(original).chain(ids).collect()
}

/// Fleet scale (issue 10): `entractl plan --fleet` of many converged tenants hosted by one
/// emulator at 50 ms latency.
fn fleet(opts: &Options, results: &mut Results) -> Result<(String, String), BenchError> {
    const S: &str = "fleet scale";
    let tenants = if opts.smoke { 3 } else { 500 };
    let parallel = 16;
    let lat = 50u64;
    let policies = if opts.smoke { 0 } else { 50 };
    let emu = start(TenantSource::Scenario(CONTOSO.into()), Knobs::default())?;
    set_ca_policies(&emu, policies);
    let target = Target {
        opts,
        base_url: emu.base_url(),
        tenant_id: P1_TENANT_ID,
    };
    let spec = "specs/kandji-passport-mac-login.yaml";
    target.converge(S, spec, "fleet")?;
    let ids = clone_tenant(&emu, tenants);
    let dir = opts.scratch.join("fleet");
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::io("create", &dir, e))?;
    let mut yaml = format!(
        "version: 1\ndefaults:\n  spec: {}\n  auth:\n    method: client-secret\n    clientId: {CI_CLIENT_ID}\n    secretEnv: ENTRACTL_BENCH_FLEET_SECRET\ntenants:\n",
        path_str(&opts.root.join(spec))
    );
    for (i, id) in ids.iter().enumerate() {
        yaml.push_str(&format!("  - name: tenant-{i:03}\n    tenant: {id}\n"));
    }
    let file = dir.join("fleet.yaml");
    std::fs::write(&file, yaml).map_err(|e| BenchError::io("write", &file, e))?;
    let file_s = path_str(&file);
    let parallel_s = parallel.to_string();
    emu.set_knobs(latency(lat));
    let mut m = FleetMeasured {
        tenants: ids.len(),
        parallel,
        latency_ms: lat,
        traffic: Traffic::default(),
        per_tenant: BTreeMap::new(),
        single_tenant: results
            .converged_plan
            .iter()
            .find(|m| !m.naive && m.latency_ms == lat)
            .map(|m| m.traffic.graph_operations),
        walls: Vec::new(),
        rss: Vec::new(),
        codes: Vec::new(),
    };
    for i in 0..opts.runs() {
        emu.clear_log();
        let mut c = Command::new(&opts.entractl);
        c.current_dir(&opts.root)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("ENTRACTL_BENCH_FLEET_SECRET", CI_CLIENT_SECRET)
            .args(["--color", "never"])
            .args(["--graph-url", &target.base_url])
            .args(["--authority-url", &target.base_url])
            .args(["plan", "--fleet", &file_s, "--parallel", &parallel_s]);
        let r = measure::run(&c, &opts.scratch.join(format!("fleet-plan-{i}")))?;
        if r.code == 1 {
            return Err(step_failed(S, "plan --fleet", &r));
        }
        let log = emu.request_log();
        if i == 0 {
            m.traffic = analyze::traffic(&log);
            m.per_tenant = per_tenant_operations(&log);
        }
        m.walls.push(r.wall);
        if let Some(k) = r.peak_rss_kib {
            m.rss.push(k);
        }
        m.codes.push(r.code);
    }
    emu.shutdown();

    let wall = median(&m.walls).unwrap_or_default();
    let peak = m.rss.iter().copied().max();
    let mut body = format!(
        "`entractl plan --fleet` of {} tenants, `--parallel {parallel}`, against one graph-emulator \
         hosting all of them with {lat} ms latency per request: each tenant a copy of scenario 1's \
         converged `p1-legacy` tenant ({policies} conditional access policies), planned with \
         `specs/kandji-passport-mac-login.yaml`; one automation client (`client-secret`, the secret from an \
         environment variable named in the fleet file). {} run(s).\n\n\
         | tenants | HTTP requests | Graph operations | per tenant | wall | peak RSS |\n|---|---|---|---|---|---|\n",
        m.tenants,
        opts.runs()
    );
    let per: BTreeMap<usize, usize> = m.per_tenant.values().fold(BTreeMap::new(), |mut acc, &n| {
        *acc.entry(n).or_default() += 1;
        acc
    });
    let per_cell = per
        .iter()
        .map(|(n, k)| format!("{n} ({k} tenants)"))
        .collect::<Vec<_>>()
        .join(", ");
    body.push_str(&format!(
        "| {} | {} ({} `$batch`, {} token) | {} | {} | {} | {} |\n\n",
        m.tenants,
        m.traffic.http_requests,
        m.traffic.batches,
        m.traffic.token_requests,
        m.traffic.graph_operations,
        if per_cell.is_empty() {
            "—".into()
        } else {
            per_cell
        },
        match (median(&m.walls), min(&m.walls)) {
            (Some(a), Some(b)) if m.walls.len() > 1 =>
                format!("{} ({})", fmt_duration(a), fmt_duration(b)),
            (Some(a), _) => fmt_duration(a),
            _ => "—".into(),
        },
        peak.map_or("—".into(), fmt_kib),
    ));
    body.push_str(&format!(
        "- Target: under 60 s wall — **{}** ({}).\n",
        if wall < Duration::from_secs(60) {
            "met"
        } else {
            "not met"
        },
        fmt_duration(wall)
    ));
    body.push_str(&format!(
        "- Target: under 256 MB peak memory — **{}** ({}).\n",
        match peak {
            Some(k) if k < 256 * 1024 => "met",
            Some(_) => "not met",
            None => "not measured",
        },
        peak.map_or("—".into(), fmt_kib)
    ));
    body.push_str(&format!(
        "- Target: Graph operations per tenant equal to the single-tenant figure (scenario 1, \
         batched: {}) — **{}**.\n",
        m.single_tenant.map_or("—".into(), |n| n.to_string()),
        if m.per_tenant_equal() {
            "met"
        } else {
            "not met"
        }
    ));
    body.push_str(&format!(
        "- Every tenant in sync (exit 0): {}.\n",
        if m.codes.iter().all(|&c| c == 0) {
            "yes"
        } else {
            "**no**"
        }
    ));
    results.fleet = Some(m);
    Ok(("Fleet scale (issue 10)".into(), body))
}

/// Graph operations per tenant (from the token), tokens and `$batch` envelopes left out.
fn per_tenant_operations(log: &[graph_emulator::LogEntry]) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for e in log {
        let envelope = e.batch_id.is_none() && e.template.ends_with("/$batch");
        if envelope || e.template.starts_with("/{tenant}") {
            continue;
        }
        if let Some(t) = &e.tenant {
            *out.entry(t.clone()).or_default() += 1;
        }
    }
    out
}
