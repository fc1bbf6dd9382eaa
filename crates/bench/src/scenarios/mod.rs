//! The scenarios (issues 9, 10 and 18), each returning its report section and the figures
//! tests check: one module per scenario, what they share in `common`.

mod apply;
mod assignments;
mod common;
mod converged;
mod fleet;
mod large;
mod speed;
mod throttled;
mod validate;

pub use common::{ApplyMeasured, FleetMeasured, Measured, Options, Results, ThrottledRuns};

use crate::report::Report;
use crate::{BenchError, machine, measure};
use common::path_str;

/// Runs every scenario and returns the report (not yet written) and the figures.
pub fn run_all(opts: &Options) -> Result<(Report, Results), BenchError> {
    std::fs::create_dir_all(&opts.scratch)
        .map_err(|e| BenchError::io("create", &opts.scratch, e))?;
    let mut results = Results::default();
    let mut sections = Vec::new();
    type Scenario = fn(&Options, &mut Results) -> Result<(String, String), BenchError>;
    let scenarios: [(&str, Scenario); 7] = [
        ("plan of a converged P1 tenant", converged::converged_plan),
        (
            "apply from an empty tenant with replication delay",
            apply::apply_from_empty,
        ),
        (
            "assignments and per-user MFA scan",
            assignments::assignments,
        ),
        (
            "plan of the 100,000-user scenario under Graph's limits",
            large::large_plan,
        ),
        ("emulator throughput and load time", |o, _| {
            speed::emulator_speed(o)
        }),
        ("validate", |o, _| validate::validate(o)),
        ("fleet scale", fleet::fleet),
    ];
    for (i, (what, run)) in scenarios.into_iter().enumerate() {
        if opts.wants(i + 1) {
            eprintln!("[{}/7] {what}", i + 1);
            sections.push(run(opts, &mut results)?);
        }
    }
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
