//! Facts about the machine and the checkout, for the report's header.

use std::path::Path;
use std::process::Command;

/// Where the figures were measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Logical CPUs available to this process.
    pub cpus: usize,
    /// `model name` of /proc/cpuinfo.
    pub cpu_model: String,
    /// `MemTotal` of /proc/meminfo.
    pub memory: String,
    /// Kernel release.
    pub kernel: String,
    /// The commit checked out (`git rev-parse HEAD`).
    pub commit: String,
    /// Whether crates/ or src/ had uncommitted changes.
    pub uncommitted_code: bool,
    /// UTC date and time of the run.
    pub date: String,
}

/// Reads the machine facts (unknown values say so).
pub fn detect(root: &Path) -> Machine {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| field(&s, "model name"))
        .unwrap_or_else(|| "unknown".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| field(&s, "MemTotal"))
        .and_then(|v| {
            v.trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
                .map(|kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (not a git checkout)".into());
    let uncommitted_code = crate::fresh::code_changed(root);
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    Machine {
        cpus,
        cpu_model,
        memory,
        kernel,
        commit,
        uncommitted_code,
        date,
    }
}

/// The value of the first `key : value` line.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_key_value_lines() {
        let cpuinfo = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t: a b\n";
        assert_eq!(
            field(cpuinfo, "model name").as_deref(),
            Some("Intel(R) Xeon(R)")
        );
        assert_eq!(field(cpuinfo, "bogus"), None);
    }

    #[test]
    fn detects_this_machine() {
        let m = detect(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(m.cpus >= 1);
        assert!(m.date.ends_with("UTC"));
    }
}
