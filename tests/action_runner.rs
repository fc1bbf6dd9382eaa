//! A small runner for the repository's composite action (`action.yml`), as GitHub's runner
//! executes it: inputs with their defaults, `${{ }}` expressions in `env:`/`with:`, `bash` run
//! steps with `GITHUB_OUTPUT`/`GITHUB_PATH` files, step outputs, `if: always()`. `uses:` steps
//! (cache, artifact upload) are recorded, not run. An expression or condition it does not know
//! fails the test: the action stays within what this runner checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The parsed `action.yml`.
pub fn action() -> Value {
    let text = std::fs::read_to_string(crate::util::root().join("action.yml")).expect("action.yml");
    serde_saphyr::from_str(&text).expect("action.yml is YAML")
}

/// One job's environment for a run of the action.
pub struct Job {
    /// Variables every step sees (the runner's `GITHUB_*`, `RUNNER_*`, the workflow's `env:`).
    pub env: BTreeMap<String, String>,
    /// The `github` context (`token`, `action_ref`, …).
    pub github: BTreeMap<String, String>,
    /// The `runner` context (`temp`, `os`, `arch`, `tool_cache`).
    pub runner: BTreeMap<String, String>,
    /// Where steps run (the workspace).
    pub cwd: PathBuf,
    /// Scratch directory for the runner's files.
    pub scratch: PathBuf,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Run {
    /// `uses:` steps with their evaluated `with:`.
    pub uses: Vec<(String, BTreeMap<String, String>)>,
    /// Step id → outputs.
    pub outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// The log of every run step (stdout and stderr).
    pub log: String,
    /// Whether a step failed.
    pub failed: bool,
}

impl Run {
    pub fn output(&self, step: &str, name: &str) -> Option<&str> {
        self.outputs.get(step)?.get(name).map(String::as_str)
    }
}

impl Job {
    /// Runs the action with `with` as its inputs.
    pub fn run(&self, with: &[(&str, &str)]) -> Run {
        let action = action();
        let inputs = self.inputs(&action, with);
        let mut run = Run::default();
        let mut path_dirs: Vec<String> = Vec::new();
        let steps = action["runs"]["steps"].as_array().expect("steps");
        assert_eq!(action["runs"]["using"], "composite");
        for (i, step) in steps.iter().enumerate() {
            let always = match step.get("if").and_then(Value::as_str) {
                None => false,
                Some("always()") => true,
                Some(other) => panic!("step {i}: condition `{other}` is not supported here"),
            };
            if run.failed && !always {
                continue;
            }
            let eval = |v: &str| self.eval(v, &inputs, &run);
            if let Some(uses) = step.get("uses").and_then(Value::as_str) {
                let with = strings(step.get("with"))
                    .into_iter()
                    .map(|(k, v)| (k, eval(&v)))
                    .collect();
                run.uses.push((uses.to_string(), with));
                continue;
            }
            let env: BTreeMap<String, String> = strings(step.get("env"))
                .into_iter()
                .map(|(k, v)| (k, eval(&v)))
                .collect();
            let id = step
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let script = step["run"].as_str().expect("a run step");
            assert_eq!(step["shell"], "bash", "step {i}: shell");
            let (ok, outputs, added_paths, log) = self.bash(i, script, &env, &path_dirs);
            run.log.push_str(&log);
            run.outputs.insert(id, outputs);
            path_dirs.splice(0..0, added_paths);
            if !ok {
                run.failed = true;
            }
        }
        run
    }

    fn inputs(&self, action: &Value, with: &[(&str, &str)]) -> BTreeMap<String, String> {
        let declared = action["inputs"].as_object().expect("inputs");
        for (k, _) in with {
            assert!(declared.contains_key(*k), "input `{k}` is not declared");
        }
        let empty = Run::default();
        declared
            .iter()
            .map(|(name, spec)| {
                let given = with
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.to_string());
                let value = given.unwrap_or_else(|| {
                    let default = spec.get("default").and_then(Value::as_str).unwrap_or("");
                    self.eval(default, &BTreeMap::new(), &empty)
                });
                (name.clone(), value)
            })
            .collect()
    }

    /// Replaces each `${{ … }}` by its value.
    fn eval(&self, text: &str, inputs: &BTreeMap<String, String>, run: &Run) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("closed expression") + start;
            let expr = rest[start + 3..end].trim();
            out.push_str(&self.value(expr, inputs, run));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    fn value(&self, expr: &str, inputs: &BTreeMap<String, String>, run: &Run) -> String {
        let parts: Vec<&str> = expr.split('.').collect();
        let found = match parts.as_slice() {
            ["inputs", name] => inputs.get(*name).cloned(),
            ["github", name] => Some(self.github.get(*name).cloned().unwrap_or_default()),
            ["runner", name] => self.runner.get(*name).cloned(),
            ["steps", id, "outputs", name] => {
                Some(run.output(id, name).unwrap_or_default().to_string())
            }
            _ => None,
        };
        found.unwrap_or_else(|| panic!("expression `{expr}` is not supported here"))
    }

    /// Runs one script as GitHub does for `shell: bash`.
    fn bash(
        &self,
        index: usize,
        script: &str,
        env: &BTreeMap<String, String>,
        path_dirs: &[String],
    ) -> (bool, BTreeMap<String, String>, Vec<String>, String) {
        let dir = self.scratch.join(format!("step-{index}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("step dir");
        let file = dir.join("script.sh");
        std::fs::write(&file, script).expect("script");
        let output_file = dir.join("output");
        let path_file = dir.join("path");
        std::fs::write(&output_file, "").expect("output file");
        std::fs::write(&path_file, "").expect("path file");
        let base_path = self.env.get("PATH").cloned().unwrap_or_default();
        let mut path = path_dirs.to_vec();
        path.push(base_path);
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(&self.env)
            .envs(env)
            .env("PATH", path.join(":"))
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &path_file)
            .output()
            .expect("bash runs");
        let log = format!(
            "--- step {index}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let outputs = parse_outputs(&std::fs::read_to_string(&output_file).unwrap_or_default());
        let added: Vec<String> = std::fs::read_to_string(&path_file)
            .unwrap_or_default()
            .lines()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        (out.status.success(), outputs, added, log)
    }
}

/// `name=value` lines and `name<<DELIMITER` blocks.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

/// A YAML mapping of strings (`env:`, `with:`).
fn strings(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes a release asset the way the release workflow does: `NAME.tar.gz` holding `NAME/entractl`
/// (here: the binary under test), and `NAME.tar.gz.sha256`.
pub fn release_asset(dir: &Path, name: &str, binary: &Path) -> (Vec<u8>, Vec<u8>) {
    let top = dir.join(name);
    std::fs::create_dir_all(&top).expect("asset dir");
    std::fs::copy(binary, top.join("entractl")).expect("copy binary");
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -e; tar -czf '{name}.tar.gz' '{name}'; \
             (sha256sum '{name}.tar.gz' 2>/dev/null || shasum -a 256 '{name}.tar.gz') > '{name}.tar.gz.sha256'"
        ))
        .current_dir(dir)
        .status()
        .expect("tar");
    assert!(status.success());
    (
        std::fs::read(dir.join(format!("{name}.tar.gz"))).expect("tarball"),
        std::fs::read(dir.join(format!("{name}.tar.gz.sha256"))).expect("checksum"),
    )
}
