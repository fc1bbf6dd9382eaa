//! The MFA posture's part of fetch ([`MfaReads`]) without the rest of fetch: which reads go out
//! when, and which failed reads fail the fetch. The errors are real ones, from graph-emulator.

use std::collections::{BTreeMap, BTreeSet};

use entractl_graph::{GraphError, GraphRequest};
use serde_json::json;

use super::*;

/// A genuine 404 `Request_ResourceNotFound` from Graph (graph-emulator on loopback).
async fn not_found() -> GraphError {
    use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET, P1_TENANT_ID};
    let emu = graph_emulator::start(graph_emulator::EmulatorConfig::scenario("p1")).unwrap();
    let base = emu.base_url();
    let cfg = entractl_graph::GraphConfig::for_cloud(entractl_graph::Cloud::Public, P1_TENANT_ID)
        .with_graph_url(&base)
        .unwrap()
        .with_authority_url(&base)
        .unwrap();
    let env: BTreeMap<String, String> = [
        ("AZURE_TENANT_ID", P1_TENANT_ID),
        ("AZURE_CLIENT_ID", CI_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", CI_CLIENT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let creds = entractl_graph::credential_from_env(
        &env,
        None,
        &cfg,
        &entractl_graph::AuthOptions::default(),
    )
    .unwrap();
    let client = GraphClient::new(cfg, creds).unwrap();
    let err = client
        .send(GraphRequest::get("/users/nobody@contoso.com/authentication/requirements").beta())
        .await
        .unwrap_err();
    emu.shutdown();
    assert!(err.is_not_found(), "{err}");
    err
}

fn per_user_only() -> DesiredMfa {
    DesiredMfa {
        security_defaults: None,
        per_user_mfa_disabled: true,
        conditional_access: None,
    }
}

fn user(id: &str, label: &str) -> ScopeUser {
    ScopeUser {
        id: id.into(),
        label: label.into(),
    }
}

/// Answers every read: the security defaults off, per-user MFA as `states` says (by spec index
/// or id), `err` for the others.
fn answer(
    part: &mut MfaReads,
    reads: Vec<(GraphRequest, MfaRead)>,
    states: &BTreeMap<String, &str>,
    err: &GraphError,
) -> Vec<String> {
    let mut keys = Vec::new();
    for (req, key) in reads {
        let (name, result) = match &key {
            MfaRead::SecurityDefaults => (
                "sd".to_string(),
                Ok(vec![json!({"id": "sd", "isEnabled": false})]),
            ),
            MfaRead::SpecUser(i) => (format!("spec{i}"), Err(err.clone())),
            MfaRead::User(id) => (format!("user:{id}"), Err(err.clone())),
            MfaRead::Name(id) => (format!("name:{id}"), Err(err.clone())),
            MfaRead::Policies => ("policies".into(), Ok(vec![])),
            MfaRead::PolicyGroup(g) => (format!("group:{g}"), Ok(vec![])),
        };
        let result = match states.get(&name) {
            Some(s) => Ok(vec![json!({"perUserMfaState": s})]),
            None => result,
        };
        keys.push(name);
        part.absorb(Done { key, req, result });
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_users_are_read_by_upn_first_and_a_missing_one_is_left_to_the_assignments() {
    let err = not_found().await;
    let desired = per_user_only();
    let upns = BTreeMap::from([("m1".to_string(), "carol@contoso.com".to_string())]);
    let mut inp = MfaInputs {
        spec_users: vec![("alice@contoso.com", None), ("nobody@contoso.com", None)],
        known_users: BTreeSet::new(),
        known_groups: BTreeSet::new(),
        scope: None,
        has_conditional_access: None,
        upns: &upns,
    };
    let states = BTreeMap::from([
        ("spec0".to_string(), "enforced"),
        ("user:m1".to_string(), "enabled"),
    ]);
    let mut part = MfaReads::default();

    // Wave 1: the security defaults and both spec users, as written (no id needed).
    let reads = part.next_reads(&desired, &inp).unwrap();
    let paths: Vec<&str> = reads.iter().map(|(r, _)| r.path()).collect();
    assert_eq!(
        paths,
        [
            SECURITY_DEFAULTS_PATH,
            "/users/alice@contoso.com/authentication/requirements",
            "/users/nobody@contoso.com/authentication/requirements",
        ]
    );
    assert_eq!(
        answer(&mut part, reads, &states, &err),
        ["sd", "spec0", "spec1"]
    );

    // alice resolved to a1, nobody does not exist; the members of a group give m1 (and a1
    // again, already read through the spec).
    inp.spec_users = vec![
        ("alice@contoso.com", Some("a1".into())),
        ("nobody@contoso.com", None),
    ];
    inp.known_users = BTreeSet::from(["a1".to_string(), "m1".to_string()]);
    let reads = part.next_reads(&desired, &inp).unwrap();
    assert_eq!(answer(&mut part, reads, &states, &err), ["user:m1"]);

    // Everyone known: nobody's failed read is not needed; m1 is named from the members' UPNs.
    inp.scope = Some(SignInScope {
        users: vec![user("m1", "m1"), user("a1", "alice@contoso.com")],
        groups: vec!["g1".into()],
    });
    assert!(part.next_reads(&desired, &inp).unwrap().is_empty());
    let out = part.take().expect("complete");
    let got: Vec<(&str, &str, &str)> = out
        .per_user
        .iter()
        .map(|s| (s.user.id.as_str(), s.user.label.as_str(), s.state.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("a1", "alice@contoso.com", "enforced"),
            ("m1", "carol@contoso.com", "enabled"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_per_user_read_of_a_user_who_can_sign_in_fails_the_fetch() {
    let err = not_found().await;
    let desired = per_user_only();
    let upns = BTreeMap::new();
    let mut inp = MfaInputs {
        spec_users: vec![("bob@contoso.com", None)],
        known_users: BTreeSet::new(),
        known_groups: BTreeSet::new(),
        scope: None,
        has_conditional_access: None,
        upns: &upns,
    };
    let mut part = MfaReads::default();
    let reads = part.next_reads(&desired, &inp).unwrap();
    answer(&mut part, reads, &BTreeMap::new(), &err);
    // bob exists (the user lookup found him) but his per-user state could not be read: that is
    // never "disabled".
    inp.spec_users = vec![("bob@contoso.com", Some("b1".into()))];
    inp.scope = Some(SignInScope {
        users: vec![user("b1", "bob@contoso.com")],
        groups: vec![],
    });
    let e = part.next_reads(&desired, &inp).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("could not read the per-user MFA state of bob@contoso.com"),
        "{e}"
    );
    assert!(part.take().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_free_tier_a_failed_policy_read_is_not_needed() {
    let err = not_found().await;
    let desired = DesiredMfa {
        security_defaults: Some(false),
        per_user_mfa_disabled: false,
        conditional_access: Some(CaSelection::FromPoliciesRequiringMfa),
    };
    let upns = BTreeMap::new();
    let mut inp = MfaInputs {
        spec_users: vec![],
        known_users: BTreeSet::new(),
        known_groups: BTreeSet::new(),
        scope: None,
        has_conditional_access: None,
        upns: &upns,
    };
    let mut part = MfaReads::default();
    // The tier is not known yet: the policies are read in the first wave anyway.
    let reads = part.next_reads(&desired, &inp).unwrap();
    assert_eq!(reads.len(), 2);
    for (req, key) in reads {
        let result = match key {
            MfaRead::Policies => Err(err.clone()),
            _ => Ok(vec![json!({"id": "sd", "isEnabled": true})]),
        };
        part.absorb(Done { key, req, result });
    }
    inp.has_conditional_access = Some(false);
    inp.scope = Some(SignInScope::default());
    assert!(part.next_reads(&desired, &inp).unwrap().is_empty());
    let out = part.take().expect("complete");
    assert!(matches!(out.conditional_access, CaObserved::Skipped { .. }));

    // With conditional access, the same failure fails the fetch.
    let mut part = MfaReads::default();
    inp.has_conditional_access = None;
    let reads = part.next_reads(&desired, &inp).unwrap();
    for (req, key) in reads {
        let result = match key {
            MfaRead::Policies => Err(err.clone()),
            _ => Ok(vec![json!({"id": "sd", "isEnabled": true})]),
        };
        part.absorb(Done { key, req, result });
    }
    inp.has_conditional_access = Some(true);
    let e = part.next_reads(&desired, &inp).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("could not read the conditional access policies"),
        "{e}"
    );
}
