//! The forecast's rules on hand-made tenants: each verdict, each baseline-scope setting, the
//! exclusions a plan leaves, report-only Microsoft-managed policies, and the rendered sections.

use std::collections::BTreeMap;

use entractl_graph::resource::conditional_access_settings::BaselineScopes;
use serde_json::{Value, json};

use super::*;
use crate::core::desired::{Desired, PassportMode};
use crate::core::observed::{
    CaObserved, ConditionalAccessPolicy, ForecastUser, ObservedForecast, ObservedMfa,
    PolicyOutcome, ScopeUser, UserMfaState,
};
use crate::core::render::{Format, render};

const PASSPORT: &str = "9b1f4c2e-6a3d-4f8b-b1e7-2c5d8a0f3e69";
const MAC_USERS: &str = "7d3c8e21-0000-4000-8000-0000000000aa";

fn policy(id: &str, name: &str, state: &str, exclude_apps: &[&str], grant: &str) -> Value {
    json!({"id": id, "displayName": name, "state": state,
           "createdDateTime": "2026-11-20T08:00:00Z",
           "conditions": {"clientAppTypes": ["all"],
               "applications": {"includeApplications": ["All"], "excludeApplications": exclude_apps},
               "users": {"includeUsers": ["All"], "excludeUsers": [], "excludeGroups": []}},
           "grantControls": {"operator": "OR", "builtInControls": [grant]}})
}

fn user(id: &str, groups: &[&str]) -> ForecastUser {
    ForecastUser {
        id: id.into(),
        label: format!("{id}@contoso.com"),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        evaluated_as: id.into(),
    }
}

/// alice and bob (in Mac Users) and carol (per-user MFA enforced); every policy applies to
/// everyone as What-If says today.
fn tenant(setting: BaselineScopes, policies: Vec<Value>) -> Observed {
    let users = vec![
        user("alice", &[MAC_USERS]),
        user("bob", &[MAC_USERS]),
        user("carol", &[]),
    ];
    let all_apply: Vec<PolicyOutcome> = policies
        .iter()
        .map(|p| PolicyOutcome {
            policy_id: p["id"].as_str().unwrap().into(),
            applies: true,
            reasons: "notSet".into(),
        })
        .collect();
    let what_if: BTreeMap<String, Vec<PolicyOutcome>> = users
        .iter()
        .map(|u| (u.id.clone(), all_apply.clone()))
        .collect();
    let per_user = [
        ("alice", "disabled"),
        ("bob", "disabled"),
        ("carol", "enforced"),
    ]
    .iter()
    .map(|(id, state)| UserMfaState {
        user: ScopeUser {
            id: id.to_string(),
            label: format!("{id}@contoso.com"),
        },
        state: state.to_string(),
    })
    .collect();
    Observed {
        mfa: Some(ObservedMfa {
            security_defaults: entractl_graph::resource::parse(&json!({"isEnabled": false})),
            per_user,
            conditional_access: CaObserved::Read {
                policies: policies.into_iter().map(ConditionalAccessPolicy).collect(),
            },
            ..ObservedMfa::default()
        }),
        forecast: Some(ObservedForecast {
            baseline: BaselineRead::Read { setting },
            users,
            what_if,
            sampling: crate::core::observed::Sampling::Everyone,
        }),
        ..Observed::default()
    }
}

fn mac_login() -> Desired {
    let mut d = crate::core::tests::kandji();
    d.passport_mode = Some(PassportMode::MacLogin);
    d
}

fn verdicts(f: &SignInForecast) -> Vec<(String, String)> {
    f.users
        .iter()
        .map(|u| (u.id.clone(), u.verdict.describe()))
        .collect()
}

fn require_mfa(exclude_apps: &[&str]) -> Value {
    policy(
        "p-mfa",
        "Require MFA for all users",
        "enabled",
        exclude_apps,
        "mfa",
    )
}

#[test]
fn under_enforcement_an_app_exclusion_does_not_let_the_sign_in_through() {
    let before = tenant(BaselineScopes::Enforced, vec![require_mfa(&[])]);
    let after = tenant(BaselineScopes::Enforced, vec![require_mfa(&[PASSPORT])]);
    let f = forecast(&mac_login(), &before, &after).unwrap();
    assert!(f.fails());
    assert_eq!(f.failing(), 3);
    insta::assert_debug_snapshot!(verdicts(&f));
}

#[test]
fn under_the_legacy_behaviour_an_app_exclusion_does() {
    let before = tenant(BaselineScopes::Disabled, vec![require_mfa(&[])]);
    let after = tenant(BaselineScopes::Disabled, vec![require_mfa(&[PASSPORT])]);
    let f = forecast(&mac_login(), &before, &after).unwrap();
    // carol still needs MFA: her per-user MFA is enforced (the plan does not manage it here).
    assert_eq!(f.failing(), 1);
    assert!(
        !forecast(&mac_login(), &before, &before).unwrap().users[0]
            .verdict
            .works()
    );
}

#[test]
fn identity_exclusions_and_a_placeholder_let_it_through_under_enforcement() {
    let before = tenant(BaselineScopes::Enforced, vec![require_mfa(&[])]);
    let mut excluded = require_mfa(&[]);
    excluded["conditions"]["users"]["excludeGroups"] = json!([MAC_USERS]);
    let after = tenant(BaselineScopes::Enforced, vec![excluded]);
    let f = forecast(&mac_login(), &before, &after).unwrap();
    assert!(f.users[0].verdict.works() && f.users[1].verdict.works());
    assert!(!f.users[2].verdict.works(), "carol is not in Mac Users");

    let placeholder = "5a5a5a5a-0000-4000-8000-00000000a0ff";
    let custom = BaselineScopes::Custom(placeholder.into());
    let before = tenant(custom.clone(), vec![require_mfa(&[])]);
    let after = tenant(custom, vec![require_mfa(&[placeholder])]);
    let f = forecast(&mac_login(), &before, &after).unwrap();
    assert!(f.users[0].verdict.works());
}

#[test]
fn blocks_security_defaults_and_unknowns() {
    let block = policy("p-block", "Block everyone", "enabled", &[], "block");
    let before = tenant(BaselineScopes::Enforced, vec![block]);
    let f = forecast(&mac_login(), &before, &before).unwrap();
    assert!(matches!(f.users[0].verdict, Verdict::Blocked { .. }));

    let mut sd = tenant(BaselineScopes::Enforced, vec![]);
    sd.mfa.as_mut().unwrap().security_defaults =
        entractl_graph::resource::parse(&json!({"isEnabled": true}));
    sd.forecast.as_mut().unwrap().what_if.remove("bob");
    let f = forecast(&mac_login(), &sd, &sd).unwrap();
    insta::assert_debug_snapshot!(verdicts(&f));
}

#[test]
fn report_only_managed_policies_are_warnings_with_a_date() {
    let managed = policy(
        "p-managed",
        "Microsoft-managed: Multifactor authentication for all users",
        "enabledForReportingButNotEnforced",
        &[],
        "mfa",
    );
    let before = tenant(BaselineScopes::Enforced, vec![managed]);
    let f = forecast(&mac_login(), &before, &before).unwrap();
    assert_eq!(f.failing(), 1, "only carol (per-user MFA)");
    insta::assert_snapshot!(f.warnings.join("\n"));
}

#[test]
fn web_login_keeps_mfa_and_nothing_is_forecast_without_a_mode_or_weakening() {
    let mut d = crate::core::tests::kandji();
    d.passport_mode = Some(PassportMode::WebLogin);
    let o = tenant(BaselineScopes::Enforced, vec![require_mfa(&[])]);
    let f = forecast(&d, &o, &o).unwrap();
    assert!(f.users.is_empty() && !f.fails());
    d.passport_mode = None;
    assert_eq!(forecast(&d, &o, &o), None);
}

#[test]
fn the_sections_in_text_and_markdown() {
    let before = tenant(BaselineScopes::Enforced, vec![require_mfa(&[])]);
    let empty = Observed {
        resources: vec![crate::core::tests::graph_lookup()],
        ..Observed::default()
    };
    let mut plan = crate::core::diff::diff(&mac_login(), &empty).unwrap();
    plan.sign_in_forecast = forecast(&mac_login(), &before, &before);
    let text = render(&plan, Format::Text, false);
    let section = &text[text.find("Sign-in forecast").unwrap()..text.find("\nOutputs").unwrap()];
    insta::assert_snapshot!("text", section);
    let md = render(&plan, Format::Markdown, false);
    let section = &md[md.find("**Sign-in forecast").unwrap()..];
    let section = &section[..section.find("\n<details>").unwrap_or(section.len())];
    insta::assert_snapshot!("markdown", section);
}

/// A forecast of Mac Login users who fail for `verdicts`, one user each.
pub(crate) fn failing(verdicts: Vec<Verdict>) -> SignInForecast {
    SignInForecast {
        mode: PassportMode::MacLogin,
        basis: Vec::new(),
        users: verdicts
            .into_iter()
            .enumerate()
            .map(|(i, verdict)| UserForecast {
                id: format!("u{i}"),
                user: format!("u{i}@contoso.com"),
                verdict,
                evaluated_as: None,
            })
            .collect(),
        warnings: Vec::new(),
    }
}

fn refused(reason: &str) -> Verdict {
    Verdict::Refused {
        code: REFUSED_CODE.into(),
        reason: reason.into(),
    }
}

#[test]
fn the_options_offer_only_what_helps_the_reasons_they_fail_for() {
    let federated = format!(
        "{}fabrikam.com, and no home realm discovery policy in effect for the app allows cloud password validation",
        refusal::FEDERATED
    );
    let only_refused = failing(vec![refused(refusal::GUEST), refused(&federated)]);
    let o = only_refused.options();
    assert!(
        !o.contains("excludeUsers") && !o.contains("placeholder"),
        "{o}"
    );
    let policy = Cause::Policy {
        id: "p".into(),
        name: "Require MFA".into(),
        demand: "mfa".into(),
    };
    let per_user = Verdict::NeedsMfa {
        because: vec![Cause::PerUserMfa {
            state: "enforced".into(),
        }],
    };
    let o = failing(vec![per_user.clone()]).options();
    assert!(!o.contains("excludeUsers"), "{o}");
    let all = failing(vec![
        Verdict::NeedsMfa {
            because: vec![policy],
        },
        per_user,
        Verdict::Blocked {
            by: vec![Cause::SecurityDefaults],
        },
        refused(&federated),
        refused(refusal::GUEST),
    ]);
    insta::assert_snapshot!(
        "options",
        [only_refused.options(), all.options()].join("\n")
    );
    // The JSON plan lists the same options, typed, in the same order; none when nobody fails.
    let empty = Observed {
        resources: vec![crate::core::tests::graph_lookup()],
        ..Observed::default()
    };
    let mut plan = crate::core::diff::diff(&mac_login(), &empty).unwrap();
    plan.sign_in_forecast = Some(all.clone());
    let json: Value = serde_json::from_str(&render(&plan, Format::Json, false)).unwrap();
    let options = &json["sign_in_forecast"]["options"];
    insta::assert_json_snapshot!("options_json", options);
    let texts: Vec<&str> = options
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["text"].as_str().unwrap())
        .collect();
    assert!(all.options().starts_with(&texts.join("; or ")));
    plan.sign_in_forecast = Some(failing(vec![Verdict::Works]));
    let json: Value = serde_json::from_str(&render(&plan, Format::Json, false)).unwrap();
    assert_eq!(json["sign_in_forecast"]["options"], serde_json::json!([]));
}

#[test]
fn refused_users_in_text_markdown_and_json() {
    let federated = format!(
        "{}fabrikam.com, and no home realm discovery policy in effect for the app allows cloud password validation",
        refusal::FEDERATED
    );
    let empty = Observed {
        resources: vec![crate::core::tests::graph_lookup()],
        ..Observed::default()
    };
    let mut plan = crate::core::diff::diff(&mac_login(), &empty).unwrap();
    plan.sign_in_forecast = Some(failing(vec![refused(refusal::GUEST), refused(&federated)]));
    let text = render(&plan, Format::Text, false);
    let section = &text[text.find("Sign-in forecast").unwrap()..text.find("\nOutputs").unwrap()];
    insta::assert_snapshot!("refused_text", section);
    let md = render(&plan, Format::Markdown, false);
    let section = &md[md.find("**Sign-in forecast").unwrap()..];
    let section = &section[..section.find("\n<details>").unwrap_or(section.len())];
    insta::assert_snapshot!("refused_markdown", section);
    let json: Value = serde_json::from_str(&render(&plan, Format::Json, false)).unwrap();
    insta::assert_json_snapshot!("refused_json", json["sign_in_forecast"]);
}

/// A plan's forecast simulates its writes on a copy without the reads no write touches
/// (`Observed::for_writes`): the same forecast as on a whole copy of the tenant. Here the plan
/// excludes Passport's app from a policy (legacy tenant: that lets the sign-in through) and bob
/// is a guest (refused whatever the policies say).
#[test]
fn a_plans_forecast_is_the_one_on_a_whole_copy_of_the_tenant() {
    let mut before = tenant(BaselineScopes::Disabled, vec![require_mfa(&[])]);
    before.resources = vec![crate::core::tests::graph_lookup()];
    before.password_sign_in = Some(crate::core::observed::ObservedPasswordSignIn {
        users: ["alice", "bob", "carol"]
            .iter()
            .map(|id| crate::core::observed::SignInUser {
                id: id.to_string(),
                user_principal_name: format!("{id}@contoso.com"),
                user_type: Some(if *id == "bob" { "Guest" } else { "Member" }.into()),
            })
            .collect(),
        ..Default::default()
    });
    let mut d = mac_login();
    d.mfa = Some(crate::core::desired::DesiredMfa {
        conditional_access: Some(crate::core::desired::CaSelection::Named(vec![
            "Require MFA for all users".into(),
        ])),
        ..Default::default()
    });
    let plan = crate::core::diff::diff(&d, &before).unwrap();
    assert!(
        plan.actionable()
            .any(|c| c.object.kind == crate::core::plan::ObjectKind::ConditionalAccessPolicy),
        "the plan changes the policy"
    );
    let whole = crate::core::simulate::simulate_apply(&before, &plan).unwrap();
    assert_eq!(plan.sign_in_forecast, forecast(&d, &before, &whole));
    insta::assert_debug_snapshot!(verdicts(plan.sign_in_forecast.as_ref().unwrap()));
}
