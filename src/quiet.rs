//! `-q/--quiet`: notes and progress on stderr are left out (errors and warnings never are). A
//! leaf module: anything may use it without a module cycle.

use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Records `-q/--quiet`.
pub fn set(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// True with `-q/--quiet`.
pub fn on() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A line on stderr that is neither an error nor a warning (progress, a note): not with `--quiet`.
pub fn note(line: &str) {
    if !on() {
        eprintln!("{line}");
    }
}
