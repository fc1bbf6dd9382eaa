//! The one place that turns results into exit codes and prints errors.
//!
//! Exit codes: 0 success / no changes, 1 error, 2 changes present (only with
//! `--detailed-exitcode`), 3 Passport's password sign-in forecast to fail (`plan
//! --detailed-exitcode`, `verify`), 130 interrupted by SIGINT (Ctrl-C), 143 stopped by SIGTERM.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::OnceLock;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use crate::args::ColorChoice;
use crate::error::{CommandError, Outcome};

static COLOR: OnceLock<ColorChoice> = OnceLock::new();

/// Records `--color` for error rendering.
pub fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

fn use_color() -> bool {
    match COLOR.get().copied().unwrap_or(ColorChoice::Auto) {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

/// Renders a diagnostic the way entractl prints every error.
pub fn render(diagnostic: &dyn Diagnostic) -> String {
    let theme = if use_color() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // On a terminal, wrap at 100 columns; in a pipe, a file or a CI log, keep whole lines so a
    // path or a message never breaks at the width (or the length of the checkout's path).
    let handler = GraphicalReportHandler::new_themed(theme).with_links(false);
    let handler = if std::io::stderr().is_terminal() {
        handler.with_width(100)
    } else {
        handler.with_wrap_lines(false).with_break_words(false)
    };
    let mut out = String::new();
    if handler.render_report(&mut out, diagnostic).is_err() {
        out = format!("{diagnostic}\n");
    }
    out
}

fn eprint(text: &str) {
    let mut err = std::io::stderr().lock();
    // Nothing sensible is left to do when stderr itself is gone.
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// The exit code of a result: 0 success / no changes (and a closed stdout pipe), 1 error,
/// 2 changes present, 3 sign-in forecast to fail, 130/143 interrupted by SIGINT/SIGTERM.
pub fn code(result: &Result<Outcome, CommandError>) -> u8 {
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::ChangesPresent) => 2,
        Ok(Outcome::SignInWillFail) => 3,
        Err(CommandError::Stdout(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(CommandError::Usage(e)) if !e.use_stderr() => 0,
        Err(CommandError::Interrupted { signal, .. }) => signal.exit_code(),
        Err(_) => 1,
    }
}

fn invalid_specs(reports: &[entractl_spec::SpecReport], files: usize) -> String {
    let mut text = String::new();
    for report in reports {
        if report.errors().iter().all(|e| e.location.is_none()) {
            text.push_str(&render(report));
        } else {
            text.push_str(&format!("error: {report}\n\n"));
            for error in report.errors() {
                text.push_str(&render(error));
            }
        }
        text.push('\n');
    }
    if files > 1 {
        text.push_str(&format!(
            "error: {} of {files} spec files are not valid\n",
            reports.len()
        ));
    }
    text
}

/// Prints the error (once) and gives the exit code.
pub fn exit(result: Result<Outcome, CommandError>) -> ExitCode {
    let code = ExitCode::from(code(&result));
    match result {
        Ok(_) => {}
        Err(CommandError::Stdout(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(CommandError::InvalidSpecs { reports, files }) => {
            eprint(&invalid_specs(&reports, files))
        }
        Err(CommandError::Usage(e)) => {
            // clap prints help and version to stdout, usage errors to stderr.
            let _ = e.print();
        }
        Err(e) => eprint(&crate::wording::describe(&e)),
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interrupt::Signal;

    #[test]
    fn exit_codes() {
        assert_eq!(code(&Ok(Outcome::Success)), 0);
        assert_eq!(code(&Ok(Outcome::ChangesPresent)), 2);
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(code(&Err(CommandError::Stdout(pipe))), 0);
        let full = std::io::Error::other("disk full");
        assert_eq!(code(&Err(CommandError::Stdout(full))), 1);
        let report = entractl_spec::parse_str("x.yaml", "").unwrap_err();
        let invalid = CommandError::InvalidSpecs {
            reports: vec![report],
            files: 1,
        };
        assert_eq!(code(&Err(invalid)), 1);
        for (signal, exit) in [(Signal::Interrupt, 130), (Signal::Terminate, 143)] {
            let e = CommandError::Interrupted {
                signal,
                command: "apply",
                stopped: None,
            };
            assert_eq!(code(&Err(e)), exit);
        }
    }
}
