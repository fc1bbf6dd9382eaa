//! Helpers for running the `entractl` binary in tests.

use std::path::{Path, PathBuf};
use std::process::Output;

/// The repository root (where `Cargo.toml`, `specs/` and `tests/fixtures/` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The YAML files of a directory under the repository root, sorted.
pub fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("cannot read `{dir}`: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// A scratch directory for one test, under the target directory (removed and recreated).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// One run of `entractl`, from the repository root, with colour off.
pub struct TestCommand {
    cmd: assert_cmd::Command,
}

/// What a run printed and how it ended.
pub struct TestOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl TestCommand {
    pub fn new(args: &[&str]) -> Self {
        let mut cmd = assert_cmd::Command::cargo_bin("entractl").expect("entractl binary");
        cmd.current_dir(root())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .arg("--color")
            .arg("never")
            .args(args);
        TestCommand { cmd }
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub fn run(mut self) -> TestOutput {
        let Output {
            status,
            stdout,
            stderr,
        } = self.cmd.output().expect("run entractl");
        let out = TestOutput {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            code: status.code().unwrap_or(-1),
        };
        assert!(
            !out.stderr.contains("panicked"),
            "entractl panicked:\n{}",
            out.stderr
        );
        out
    }
}

/// The path of a file relative to the repository root, with `/` separators (stable in snapshots).
pub fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
