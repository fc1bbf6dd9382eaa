//! No module imports, directly or through others, a module that imports it back: in every crate
//! of the workspace, the `use crate::…`, `super::…`, `self::…` and child-module paths of each
//! source file (test code excluded) form a graph that must have no cycle. Crates still being
//! restructured are listed in `KNOWN_CYCLES`; the test fails when one of them has become acyclic,
//! so the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::root;

/// Crates whose cycles are known and being removed (issue 15). Remove a crate when it passes.
const KNOWN_CYCLES: &[&str] = &[];

/// A module path inside a crate (`["commands", "plan"]`; the crate root is `[]`).
type ModPath = Vec<String>;

/// Every `.rs` file under `dir` with its module path, from the crate root file `root_file`.
fn modules(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            let last = parts.last().cloned().unwrap_or_default();
            if last == "mod" || (parts.len() == 1 && (last == "lib" || last == "main")) {
                parts.pop();
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The source without comments, string literals and `#[cfg(test)]` items (tests at the end).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Expands `use` trees (`a::{b, c::{d}}`) into full paths.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let (Some(open), Some(close)) = (tree.find('{'), tree.rfind('}')) else {
        return vec![tree];
    };
    if close < open {
        return vec![tree];
    }
    let prefix = &tree[..open];
    let inner = &tree[open + 1..close];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// The paths a file refers to: its `use` trees and `crate::`/`super::`/`self::` paths in code.
fn referenced_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        let tail = &rest[i + 4..];
        let end = tail.find(';').unwrap_or(tail.len());
        if before.is_none_or(|c| !c.is_alphanumeric() && c != '_') {
            out.extend(expand(&tail[..end]));
        }
        rest = &tail[end.min(tail.len())..];
    }
    for anchor in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(anchor) {
            let at = from + i;
            let prev = code[..at].chars().last();
            from = at + anchor.len();
            if prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            // `crate::a::{b, c}`: the `use` tree above expands it.
            if !path.ends_with("::") {
                out.push(path);
            }
        }
    }
    out
}

/// The module a path names, resolved from module `from` (the deepest existing module).
fn resolve(path: &str, from: &ModPath, known: &BTreeMap<ModPath, PathBuf>) -> Option<ModPath> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let (mut base, rest): (ModPath, &[&str]) = match segs.first() {
        Some(&"crate") => (Vec::new(), &segs[1..]),
        Some(&"self") => (from.clone(), &segs[1..]),
        Some(&"super") => {
            let mut b = from.clone();
            let mut n = 0;
            while segs.get(n) == Some(&"super") {
                b.pop();
                n += 1;
            }
            (b, &segs[n..])
        }
        // A path through a child module of this one.
        Some(first) => {
            let mut child = from.clone();
            child.push((*first).to_string());
            if !known.contains_key(&child) {
                return None;
            }
            (from.clone(), &segs[..])
        }
        None => return None,
    };
    for s in rest {
        let mut next = base.clone();
        next.push((*s).to_string());
        if known.contains_key(&next) {
            base = next;
        } else {
            break;
        }
    }
    Some(base)
}

/// The import graph of one crate: module → modules it refers to (the crate root, which only
/// declares modules and re-exports, is left out).
fn graph(src: &Path) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let known = modules(src);
    let mut g = BTreeMap::new();
    for (m, file) in &known {
        if m.is_empty() {
            continue;
        }
        let text = code(&std::fs::read_to_string(file).unwrap());
        let mut edges: BTreeSet<ModPath> = referenced_paths(&text)
            .iter()
            .filter_map(|p| resolve(p, m, &known))
            .filter(|t| t != m && !t.is_empty())
            .collect();
        // Bare paths through a child module (`plan::run(…)` in `commands/mod.rs`).
        for child in known
            .keys()
            .filter(|k| k.len() == m.len() + 1 && k.starts_with(m))
        {
            let name = format!("{}::", child[m.len()]);
            let used = text.match_indices(&name).any(|(i, _)| {
                text[..i]
                    .chars()
                    .last()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != ':')
            });
            if used {
                edges.insert(child.clone());
            }
        }
        g.insert(m.clone(), edges);
    }
    g
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on: BTreeSet<&'a ModPath>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a ModPath) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let Some((w, _)) = t.g.get_key_value(w) else {
                continue;
            };
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                scc.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// Every crate of the workspace: the root package and `crates/*`.
fn crates() -> Vec<(String, PathBuf)> {
    let mut out = vec![(".".to_string(), root().join("src"))];
    for entry in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        let src = entry.path().join("src");
        if src.is_dir() {
            let name = format!("crates/{}", entry.file_name().to_string_lossy());
            out.push((name, src));
        }
    }
    out.sort();
    out
}

#[test]
fn no_crate_has_a_module_import_cycle() {
    let mut failures = Vec::new();
    for (name, src) in crates() {
        let found = cycles(&graph(&src));
        let known = KNOWN_CYCLES.contains(&name.as_str());
        match (found.is_empty(), known) {
            (true, true) => failures.push(format!(
                "{name} has no module cycle any more: remove it from KNOWN_CYCLES"
            )),
            (false, false) => {
                for c in found {
                    failures.push(format!(
                        "{name}: modules import each other: {}",
                        c.join(", ")
                    ));
                }
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_cycle_check_sees_uses_paths_and_child_modules() {
    assert_eq!(
        expand("crate::{a::B, b::{c, d::E}}"),
        ["crate::a::B", "crate::b::c", "crate::b::d::E"]
    );
    let known: BTreeMap<ModPath, PathBuf> = [
        vec![],
        vec!["a".to_string()],
        vec!["b".to_string()],
        vec!["b".to_string(), "c".to_string()],
    ]
    .into_iter()
    .map(|m| (m, PathBuf::new()))
    .collect();
    let bc = vec!["b".to_string(), "c".to_string()];
    assert_eq!(
        resolve("super::super::a::X", &bc, &known),
        Some(vec!["a".to_string()])
    );
    assert_eq!(
        resolve("c::f", &vec!["b".to_string()], &known),
        Some(bc.clone())
    );
    let g: BTreeMap<ModPath, BTreeSet<ModPath>> = [
        (vec!["a".to_string()], [bc.clone()].into()),
        (bc.clone(), [vec!["a".to_string()]].into()),
        (vec!["b".to_string()], BTreeSet::new()),
    ]
    .into_iter()
    .collect();
    assert_eq!(cycles(&g), [vec!["a".to_string(), "b::c".to_string()]]);
    let code = code(
        "use crate::a::B; // crate::b::c\nfn f() { \"crate::b\"; super::x(); }\nuse crate::c::{d, e};\n#[cfg(test)]\nmod tests { use crate::b; }",
    );
    let paths = referenced_paths(&code);
    assert!(!paths.contains(&"crate::c::".to_string()), "{paths:?}");
    assert!(paths.contains(&"crate::c::d".to_string()), "{paths:?}");
    assert!(paths.contains(&"crate::a::B".to_string()), "{paths:?}");
    assert!(paths.contains(&"super::x".to_string()), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("crate::b")), "{paths:?}");
}
