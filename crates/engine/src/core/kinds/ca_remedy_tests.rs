//! The remedy rules per setting: the app works only under the legacy behaviour, identities
//! always, the placeholder once the setting picks it; Microsoft-managed policies take no
//! application exclusion.

use entractl_graph::resource::conditional_access_settings::BaselineScopes;
use serde_json::{Value, json};

use super::*;
use crate::core::forecast::BaselineRead;

const PASSPORT: &str = "9b1f4c2e-6a3d-4f8b-b1e7-2c5d8a0f3e69";
const PLACEHOLDER: &str = "5a5a5a5a-0000-4000-8000-00000000a0ff";

fn policy(id: &str, name: &str, exclude_apps: &[&str]) -> Policy {
    Policy(json!({"id": id, "displayName": name, "state": "enabled",
        "conditions": {"clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": exclude_apps},
            "users": {"includeUsers": ["All"], "excludeUsers": ["breakglass"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}))
}

fn target(setting: BaselineScopes) -> SignInTarget {
    let scopes: Vec<String> = ["openid", "profile", "email", "User.Read"]
        .map(String::from)
        .to_vec();
    SignInTarget::new(BaselineRead::Read { setting }, &scopes)
}

fn people() -> Identities {
    Identities {
        users: vec!["u1".into()],
        groups: vec!["g1".into()],
    }
}

/// (policy id, remedies added, in place, unresolved?) for each policy.
fn outcome(policies: &[Policy], t: &SignInTarget, r: &Remedies<'_>) -> Vec<Value> {
    remedies(policies, t, &UserScope::default(), r)
        .iter()
        .map(|pr| {
            json!({
                "policy": pr.demand.id,
                "add": pr.add.iter().map(|(r, l, ids)| format!("{r:?} {:?} {}", l, ids.join(","))).collect::<Vec<_>>(),
                "inPlace": pr.in_place.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>(),
                "unresolved": pr.unresolved.is_some(),
            })
        })
        .collect()
}

fn every() -> Selection {
    Selection::FromPoliciesRequiringMfa
}

#[test]
fn the_app_works_only_under_the_legacy_behaviour() {
    let all = [
        policy("p1", "Require MFA", &[]),
        policy("p2", "Already", &[PASSPORT]),
    ];
    let sel = every();
    let r = Remedies {
        passport: PASSPORT,
        app: Some(&sel),
        placeholder: None,
        identities: None,
    };
    let legacy = outcome(&all, &target(BaselineScopes::Disabled), &r);
    assert_eq!(
        legacy[1]["add"],
        json!([format!("App Applications {PASSPORT}")])
    );
    assert_eq!(
        legacy[0]["inPlace"],
        json!(["App"]),
        "p2 (\"Already\") sorts first"
    );
    let enforced = outcome(&all, &target(BaselineScopes::Enforced), &r);
    for o in &enforced {
        assert_eq!(o["add"], json!([]));
        assert_eq!(o["unresolved"], true, "{o}");
    }
}

/// A policy of the tenant's own and Microsoft's managed MFA policy, both demanding MFA.
fn own_and_managed() -> [Policy; 2] {
    [
        policy("p1", "Require MFA", &[]),
        policy(
            "m1",
            "Microsoft-managed: Multifactor authentication for all users",
            &[],
        ),
    ]
}

#[test]
fn identities_work_whatever_the_setting_and_on_managed_policies() {
    let all = own_and_managed();
    let (sel, who) = (every(), people());
    let r = Remedies {
        passport: PASSPORT,
        app: Some(&sel),
        placeholder: None,
        identities: Some((&sel, &who)),
    };
    for setting in [BaselineScopes::Enforced, BaselineScopes::NeverChanged] {
        let o = outcome(&all, &target(setting), &r);
        assert_eq!(o[0]["policy"], "m1");
        for p in &o {
            assert_eq!(
                p["add"],
                json!(["Identities Users u1", "Identities Groups g1"]),
                "{p}"
            );
        }
    }
    // Legacy: the app for the policy that accepts it, identities for the managed one.
    let o = outcome(&all, &target(BaselineScopes::Disabled), &r);
    assert_eq!(
        o[0]["add"],
        json!(["Identities Users u1", "Identities Groups g1"])
    );
    assert_eq!(o[1]["add"], json!([format!("App Applications {PASSPORT}")]));
}

#[test]
fn the_placeholder_is_prepared_and_works_once_chosen() {
    let all = [policy("p1", "Require MFA", &[])];
    let sel = every();
    let r = Remedies {
        passport: PASSPORT,
        app: None,
        placeholder: Some((&sel, PLACEHOLDER)),
        identities: None,
    };
    let before = outcome(&all, &target(BaselineScopes::Enforced), &r);
    assert_eq!(
        before[0]["add"],
        json!([format!("Placeholder Applications {PLACEHOLDER}")])
    );
    assert_eq!(
        before[0]["unresolved"], true,
        "the setting does not pick it yet"
    );
    let chosen = target(BaselineScopes::Custom(PLACEHOLDER.into()));
    let o = outcome(&all, &chosen, &r);
    assert_eq!(o[0]["unresolved"], false);
    let done = [policy("p1", "Require MFA", &[PLACEHOLDER])];
    let o = outcome(&done, &chosen, &r);
    assert_eq!(o[0]["add"], json!([]));
    assert_eq!(o[0]["inPlace"], json!(["Placeholder"]));
    assert_eq!(o[0]["unresolved"], false);
}

#[test]
fn named_identity_exclusions_touch_only_the_named_policies() {
    let all = [policy("p1", "One", &[]), policy("p2", "Two", &[])];
    let (named, who) = (Selection::Named(vec!["Two".into()]), people());
    let r = Remedies {
        passport: PASSPORT,
        app: None,
        placeholder: None,
        identities: Some((&named, &who)),
    };
    let o = outcome(&all, &target(BaselineScopes::Enforced), &r);
    assert_eq!(o[0]["unresolved"], true, "One is not named");
    assert_eq!(
        o[1]["add"],
        json!(["Identities Users u1", "Identities Groups g1"])
    );
}

/// The warning for a policy left demanding MFA: a Microsoft-managed policy offers no app or
/// placeholder exclusion (it takes none); a policy of the tenant's own does.
#[test]
fn a_managed_policy_is_not_offered_the_placeholder() {
    let all = own_and_managed();
    let sel = every();
    let r = Remedies {
        passport: PASSPORT,
        app: Some(&sel),
        placeholder: Some((&sel, PLACEHOLDER)),
        identities: None,
    };
    for (name, setting) in [
        ("enforced", BaselineScopes::Enforced),
        (
            "placeholder_chosen",
            BaselineScopes::Custom(PLACEHOLDER.into()),
        ),
    ] {
        let why: Vec<String> = remedies(&all, &target(setting), &UserScope::default(), &r)
            .iter()
            .map(|pr| format!("{}: {:?}", pr.demand.id, pr.unresolved))
            .collect();
        insta::assert_snapshot!(format!("unresolved_{name}"), why.join("\n"));
    }
}

/// Mac Login with a placeholder on an enforced tenant with a Microsoft-managed MFA policy next
/// to the tenant's own: the plan's warning for the managed one offers no placeholder.
fn managed_plan() -> crate::core::plan::Plan {
    use super::super::placeholder_tests::{mac_login_with_placeholder, policy, tenant};
    let o = tenant(
        BaselineScopes::Enforced,
        vec![
            policy("p-mfa", "Require MFA for all users", &[]),
            policy(
                "m-mfa",
                "Microsoft-managed: Multifactor authentication for all users",
                &[],
            ),
        ],
        vec![],
    );
    crate::core::diff::diff(&mac_login_with_placeholder(), &o).unwrap()
}

#[test]
fn snapshot_text_managed_unresolved() {
    use crate::core::render::{Format, render};
    insta::assert_snapshot!(render(&managed_plan(), Format::Text, false));
}

#[test]
fn snapshot_json_managed_unresolved() {
    use crate::core::render::{Format, render};
    insta::assert_snapshot!(render(&managed_plan(), Format::Json, false));
}

#[test]
fn snapshot_markdown_managed_unresolved() {
    use crate::core::render::{Format, render};
    insta::assert_snapshot!(render(&managed_plan(), Format::Markdown, false));
}
