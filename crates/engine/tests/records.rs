//! The record of what entractl weakened (docs/decisions.md) against graph-emulator, with the
//! emulator's state as the oracle: the record is written before the downgrade (a stop between
//! the two leaves the record, never an unrecorded downgrade), and a plan made later, with a new
//! journal, restores per-user MFA from the record alone.

mod common;

use std::time::Duration;

use entractl_engine::plan::{Action, ObjectKind};
use entractl_engine::{ApplyOptions, Desired, apply, diff, fetch};
use graph_emulator::knobs::Knobs;
use graph_emulator::scenarios::P1_TENANT_ID;
use graph_emulator::{EmulatorConfig, RunningEmulator};

fn desired(groups: &str) -> Desired {
    desired_with(groups, "mfa:\n  perUserMfa: disabled-for-app-users\n")
}

fn desired_with(groups: &str, mfa: &str) -> Desired {
    let text = format!(
        "version: 1\ntenant: {P1_TENANT_ID}\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-records\n  publicClientFlows: true\nassignments:\n  users: [alice@contoso.com]\n  groups: [{groups}]\n  prune: true\n{mfa}"
    );
    let spec = entractl_spec::parse_str("records.yaml", &text).expect("spec");
    Desired::from_spec(&spec.spec, None)
}

fn journal(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "entractl-records-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts(dir: &std::path::Path) -> ApplyOptions {
    let mut o = ApplyOptions::new(dir.to_path_buf());
    o.verify_interval = Duration::from_millis(50);
    o.verify_budget = Duration::from_secs(30);
    o.allow_security_downgrade = true;
    o
}

/// Carol's per-user MFA state, as the emulator holds it.
fn carol_state(emu: &RunningEmulator) -> String {
    emu.with_tenant(|t| {
        t.user("carol@contoso.com")
            .and_then(|u| u.internal.per_user_mfa_state.clone())
            .unwrap_or_else(|| "disabled".into())
    })
}

fn carol_id(emu: &RunningEmulator) -> String {
    emu.with_tenant(|t| t.user("carol@contoso.com").unwrap().id().to_string())
}

/// The members of the record groups, as the emulator holds them, by mailNickname.
fn records(emu: &RunningEmulator) -> Vec<(String, Vec<String>)> {
    emu.with_tenant(|t| {
        t.groups
            .iter()
            .filter_map(|g| {
                let n = g.str("mailNickname")?;
                n.starts_with("entractl-record-")
                    .then(|| (n.to_string(), g.internal.members.clone()))
            })
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_comes_first_and_a_fresh_journal_restores_from_it() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let client = common::client_for(&emu, P1_TENANT_ID, Some(Duration::from_secs(3)));
    let carol = carol_id(&emu);
    assert_eq!(carol_state(&emu), "enforced");
    let with_group = desired("Mac Users");

    // Per-user MFA is down: the apply stops after the record, before the downgrade.
    emu.set_knobs(Knobs {
        failing_writes: vec!["/users/{id}/authentication/requirements".into()],
        ..Knobs::default()
    });
    let (observed, _) = fetch(&client, &with_group).await.unwrap();
    let plan = diff(&with_group, &observed).unwrap();
    let err = apply(&client, &with_group, &plan, &observed, &opts(&journal("a")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("per-user"), "{err}");
    assert_eq!(carol_state(&emu), "enforced");
    let recorded = records(&emu);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(recorded[0].0.starts_with("entractl-record-mfa-enforced-"));
    assert_eq!(recorded[0].1, [carol.as_str()]);

    // Back up: the next plan (another journal) turns it off without recording it twice.
    emu.set_knobs(Knobs::default());
    let (observed, _) = fetch(&client, &with_group).await.unwrap();
    let plan = diff(&with_group, &observed).unwrap();
    let kinds: Vec<(ObjectKind, Action)> = plan
        .actionable()
        .map(|c| (c.object.kind, c.action))
        .collect();
    assert_eq!(kinds, [(ObjectKind::PerUserMfa, Action::Update)]);
    let report = apply(&client, &with_group, &plan, &observed, &opts(&journal("b")))
        .await
        .unwrap();
    assert!(report.converged, "{:?}", report.final_plan);
    assert_eq!(carol_state(&emu), "disabled");

    // The group leaves the spec: a new journal, nothing but the tenant to go by.
    let without = desired("All Creatives");
    let (observed, _) = fetch(&client, &without).await.unwrap();
    let plan = diff(&without, &observed).unwrap();
    let restore = plan
        .actionable()
        .find(|c| c.object.kind == ObjectKind::PerUserMfa)
        .unwrap_or_else(|| panic!("a restore: {:#?} {:#?}", plan.changes, observed.records));
    assert_eq!(restore.object.display, "carol@contoso.com");
    assert!(restore.risks.is_empty(), "a restore is no downgrade");
    assert!(restore.reason.contains("`enforced`"), "{}", restore.reason);
    let mut o = opts(&journal("c"));
    o.allow_security_downgrade = false;
    let report = apply(&client, &without, &plan, &observed, &o)
        .await
        .unwrap();
    assert!(report.converged, "{:?}", report.final_plan);
    assert_eq!(carol_state(&emu), "enforced");
    assert_eq!(records(&emu)[0].1, Vec::<String>::new(), "record released");
    let (observed, _) = fetch(&client, &without).await.unwrap();
    assert!(!diff(&without, &observed).unwrap().has_changes());

    // The group comes back, then the spec drops its `mfa` section: restored again.
    let (observed, _) = fetch(&client, &with_group).await.unwrap();
    let plan = diff(&with_group, &observed).unwrap();
    apply(&client, &with_group, &plan, &observed, &opts(&journal("d")))
        .await
        .unwrap();
    assert_eq!(carol_state(&emu), "disabled");
    assert_eq!(records(&emu)[0].1, [carol.as_str()]);
    let no_mfa = desired_with("Mac Users", "");
    let (observed, _) = fetch(&client, &no_mfa).await.unwrap();
    let plan = diff(&no_mfa, &observed).unwrap();
    let mut o = opts(&journal("e"));
    o.allow_security_downgrade = false;
    let report = apply(&client, &no_mfa, &plan, &observed, &o).await.unwrap();
    assert!(report.converged, "{:?}", report.final_plan);
    assert_eq!(carol_state(&emu), "enforced");
    assert_eq!(records(&emu)[0].1, Vec::<String>::new());
    emu.shutdown();
}

/// A policy's `conditions.users.{key}`, as the emulator holds it.
fn policy_list(emu: &RunningEmulator, prefix: &str, key: &str) -> Vec<String> {
    emu.with_tenant(|t| {
        let p = t
            .conditional_access_policies
            .iter()
            .find(|p| p.str("displayName").is_some_and(|n| n.starts_with(prefix)))
            .expect("policy");
        p.obj["conditions"]["users"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(str::to_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn with_identities(mut d: Desired) -> Desired {
    if let Some(m) = d.mfa.as_mut() {
        m.exclude_identities =
            Some(entractl_engine::core::desired::CaSelection::FromPoliciesRequiringMfa);
    }
    d
}

async fn converge(client: &entractl_graph::GraphClient, d: &Desired, name: &str, downgrade: bool) {
    let (observed, _) = fetch(client, d).await.unwrap();
    let plan = diff(d, &observed).unwrap();
    let mut o = opts(&journal(name));
    o.allow_security_downgrade = downgrade;
    let report = apply(client, d, &plan, &observed, &o).await.unwrap();
    assert!(report.converged, "{:?}", report.final_plan);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_exclusions_entractl_added_come_out_and_a_break_glass_exclusion_stays() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("p1")).unwrap();
    let client = common::client_for(&emu, P1_TENANT_ID, None);
    let (alice, mac) = emu.with_tenant(|t| {
        let alice = t.user("alice@contoso.com").unwrap().id().to_lowercase();
        let mac = t
            .groups
            .iter()
            .find(|g| g.str("displayName") == Some("Mac Users"))
            .unwrap()
            .id()
            .to_lowercase();
        (alice, mac)
    });
    // An administrator excluded alice from CA001 by hand (break-glass style).
    emu.with_tenant(|t| {
        let p = t
            .conditional_access_policies
            .iter_mut()
            .find(|p| p.str("displayName").is_some_and(|n| n.starts_with("CA001")))
            .unwrap();
        p.obj["conditions"]["users"]["excludeUsers"] = serde_json::json!([alice.clone()]);
    });

    converge(
        &client,
        &with_identities(desired("Mac Users")),
        "ca-a",
        true,
    )
    .await;
    assert_eq!(policy_list(&emu, "CA001", "excludeUsers"), [alice.as_str()]);
    assert_eq!(policy_list(&emu, "CA001", "excludeGroups"), [mac.as_str()]);

    // Mac Users leaves the spec (new journal): it comes out; alice (the admin's) stays.
    converge(
        &client,
        &with_identities(desired("All Creatives")),
        "ca-b",
        true,
    )
    .await;
    assert_eq!(policy_list(&emu, "CA001", "excludeUsers"), [alice.as_str()]);
    let groups = policy_list(&emu, "CA001", "excludeGroups");
    assert!(!groups.contains(&mac), "{groups:?}");

    // The spec stops excluding identities: only what entractl added comes out.
    let mut plain = desired("All Creatives");
    if let Some(m) = plain.mfa.as_mut() {
        m.exclude_identities = None;
    }
    converge(&client, &plain, "ca-c", false).await;
    assert_eq!(policy_list(&emu, "CA001", "excludeUsers"), [alice.as_str()]);
    assert!(policy_list(&emu, "CA001", "excludeGroups").is_empty());
    for (_, members) in records(&emu) {
        assert!(members.is_empty(), "every record released");
    }
    emu.shutdown();
}
