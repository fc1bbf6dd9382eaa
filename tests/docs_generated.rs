//! Parts of the docs that are generated from the code, and a test that fails when they drift
//! apart ("stale, run `make docs`", which rewrites them): the permission tables of docs/auth.md
//! and docs/ci.md come from `entractl permissions --json` on one spec per part of the spec
//! format. Also: every place the docs name the project's repository or image uses the one in
//! Cargo.toml (`repository`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::{TestCommand, root, scratch};

/// The smallest spec: an application only.
const BASE: &str = "version: 1
tenant: contoso.onmicrosoft.com
app:
  displayName: Contoso Portal
  uniqueName: contoso-portal
";

const ASSIGNMENTS: &str = "assignments:\n  users: [alice@contoso.com]\n  groups: [Mac Users]\n";

/// One row per part of the spec: (label, the spec with it, the spec without it).
fn parts() -> Vec<(&'static str, String, String)> {
    let public = format!("{BASE}  publicClientFlows: true\n");
    let with_assignments = format!("{public}{ASSIGNMENTS}");
    vec![
        ("`app` (always)", BASE.to_string(), String::new()),
        (
            "`app.adminConsent: true`",
            format!("{BASE}  apiPermissions:\n    Microsoft Graph:\n      delegated: [openid, User.Read]\n  adminConsent: true\n"),
            BASE.to_string(),
        ),
        (
            "`app.apiPermissions.<API>.application` with `app.adminConsent`",
            format!("{BASE}  apiPermissions:\n    Microsoft Graph:\n      delegated: [openid, User.Read]\n      application: [User.Read.All]\n  adminConsent: true\n"),
            format!("{BASE}  apiPermissions:\n    Microsoft Graph:\n      delegated: [openid, User.Read]\n  adminConsent: true\n"),
        ),
        (
            "`app.appId` (adopt an app entractl's identity does not own)",
            "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayName: Contoso Portal\n  appId: 9b1f4c2e-6a3d-4f8b-b1e7-2c5d8a0f3e69\n".to_string(),
            BASE.to_string(),
        ),
        ("`assignments`", format!("{BASE}{ASSIGNMENTS}"), BASE.to_string()),
        (
            "`mfa.securityDefaults`",
            format!("{with_assignments}mfa:\n  securityDefaults: disabled\n"),
            with_assignments.clone(),
        ),
        (
            "`mfa.perUserMfa`",
            format!("{with_assignments}mfa:\n  perUserMfa: disabled-for-app-users\n"),
            with_assignments.clone(),
        ),
        (
            "`mfa.conditionalAccess`",
            format!("{with_assignments}mfa:\n  conditionalAccess:\n    excludeApp: from-policies-requiring-mfa\n"),
            with_assignments,
        ),
    ]
}

/// `entractl permissions SPEC --json`, parsed.
fn permissions(spec: &Path) -> Value {
    let out = TestCommand::new(&["permissions", &spec.display().to_string(), "--json"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("JSON")
}

fn names(v: &Value, list: &str) -> Vec<String> {
    v[list]
        .as_array()
        .expect("list")
        .iter()
        .map(|n| n["permission"].as_str().expect("permission").to_string())
        .collect()
}

fn code_list(names: &[String]) -> String {
    if names.is_empty() {
        return "—".into();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table of permissions per part of the spec, and every permission with why it is needed.
fn tables() -> (String, String) {
    let dir = scratch("docs_generated");
    let mut by_part = String::from(
        "| part of the spec | to plan (read only) | to apply (in addition to plan's) |\n|---|---|---|\n",
    );
    let mut why: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (i, (label, with, without)) in parts().into_iter().enumerate() {
        let path = dir.join(format!("part-{i}.yaml"));
        std::fs::write(&path, &with).unwrap();
        let now = permissions(&path);
        let before = if without.is_empty() {
            Value::Null
        } else {
            let p = dir.join(format!("part-{i}-without.yaml"));
            std::fs::write(&p, &without).unwrap();
            permissions(&p)
        };
        let added = |list: &str| -> (Vec<String>, Vec<String>) {
            let old = if before.is_null() {
                vec![]
            } else {
                names(&before, list)
            };
            let new = names(&now, list);
            let plus = new.iter().filter(|n| !old.contains(n)).cloned().collect();
            let minus = old.iter().filter(|n| !new.contains(n)).cloned().collect();
            (plus, minus)
        };
        let (plan, _) = added("plan");
        let (apply, replaced) = added("apply");
        let mut apply_cell = code_list(&apply);
        if !replaced.is_empty() {
            apply_cell.push_str(&format!(" instead of {}", code_list(&replaced)));
        }
        by_part.push_str(&format!(
            "| {label} | {} | {apply_cell} |\n",
            code_list(&plan)
        ));
        for (rank, list) in ["plan", "apply"].iter().enumerate() {
            for n in now[*list].as_array().unwrap() {
                let name = n["permission"].as_str().unwrap().to_string();
                let text = n["why"].as_str().unwrap().replace('|', "\\|");
                // A permission several parts need: every part's reason, once.
                let (_, known) = why.entry(name).or_insert((rank, String::new()));
                for reason in text.split("; ") {
                    if !known.split("; ").any(|k| k == reason) {
                        if !known.is_empty() {
                            known.push_str("; ");
                        }
                        known.push_str(reason);
                    }
                }
            }
        }
    }
    let mut reasons = String::from("| permission | for | why |\n|---|---|---|\n");
    let mut rows: Vec<_> = why.into_iter().collect();
    rows.sort_by_key(|(name, (rank, _))| (*rank, name.clone()));
    for (name, (rank, text)) in rows {
        let what = if rank == 0 { "plan" } else { "apply" };
        reasons.push_str(&format!("| `{name}` | {what} | {text} |\n"));
    }
    (by_part, reasons)
}

/// The identities of docs/ci.md for the Mac Login example spec (the most a Passport spec needs).
fn ci_identities() -> String {
    let spec = root().join("specs/kandji-passport-mac-login.yaml");
    let p = permissions(&spec);
    let plan = names(&p, "plan");
    let mut apply = plan.clone();
    apply.extend(names(&p, "apply"));
    format!(
        "| identity | application permissions (admin consent) for `specs/kandji-passport-mac-login.yaml` | federated credential subject |\n|---|---|---|\n\
         | `entractl-plan` (read only) | {} | `repo:ORG/REPO:pull_request`, `repo:ORG/REPO:ref:refs/heads/main` |\n\
         | `entractl-apply` | {} | `repo:ORG/REPO:environment:production`, `repo:ORG/REPO:environment:production-security-downgrade` |\n",
        code_list(&plan),
        code_list(&apply)
    )
}

/// Replaces the text between `<!-- generated: NAME … -->` and `<!-- end: NAME -->`.
fn splice(doc: &str, name: &str, content: &str) -> Option<String> {
    let begin = format!("<!-- generated: {name} ");
    let start = doc.find(&begin)?;
    let body = start + doc[start..].find("-->")? + 3;
    let end = doc.find(&format!("<!-- end: {name} -->"))?;
    Some(format!("{}\n{content}{}", &doc[..body], &doc[end..]))
}

#[test]
fn permission_tables_in_the_docs_are_those_entractl_prints() {
    let (by_part, reasons) = tables();
    let identities = ci_identities();
    let wanted = [
        ("docs/auth.md", "permissions-by-part", &by_part),
        ("docs/auth.md", "permissions-why", &reasons),
        ("docs/ci.md", "permissions-by-part", &by_part),
        ("docs/ci.md", "ci-identities", &identities),
    ];
    let bless = std::env::var_os("ENTRACTL_BLESS").is_some();
    let mut stale = Vec::new();
    let mut docs: BTreeMap<&str, String> = BTreeMap::new();
    for (file, name, content) in wanted {
        let doc = docs
            .entry(file)
            .or_insert_with(|| std::fs::read_to_string(root().join(file)).expect("doc"));
        let new = splice(doc, name, content).unwrap_or_else(|| {
            panic!("{file}: no `<!-- generated: {name} … -->` … `<!-- end: {name} -->`")
        });
        if new != *doc {
            stale.push(format!("{file}: `{name}`"));
            *doc = new;
        }
    }
    if bless {
        for (file, text) in &docs {
            std::fs::write(root().join(file), text).expect("write doc");
        }
        return;
    }
    assert!(
        stale.is_empty(),
        "stale generated docs (they differ from `entractl permissions`), run `make docs`:\n{}",
        stale.join("\n")
    );
}

/// `owner/name` from Cargo.toml's `repository` (the one place that names the project's home).
pub fn repository() -> String {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("repository = \"https://github.com/"))
        .and_then(|l| l.strip_suffix('"'))
        .expect("repository = \"https://github.com/OWNER/NAME\" in Cargo.toml")
        .to_string()
}

#[test]
fn the_docs_name_the_repository_of_cargo_toml() {
    let repo = repository();
    let mut files = vec![root().join("README.md")];
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    files.sort();
    // How the docs name the project: its image, its action, its git URL.
    let patterns = ["ghcr.io/", "uses: ", "--git https://github.com/"];
    let mut wrong = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            for p in patterns {
                for (at, _) in line.match_indices(p) {
                    let rest = &line[at + p.len()..];
                    let named: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || "-_./".contains(*c))
                        .collect();
                    let names_project = named.starts_with(&repo)
                        || named.ends_with("/entractl")
                        || named.contains("/entractl/")
                        || named.contains("entractl@");
                    let ok = named == repo
                        || named.starts_with(&format!("{repo}/"))
                        || named.starts_with(&format!("{repo}:"))
                        || named.starts_with(&format!("{repo}@"))
                        || named.starts_with(&format!("{repo}.git"));
                    if names_project && !ok && !named.starts_with("actions/") {
                        wrong.push(format!(
                            "{}:{}: `{p}{named}`",
                            f.strip_prefix(root()).unwrap().display(),
                            i + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the repository is `{repo}` (Cargo.toml `repository`, see docs/decisions.md): \n{}",
        wrong.join("\n")
    );
}
