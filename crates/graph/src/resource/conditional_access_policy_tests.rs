use serde_json::json;

use super::*;

const APP: &str = "9b1f4c2e-6a3d-4f8b-b1e7-2c5d8a0f3e69";

fn policy(v: Value) -> ConditionalAccessPolicy {
    ConditionalAccessPolicy(v)
}

#[test]
fn exact_key_wins_then_case_is_ignored_but_not_annotations() {
    let p = policy(
        json!({"grantControls@odata.type": "x", "GrantControls": {"builtInControls": ["mfa"]}}),
    );
    assert_eq!(p.grant_controls().unwrap().built_in, vec!["mfa"]);
    let p = policy(json!({"grantControls": null, "GRANTCONTROLS": {"builtInControls": ["mfa"]}}));
    assert!(p.grant_controls().is_none(), "an exact null wins");
    assert!(policy(json!([1])).grant_controls().is_none());
}

#[test]
fn lists_tolerate_shapes() {
    let p = policy(
        json!({"conditions": {"Applications": {"includeApplications": "All",
        "excludeApplications": ["a", 1, "b"]}, "users": {"includeUsers": null}}}),
    );
    assert_eq!(p.applications("includeApplications"), vec!["All"]);
    assert_eq!(p.applications("excludeApplications"), vec!["a", "b"]);
    assert!(p.users("includeUsers").is_empty());
    assert!(p.users("includeGroups").is_empty());
    assert!(list_contains(&["ALL"], "all"));
    assert!(!list_contains(&["Allx"], "all"));
}

#[test]
fn exclusion_appends_and_keeps_existing_entries_in_order() {
    let p = policy(json!({"id": "p", "conditions": {"applications": {
        "includeApplications": ["All"],
        "excludeApplications": ["Office365", "2793995e-0a7d-40d7-bd35-6968ba142197"]}}}));
    let patch = p.exclusion_patch(APP).expect("a patch");
    assert_eq!(
        patch,
        json!({"conditions": {"applications": {"excludeApplications":
            ["Office365", "2793995e-0a7d-40d7-bd35-6968ba142197", APP]}}})
    );
    let after = p.patched(&patch);
    assert_eq!(after.applications("includeApplications"), vec!["All"]);
    assert_eq!(after.id(), "p");
    assert_eq!(after.exclusion_patch(APP), None, "idempotent");
}

#[test]
fn already_excluded_in_another_case() {
    let p = policy(json!({"conditions": {"applications": {
        "excludeApplications": [APP.to_uppercase()]}}}));
    assert_eq!(p.exclusion_patch(APP), None);
}

#[test]
fn missing_or_null_lists_are_created() {
    for v in [
        json!({"conditions": {"applications": {"includeApplications": ["All"]}}}),
        json!({"conditions": {"applications": {"excludeApplications": null}}}),
        json!({"conditions": {}}),
        json!({}),
    ] {
        let p = policy(v);
        let patch = p.exclusion_patch(APP).expect("a patch");
        assert_eq!(
            patch["conditions"]["applications"]["excludeApplications"],
            json!([APP])
        );
        assert_eq!(
            p.patched(&patch).applications("excludeApplications"),
            vec![APP]
        );
    }
}

#[test]
fn merge_updates_a_wrong_case_key_in_place() {
    let p = policy(json!({"Conditions": {"Applications": {"ExcludeApplications": ["x"]}}}));
    let patch = p.exclusion_patch(APP).expect("a patch");
    assert_eq!(
        p.patched(&patch).0,
        json!({"Conditions": {"Applications": {"ExcludeApplications": ["x", APP]}}})
    );
}

#[test]
fn identity_and_application_exclusions_in_one_patch() {
    let p = policy(json!({"id": "p", "conditions": {
        "applications": {"includeApplications": ["All"]},
        "users": {"includeUsers": ["All"], "excludeUsers": ["breakglass"], "excludeGroups": "g0"}}}));
    let patch = p
        .exclusions_patch(&[
            (Exclusion::Users, vec!["u1", "BREAKGLASS", "u1"]),
            (Exclusion::Groups, vec!["g1"]),
            (Exclusion::Applications, vec![]),
        ])
        .expect("a patch");
    assert_eq!(
        patch,
        json!({"conditions": {"users": {"excludeUsers": ["breakglass", "u1"],
                                        "excludeGroups": ["g0", "g1"]}}})
    );
    let after = p.patched(&patch);
    assert_eq!(after.users("includeUsers"), vec!["All"]);
    assert_eq!(
        after.exclusions_patch(&[
            (Exclusion::Users, vec!["u1"]),
            (Exclusion::Groups, vec!["G1"])
        ]),
        None,
        "idempotent"
    );
    let apps = p
        .exclusions_patch(&[(Exclusion::Applications, vec![APP])])
        .unwrap();
    assert_eq!(apps, p.exclusion_patch(APP).unwrap());
}
