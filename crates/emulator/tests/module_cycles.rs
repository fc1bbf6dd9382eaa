//! No module of graph-emulator uses, directly or through others, a module that uses it back.
//!
//! How it is checked: every file under `src/` is a module (`lib.rs` is the crate root, `a/mod.rs` and
//! `a.rs` are `a`); its code before `#[cfg(test)]` is scanned for paths (`use` trees with their
//! braces expanded, and inline `crate::…`, `super::…`, `self::…` and `child::…` paths). A path is
//! resolved to the longest prefix that is a module, so `crate::graph::odata::GraphError` is a use of
//! `graph::odata`, and a re-export in the crate root is a use of the root. Declaring a child module
//! (`pub mod x;`) is not a use. The test fails with the cycle it found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`crate::graph::odata`) of a source file.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    std::iter::once("crate".to_string())
        .chain(parts)
        .collect::<Vec<_>>()
        .join("::")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "main.rs")
        {
            out.push(path);
        }
    }
}

/// Expand a `use` tree (`a::{b, c::{d, e}}`) into full paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap().trim();
        return vec![path.trim_end_matches("::*").to_string()];
    };
    let prefix = tree[..open].trim_end_matches("::").trim();
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|i| !i.trim().is_empty())
        .flat_map(expand)
        .map(|p| {
            if p == "self" {
                prefix.to_string()
            } else {
                format!("{prefix}::{p}")
            }
        })
        .collect()
}

/// The code of a file without comments and before its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path a file's code names (absolute, or starting with a child module's name).
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = code.lines().collect();
    let mut other = String::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        let stmt = t
            .strip_prefix("use ")
            .or_else(|| t.strip_prefix("pub use "))
            .or_else(|| t.strip_prefix("pub(crate) use "));
        if let Some(first) = stmt {
            let mut tree = first.to_string();
            while !tree.contains(';') && i + 1 < lines.len() {
                i += 1;
                tree.push_str(lines[i]);
            }
            out.extend(expand(tree.split(';').next().unwrap()));
        } else {
            other.push_str(lines[i]);
            other.push('\n');
        }
        i += 1;
    }
    let code = other.as_str();
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices("::") {
        let mut s = i;
        while s > 0 && (bytes[s - 1].is_ascii_alphanumeric() || bytes[s - 1] == b'_') {
            s -= 1;
        }
        if s == i || (s > 0 && bytes[s - 1] == b':') {
            continue;
        }
        let mut e = i + 2;
        while e < bytes.len()
            && (bytes[e].is_ascii_alphanumeric() || bytes[e] == b'_' || bytes[e] == b':')
        {
            e += 1;
        }
        out.push(code[s..e].trim_end_matches(':').to_string());
    }
    out
}

/// The module a path names, relative to `module`, if it is one of the crate's.
fn resolve(module: &str, path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> = module.split("::").map(str::to_string).collect();
    let mut i = 0;
    match segs.first().copied() {
        Some("crate") => {
            base = vec!["crate".into()];
            i = 1;
        }
        Some("self") => i = 1,
        Some("super") => {
            while segs.get(i) == Some(&"super") {
                base.pop();
                i += 1;
            }
        }
        Some(first) if modules.contains(&format!("{module}::{first}")) => {}
        _ => return None,
    }
    let mut found = base.join("::");
    let mut cur = base;
    for s in &segs[i..] {
        cur.push(s.to_string());
        let candidate = cur.join("::");
        if modules.contains(&candidate) {
            found = candidate;
        } else {
            break;
        }
    }
    Some(found)
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let modules: BTreeSet<String> = all.iter().map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &all {
        let module = module_of(&src, f);
        let text = std::fs::read_to_string(f).unwrap();
        let targets = edges.entry(module.clone()).or_default();
        for p in paths(&code(&text)) {
            if let Some(t) = resolve(&module, &p, &modules)
                && t != module
            {
                targets.insert(t);
            }
        }
    }
    assert!(edges.len() > 40, "the scan found the modules: {edges:?}");
    assert!(
        edges["crate::graph::dispatch"].contains("crate::graph::handlers::execute"),
        "the scan follows `use` paths: {:?}",
        edges["crate::graph::dispatch"]
    );
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.to_string());
        for t in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(t, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(cycle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_scanner_sees_braces_relative_paths_and_re_exports() {
    assert_eq!(
        expand("crate::graph::{odata::{self, Query}, request::GraphRequest}"),
        [
            "crate::graph::odata",
            "crate::graph::odata::Query",
            "crate::graph::request::GraphRequest"
        ]
    );
    let modules: BTreeSet<String> = ["crate", "crate::a", "crate::a::b", "crate::c"]
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        resolve("crate::a::b", "super::Thing", &modules).as_deref(),
        Some("crate::a")
    );
    assert_eq!(
        resolve("crate", "a::b::f", &modules).as_deref(),
        Some("crate::a::b")
    );
    assert_eq!(
        resolve("crate::c", "crate::Thing", &modules).as_deref(),
        Some("crate"),
        "a root re-export is a use of the root"
    );
    assert_eq!(resolve("crate::c", "std::sync::Mutex", &modules), None);
    let found = paths("use crate::a::{b, c};\nfn f() { crate::c::g(); super::h(); }");
    assert!(found.contains(&"crate::a::b".to_string()), "{found:?}");
    assert!(found.contains(&"crate::c::g".to_string()), "{found:?}");
    assert!(found.contains(&"super::h".to_string()), "{found:?}");
}
