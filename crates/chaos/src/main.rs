//! `entractl-chaos`: the reliability campaign (`make chaos`, `make chaos-smoke`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use entractl_chaos::run::{Options, RunResult, run_campaign};
use entractl_chaos::schedule::Limits;
use entractl_chaos::{ChaosError, report};

/// Applies the example specs against graph-emulator under seeded fault schedules, SIGKILLs entractl
/// mid-apply in a share of runs, reruns without faults and checks that nothing was duplicated,
/// changed outside the plan or left unjournaled, and that every run converges.
#[derive(Parser, Debug)]
#[command(name = "entractl-chaos", version)]
struct Args {
    /// Number of faulted runs.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// Campaign seed (each run's schedule is drawn from it; the same seed replays the same schedules).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop starting new runs after this many seconds (runs not started are reported, exit 2).
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    time_budget: u64,
    /// Runs at once (each has its own emulator; most of a run is waiting).
    #[arg(long, default_value_t = 6)]
    jobs: usize,
    /// The entractl binary (default: next to this binary).
    #[arg(long, value_name = "PATH")]
    entractl: Option<PathBuf>,
    /// Repository root (the specs are read from it; default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Scratch directory (a subdirectory per process); runs with a violation keep their journal and
    /// outputs there.
    #[arg(long, value_name = "DIR", default_value = "target/chaos")]
    scratch: PathBuf,
    /// Write the report section into this Markdown file (replacing the previous one).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Small, millisecond-scale schedules (the CI smoke run).
    #[arg(long)]
    smoke: bool,
    /// Largest replication delay drawn, in ms (up to 30000 as on Graph; larger is slower).
    #[arg(long, value_name = "MS")]
    max_replication_ms: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode, ChaosError> {
    let mut limits = if args.smoke {
        Limits::smoke()
    } else {
        Limits::full()
    };
    if let Some(ms) = args.max_replication_ms {
        if ms > 30_000 {
            return Err(ChaosError::Usage(format!(
                "--max-replication-ms {ms} is larger than Graph's documented worst case; use at most 30000"
            )));
        }
        limits.max_replication_ms = ms.max(1);
    }
    let entractl = match args.entractl {
        Some(p) => p,
        None => std::env::current_exe()
            .ok()
            .and_then(|p| {
                p.parent()
                    .map(|d| d.join(format!("entractl{}", std::env::consts::EXE_SUFFIX)))
            })
            .ok_or_else(|| {
                ChaosError::Usage("cannot locate entractl: pass --entractl PATH".into())
            })?,
    };
    let root = std::fs::canonicalize(&args.root).map_err(|source| ChaosError::Io {
        what: "cannot open the repository root",
        path: args.root.clone(),
        source,
    })?;
    // One directory per process: two campaigns in the same tree must not share run directories.
    let scratch =
        root.join(&args.scratch)
            .join(format!("seed-{}-pid-{}", args.seed, std::process::id()));
    let opts = Options {
        entractl,
        root: root.clone(),
        scratch,
        runs: args.runs,
        seed: args.seed,
        time_budget: Duration::from_secs(args.time_budget),
        jobs: args.jobs,
        limits,
        process_timeout: Duration::from_secs(300),
        verify_timeout_secs: 60,
    };
    eprintln!(
        "entractl-chaos: {} runs, seed {}, {} at once, replication delay up to {} ms",
        opts.runs, opts.seed, opts.jobs, opts.limits.max_replication_ms
    );
    let progress = |r: &RunResult| {
        eprintln!(
            "run {:>4} {:<45} faults {:>3} {:<6} apply {:<4} rerun {:<4} plan {:<4} {:>5.1}s{}",
            r.index,
            r.schedule.target.spec,
            r.faults.total(),
            if r.killed { "KILLED" } else { "" },
            fmt_code(r.faulted_exit),
            fmt_code(r.rerun_exit),
            fmt_code(r.final_plan_exit),
            r.elapsed.as_secs_f64(),
            if r.violations.is_empty() {
                String::new()
            } else {
                format!("  {} VIOLATION(S): {:?}", r.violations.len(), r.violations)
            }
        );
    };
    let campaign = run_campaign(&opts, &progress)?;
    let command = format!(
        "entractl-chaos --runs {} --seed {} --time-budget {}{}{}",
        args.runs,
        args.seed,
        args.time_budget,
        if args.smoke { " --smoke" } else { "" },
        args.max_replication_ms
            .map(|m| format!(" --max-replication-ms {m}"))
            .unwrap_or_default()
    );
    let section = report::render(&campaign, &command);
    println!("{section}");
    if let Some(out) = &args.out {
        let existing = std::fs::read_to_string(out).unwrap_or_default();
        std::fs::write(out, report::splice(&existing, &section)).map_err(|source| {
            ChaosError::Io {
                what: "cannot write the report",
                path: out.clone(),
                source,
            }
        })?;
        eprintln!("report written to {}", out.display());
    }
    let violations = campaign.violations().len();
    if violations == 0 {
        let _ = std::fs::remove_dir_all(&opts.scratch);
    }
    if violations > 0 {
        eprintln!(
            "{violations} invariant violation(s); failing runs kept under {}",
            opts.scratch.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    if campaign.skipped > 0 {
        eprintln!(
            "only {} of {} runs fit in the time budget of {} s: raise --time-budget or --jobs",
            campaign.runs.len(),
            opts.runs,
            args.time_budget
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt_code(c: Option<i32>) -> String {
    c.map_or_else(|| "-".into(), |c| c.to_string())
}
