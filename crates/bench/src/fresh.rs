//! Whether `docs/benchmarks.md` still describes the code: the commit it was measured on must
//! contain the last change under `crates/` and `src/`, and that code must have been committed
//! when it was measured. `make bench` checks the document it has just written
//! (`entractl-bench --check`), so figures of uncommitted or older code fail it; run the check
//! alone on a checkout to see whether the committed figures are stale.

use std::path::Path;
use std::process::Command;

use crate::BenchError;

/// The code the figures describe.
pub const CODE_PATHS: &[&str] = &["crates", "src"];

/// What the report's header says about the code it measured.
pub const UNCOMMITTED: &str = "uncommitted changes under crates/ or src/";

/// The commit a report records (`| commit | `HASH` …|`) and whether it says the code under
/// [`CODE_PATHS`] had uncommitted changes.
pub fn recorded_commit(doc: &str) -> Option<(String, bool)> {
    let line = doc.lines().find(|l| l.starts_with("| commit | `"))?;
    let hash = line.strip_prefix("| commit | `")?.split('`').next()?;
    let ok = hash.len() >= 7 && hash.chars().all(|c| c.is_ascii_hexdigit());
    ok.then(|| (hash.to_string(), line.contains(UNCOMMITTED)))
}

/// The verdict: `last` is the last commit changing the code; `contains(a, b)` says whether
/// commit `b` contains commit `a` (`None`: unknown commit).
pub fn verdict(
    recorded: Option<(String, bool)>,
    last: &str,
    contains: impl Fn(&str, &str) -> Option<bool>,
) -> Result<(), String> {
    let Some((commit, uncommitted)) = recorded else {
        return Err(
            "docs/benchmarks.md records no commit (`| commit | `HASH` |`); run `make bench`".into(),
        );
    };
    if uncommitted {
        return Err(format!(
            "docs/benchmarks.md was measured on {commit} with {UNCOMMITTED}: commit the code, then run `make bench` again"
        ));
    }
    match contains(last, &commit) {
        Some(true) => Ok(()),
        Some(false) => Err(format!(
            "docs/benchmarks.md was measured on {commit}, older than the last change under crates/ or src/ ({last}): run `make bench` again"
        )),
        None => Err(format!(
            "docs/benchmarks.md was measured on {commit}, which this repository does not have (rebased?): run `make bench` again"
        )),
    }
}

fn git(root: &Path, args: &[&str]) -> Option<std::process::Output> {
    Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()
}

/// The last commit changing [`CODE_PATHS`].
pub fn last_code_change(root: &Path) -> Option<String> {
    let mut args = vec!["log", "-1", "--format=%H", "--"];
    args.extend(CODE_PATHS);
    let out = git(root, &args).filter(|o| o.status.success())?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!hash.is_empty()).then_some(hash)
}

/// Whether the working tree has uncommitted changes under [`CODE_PATHS`].
pub fn code_changed(root: &Path) -> bool {
    let mut args = vec!["status", "--porcelain", "--"];
    args.extend(CODE_PATHS);
    git(root, &args).is_some_and(|o| !o.stdout.is_empty())
}

/// Checks the report `doc` against the checkout at `root`.
pub fn check(root: &Path, doc: &str) -> Result<(), BenchError> {
    let last = last_code_change(root).ok_or_else(|| {
        BenchError::Other("cannot read the git history of crates/ and src/".into())
    })?;
    let contains = |a: &str, b: &str| {
        let out = git(root, &["merge-base", "--is-ancestor", a, b])?;
        match out.status.code() {
            Some(0) => Some(true),
            Some(1) => Some(false),
            _ => None,
        }
    };
    verdict(recorded_commit(doc), &last, contains).map_err(BenchError::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_recorded_commit() {
        let doc = "x\n| commit | `0123456789abcdef0123456789abcdef01234567` |\n";
        assert_eq!(
            recorded_commit(doc),
            Some(("0123456789abcdef0123456789abcdef01234567".into(), false))
        );
        let dirty = format!("| commit | `abcdef0` + {UNCOMMITTED} |\n");
        assert_eq!(recorded_commit(&dirty), Some(("abcdef0".into(), true)));
        assert_eq!(recorded_commit("| commit | `unknown` |"), None);
        assert_eq!(recorded_commit("no header"), None);
    }

    #[test]
    fn fails_on_older_unknown_or_uncommitted_code() {
        let graph = |a: &str, b: &str| match (a, b) {
            ("c2", "c3") | ("c2", "c2") => Some(true),
            ("c2", "c1") => Some(false),
            _ => None,
        };
        assert!(verdict(Some(("c3".into(), false)), "c2", graph).is_ok());
        assert!(verdict(Some(("c2".into(), false)), "c2", graph).is_ok());
        let older = verdict(Some(("c1".into(), false)), "c2", graph).unwrap_err();
        assert!(older.contains("older than the last change"), "{older}");
        let gone = verdict(Some(("c9".into(), false)), "c2", graph).unwrap_err();
        assert!(gone.contains("does not have"), "{gone}");
        let dirty = verdict(Some(("c3".into(), true)), "c2", graph).unwrap_err();
        assert!(dirty.contains("commit the code"), "{dirty}");
        assert!(verdict(None, "c2", graph).is_err());
    }
}
