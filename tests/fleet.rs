//! End-to-end tests of fleets: one graph-emulator hosting several tenants, `plan --fleet`,
//! `apply --fleet`, `--shard I/N` and `fleet merge`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use graph_emulator::scenarios::{
    CI_CLIENT_ID, CI_CLIENT_SECRET, EMPTY_TENANT_ID, FREE_TENANT_ID, P1_TENANT_ID,
};
use graph_emulator::{EmulatorConfig, Knobs, RunningEmulator, TenantSource, Throttle};
use serde_json::Value;

use crate::util::{TestCommand, TestOutput, root, scratch};

const WRONG_SECRET: &str = "not-the-sandbox-secret";

const SPEC: &str = "\
version: 1
tenant: placeholder.example.com
app:
  displayName: Kandji Passport
  uniqueName: kandji-passport
  audience: single-tenant
  publicClientFlows: true
  redirectUris:
    web: [http://localhost]
  apiPermissions:
    Microsoft Graph:
      delegated: [openid, email, profile, User.Read]
  adminConsent: true
";

fn start() -> RunningEmulator {
    let cfg = EmulatorConfig {
        sources: ["p1", "free", "empty"]
            .into_iter()
            .map(|s| TenantSource::Scenario(s.to_string()))
            .collect(),
        ..EmulatorConfig::scenario("p1")
    };
    graph_emulator::start(cfg).expect("emulator starts")
}

/// Runs entractl against the emulator in `dir`, with the fleet's secrets in the environment.
fn entractl(emu: &RunningEmulator, dir: &Path, args: &[&str]) -> TestOutput {
    TestCommand::against(emu)
        .current_dir(dir)
        .env("FLEET_SECRET", CI_CLIENT_SECRET)
        .env("FLEET_WRONG_SECRET", WRONG_SECRET)
        .env_remove("FLEET_UNSET_SECRET")
        .forbid(CI_CLIENT_SECRET)
        .forbid(WRONG_SECRET)
        .args(args)
        .run()
}

/// A tenant entry of a fleet file.
fn tenant(name: &str, id: &str, secret_env: &str) -> String {
    format!(
        "  - name: {name}\n    tenant: {id}\n    auth:\n      method: client-secret\n      clientId: {CI_CLIENT_ID}\n      secretEnv: {secret_env}\n"
    )
}

/// Writes the spec and a fleet file with these tenant entries; returns the fleet file's name.
fn write_fleet(dir: &Path, file: &str, entries: &[String]) -> String {
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
    let mut text = String::from(
        "# yaml-language-server: $schema=fleet.schema.json\nversion: 1\ndefaults:\n  spec: spec.yaml\n  auth:\n    method: client-secret\n    clientId: ",
    );
    text.push_str(CI_CLIENT_ID);
    text.push_str("\n    secretEnv: FLEET_SECRET\ntenants:\n");
    for e in entries {
        text.push_str(e);
    }
    std::fs::write(dir.join(file), text).unwrap();
    file.to_string()
}

fn json(out: &TestOutput) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

fn by_name<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tenant {name} in {report:#}"))
}

fn names(report: &Value) -> Vec<String> {
    report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// Converged, drifted, failing auth (wrong secret, unset variable) and throttled tenants in one
/// emulator; apply of one tenant first.
#[test]
fn fleet_of_tenants_in_different_states() {
    let emu = start();
    let dir = scratch("fleet-states");

    // Converge contoso first, with a per-tenant value.
    let contoso = format!(
        "  - name: contoso\n    tenant: {P1_TENANT_ID}\n    values:\n      app:\n        displayName: Kandji Passport (Contoso)\n"
    );
    let only = write_fleet(&dir, "contoso.yaml", std::slice::from_ref(&contoso));
    let refused = entractl(&emu, &dir, &["apply", "--fleet", &only]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    crate::assert_transcript!("apply_needs_auto_approve", refused);
    let applied = entractl(
        &emu,
        &dir,
        &[
            "apply",
            "--fleet",
            &only,
            "--auto-approve",
            "--journal-dir",
            "journal",
            "--verify-timeout",
            "20",
            "--report",
            "apply.json",
        ],
    );
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("apply.json")).unwrap()).unwrap();
    assert_eq!(report["operation"], "apply");
    let c = by_name(&report, "contoso");
    assert_eq!(c["status"], "applied", "{c:#}");
    assert!(c["writes"].as_u64().unwrap() >= 3, "{c:#}");
    // The tenant's journal is under <journal-dir>/<tenant name>/.
    assert!(
        c["journal"]
            .as_str()
            .unwrap()
            .starts_with("journal/contoso/"),
        "{c:#}"
    );
    assert!(dir.join("journal/contoso").is_dir());
    let app_name = emu
        .with_tenant_id(P1_TENANT_ID, |t| {
            t.applications
                .iter()
                .filter_map(|a| a.str("displayName").map(str::to_string))
                .find(|n| n.starts_with("Kandji Passport"))
        })
        .unwrap();
    assert_eq!(app_name.as_deref(), Some("Kandji Passport (Contoso)"));

    // The whole fleet.
    let fleet = write_fleet(
        &dir,
        "fleet.yaml",
        &[
            contoso.clone(),
            format!("  - name: fabrikam\n    tenant: {FREE_TENANT_ID}\n"),
            tenant("empty", EMPTY_TENANT_ID, "FLEET_SECRET"),
            tenant("wrong-secret", EMPTY_TENANT_ID, "FLEET_WRONG_SECRET"),
            tenant("unset-secret", FREE_TENANT_ID, "FLEET_UNSET_SECRET"),
        ],
    );
    let out = entractl(&emu, &dir, &["plan", "--fleet", &fleet, "--format", "json"]);
    assert_eq!(
        out.code, 1,
        "a failed tenant wins over drift:\n{}",
        out.stderr
    );
    crate::util::snapshot_settings().bind(|| insta::assert_snapshot!("failed_tenants", out.stderr));
    let report = json(&out);
    assert_eq!(report["kind"], "entractl-fleet-report");
    assert_eq!(
        names(&report),
        [
            "contoso",
            "empty",
            "fabrikam",
            "unset-secret",
            "wrong-secret"
        ]
    );
    let s = &report["summary"];
    assert_eq!(
        (
            s["tenants"].as_u64(),
            s["in_sync"].as_u64(),
            s["drifted"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(5), Some(1), Some(2), Some(2)),
        "{s:#}"
    );
    let c = by_name(&report, "contoso");
    assert_eq!(c["status"], "in-sync", "{c:#}");
    assert_eq!(c["changes"], 0);
    assert_eq!(c["plan"]["has_changes"], false);
    for name in ["empty", "fabrikam"] {
        let t = by_name(&report, name);
        assert_eq!(t["status"], "drifted", "{t:#}");
        assert!(t["changes"].as_u64().unwrap() >= 3, "{t:#}");
        // Each tenant's full plan is in the report.
        assert_eq!(t["plan"]["format_version"], "1");
        assert_eq!(t["plan"]["changes"][0]["action"], "create");
    }
    let wrong = by_name(&report, "wrong-secret");
    assert_eq!(wrong["status"], "failed");
    assert_eq!(wrong["error"]["kind"], "auth", "{wrong:#}");
    assert!(wrong["plan"].is_null());
    let unset = by_name(&report, "unset-secret");
    assert_eq!(unset["error"]["kind"], "auth");
    assert!(
        unset["error"]["message"]
            .as_str()
            .unwrap()
            .contains("FLEET_UNSET_SECRET"),
        "{unset:#}"
    );

    // Text and Markdown carry the same summary and the drifted tenants' plans.
    let text = entractl(&emu, &dir, &["plan", "--fleet", &fleet]);
    assert_eq!(text.code, 1);
    crate::assert_transcript!("fleet_text", text);
    let md = entractl(
        &emu,
        &dir,
        &["plan", "--fleet", &fleet, "--format", "markdown"],
    );
    crate::assert_transcript!("fleet_markdown", md);

    // Without failures: exit 2 when any tenant drifted.
    let healthy = write_fleet(
        &dir,
        "healthy.yaml",
        &[
            contoso.clone(),
            format!("  - name: fabrikam\n    tenant: {FREE_TENANT_ID}\n"),
        ],
    );
    let out = entractl(
        &emu,
        &dir,
        &["plan", "--fleet", &healthy, "--format", "json"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);

    // Throttled: every tenant's bucket is small; the plans are the same, the waits are counted.
    emu.set_knobs(Knobs {
        throttle: Some(Throttle {
            capacity: 2.0,
            refill_per_second: 50.0,
        }),
        ..Knobs::default()
    });
    let throttled = entractl(
        &emu,
        &dir,
        &["plan", "--fleet", &healthy, "--format", "json"],
    );
    emu.set_knobs(Knobs::default());
    assert_eq!(throttled.code, 2, "{}", throttled.stderr);
    let t = json(&throttled);
    assert_eq!(by_name(&t, "contoso")["status"], "in-sync");
    assert_eq!(by_name(&t, "fabrikam")["status"], "drifted");
    let waits: u64 = t["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["throttled"].as_u64().unwrap())
        .sum();
    assert!(waits > 0, "no tenant was throttled: {t:#}");
    assert_eq!(t["summary"]["failed"], 0);
}

/// `--shard I/N` puts every tenant in exactly one shard, stably, and `fleet merge` of the shard
/// reports equals the report of the unsharded run.
#[test]
fn shards_are_complete_and_merge_to_the_unsharded_report() {
    let emu = start();
    let dir = scratch("fleet-shards");
    let ids = [P1_TENANT_ID, FREE_TENANT_ID, EMPTY_TENANT_ID];
    let mut entries: Vec<String> = (0..9)
        .map(|i| format!("  - name: customer-{i}\n    tenant: {}\n", ids[i % 3]))
        .collect();
    entries.push(tenant("broken", EMPTY_TENANT_ID, "FLEET_UNSET_SECRET"));
    let fleet = write_fleet(&dir, "fleet.yaml", &entries);

    let all = entractl(
        &emu,
        &dir,
        &[
            "plan",
            "--fleet",
            &fleet,
            "--parallel",
            "3",
            "--report",
            "all.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(all.code, 1, "{}", all.stderr);
    let whole = std::fs::read_to_string(dir.join("all.json")).unwrap();
    assert_eq!(whole, all.stdout, "--report writes the same JSON");

    let mut seen: Vec<String> = Vec::new();
    let mut files: Vec<String> = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let file = format!("shard-{i}.json");
        let out = entractl(
            &emu,
            &dir,
            &[
                "plan", "--fleet", &fleet, "--shard", &shard, "--report", &file,
            ],
        );
        assert!([0, 1, 2].contains(&out.code), "{}", out.stderr);
        let r: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(&file)).unwrap()).unwrap();
        assert_eq!(r["shard"]["index"], i);
        // Stable: the same shard again covers the same tenants.
        let again = entractl(
            &emu,
            &dir,
            &[
                "plan", "--fleet", &fleet, "--shard", &shard, "--format", "json",
            ],
        );
        assert_eq!(names(&json(&again)), names(&r));
        seen.extend(names(&r));
        files.push(file);
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a tenant is in two shards: {seen:?}"
    );
    assert_eq!(seen.len(), 10, "a tenant is in no shard: {seen:?}");

    // Merge, in any order, equals the unsharded report.
    let mut args = vec!["fleet", "merge", "--format", "json"];
    args.extend(files.iter().rev().map(String::as_str));
    let merged = entractl(&emu, &dir, &args);
    assert_eq!(merged.code, all.code, "{}", merged.stderr);
    assert_eq!(json(&merged), json(&all));
    assert_eq!(merged.stdout, all.stdout);

    // A missing shard is an error that names it.
    let partial = entractl(&emu, &dir, &["fleet", "merge", &files[0], &files[2]]);
    assert_eq!(partial.code, 1);
    crate::assert_transcript!("merge_missing_shard", partial);
    let not_shard = entractl(&emu, &dir, &["fleet", "merge", "all.json"]);
    assert_eq!(not_shard.code, 1);
    crate::assert_transcript!("merge_not_a_shard", not_shard);
}

#[test]
fn invalid_fleet_file_is_reported_at_file_line_col() {
    let emu = start();
    let dir = scratch("fleet-invalid");
    let text = format!(
        "version: 1\ndefaults:\n  spec: spec.yaml\ntenants:\n  - name: contoso\n    tenant: {P1_TENANT_ID}\n    auth:\n      method: client-secret\n      clientId: {CI_CLIENT_ID}\n      clientSecret: {CI_CLIENT_SECRET}\n"
    );
    std::fs::write(dir.join("fleet.yaml"), text).unwrap();
    let out = entractl(&emu, &dir, &["plan", "--fleet", "fleet.yaml"]);
    assert_eq!(out.code, 1);
    crate::assert_transcript!("invalid_fleet_file", out);
    assert!(out.stdout.is_empty());
}

#[test]
fn committed_fleet_schema_and_example_are_current() {
    let out = crate::util::TestCommand::new(&["fleet", "schema"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let committed = std::fs::read_to_string(root().join("docs/fleet.schema.json"))
        .unwrap_or_default()
        .replace("\r\n", "\n");
    assert!(
        committed == out.stdout,
        "docs/fleet.schema.json is stale: run `cargo run -q -- fleet schema > docs/fleet.schema.json` and commit it"
    );
    let example: PathBuf = root().join("specs/fleet/example.yaml");
    let text = std::fs::read_to_string(&example).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=../../docs/fleet.schema.json\n"));
    let fleet = entractl_fleet::load_file(&example).unwrap_or_else(|e| panic!("{e}"));
    assert!(fleet.tenants.len() >= 3);
    for t in &fleet.tenants {
        assert!(
            t.spec.is_file(),
            "{} names a missing spec {}",
            t.name,
            t.spec.display()
        );
        // Each tenant's spec, with its values, is valid.
        let base = entractl_fleet::tenant::read_spec_value(&t.spec).unwrap();
        let loaded =
            entractl_fleet::tenant::tenant_spec(t, &base).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.spec.tenant, t.tenant);
    }
}

#[test]
fn a_tenant_whose_certificate_cannot_be_read_names_the_fleet_files_field() {
    let emu = start();
    let dir = scratch("fleet-certificate");
    let entry = format!(
        "  - name: contoso\n    tenant: {P1_TENANT_ID}\n    auth:\n      method: certificate\n      clientId: {CI_CLIENT_ID}\n      certificatePath: missing.pem\n"
    );
    let file = write_fleet(&dir, "fleet.yaml", &[entry]);
    let out = entractl(&emu, &dir, &["plan", "--fleet", &file, "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let message = by_name(&json(&out), "contoso")["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    crate::util::snapshot_settings().bind(|| insta::assert_snapshot!("certificate_error", message));
}
