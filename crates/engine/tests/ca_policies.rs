//! The conditional access analysis (`entractl_engine::policy`) over 150 real policies published by
//! others (`tests/fixtures/ca-policies/`, MIT, see SOURCES.md there): no panic on any shape, the
//! exclusion patch changes nothing but `excludeApplications`, and a hand-checked classification.

use std::collections::BTreeMap;
use std::path::PathBuf;

use entractl_engine::desired::CaSelection as Selection;
use entractl_engine::observed::{ConditionalAccessPolicy as Policy, UserScope};
use entractl_engine::policy::{
    self, AppTargeting, Coverage, MfaRequirement, PolicyDecision, PolicyState, Reason,
    SelectionError, Verdict,
};
use serde_json::{Value, json};

// The analysis, applied to policies as the fixtures hold them (JSON).
fn p(v: &Value) -> Policy {
    Policy(v.clone())
}
fn all(vs: &[Value]) -> Vec<Policy> {
    vs.iter().map(p).collect()
}
fn exclusion_patch(v: &Value, app: &str) -> Option<Value> {
    p(v).exclusion_patch(app)
}
fn apply_exclusion_patch(v: &Value, patch: &Value) -> Value {
    p(v).patched(patch).0
}
fn requires_mfa(v: &Value) -> MfaRequirement {
    policy::requires_mfa(&p(v))
}
fn blocks(v: &Value) -> bool {
    policy::blocks(&p(v))
}
fn describe_grant(v: &Value) -> String {
    policy::describe_grant(&p(v))
}
fn app_targeting(v: &Value, app: &str) -> AppTargeting {
    policy::app_targeting(&p(v), app)
}
fn applies_to_app(v: &Value, app: &str) -> bool {
    policy::applies_to_app(&p(v), app)
}
fn client_app_types_cover_ropc(v: &Value) -> bool {
    policy::client_app_types_cover_ropc(&p(v))
}
fn covers_users(v: &Value, scope: &UserScope) -> Coverage {
    policy::covers_users(&p(v), scope)
}
fn select_policies(
    vs: &[Value],
    app: &str,
    scope: &UserScope,
    sel: &Selection,
) -> Vec<PolicyDecision> {
    policy::select_policies(&all(vs), app, scope, sel)
}
fn check_selection(vs: &[Value], sel: &Selection) -> Vec<SelectionError> {
    policy::check_selection(&all(vs), sel, "excludeApp")
}

/// Kandji Passport's appId in these tests.
const APP: &str = "9b1f4c2e-6a3d-4f8b-b1e7-2c5d8a0f3e69";
/// j0eyv's "internals" group and the Azure samples' group: the app is assigned to both.
const INTERNALS: &str = "ceeac9b8-ddf5-48cb-afcb-e2ab8bfd1a57";
const SAMPLES_GROUP: &str = "6c96716b-b32b-40b8-9009-49748bb6fcd5";
/// Global Administrator's role template id.
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

/// Every fixture policy, by file name (without `.json`).
fn policies() -> BTreeMap<String, Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ca-policies");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("read fixture");
            let value: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.insert(name, value);
        }
    }
    out
}

/// The fixture whose file name starts with `prefix-` (`j0eyv-13`).
fn policy<'a>(all: &'a BTreeMap<String, Value>, prefix: &str) -> &'a Value {
    let wanted = format!("{prefix}-");
    let found: Vec<&Value> = all
        .iter()
        .filter(|(name, _)| name.starts_with(&wanted))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(found.len(), 1, "exactly one fixture starts with {wanted}");
    found[0]
}

fn scope() -> UserScope {
    UserScope {
        user_ids: vec!["11111111-1111-4111-8111-111111111111".into()],
        group_ids: vec![INTERNALS.into(), SAMPLES_GROUP.into()],
        role_ids: vec![],
    }
}

/// The paths (dot-separated object keys) where two JSON values differ.
fn diff_paths(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let sub = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match (x.get(key), y.get(key)) {
                    (Some(v), Some(w)) => diff_paths(v, w, &sub, out),
                    _ => out.push(sub),
                }
            }
        }
        _ if a != b => out.push(at.to_string()),
        _ => {}
    }
}

fn exclusions(policy: &Value) -> Option<&Vec<Value>> {
    policy
        .get("conditions")?
        .get("applications")?
        .get("excludeApplications")?
        .as_array()
}

#[test]
fn there_are_150_policies_and_every_function_takes_every_shape() {
    let all = policies();
    assert_eq!(all.len(), 150);
    let values: Vec<Value> = all.values().cloned().collect();
    for (name, p) in &all {
        let _ = (requires_mfa(p), blocks(p), describe_grant(p));
        let _ = (app_targeting(p, APP), applies_to_app(p, APP));
        let _ = (client_app_types_cover_ropc(p), covers_users(p, &scope()));
        assert!(
            exclusion_patch(p, APP).is_some(),
            "{name}: no fixture excludes the app yet"
        );
    }
    for selection in [
        Selection::FromPoliciesRequiringMfa,
        Selection::Named(vec![
            "CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA".into(),
        ]),
    ] {
        let decisions = select_policies(&values, APP, &scope(), &selection);
        assert_eq!(decisions.len(), 150);
        let again = select_policies(
            &values.iter().rev().cloned().collect::<Vec<_>>(),
            APP,
            &scope(),
            &selection,
        );
        assert_eq!(
            decisions, again,
            "the order of Graph's listing does not matter"
        );
        for d in &decisions {
            assert!(!d.reason_text().is_empty());
        }
    }
}

#[test]
fn the_patch_changes_only_exclude_applications_by_exactly_the_app_id() {
    for (name, original) in policies() {
        let patch = exclusion_patch(&original, APP).expect("patch");
        // The body carries nothing but the one array.
        let object = patch.as_object().unwrap();
        assert_eq!(object.keys().collect::<Vec<_>>(), ["conditions"], "{name}");
        let conditions = patch["conditions"].as_object().unwrap();
        assert_eq!(
            conditions.keys().collect::<Vec<_>>(),
            ["applications"],
            "{name}"
        );
        let applications = patch["conditions"]["applications"].as_object().unwrap();
        assert_eq!(
            applications.keys().collect::<Vec<_>>(),
            ["excludeApplications"],
            "{name}"
        );

        let after = apply_exclusion_patch(&original, &patch);
        let mut paths = Vec::new();
        diff_paths(&original, &after, "", &mut paths);
        assert_eq!(
            paths,
            ["conditions.applications.excludeApplications"],
            "{name}: only excludeApplications differs"
        );
        let mut expected = exclusions(&original).cloned().unwrap_or_default();
        expected.push(json!(APP));
        assert_eq!(exclusions(&after), Some(&expected), "{name}");
        assert_eq!(
            exclusion_patch(&after, APP),
            None,
            "{name}: a second run changes nothing"
        );
        assert_eq!(
            exclusion_patch(&after, &APP.to_uppercase()),
            None,
            "{name}: GUIDs compare without case"
        );
    }
}

#[test]
fn existing_exclusions_are_kept_in_order() {
    let all = policies();
    for prefix in [
        "j0eyv-13", "j0eyv-19", "j0eyv-21", "j0eyv-22", "j0eyv-28", "csb-30",
    ] {
        let p = policy(&all, prefix);
        let before = exclusions(p).cloned().expect("has exclusions");
        assert!(!before.is_empty(), "{prefix}");
        let patch = exclusion_patch(p, APP).unwrap();
        let list = patch["conditions"]["applications"]["excludeApplications"]
            .as_array()
            .unwrap();
        assert_eq!(
            &list[..before.len()],
            &before[..],
            "{prefix}: kept, in order"
        );
        assert_eq!(list.len(), before.len() + 1, "{prefix}");
        assert_eq!(list.last(), Some(&json!(APP)), "{prefix}");
    }
    // Spot-check the literal values of two of them.
    let p = policy(&all, "csb-30");
    let patch = exclusion_patch(p, APP).unwrap();
    assert_eq!(
        patch,
        json!({"conditions": {"applications": {"excludeApplications":
            ["2793995e-0a7d-40d7-bd35-6968ba142197", "Office365", APP]}}})
    );
    let p = policy(&all, "j0eyv-21");
    assert_eq!(
        exclusion_patch(p, APP).unwrap()["conditions"]["applications"]["excludeApplications"],
        json!(["Office365", APP])
    );
}

#[test]
fn policies_without_the_key_get_it() {
    let all = policies();
    for prefix in ["azsamples-04", "azsamples-05", "alexf-56", "alexf-57"] {
        let p = policy(&all, prefix);
        assert!(
            exclusions(p).is_none(),
            "{prefix} has no excludeApplications"
        );
        let after = apply_exclusion_patch(p, &exclusion_patch(p, APP).unwrap());
        assert_eq!(exclusions(&after), Some(&vec![json!(APP)]), "{prefix}");
    }
}

fn decisions_by_prefix(scope: &UserScope) -> BTreeMap<String, PolicyDecision> {
    // With `Auto`, a policy's decision does not depend on the others: decide each file alone
    // (two alexf templates share a display name, so names cannot map decisions back to files).
    let mut out = BTreeMap::new();
    for (name, value) in policies() {
        let mut decisions = select_policies(
            std::slice::from_ref(&value),
            APP,
            scope,
            &Selection::FromPoliciesRequiringMfa,
        );
        assert_eq!(decisions.len(), 1, "{name}");
        let prefix: String = name.splitn(3, '-').take(2).collect::<Vec<_>>().join("-");
        out.insert(prefix, decisions.remove(0));
    }
    out
}

#[test]
fn hand_checked_classification() {
    let d = decisions_by_prefix(&scope());
    let check = |prefix: &str, verdict: Verdict, reason: Reason| {
        let got = &d[prefix];
        assert_eq!(
            (got.verdict, &got.reason),
            (verdict, &reason),
            "{prefix} ({}): {}",
            got.display_name,
            got.reason_text()
        );
    };

    // CA000: mfa for all users and all resources, enabled → excluded.
    check(
        "j0eyv-01",
        Verdict::Exclude,
        Reason::RequiresMfa {
            requirement: MfaRequirement::Required,
            coverage: Coverage::AllUsers,
        },
    );
    assert!(d["j0eyv-01"].notes.is_empty(), "{:?}", d["j0eyv-01"].notes);
    // CA001: block outside allowed countries → reported, never excluded.
    check(
        "j0eyv-02",
        Verdict::Blocks,
        Reason::BlocksSignIn {
            coverage: Coverage::AllUsers,
        },
    );
    // CA002: block legacy authentication (exchangeActiveSync, other) → not Passport.
    check(
        "j0eyv-03",
        Verdict::Skip,
        Reason::ClientAppTypes {
            client_app_types: vec!["exchangeActiveSync".into(), "other".into()],
        },
    );
    // CA003: MFA to register or join devices: a user action.
    check(
        "j0eyv-04",
        Verdict::Skip,
        Reason::AppNotTargeted {
            targeting: AppTargeting::UserActionsOnly,
        },
    );
    // CA004: blocks device code flow and authentication transfer only.
    check(
        "j0eyv-05",
        Verdict::Skip,
        Reason::AuthenticationFlows {
            transfer_methods: "deviceCodeFlow,authenticationTransfer".into(),
        },
    );
    // CA005: Office 365 with app protection (no MFA).
    check(
        "j0eyv-06",
        Verdict::Skip,
        Reason::NoMfa {
            grant: "compliantApplication".into(),
        },
    );
    // CA100: admin portals only.
    check(
        "j0eyv-08",
        Verdict::Skip,
        Reason::AppNotTargeted {
            targeting: AppTargeting::OtherApps {
                include: vec!["MicrosoftAdminPortals".into()],
            },
        },
    );
    // CA101: MFA for admin roles; none of the app's users holds one (as far as we know).
    check(
        "j0eyv-09",
        Verdict::Skip,
        Reason::UsersNotCovered {
            coverage: Coverage::NotCovered,
        },
    );
    // CA102: sign-in frequency, a session control only.
    check(
        "j0eyv-10",
        Verdict::Skip,
        Reason::NoMfa {
            grant: "none".into(),
        },
    );
    // CA200: MFA for the internals group, which is assigned to the app.
    check(
        "j0eyv-14",
        Verdict::Exclude,
        Reason::RequiresMfa {
            requirement: MfaRequirement::Required,
            coverage: Coverage::Specific {
                users: vec![],
                groups: vec![INTERNALS.into()],
                roles: vec![],
            },
        },
    );
    // CA203: MFA for Intune enrollment only.
    check(
        "j0eyv-17",
        Verdict::Skip,
        Reason::AppNotTargeted {
            targeting: AppTargeting::OtherApps {
                include: vec!["d4ebce55-015a-49b5-a083-c84d1797ae8c".into()],
            },
        },
    );
    // CA205: compliant OR hybrid joined device, no MFA.
    check(
        "j0eyv-19",
        Verdict::Skip,
        Reason::NoMfa {
            grant: "compliantDevice OR domainJoinedDevice".into(),
        },
    );
    // CA300: MFA for a group the app is not assigned to.
    check(
        "j0eyv-25",
        Verdict::Skip,
        Reason::UsersNotCovered {
            coverage: Coverage::NotCovered,
        },
    );
    // CA400: MFA for guests only.
    check(
        "j0eyv-27",
        Verdict::Skip,
        Reason::UsersNotCovered {
            coverage: Coverage::GuestsOrExternalUsersOnly,
        },
    );
    // Disabled policy with an authentication strength.
    check("csb-01", Verdict::Skip, Reason::Disabled);
    // Wrong-case, empty `GrantControls`, and a policy with no grant controls at all.
    check(
        "alexf-54",
        Verdict::Skip,
        Reason::NoMfa {
            grant: "none".into(),
        },
    );
    check(
        "alexf-39",
        Verdict::Skip,
        Reason::NoMfa {
            grant: "none".into(),
        },
    );
    // "Specific apps" template with the `None` placeholder.
    check(
        "alexf-12",
        Verdict::Skip,
        Reason::AppNotTargeted {
            targeting: AppTargeting::OtherApps {
                include: vec!["None".into()],
            },
        },
    );
    // Global Secure Access profile only (no includeApplications).
    check(
        "alexf-56",
        Verdict::Skip,
        Reason::AppNotTargeted {
            targeting: AppTargeting::OtherApps { include: vec![] },
        },
    );
    // Report-only, mfa OR compliant OR hybrid joined, all users → excluded, with two notes.
    check(
        "alexf2023-04",
        Verdict::Exclude,
        Reason::RequiresMfa {
            requirement: MfaRequirement::OneOfSeveral,
            coverage: Coverage::AllUsers,
        },
    );
    let notes = d["alexf2023-04"].notes.join("\n");
    assert!(notes.contains("OR-ed controls"), "{notes}");
    assert!(notes.contains("report-only"), "{notes}");
    assert_eq!(d["alexf2023-04"].state, PolicyState::ReportOnly);
    // mfa AND passwordChange on high user risk → excluded, with a note on the condition.
    check(
        "alexf-36",
        Verdict::Exclude,
        Reason::RequiresMfa {
            requirement: MfaRequirement::Required,
            coverage: Coverage::AllUsers,
        },
    );
    assert!(
        d["alexf-36"].notes.join("\n").contains("user risk"),
        "{:?}",
        d["alexf-36"].notes
    );
    // Minimal Microsoft sample without excludeApplications: MFA for an assigned group.
    check(
        "azsamples-04",
        Verdict::Exclude,
        Reason::RequiresMfa {
            requirement: MfaRequirement::Required,
            coverage: Coverage::Specific {
                users: vec![],
                groups: vec![SAMPLES_GROUP.into()],
                roles: vec![],
            },
        },
    );
    // Microsoft sample: guests only.
    check(
        "azsamples-03",
        Verdict::Skip,
        Reason::UsersNotCovered {
            coverage: Coverage::GuestsOrExternalUsersOnly,
        },
    );
}

#[test]
fn roles_of_the_app_users_bring_in_admin_policies() {
    let mut with_admin = scope();
    with_admin.role_ids.push(GLOBAL_ADMIN.into());
    let d = decisions_by_prefix(&with_admin);
    let admins = Coverage::Specific {
        users: vec![],
        groups: vec![],
        roles: vec![GLOBAL_ADMIN.into()],
    };
    // CA101: admins must do MFA in desktop apps → now excluded.
    assert_eq!(d["j0eyv-09"].verdict, Verdict::Exclude);
    assert_eq!(
        d["j0eyv-09"].reason,
        Reason::RequiresMfa {
            requirement: MfaRequirement::Required,
            coverage: admins.clone(),
        }
    );
    // CA105: phishing-resistant MFA for admins, report-only, with Graph Explorer already excluded.
    assert_eq!(d["j0eyv-13"].verdict, Verdict::Exclude);
    assert!(d["j0eyv-13"].notes.join("\n").contains("report-only"));
}

#[test]
fn an_excluded_app_is_reported_as_already_excluded() {
    let all = policies();
    let p = policy(&all, "j0eyv-01");
    let after = apply_exclusion_patch(p, &exclusion_patch(p, APP).unwrap());
    let d = select_policies(
        &[after],
        APP,
        &scope(),
        &Selection::FromPoliciesRequiringMfa,
    );
    assert_eq!(d[0].verdict, Verdict::AlreadyExcluded);
    assert_eq!(d[0].reason, Reason::AlreadyExcluded);
}

#[test]
fn auto_selection_over_all_fixtures() {
    let values: Vec<Value> = policies().into_values().collect();
    let decisions = select_policies(&values, APP, &scope(), &Selection::FromPoliciesRequiringMfa);
    let count = |v: Verdict| decisions.iter().filter(|d| d.verdict == v).count();
    // Never a disabled policy, never a block policy.
    for d in decisions.iter().filter(|d| d.verdict == Verdict::Exclude) {
        assert_ne!(d.state, PolicyState::Disabled, "{}", d.display_name);
        assert!(d.requirement.counts_for_exclusion(), "{}", d.display_name);
    }
    let excluded: Vec<&str> = decisions
        .iter()
        .filter(|d| d.verdict == Verdict::Exclude)
        .map(|d| d.display_name.as_str())
        .collect();
    assert!(excluded.len() >= 10, "{excluded:#?}");
    assert!(count(Verdict::Blocks) >= 5);
    assert_eq!(count(Verdict::AlreadyExcluded), 0);
}

#[test]
fn named_selection_excludes_exactly_the_named_policies() {
    let all = policies();
    let values: Vec<Value> = all.values().cloned().collect();
    let ca001 = policy(&all, "j0eyv-02");
    let ca001_id = ca001["id"].as_str().unwrap().to_uppercase();
    let selection = Selection::Named(vec![
        "ca200-internals-identityprotection-anyapp-anyplatform-mfa".into(),
        ca001_id,
    ]);
    assert!(check_selection(&values, &selection).is_empty());
    let decisions = select_policies(&values, APP, &scope(), &selection);
    let chosen: Vec<&PolicyDecision> = decisions
        .iter()
        .filter(|d| d.verdict == Verdict::Exclude)
        .collect();
    assert_eq!(chosen.len(), 2);
    assert!(chosen.iter().all(|d| d.reason == Reason::Named));
    let block = chosen
        .iter()
        .find(|d| d.display_name.starts_with("CA001"))
        .unwrap();
    assert!(block.notes.join("\n").contains("blocks access"));
    assert!(
        decisions
            .iter()
            .filter(|d| d.verdict != Verdict::Exclude)
            .all(|d| d.reason == Reason::NotNamed)
    );
}

#[test]
fn named_selection_reports_unknown_and_ambiguous_names() {
    let all = policies();
    let mut values: Vec<Value> = all.values().cloned().collect();
    // Two policies sharing a display name (Entra allows it).
    let mut twin = policy(&all, "j0eyv-01").clone();
    twin["id"] = json!("00000000-0000-4000-8000-0000000000aa");
    values.push(twin);
    let name = "CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA";
    let selection = Selection::Named(vec![name.into(), "No such policy".into()]);
    let errors = check_selection(&values, &selection);
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0]
            .to_string()
            .contains("2 policies have that display name")
    );
    assert!(
        errors[0]
            .to_string()
            .contains("00000000-0000-4000-8000-0000000000aa")
    );
    assert!(errors[1].to_string().contains("\"No such policy\""));
    assert!(errors[1].to_string().contains("fix the name in the spec"));
    let decisions = select_policies(&values, APP, &scope(), &selection);
    let twins: Vec<&PolicyDecision> = decisions
        .iter()
        .filter(|d| d.display_name == name)
        .collect();
    assert_eq!(twins.len(), 2);
    for d in twins {
        assert_eq!(d.verdict, Verdict::Skip);
        assert_eq!(
            d.reason,
            Reason::AmbiguousName {
                name: name.to_string()
            }
        );
    }
}

#[test]
fn a_policy_on_azure_ad_graph_is_skipped_with_a_warning() {
    let p = json!({"id": "aad", "displayName": "MFA for directory access", "state": "enabled",
        "conditions": {"applications": {"includeApplications": ["00000002-0000-0000-c000-000000000000"]},
            "users": {"includeUsers": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}});
    let d = &select_policies(&[p], APP, &scope(), &Selection::FromPoliciesRequiringMfa)[0];
    assert_eq!(d.verdict, Verdict::Skip);
    assert!(matches!(d.reason, Reason::AppNotTargeted { .. }));
    assert!(
        d.notes
            .join("\n")
            .contains("Windows Azure Active Directory"),
        "{:?}",
        d.notes
    );
}
