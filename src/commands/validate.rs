//! `entractl validate FILE...`: parse and check spec files, reporting every error of every file.

use std::path::PathBuf;

use clap::Args;
use entractl_spec::{SpecError, SpecReport};
use serde_json::{Value, json};

use crate::args::{ReportFormat, json_text};
use crate::error::{CommandError, Outcome};
use crate::output;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Print each valid spec with its preset and the defaults applied (YAML on stdout; with
    /// `--format json`, each file's `expanded` field).
    #[arg(long)]
    pub expanded: bool,

    /// Output format: text (errors on stderr) or json (every file and error on stdout).
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

pub fn run(args: &ValidateArgs) -> Result<Outcome, CommandError> {
    if args.format == ReportFormat::Json {
        return run_json(args);
    }
    let mut reports = Vec::new();
    let mut first = true;
    for path in &args.files {
        match entractl_spec::load_file(path) {
            Ok(loaded) if args.expanded => {
                let mut text = String::new();
                if !first {
                    text.push_str("---\n");
                }
                text.push_str(&format!("# {}\n", path.display()));
                text.push_str(&loaded.to_yaml());
                output::stdout(&text)?;
                first = false;
            }
            Ok(_) => output::stdout(&format!("{}: valid\n", path.display()))?,
            Err(report) => reports.push(report),
        }
    }
    if reports.is_empty() {
        Ok(Outcome::Success)
    } else {
        Err(CommandError::InvalidSpecs {
            reports,
            files: args.files.len(),
        })
    }
}

/// `{valid, files: [{path, valid, errors?, expanded?}]}` on stdout; exit 1 (one line on stderr)
/// when a file is not valid.
fn run_json(args: &ValidateArgs) -> Result<Outcome, CommandError> {
    let mut files = Vec::new();
    let mut invalid = 0;
    for path in &args.files {
        let mut file = json!({"path": path.display().to_string()});
        match entractl_spec::load_file(path) {
            Ok(loaded) => {
                file["valid"] = json!(true);
                if args.expanded {
                    file["expanded"] = json!(loaded.to_yaml());
                }
            }
            Err(report) => {
                invalid += 1;
                file["valid"] = json!(false);
                file["errors"] = errors_json(&report);
            }
        }
        files.push(file);
    }
    output::stdout(&json_text(&json!({"valid": invalid == 0, "files": files})))?;
    if invalid == 0 {
        Ok(Outcome::Success)
    } else {
        Err(CommandError::plain(format!(
            "{invalid} of {} spec file(s) are not valid",
            args.files.len()
        )))
    }
}

fn errors_json(report: &SpecReport) -> Value {
    Value::Array(report.errors().iter().map(error_json).collect())
}

/// One error: `code`, `message`, and when known `path` (the value's dotted path), `line` and
/// `column` (1-based), `label`, `help`.
fn error_json(e: &SpecError) -> Value {
    let mut v = json!({"code": e.kind.code(), "message": e.message});
    if let Some(p) = &e.path {
        v["path"] = json!(p);
    }
    if let Some(l) = e.location {
        v["line"] = json!(l.line);
        v["column"] = json!(l.column);
    }
    if !e.label.is_empty() {
        v["label"] = json!(e.label);
    }
    if let Some(h) = &e.help {
        v["help"] = json!(h);
    }
    v
}
