//! What can be checked of the GitHub workflows, the action and the documented commands with
//! nothing but Rust (actionlint runs in `make lint`): every third-party action pinned to a
//! commit, the action's inputs, outputs and variables consistent, no expression spliced into a
//! script, and every `entractl` command line in them and in the docs naming a subcommand and
//! flags entractl has.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::action_runner::action;
use crate::docs_generated::repository;
use crate::util::root;

/// A workflow or action file: where it is and its text.
struct Source {
    name: String,
    text: String,
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The repository's workflows, and every workflow shown in the docs (a ```yaml block whose first
/// line is `# .github/workflows/NAME.yml`).
fn workflows() -> Vec<Source> {
    let mut out = Vec::new();
    let dir = root().join(".github/workflows");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect(".github/workflows")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for p in files {
        out.push(Source {
            name: format!(
                ".github/workflows/{}",
                p.file_name().unwrap().to_string_lossy()
            ),
            text: read(&p),
        });
    }
    for (name, block) in doc_blocks("yaml") {
        if block.starts_with("# .github/workflows/") {
            out.push(Source { name, text: block });
        }
    }
    assert!(out.len() >= 5, "workflows found: {}", out.len());
    out
}

/// The README's and docs' fenced blocks of a language, named `file:line`.
fn doc_blocks(lang: &str) -> Vec<(String, String)> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs"))
        .expect("docs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut out = Vec::new();
    for f in files {
        let text = read(&f);
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        let mut lines = text.lines().enumerate();
        while let Some((i, line)) = lines.next() {
            if line.trim() != format!("```{lang}") {
                continue;
            }
            let block: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| l.trim() != "```")
                .collect();
            out.push((format!("{rel}:{}", i + 2), block.join("\n") + "\n"));
        }
    }
    out
}

fn yaml(source: &Source) -> Value {
    serde_saphyr::from_str(&source.text).unwrap_or_else(|e| panic!("{}: {e}", source.name))
}

/// Every step of a workflow (all jobs) or of the action.
fn steps(doc: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    if let Some(s) = doc.pointer("/runs/steps").and_then(Value::as_array) {
        out.extend(s);
    }
    if let Some(jobs) = doc.get("jobs").and_then(Value::as_object) {
        for job in jobs.values() {
            if let Some(s) = job.get("steps").and_then(Value::as_array) {
                out.extend(s);
            }
        }
    }
    out
}

fn is_commit(r: &str) -> bool {
    r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn every_action_used_is_pinned_to_a_commit_with_its_version_named() {
    let mut sources = workflows();
    sources.push(Source {
        name: "action.yml".into(),
        text: read(&root().join("action.yml")),
    });
    let own = format!("uses: {}@v{}", repository(), env!("CARGO_PKG_VERSION"));
    let mut problems = Vec::new();
    for s in &sources {
        for step in steps(&yaml(s)) {
            let Some(uses) = step.get("uses").and_then(Value::as_str) else {
                continue;
            };
            if uses.starts_with("./") {
                continue;
            }
            if format!("uses: {uses}") == own {
                continue; // the docs name entractl's own action by its release
            }
            let pinned = uses.split_once('@').is_some_and(|(_, r)| is_commit(r));
            // The version comment tells a reader (and Dependabot) what the commit is.
            let commented = s
                .text
                .lines()
                .any(|l| l.contains(&format!("uses: {uses} # v")));
            if !pinned || !commented {
                problems.push(format!("{}: `{uses}`", s.name));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "pin every action to a full commit SHA followed by `# vX.Y.Z` (entractl's own action: `{own}`):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_workflow_declares_its_token_permissions() {
    for s in workflows() {
        let doc = yaml(&s);
        assert!(
            doc.get("permissions").is_some(),
            "{}: declare `permissions:` at the top (least privilege)",
            s.name
        );
    }
}

/// Every `${{ … }}` expression in a text.
fn expressions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push(rest[start + 3..start + len].trim().to_string());
        rest = &rest[start + len + 2..];
    }
    out
}

/// `$NAME` and `${NAME…}` variables a script reads.
fn variables(script: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes: Vec<char> = script.chars().collect();
    for (i, c) in bytes.iter().enumerate() {
        if *c != '$' {
            continue;
        }
        let start = if bytes.get(i + 1) == Some(&'{') {
            i + 2
        } else {
            i + 1
        };
        let name: String = bytes[start.min(bytes.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .collect();
        if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
            out.insert(name);
        }
    }
    out
}

/// Variables the runner sets for every step (GitHub's default environment variables).
fn from_runner(name: &str) -> bool {
    name.starts_with("GITHUB_") || name.starts_with("RUNNER_")
}

#[test]
fn the_action_reads_only_declared_inputs_and_set_variables() {
    let action = action();
    let declared: BTreeSet<String> = action["inputs"]
        .as_object()
        .expect("inputs")
        .keys()
        .cloned()
        .collect();
    let text = read(&root().join("action.yml"));
    let mut used = BTreeSet::new();
    for e in expressions(&text) {
        if let Some(name) = e.strip_prefix("inputs.") {
            assert!(
                declared.contains(name),
                "`${{{{ {e} }}}}`: no input `{name}`"
            );
            used.insert(name.to_string());
        }
    }
    assert_eq!(used, declared, "every input is used");

    let steps = action["runs"]["steps"].as_array().expect("steps");
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        let env: BTreeMap<String, String> = step
            .get("env")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        // Outputs of earlier steps only.
        for value in env.values() {
            for e in expressions(value) {
                if let Some(rest) = e.strip_prefix("steps.") {
                    let (id, output) = rest.split_once(".outputs.").expect("steps.ID.outputs.NAME");
                    let script = ids
                        .get(id)
                        .unwrap_or_else(|| panic!("step {i}: no earlier step `{id}`"));
                    assert!(
                        writes_output(script, output),
                        "step `{id}` never writes `{output}`"
                    );
                }
            }
        }
        let Some(script) = step.get("run").and_then(Value::as_str) else {
            continue;
        };
        assert_eq!(
            step["shell"], "bash",
            "step {i}: composite run steps name their shell"
        );
        assert!(
            !script.contains("${{"),
            "step {i}: an expression in a script is spliced into the code (script injection): pass it in `env:`"
        );
        for var in variables(script) {
            let set_here = env.contains_key(&var) || script.contains(&format!("{var}="));
            let well_known = from_runner(&var) || var == "PATH";
            assert!(
                set_here || well_known,
                "step {i} reads `${var}`, which nobody sets"
            );
        }
        if let Some(id) = step.get("id").and_then(Value::as_str) {
            ids.insert(id.to_string(), script.to_string());
        }
    }
    for (name, output) in action["outputs"].as_object().expect("outputs") {
        let value = output["value"].as_str().expect("value");
        for e in expressions(value) {
            let rest = e.strip_prefix("steps.").expect("an output of a step");
            let (id, out) = rest.split_once(".outputs.").expect("steps.ID.outputs.NAME");
            assert!(
                ids.get(id).is_some_and(|s| writes_output(s, out)),
                "output `{name}`: step `{id}` never writes `{out}`"
            );
        }
    }
}

/// Whether a script sets step output `name`: itself (`name=…`), or by `entractl github outputs`,
/// whose help names the outputs it writes.
fn writes_output(script: &str, name: &str) -> bool {
    script.contains(&format!("{name}="))
        || (script.contains("entractl github outputs")
            && help(&["github", "outputs"]).contains(&format!("`{name}`")))
}

/// `entractl …` command lines: in run scripts (workflows, the action) and in the docs' `sh`
/// blocks. Line continuations joined.
fn command_lines() -> Vec<(String, String)> {
    let mut scripts: Vec<(String, String)> = Vec::new();
    let mut sources = workflows();
    sources.push(Source {
        name: "action.yml".into(),
        text: read(&root().join("action.yml")),
    });
    for s in &sources {
        for step in steps(&yaml(s)) {
            if let Some(run) = step.get("run").and_then(Value::as_str) {
                scripts.push((s.name.clone(), run.to_string()));
            }
            // Multi-line `args` of a container (docs/fleet.md's Kubernetes Job is YAML too).
        }
    }
    scripts.extend(doc_blocks("sh"));
    let mut out = Vec::new();
    for (name, script) in scripts {
        let joined = script.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if let Some(pos) = find_command(line) {
                out.push((name.clone(), line[pos..].to_string()));
            }
        }
    }
    assert!(out.len() > 20, "command lines found: {}", out.len());
    out
}

/// Where `entractl` is run in a shell line (at the start, or after `;`, `|`, `&&`, `(`, `then`).
fn find_command(line: &str) -> Option<usize> {
    let mut search = 0;
    while let Some(i) = line[search..].find("entractl ") {
        let at = search + i;
        let before = line[..at].trim_end();
        let starts = before.is_empty()
            || before.ends_with(';')
            || before.ends_with('|')
            || before.ends_with("&&")
            || before.ends_with('(')
            || before.ends_with("then")
            || before.ends_with("do");
        if starts {
            return Some(at);
        }
        search = at + 1;
    }
    None
}

/// Shell words, quotes kept as one word, up to the end of the command.
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.push('"');
            }
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            (None, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    let end = out
        .iter()
        .position(|w| {
            matches!(w.as_str(), "|" | "||" | "&&" | ";" | ">" | ">>" | "2>&1")
                || w.starts_with('>')
        })
        .unwrap_or(out.len());
    out.truncate(end);
    out
}

fn help(path: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_entractl"))
        .args(path)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .expect("entractl runs");
    assert!(
        out.status.success(),
        "entractl {} --help fails",
        path.join(" ")
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subcommands a help text lists.
fn subcommands(help: &str) -> Vec<String> {
    help.split("Commands:\n")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| !l.trim().is_empty())
                .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
                .filter_map(|l| l.split_whitespace().next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `--flag` is an option of this help text; `Some(true)` when it takes a value.
fn option(help: &str, flag: &str) -> Option<bool> {
    help.lines().find_map(|l| {
        let l = l.trim_start();
        let l = l
            .split_once(", ")
            .filter(|(s, _)| s.starts_with('-') && s.len() == 2)
            .map_or(l, |(_, r)| r);
        let rest = l.strip_prefix(flag)?;
        match rest.chars().next() {
            Some(' ') => Some(rest.trim_start().starts_with('<')),
            Some('.') | None => Some(false),
            _ => None,
        }
    })
}

#[test]
fn every_documented_command_line_names_real_subcommands_and_flags() {
    let top = help(&[]);
    let mut helps: BTreeMap<Vec<String>, String> = BTreeMap::new();
    let mut problems = Vec::new();
    for (place, line) in command_lines() {
        let w = words(&line);
        let mut path: Vec<String> = Vec::new();
        let mut i = 1;
        while i < w.len() {
            let word = &w[i];
            let current = helps
                .entry(path.clone())
                .or_insert_with(|| help(&path.iter().map(String::as_str).collect::<Vec<_>>()))
                .clone();
            if word.starts_with("--") {
                let flag = word.split('=').next().unwrap_or(word);
                match option(&current, flag).or_else(|| option(&top, flag)) {
                    Some(true) if !word.contains('=') => i += 1,
                    Some(_) => {}
                    None => problems.push(format!("{place}: `{line}`: no option `{flag}`")),
                }
            } else if !word.starts_with('-') {
                let subs = subcommands(&current);
                if subs.contains(word) {
                    path.push(word.clone());
                } else if !subs.is_empty() {
                    problems.push(format!("{place}: `{line}`: no subcommand `{word}`"));
                    break;
                }
            }
            i += 1;
        }
        if path.is_empty() && !w.iter().any(|x| x == "--version" || x == "--help") {
            problems.push(format!("{place}: `{line}`: no subcommand"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
