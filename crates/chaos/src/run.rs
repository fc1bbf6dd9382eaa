//! One chaos run, and a campaign of runs on a few worker threads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use graph_emulator::knobs::Knobs;
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET};
use graph_emulator::{EmulatorConfig, LogEntry, RunningEmulator, TenantSource};
use serde_json::Value;

use crate::ChaosError;
use crate::invariants::{self, Invariant, Violation};
use crate::oracle;
use crate::schedule::{self, FaultKind, Limits, Schedule};
use crate::snapshot::{PlanObjects, Snapshot};

/// How to run a campaign.
#[derive(Debug, Clone)]
pub struct Options {
    /// The entractl binary.
    pub entractl: PathBuf,
    /// Repository root (specs are relative to it).
    pub root: PathBuf,
    /// Scratch directory (journals, plans, outputs), one subdirectory per run.
    pub scratch: PathBuf,
    /// Number of runs.
    pub runs: usize,
    /// Campaign seed.
    pub seed: u64,
    /// Stop starting runs after this long.
    pub time_budget: Duration,
    /// Runs at once.
    pub jobs: usize,
    /// Schedule limits.
    pub limits: Limits,
    /// A single entractl process is killed (and counted as a hang) after this long.
    pub process_timeout: Duration,
    /// `--verify-timeout` for the applies (seconds).
    pub verify_timeout_secs: u64,
}

/// Faults seen in one run's request log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// 429 answers with `Retry-After`.
    pub throttled_retry_after: u64,
    /// 429 answers without `Retry-After` (token bucket with `omitRetryAfter`, or conditional access).
    pub throttled_no_retry_after: u64,
    /// 503 on whole requests.
    pub service_unavailable: u64,
    /// 504 on whole requests.
    pub gateway_timeout: u64,
    /// Dropped connections.
    pub dropped: u64,
    /// Failures of single requests inside a `$batch`.
    pub batch_inner: u64,
}

impl FaultCounts {
    /// Adds another run's counts.
    pub fn add(&mut self, o: &FaultCounts) {
        self.throttled_retry_after += o.throttled_retry_after;
        self.throttled_no_retry_after += o.throttled_no_retry_after;
        self.service_unavailable += o.service_unavailable;
        self.gateway_timeout += o.gateway_timeout;
        self.dropped += o.dropped;
        self.batch_inner += o.batch_inner;
    }

    /// All injected faults.
    pub fn total(&self) -> u64 {
        self.throttled_retry_after
            + self.throttled_no_retry_after
            + self.service_unavailable
            + self.gateway_timeout
            + self.dropped
            + self.batch_inner
    }

    /// Counts the faults in a request log (`omit_retry_after`: the run's throttling had none).
    pub fn from_log(log: &[LogEntry], omit_retry_after: bool) -> FaultCounts {
        let mut c = FaultCounts::default();
        for e in log {
            if e.template.contains("{injectedFault}") {
                c.batch_inner += 1;
                continue;
            }
            match e.status {
                429 if omit_retry_after || e.template.contains("/identity/conditionalAccess") => {
                    c.throttled_no_retry_after += 1
                }
                429 => c.throttled_retry_after += 1,
                503 => c.service_unavailable += 1,
                504 => c.gateway_timeout += 1,
                0 => c.dropped += 1,
                _ => {}
            }
        }
        c
    }
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Run number in the campaign.
    pub index: usize,
    /// What the run did.
    pub schedule: Schedule,
    /// Whether entractl was SIGKILLed mid-apply.
    pub killed: bool,
    /// Exit code of the faulted apply (`None` when killed).
    pub faulted_exit: Option<i32>,
    /// Exit code of the rerun without faults.
    pub rerun_exit: Option<i32>,
    /// Exit code of `plan --detailed-exitcode` after the rerun.
    pub final_plan_exit: Option<i32>,
    /// Faults the emulator injected.
    pub faults: FaultCounts,
    /// Broken invariants (must be empty).
    pub violations: Vec<Violation>,
    /// Graph requests in the faulted apply and the rerun.
    pub requests: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// The whole campaign.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// The options it ran with.
    pub options: Options,
    /// Every finished run, by index.
    pub runs: Vec<RunResult>,
    /// Runs not started because the time budget ran out.
    pub skipped: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl Campaign {
    /// All violations with their run.
    pub fn violations(&self) -> Vec<(usize, &Violation)> {
        self.runs
            .iter()
            .flat_map(|r| r.violations.iter().map(move |v| (r.index, v)))
            .collect()
    }
}

fn env_command(opts: &Options, base: &str) -> Command {
    let mut c = Command::new(&opts.entractl);
    c.current_dir(&opts.root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AZURE_CLIENT_ID", CI_CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET)
        .env("NO_COLOR", "1")
        .env("ENTRACTL_GRAPH_URL", base)
        .env("AZURE_AUTHORITY_HOST", base)
        .stdin(Stdio::null());
    c
}

fn spawn(mut c: Command, out: &Path, opts: &Options) -> Result<Child, ChaosError> {
    let io = |path: &Path| {
        std::fs::File::create(path).map_err(|source| ChaosError::Io {
            what: "cannot create",
            path: path.to_path_buf(),
            source,
        })
    };
    c.stdout(io(&out.with_extension("out"))?)
        .stderr(io(&out.with_extension("err"))?);
    c.spawn().map_err(|source| ChaosError::Spawn {
        path: opts.entractl.clone(),
        source,
    })
}

/// Waits for a child, polling `kill_when` (true → SIGKILL) and the hang timeout.
fn wait(
    mut child: Child,
    timeout: Duration,
    mut kill_when: impl FnMut() -> bool,
) -> (Option<ExitStatus>, bool, bool) {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return (Some(st), false, false),
            Ok(None) => {}
            Err(_) => return (None, false, false),
        }
        if kill_when() {
            // std's Child::kill is SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
            return (None, true, false);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return (None, false, true);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Write requests that reached Graph (inner `$batch` ones included, outer `$batch` and tokens not).
fn writes(log: &[LogEntry]) -> u32 {
    log.iter()
        .filter(|e| matches!(e.method.as_str(), "POST" | "PATCH" | "DELETE"))
        .filter(|e| !e.template.ends_with("/$batch") && !e.template.contains("oauth2"))
        .filter(|e| !e.template.starts_with("/_emulator"))
        .count() as u32
}

fn run_entractl(
    opts: &Options,
    emu: &RunningEmulator,
    args: &[&str],
    out: &Path,
    kill_after_writes: Option<u32>,
) -> Result<(Option<i32>, bool, bool), ChaosError> {
    let mut c = env_command(opts, &emu.base_url());
    c.args(args);
    let child = spawn(c, out, opts)?;
    let (st, killed, hung) = wait(child, opts.process_timeout, || match kill_after_writes {
        Some(k) => writes(&emu.request_log()) >= k,
        None => false,
    });
    Ok((st.and_then(|s| s.code()), killed, hung))
}

/// Starts the emulator of a schedule (no faults yet).
fn start_emulator(s: &Schedule, index: usize) -> Result<RunningEmulator, ChaosError> {
    let mut cfg = EmulatorConfig::scenario(s.target.scenario);
    cfg.sources = vec![TenantSource::Scenario(s.target.scenario.to_string())];
    cfg.seed = s.seed;
    graph_emulator::start(cfg).map_err(|e| ChaosError::Emulator {
        run: index,
        message: e.to_string(),
    })
}

/// The checks that do not trust entractl: the tenant against a fault-free reference run, and the
/// spec's facts read from the emulator.
fn independent_checks(
    opts: &Options,
    index: usize,
    s: &Schedule,
    apply_args: &[&str],
    dir: &Path,
    spec: &Path,
    after: &Snapshot,
) -> Result<Vec<Violation>, ChaosError> {
    let mut out = Vec::new();
    let (reference, reference_exit) = reference_tenant(opts, index, s, apply_args, dir)?;
    if reference_exit != Some(0) {
        out.push(Violation {
            invariant: Invariant::MatchesReference,
            detail: format!("the fault-free reference apply exited {reference_exit:?}"),
        });
    }
    out.extend(oracle::against_reference(after, &reference));
    out.extend(oracle::spec_facts(spec, after));
    Ok(out)
}

/// The rerun without faults, then `plan --detailed-exitcode`: their exit codes; a hang or a
/// rerun that does not converge is a violation.
fn rerun_and_plan(
    opts: &Options,
    emu: &RunningEmulator,
    apply_args: &[&str],
    spec_s: &str,
    dir: &Path,
    violations: &mut Vec<Violation>,
) -> Result<(Option<i32>, Option<i32>), ChaosError> {
    // The rerun without faults.
    emu.set_knobs(Knobs::default());
    // Objects written under a replication delay stay invisible until it is over (knobs off does
    // not shorten it): settle it, so the rerun is the clean run this step is about.
    emu.settle_replication();
    let (rerun_exit, _, hung) =
        run_entractl(opts, emu, apply_args, &dir.join("apply-rerun"), None)?;
    if hung {
        violations.push(Violation {
            invariant: Invariant::Terminates,
            detail: "the rerun did not end".into(),
        });
    }
    let (final_plan_exit, _, hung) = run_entractl(
        opts,
        emu,
        &["plan", spec_s, "--detailed-exitcode"],
        &dir.join("plan-final"),
        None,
    )?;
    if rerun_exit != Some(0) || final_plan_exit != Some(0) || hung {
        violations.push(Violation {
            invariant: Invariant::Converges,
            detail: format!(
                "rerun exit {rerun_exit:?}, plan --detailed-exitcode exit {final_plan_exit:?} (see {})",
                dir.display()
            ),
        });
    }
    Ok((rerun_exit, final_plan_exit))
}

/// `entractl plan SPEC --format json` without faults: the objects a run may change.
fn unfaulted_plan(
    opts: &Options,
    emu: &RunningEmulator,
    spec: &str,
    dir: &Path,
    index: usize,
) -> Result<Value, ChaosError> {
    let (code, _, hung) = run_entractl(
        opts,
        emu,
        &["plan", spec, "--format", "json"],
        &dir.join("plan"),
        None,
    )?;
    let plan_text = std::fs::read_to_string(dir.join("plan.out")).unwrap_or_default();
    match (code, serde_json::from_str::<Value>(&plan_text)) {
        (Some(0), Ok(v)) if !hung => Ok(v),
        _ => Err(ChaosError::Plan {
            run: index,
            code,
            stderr: std::fs::read_to_string(dir.join("plan.err")).unwrap_or_default(),
        }),
    }
}

/// The reference tenant: the same spec applied without any fault on a fresh emulator with the
/// same scenario and seed.
fn reference_tenant(
    opts: &Options,
    index: usize,
    s: &Schedule,
    apply_args: &[&str],
    dir: &Path,
) -> Result<(Snapshot, Option<i32>), ChaosError> {
    let emu = start_emulator(s, index)?;
    let mut args: Vec<String> = apply_args.iter().map(|a| a.to_string()).collect();
    if let Some(i) = args.iter().position(|a| a == "--journal-dir") {
        args[i + 1] = dir.join("reference-journal").display().to_string();
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, _) = run_entractl(opts, &emu, &args, &dir.join("apply-reference"), None)?;
    Ok((Snapshot::take(&emu), code))
}

/// One run: plan without faults, apply under the schedule (maybe killed), rerun without faults,
/// check convergence, the invariants, and the tenant against a fault-free reference.
pub fn run_one(opts: &Options, index: usize, s: Schedule) -> Result<RunResult, ChaosError> {
    let started = Instant::now();
    let dir = opts.scratch.join(format!("run-{index:04}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|source| ChaosError::Io {
        what: "cannot create",
        path: dir.clone(),
        source,
    })?;
    let emu = start_emulator(&s, index)?;
    let before = Snapshot::take(&emu);
    let spec = opts.root.join(s.target.spec);
    let spec_s = spec.display().to_string();

    // The plan, without faults: what the run may change.
    let plan_json = unfaulted_plan(opts, &emu, &spec_s, &dir, index)?;
    let plan = PlanObjects::from_plan_json(&plan_json);
    emu.clear_log();

    let journal_root = dir.join("journal");
    let journal_s = journal_root.display().to_string();
    let verify = opts.verify_timeout_secs.to_string();
    let mut apply_args = vec![
        "apply",
        spec_s.as_str(),
        "--auto-approve",
        "--journal-dir",
        journal_s.as_str(),
        "--verify-timeout",
        verify.as_str(),
    ];
    // Only where the plan weakens MFA (the preset and the explicit spec do).
    let downgrades = plan_json
        .pointer("/summary/security_downgrades")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if downgrades > 0 {
        apply_args.push("--allow-security-downgrade");
    }
    let mut violations = Vec::new();

    // The faulted apply.
    emu.set_knobs(s.knobs.clone());
    let (faulted_exit, killed, hung) = run_entractl(
        opts,
        &emu,
        &apply_args,
        &dir.join("apply-faulted"),
        s.kill_after_writes,
    )?;
    if hung {
        violations.push(Violation {
            invariant: Invariant::Terminates,
            detail: format!(
                "the faulted apply did not end within {}s",
                opts.process_timeout.as_secs()
            ),
        });
    }
    let faulted_log = emu.request_log();
    let faults = FaultCounts::from_log(&faulted_log, s.knobs.omit_retry_after);

    let (rerun_exit, final_plan_exit) =
        rerun_and_plan(opts, &emu, &apply_args, &spec_s, &dir, &mut violations)?;
    let after = Snapshot::take(&emu);
    let log = emu.request_log();
    let entries = invariants::read_journal(&journal_root);
    violations.extend(invariants::duplicates(&before, &after));
    violations.extend(invariants::outside_plan(&before, &after, &plan));
    violations.extend(invariants::journal(&log, &entries, &before, &after));
    violations.extend(independent_checks(
        opts,
        index,
        &s,
        &apply_args,
        &dir,
        &spec,
        &after,
    )?);
    let requests = log
        .iter()
        .filter(|e| !e.template.starts_with("/_emulator"))
        .count();
    drop(emu);
    if violations.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(RunResult {
        index,
        schedule: s,
        killed,
        faulted_exit,
        rerun_exit,
        final_plan_exit,
        faults,
        violations,
        requests,
        elapsed: started.elapsed(),
    })
}

/// Runs the campaign on `opts.jobs` threads; `progress` is told about every finished run.
pub fn run_campaign(
    opts: &Options,
    progress: &(dyn Fn(&RunResult) + Sync),
) -> Result<Campaign, ChaosError> {
    if opts.runs == 0 || opts.jobs == 0 {
        return Err(ChaosError::Usage(
            "--runs and --jobs must be at least 1".into(),
        ));
    }
    if !opts.entractl.is_file() {
        return Err(ChaosError::Spawn {
            path: opts.entractl.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<BTreeMap<usize, RunResult>> = Mutex::default();
    let error: Mutex<Option<ChaosError>> = Mutex::default();
    let skipped = AtomicUsize::new(0);
    let opts_a = Arc::new(opts.clone());
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.min(opts.runs) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= opts_a.runs {
                        return;
                    }
                    if start.elapsed() > opts_a.time_budget || error.lock().unwrap().is_some() {
                        skipped.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    let s = schedule::draw(schedule::run_seed(opts_a.seed, i), &opts_a.limits);
                    match run_one(&opts_a, i, s) {
                        Ok(r) => {
                            progress(&r);
                            results.lock().unwrap().insert(i, r);
                        }
                        Err(e) => {
                            error.lock().unwrap().get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap() {
        return Err(e);
    }
    Ok(Campaign {
        options: opts.clone(),
        runs: results.into_inner().unwrap().into_values().collect(),
        skipped: skipped.into_inner(),
        elapsed: start.elapsed(),
    })
}

/// Fault kinds and how many runs injected each.
pub fn runs_per_kind(c: &Campaign) -> BTreeMap<FaultKind, usize> {
    let mut m = BTreeMap::new();
    for r in &c.runs {
        for k in &r.schedule.faults {
            *m.entry(*k).or_default() += 1;
        }
    }
    m
}
