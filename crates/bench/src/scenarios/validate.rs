//! `entractl validate` of the example specs (no network).

use std::process::Command;

use super::common::{Options, path_str, step_failed};
use crate::BenchError;
use crate::measure;
use crate::stats::{fmt_duration, fmt_kib, median, min};

/// Scenario 5: `entractl validate` of the example specs.
pub(super) fn validate(opts: &Options) -> Result<(String, String), BenchError> {
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
    Ok(("6. `validate` of the example specs".into(), body))
}
