//! The scenarios of issue 9, each returning its report section and the figures tests check.

mod assignments;
mod common;
mod fleet;
mod plan_apply;
mod speed;

use crate::report::Report;
use crate::{BenchError, machine, measure};
use assignments::assignments;
use common::path_str;
pub use common::{ApplyMeasured, FleetMeasured, Measured, Options, Results};
use fleet::fleet;
use plan_apply::{apply_from_empty, converged_plan};
use speed::{emulator_speed, validate};

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
