//! Running a process and measuring its wall time and peak memory (resident set size).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchError;

/// GNU time, when installed: exact peak RSS of the child (`%M`, from `wait4`).
const GNU_TIME: &str = "/usr/bin/time";

/// One finished process.
#[derive(Debug, Clone)]
pub struct ProcRun {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// Peak resident set size in KiB (`None` when it could not be read).
    pub peak_rss_kib: Option<u64>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl ProcRun {
    /// The first lines of stderr (for error messages).
    pub fn stderr_head(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().take(6).collect();
        lines.join("\n")
    }
}

/// How peak memory is measured on this machine.
pub fn rss_method() -> &'static str {
    if Path::new(GNU_TIME).exists() {
        "`/usr/bin/time` (%M, the kernel's maximum resident set size of the child)"
    } else {
        "VmHWM of /proc/<pid>/status, polled every 2 ms (may miss the last milliseconds)"
    }
}

/// Runs `cmd` (program, arguments, environment and directory already set) to completion,
/// writing its output to files in `scratch`.
pub fn run(cmd: &Command, scratch: &Path) -> Result<ProcRun, BenchError> {
    std::fs::create_dir_all(scratch).map_err(|e| BenchError::io("create", scratch, e))?;
    let out_path = scratch.join("stdout.txt");
    let err_path = scratch.join("stderr.txt");
    let rss_path = scratch.join("rss.txt");
    let _ = std::fs::remove_file(&rss_path);
    let use_time = Path::new(GNU_TIME).exists();
    let mut real = if use_time {
        let mut c = Command::new(GNU_TIME);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_path);
        c.arg(cmd.get_program()).args(cmd.get_args());
        c
    } else {
        let mut c = Command::new(cmd.get_program());
        c.args(cmd.get_args());
        c
    };
    // Only the environment the caller set: no credentials or settings leak in from ours.
    real.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            real.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        real.current_dir(dir);
    }
    let stdout =
        std::fs::File::create(&out_path).map_err(|e| BenchError::io("create", &out_path, e))?;
    let stderr =
        std::fs::File::create(&err_path).map_err(|e| BenchError::io("create", &err_path, e))?;
    real.stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr));
    let program = PathBuf::from(cmd.get_program());
    let start = Instant::now();
    let mut child = real.spawn().map_err(|e| BenchError::Spawn {
        program: program.clone(),
        source: e,
    })?;
    let mut polled: Option<u64> = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {
                if !use_time && let Some(kib) = vm_hwm_kib(child.id()) {
                    polled = Some(polled.map_or(kib, |p| p.max(kib)));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => {
                return Err(BenchError::Spawn { program, source: e });
            }
        }
    };
    let wall = start.elapsed();
    let peak_rss_kib = if use_time {
        std::fs::read_to_string(&rss_path)
            .ok()
            .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
    } else {
        polled
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let mut stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    if use_time {
        // GNU time reports a non-zero exit on stderr too ("Command exited with non-zero status").
        stderr = stderr
            .lines()
            .filter(|l| !l.starts_with("Command exited with non-zero status"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    Ok(ProcRun {
        code: status.code().unwrap_or(-1),
        wall,
        peak_rss_kib,
        stdout,
        stderr,
    })
}

/// The `VmHWM` (peak resident set) of a running process, in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_hwm() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    5120 kB\nVmRSS:\t 4000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(5120));
        assert_eq!(parse_vm_hwm("Name:\tzombie\n"), None);
    }

    #[test]
    fn runs_a_process_and_reads_its_exit_code_output_and_memory() {
        let dir =
            std::env::temp_dir().join(format!("entractl-bench-measure-{}", std::process::id()));
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        cmd.env("PATH", "/usr/bin:/bin");
        let r = run(&cmd, &dir).unwrap();
        assert_eq!(r.code, 3);
        assert_eq!(r.stdout.trim(), "out");
        assert_eq!(r.stderr.trim(), "err");
        if Path::new(GNU_TIME).exists() {
            assert!(r.peak_rss_kib.is_some_and(|k| k > 0), "{r:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
