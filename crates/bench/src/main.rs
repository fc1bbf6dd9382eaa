//! `entractl-bench`: runs the benchmark scenarios and writes docs/benchmarks.md (see `make bench`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use entractl_bench::{BenchError, Options, render, run_all};

/// Runs entractl against graph-emulator and writes the benchmark report.
#[derive(Debug, Parser)]
#[command(name = "entractl-bench", about, max_term_width = 100)]
struct Args {
    /// The entractl binary to measure (build it with `cargo build --release --bin entractl`).
    #[arg(long, default_value = "target/release/entractl")]
    entractl: PathBuf,
    /// The repository root.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Where to write the report (default: docs/benchmarks.md; with --smoke
    /// target/benchmarks-smoke.md).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Tiny sizes, one run each: checks that the harness works (CI).
    #[arg(long)]
    smoke: bool,
    /// Only these scenarios (comma-separated numbers, 1–7), to try a change; the report is not
    /// complete, so write it elsewhere than docs/benchmarks.md (--out).
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<usize>>,
    /// Run nothing: check that the report (--out) was measured on committed code no older than
    /// the last change under crates/ and src/.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(path) => {
            eprintln!("done: {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<PathBuf, BenchError> {
    let root =
        std::fs::canonicalize(&args.root).map_err(|e| BenchError::io("open", &args.root, e))?;
    let out = args.out.clone().unwrap_or_else(|| {
        if args.smoke {
            PathBuf::from("target/benchmarks-smoke.md")
        } else {
            PathBuf::from("docs/benchmarks.md")
        }
    });
    let out = if out.is_absolute() {
        out
    } else {
        root.join(out)
    };
    if args.check {
        let doc = std::fs::read_to_string(&out).map_err(|e| BenchError::io("read", &out, e))?;
        entractl_bench::fresh::check(&root, &doc)?;
        eprintln!("{} describes the code (commit checked)", out.display());
        return Ok(out);
    }
    if args.only.is_some() && out.ends_with("docs/benchmarks.md") {
        return Err(BenchError::Other(
            "--only writes an incomplete report: give another --out than docs/benchmarks.md".into(),
        ));
    }
    let entractl = if args.entractl.is_absolute() {
        args.entractl.clone()
    } else {
        root.join(&args.entractl)
    };
    if !entractl.is_file() {
        return Err(BenchError::Other(format!(
            "no entractl binary at `{}`: run `cargo build --release --bin entractl` (or `make bench`), or pass --entractl PATH",
            entractl.display()
        )));
    }
    let scratch = root.join("target").join(if args.smoke {
        "bench-smoke-scratch"
    } else {
        "bench-scratch"
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let opts = Options {
        entractl,
        root: root.clone(),
        scratch,
        smoke: args.smoke,
        only: args.only.clone(),
    };
    let (report, _) = run_all(&opts)?;
    // The hand-written section lives in docs/benchmarks.md: keep it (also in a smoke report).
    let previous = std::fs::read_to_string(&out)
        .ok()
        .or_else(|| std::fs::read_to_string(root.join("docs/benchmarks.md")).ok());
    let text = render(&report, previous.as_deref());
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| BenchError::io("create", dir, e))?;
    }
    std::fs::write(&out, text).map_err(|e| BenchError::io("write", &out, e))?;
    Ok(out)
}
