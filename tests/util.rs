//! Helpers for running the `entractl` binary in tests.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use entractl_graph::{AuthOptions, Cloud, GraphClient, GraphConfig, GraphRequest};
use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, SANDBOX_PASSWORD};
use graph_emulator::{EmulatorConfig, LogEntry, RunningEmulator};
use serde_json::Value;

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
    cmd: Command,
    /// Texts that must appear in neither stdout nor stderr (secrets, tokens).
    forbidden: Vec<String>,
}

/// The stderr of a spawned run, read while it runs, so a test can wait for a line before it acts
/// (e.g. signals again); finish with [`TestCommand::wait_tapped`].
pub struct StderrTap {
    bytes: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

impl StderrTap {
    /// Takes the child's (piped) stderr and reads it on a thread until it closes.
    pub fn take(child: &mut Child) -> StderrTap {
        let mut pipe = child.stderr.take().expect("a piped stderr");
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&bytes);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        StderrTap { bytes, reader }
    }

    /// True once the run has printed `text` on stderr.
    pub fn contains(&self, text: &str) -> bool {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).contains(text)
    }
}

/// What a run printed and how it ended.
pub struct TestOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl TestCommand {
    pub fn new(args: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_entractl"));
        cmd.current_dir(root())
            .stdin(Stdio::null())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            // Output must not depend on the caller's terminal width or language.
            .env_remove("COLUMNS")
            .env_remove("ENTRACTL_TIMEOUT")
            .env("LC_ALL", "C")
            .arg("--color")
            .arg("never")
            .args(args);
        TestCommand {
            cmd,
            forbidden: Vec::new(),
        }
    }

    /// A run against a graph-emulator: the caller's `AZURE_*`, `ACTIONS_*` and `ENTRACTL_*`
    /// variables are removed, and `ENTRACTL_GRAPH_URL` and `AZURE_AUTHORITY_HOST` (what
    /// `--graph-url` and `--authority-url` default to, on the commands that talk to Graph) point at
    /// it. No credentials.
    pub fn against(emu: &RunningEmulator) -> Self {
        let base = emu.base_url();
        let mut out = TestCommand::new(&[]);
        for (k, _) in std::env::vars() {
            if k.starts_with("AZURE_") || k.starts_with("ACTIONS_") || k.starts_with("ENTRACTL_") {
                out.cmd.env_remove(k);
            }
        }
        out.env("ENTRACTL_GRAPH_URL", &base)
            .env("AZURE_AUTHORITY_HOST", &base)
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Fails the run when `text` shows up in stdout or stderr.
    pub fn forbid(mut self, text: &str) -> Self {
        self.forbidden.push(text.to_string());
        self
    }

    /// Starts entractl without waiting (e.g. to signal it); finish with [`TestCommand::wait`].
    pub fn spawn(mut self) -> (Child, Self) {
        let child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start entractl");
        (child, self)
    }

    /// Waits for a spawned run and checks it as [`TestCommand::run`] does.
    pub fn wait(self, child: Child) -> TestOutput {
        self.check(child.wait_with_output().expect("wait for entractl"))
    }

    /// [`TestCommand::wait`] for a run whose stderr was taken by a [`StderrTap`].
    pub fn wait_tapped(self, child: Child, tap: StderrTap) -> TestOutput {
        let mut output = child.wait_with_output().expect("wait for entractl");
        tap.reader.join().expect("the stderr reader");
        output.stderr = std::mem::take(&mut *tap.bytes.lock().unwrap());
        self.check(output)
    }

    pub fn run(mut self) -> TestOutput {
        let output = self.cmd.output().expect("run entractl");
        self.check(output)
    }

    fn check(self, output: Output) -> TestOutput {
        let Output {
            status,
            stdout,
            stderr,
        } = output;
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
        for text in &self.forbidden {
            assert!(
                !out.stdout.contains(text.as_str()) && !out.stderr.contains(text.as_str()),
                "a secret or token leaked:\n{}\n{}",
                out.stdout,
                out.stderr
            );
        }
        out
    }
}

/// A graph-emulator for one test and the tenant entractl signs in to, as the scenarios'
/// automation client (client secret). Derefs to the emulator.
pub struct Sandbox {
    emu: RunningEmulator,
    tenant: String,
}

impl std::ops::Deref for Sandbox {
    type Target = RunningEmulator;
    fn deref(&self) -> &RunningEmulator {
        &self.emu
    }
}

impl Sandbox {
    /// Starts an emulator with this configuration; entractl signs in to `tenant`.
    pub fn start(cfg: EmulatorConfig, tenant: &str) -> Self {
        Sandbox {
            emu: graph_emulator::start(cfg).expect("emulator starts"),
            tenant: tenant.to_string(),
        }
    }

    /// Starts the named scenario with its default knobs.
    pub fn scenario(name: &str, tenant: &str) -> Self {
        Sandbox::start(EmulatorConfig::scenario(name), tenant)
    }

    pub fn shutdown(self) {
        self.emu.shutdown();
    }

    /// An `entractl` command against the emulator, signed in to `tenant` with the client secret
    /// (which must not show up in the output).
    pub fn command_for(&self, tenant: &str) -> TestCommand {
        TestCommand::against(&self.emu)
            .env("AZURE_TENANT_ID", tenant)
            .env("AZURE_CLIENT_ID", CI_CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET)
            .forbid(CI_CLIENT_SECRET)
    }

    /// Runs `entractl args` against the emulator, signed in to the sandbox's tenant.
    pub fn entractl(&self, args: &[&str]) -> TestOutput {
        self.command_for(&self.tenant).args(args).run()
    }

    /// Runs `entractl args` signed in to `tenant`, with `ENTRACTL_SIGNIN_PASSWORD` set to
    /// `password` if given; fails the test when the sandbox password or a token (`eyJ`) shows up
    /// in the output too.
    pub fn entractl_as(&self, tenant: &str, password: Option<&str>, args: &[&str]) -> TestOutput {
        let mut cmd = self
            .command_for(tenant)
            .forbid(SANDBOX_PASSWORD)
            .forbid("eyJ")
            .args(args);
        if let Some(p) = password {
            cmd = cmd.env("ENTRACTL_SIGNIN_PASSWORD", p);
        }
        cmd.run()
    }

    /// `entractl apply SPEC --auto-approve --journal-dir JOURNAL`, with
    /// `--allow-security-downgrade` if `downgrade`, signed in to `tenant` and checked as
    /// [`Sandbox::entractl_as`] is.
    pub fn apply_as(
        &self,
        tenant: &str,
        spec: &str,
        journal: &Path,
        downgrade: bool,
    ) -> TestOutput {
        let journal = journal.display().to_string();
        let mut args = vec!["apply", spec, "--auto-approve", "--journal-dir", &journal];
        if downgrade {
            args.push("--allow-security-downgrade");
        }
        self.entractl_as(tenant, None, &args)
    }

    /// `entractl apply SPEC --auto-approve --journal-dir JOURNAL`.
    pub fn apply(&self, spec: &str, journal: &Path) -> TestOutput {
        let journal = journal.display().to_string();
        self.entractl(&["apply", spec, "--auto-approve", "--journal-dir", &journal])
    }

    /// `entractl plan SPEC --format json`, which must succeed, parsed.
    pub fn json_plan(&self, spec: &str) -> Value {
        let out = self.entractl(&["plan", spec, "--format", "json"]);
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        serde_json::from_str(&out.stdout).expect("JSON plan")
    }

    /// Graph requests in the emulator's log (inner `$batch` requests counted one by one; the
    /// envelopes and the token calls not).
    pub fn graph_log(&self) -> Vec<LogEntry> {
        self.emu
            .request_log()
            .into_iter()
            .filter(|e| e.path.starts_with("/v1.0/") || e.path.starts_with("/beta/"))
            .filter(|e| !e.path.starts_with("/v1.0/$batch") && !e.path.starts_with("/beta/$batch"))
            .collect()
    }

    /// The Graph writes of [`Sandbox::graph_log`] (What-If evaluations are reads made by POST).
    pub fn writes(&self) -> Vec<LogEntry> {
        self.graph_log()
            .into_iter()
            .filter(|e| e.method != "GET" && !e.template.ends_with("/conditionalAccess/evaluate"))
            .collect()
    }

    /// A Graph client of the test itself, signed in to `tenant` (to change or read the tenant
    /// "behind entractl's back").
    pub fn graph_for(&self, tenant: &str) -> (tokio::runtime::Runtime, GraphClient) {
        let base = self.emu.base_url();
        let mut cfg = GraphConfig::for_cloud(Cloud::Public, tenant)
            .with_graph_url(&base)
            .unwrap()
            .with_authority_url(&base)
            .unwrap();
        cfg.backoff_base = Duration::from_millis(20);
        cfg.backoff_cap = Duration::from_millis(200);
        cfg.conditional_access_interval = Duration::from_millis(1);
        let env: BTreeMap<String, String> = [
            ("AZURE_TENANT_ID", tenant),
            ("AZURE_CLIENT_ID", CI_CLIENT_ID),
            ("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let creds =
            entractl_graph::credential_from_env(&env, None, &cfg, &AuthOptions::default()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        (rt, GraphClient::new(cfg, creds).unwrap())
    }

    /// Sends one request as the test itself, signed in to the sandbox's tenant; the JSON answer.
    pub fn send(&self, req: GraphRequest) -> Value {
        let (rt, client) = self.graph_for(&self.tenant);
        rt.block_on(client.send(req))
            .expect("graph call")
            .json()
            .clone()
    }
}

impl TestOutput {
    /// Exit code, stdout and stderr in one text, for a snapshot (see [`snapshot_settings`]).
    /// Apply's per-change lines are in apply order (see [`in_apply_order`]).
    pub fn transcript(&self) -> String {
        let mut out = format!("exit code: {}\n", self.code);
        let stderr = in_apply_order(&self.stderr);
        for (name, text) in [("stdout", &self.stdout), ("stderr", &stderr)] {
            if !text.is_empty() {
                out.push_str(&format!("----- {name} -----\n{text}"));
                if !text.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// `text` with each run of apply's per-change lines (`application "Kandji Passport": created in
/// 0.4 s [id=…]`) put in apply order, by the change's rank (`Change::rank`), keeping the
/// order within a kind. Apply sends kinds that need nothing from each other side by side, so their
/// lines arrive in the order Graph happens to answer; the order that matters (a kind after the
/// ones it needs) is checked by the engine's schedule tests and the emulator's state.
pub fn in_apply_order(text: &str) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let end = (i..lines.len())
            .find(|&j| change_rank(lines[j]).is_none())
            .unwrap_or(lines.len());
        lines[i..end].sort_by_key(|l| change_rank(l));
        i = end + 1;
    }
    lines.concat()
}

/// The apply rank of a per-change line's change, when `line` is one.
fn change_rank(line: &str) -> Option<u8> {
    let (kind, rest) = line.split_once(" \"")?;
    let kind: entractl_engine::ObjectKind = serde_json::from_value(Value::from(kind)).ok()?;
    let (_, outcome) = rest.split_once("\": ")?;
    let verb = outcome.split(' ').next()?;
    let known = [
        "created", "updated", "deleted", "adopted", "restored", "checked", "failed",
    ];
    if !known.contains(&verb) {
        return None;
    }
    use entractl_engine::{Action, Change, ObjectRef};
    let action = match verb {
        "created" => Action::Create,
        "deleted" => Action::Delete,
        "adopted" => Action::Adopt,
        "restored" => Action::Restore,
        "checked" => Action::NoOp,
        // `updated`, and `failed` (whatever was tried): the kind's own rank.
        _ => Action::Update,
    };
    let object = ObjectRef {
        kind,
        key: String::new(),
        display: String::new(),
        id: None,
    };
    // Removals that come last (destroy's deletions, record removals) have ranks of their own.
    Some(Change::new(object, action, "").rank())
}

/// Escapes the regex meta characters of a literal text (for snapshot filters).
fn literal(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The snapshot filters of every CLI test: what differs between machines, checkouts and runs
/// (`paths` first, e.g. a test's scratch directory, then the temporary and checkout paths, loopback
/// hosts, GUIDs, timestamps, durations) is replaced by a placeholder, so a snapshot holds only
/// what entractl decides.
pub fn snapshot_filters(paths: &[(&Path, &str)]) -> Vec<(String, String)> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let root = root();
    let mut all: Vec<(&Path, &str)> = paths.to_vec();
    // Longest first: the temp directory usually lies inside the checkout.
    all.extend([(tmp, "[TMP]"), (root.as_path(), "[ROOT]")]);
    let mut filters = Vec::new();
    for (path, name) in all {
        for form in [path.display().to_string(), relative(path)] {
            if !form.is_empty() && form != "." {
                filters.push((literal(&form), name.to_string()));
            }
        }
    }
    for (pattern, replacement) in [
        // The emulator's address (not `localhost:PORT`, which specs name as redirect URIs).
        (r"127\.0\.0\.1:[0-9]+", "[HOST]"),
        (
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "[GUID]",
        ),
        // Graph ids that are not GUIDs (grants, app role assignments: base64url, made from the
        // GUIDs of the objects they link), as apply reports them.
        (r"\[id=[A-Za-z0-9_-]{20,}\]", "[id=[GRAPH-ID]]"),
        (r#""id": "[A-Za-z0-9_-]{40,}""#, r#""id": "[GRAPH-ID]""#),
        (r"[0-9]{8}T[0-9]{6}(\.[0-9]+)?Z", "[STAMP]"),
        (
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})",
            "[TIME]",
        ),
        (
            r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}Z?",
            "[TIME]",
        ),
        // Dates computed from the emulator's start (a managed policy's creation + 30 days).
        (r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b", "[DATE]"),
        (r"\b[0-9]+(\.[0-9]+)? ?(ms|s)\b", "[DURATION]"),
        (r"pid [0-9]+", "pid [PID]"),
        (r"\(os error [0-9]+\)", "(os error [N])"),
        // How many of apply's writes Graph had not shown yet at the read-back depends on timing
        // (tested in crates/engine/tests/emulator.rs against the emulator's state).
        (
            r" \([0-9]+ write\(s\) acknowledged by Graph and still replicating\)",
            "",
        ),
    ] {
        filters.push((pattern.to_string(), replacement.to_string()));
    }
    filters
}

/// insta settings with [`snapshot_filters`] (`paths` first); snapshots go to `tests/snapshots/`.
pub fn snapshot_settings_with(paths: &[(&Path, &str)]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots"));
    for (pattern, replacement) in snapshot_filters(paths) {
        settings.add_filter(&pattern, replacement);
    }
    settings
}

/// [`snapshot_settings_with`] no extra paths.
pub fn snapshot_settings() -> insta::Settings {
    snapshot_settings_with(&[])
}

/// Snapshots a run's [`TestOutput::transcript`] under `name`, filtered by [`snapshot_filters`].
#[macro_export]
macro_rules! assert_transcript {
    ($name:expr, $out:expr) => {
        $crate::util::snapshot_settings().bind(|| {
            insta::assert_snapshot!($name, $out.transcript());
        })
    };
}

/// The changes of a JSON plan that are not no-ops.
pub fn actionable(plan: &Value) -> Vec<Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .cloned()
        .collect()
}

/// Writes `text` to `dir/name`; the path.
pub fn write_spec(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write spec");
    path
}

/// The path of a file relative to the repository root, with `/` separators (stable in snapshots).
pub fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
