//! The placeholder ("Customize behavior") on hand-made tenants: one plan creates it, its service
//! principal and its exclusions in that order (references typed); the portal step and its
//! `security-downgrade` warning until the setting names it; convergence once it does; drift;
//! the errors that stop a plan; the three renderings of the notes.

use std::collections::BTreeMap;

use entractl_graph::resource::conditional_access_settings::BaselineScopes;
use entractl_graph::resource::parse;
use serde_json::{Value, json};

use crate::core::desired::{CaSelection, Desired, DesiredMfa, DesiredPlaceholder, PassportMode};
use crate::core::diff::diff;
use crate::core::error::PlanError;
use crate::core::observed::{
    Application, BaselineRead, CaObserved, Candidate, ConditionalAccessPolicy, ForecastUser,
    MatchedBy, Observed, ObservedForecast, ObservedMfa, ObservedPlaceholder, PolicyOutcome,
    Sampling, ScopeUser, UserMfaState,
};
use crate::core::plan::{Action, ChangeId, NoteKind, ObjectKind, Plan, Risk};
use crate::core::render::{Format, render};
use crate::core::simulate::simulate_apply;

pub(super) const PLACEHOLDER_KEY: &str = "kandji-passport-baseline-scopes";
pub(super) const PLACEHOLDER_APP_ID: &str = "5a5a5a5a-0000-4000-8000-00000000a0ff";
const OTHER_APP_ID: &str = "6b6b6b6b-0000-4000-8000-00000000b0ff";

pub(super) fn mac_login_with_placeholder() -> Desired {
    let mut d = crate::core::tests::kandji();
    d.passport_mode = Some(PassportMode::MacLogin);
    d.mfa = Some(DesiredMfa {
        placeholder: Some(DesiredPlaceholder {
            display_name: "Kandji Passport baseline scopes".into(),
            unique_name: PLACEHOLDER_KEY.into(),
            exclude_from: CaSelection::FromPoliciesRequiringMfa,
        }),
        ..DesiredMfa::default()
    });
    d
}

pub(super) fn policy(id: &str, name: &str, exclude_apps: &[&str]) -> Value {
    json!({"id": id, "displayName": name, "state": "enabled",
        "conditions": {"clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": exclude_apps},
            "users": {"includeUsers": ["All"], "excludeUsers": [], "excludeGroups": []}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
}

/// The converged main app, alice (per-user MFA disabled) signing in, an MFA policy on all
/// resources that What-If applies to her, the setting, and the placeholder as read.
pub(super) fn tenant(
    setting: BaselineScopes,
    policies: Vec<Value>,
    placeholder: Vec<Value>,
) -> Observed {
    let mut o = crate::core::tests::converged();
    let alice = ScopeUser {
        id: "alice".into(),
        label: "alice@contoso.com".into(),
    };
    let outcomes: Vec<PolicyOutcome> = policies
        .iter()
        .map(|p| PolicyOutcome {
            policy_id: p["id"].as_str().unwrap().into(),
            applies: true,
            reasons: "notSet".into(),
        })
        .collect();
    o.mfa = Some(ObservedMfa {
        security_defaults: parse(&json!({"isEnabled": false})),
        per_user: vec![UserMfaState {
            user: alice.clone(),
            state: "disabled".into(),
        }],
        conditional_access: CaObserved::Read {
            policies: policies.into_iter().map(ConditionalAccessPolicy).collect(),
        },
        ..ObservedMfa::default()
    });
    o.mfa.as_mut().unwrap().scope.users = vec![alice];
    o.forecast = Some(ObservedForecast {
        baseline: BaselineRead::Read { setting },
        users: vec![ForecastUser {
            id: "alice".into(),
            label: "alice@contoso.com".into(),
            groups: vec![],
            evaluated_as: "alice".into(),
        }],
        what_if: BTreeMap::from([("alice".to_string(), outcomes)]),
        sampling: Sampling::Everyone,
    });
    let sp = json!({"id": "55555555-aaaa-4bbb-8ccc-000000000005", "appId": PLACEHOLDER_APP_ID,
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp", format!("entractl:{PLACEHOLDER_KEY}")]});
    o.placeholder = Some(ObservedPlaceholder {
        service_principal: placeholder.first().and_then(|_| parse(&sp)),
        candidates: placeholder
            .iter()
            .map(|v| Candidate {
                app: parse::<Application>(v).unwrap(),
                matched_by: vec![MatchedBy::UniqueName, MatchedBy::ManagedTag],
            })
            .collect(),
    });
    o
}

pub(super) fn placeholder_app(extra: Value) -> Value {
    let mut v = json!({"id": "44444444-aaaa-4bbb-8ccc-000000000004", "appId": PLACEHOLDER_APP_ID,
        "displayName": "Kandji Passport baseline scopes", "uniqueName": PLACEHOLDER_KEY,
        "tags": [format!("entractl:{PLACEHOLDER_KEY}"), "entractl-placeholder-for:kandji-passport"],
        "signInAudience": "AzureADMyOrg",
        "isFallbackPublicClient": false, "notes": super::placeholder::NOTES,
        "web": {"redirectUris": []}, "publicClient": {"redirectUris": []},
        "spa": {"redirectUris": []}, "requiredResourceAccess": []});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

pub(super) fn notes_of(plan: &Plan, kind: NoteKind) -> Vec<&str> {
    plan.notes
        .iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.message.as_str())
        .collect()
}

fn enforced_plan() -> (Desired, Observed, Plan) {
    let d = mac_login_with_placeholder();
    let o = tenant(
        BaselineScopes::Enforced,
        vec![policy("p-mfa", "Require MFA for all users", &[])],
        vec![],
    );
    let plan = diff(&d, &o).unwrap();
    (d, o, plan)
}

#[test]
fn one_plan_creates_the_placeholder_its_service_principal_and_then_its_exclusion() {
    let (_, _, plan) = enforced_plan();
    let kinds: Vec<(ObjectKind, Action)> = plan
        .actionable()
        .map(|c| (c.object.kind, c.action))
        .collect();
    assert_eq!(
        kinds,
        [
            (ObjectKind::PlaceholderApplication, Action::Create),
            (ObjectKind::PlaceholderServicePrincipal, Action::Create),
            (ObjectKind::ConditionalAccessPolicy, Action::Update),
        ]
    );
    let created_by = ChangeId {
        kind: ObjectKind::PlaceholderApplication,
        key: PLACEHOLDER_KEY.into(),
    };
    let sp = &plan.changes[plan.changes.len() - 2];
    assert_eq!(sp.refs[0].created_by, created_by);
    let ca = plan.changes.last().unwrap();
    assert_eq!(ca.refs[0].created_by, created_by);
    assert_eq!(
        ca.payload["conditions"]["applications"]["excludeApplications"],
        json!([null])
    );
    assert!(ca.risks.contains(&Risk::SecurityDowngrade));
    let app = &plan.changes[plan.changes.len() - 3];
    insta::assert_json_snapshot!("create_payload", app.payload);
}

#[test]
fn until_the_setting_names_it_the_portal_step_is_printed_and_the_forecast_fails() {
    let (_, _, plan) = enforced_plan();
    let step = notes_of(&plan, NoteKind::PortalStep);
    assert_eq!(step.len(), 1, "{:#?}", plan.notes);
    assert!(step[0].contains("https://aka.ms/BaselineScopesSettingsUX"));
    assert!(step[0].contains("known once apply has created it"));
    let downgrade: Vec<_> = plan
        .notes
        .iter()
        .filter(|n| n.risks.contains(&Risk::SecurityDowngrade))
        .collect();
    assert_eq!(downgrade.len(), 1);
    assert!(downgrade[0].message.contains("not just Passport"));
    let f = plan.sign_in_forecast.as_ref().unwrap();
    assert!(f.fails(), "{f:#?}");
    let text = render(&plan, Format::Text, false);
    let notes = &text[text.find("\nNotes").unwrap()..text.find("\nSign-in forecast").unwrap()];
    insta::assert_snapshot!("notes_text", notes);
    let md = render(&plan, Format::Markdown, false);
    let notes = &md[md.find("**Notes**").unwrap()..];
    let notes = &notes[..notes.find("\n\n**").unwrap_or(notes.len())];
    insta::assert_snapshot!("notes_markdown", notes);
    let json: Value = serde_json::from_str(&render(&plan, Format::Json, false)).unwrap();
    let kinds: Vec<(&str, Value)> = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].as_str().unwrap(), n["risks"].clone()))
        .collect();
    assert!(kinds.contains(&("portal-step", Value::Null)), "{kinds:?}");
    assert!(
        kinds.contains(&("warning", json!(["security-downgrade"]))),
        "{kinds:?}"
    );
}

#[test]
fn once_applied_and_chosen_on_the_settings_page_the_plan_converges_and_the_sign_in_works() {
    let (d, o, plan) = enforced_plan();
    let mut after = simulate_apply(&o, &plan).unwrap();
    let app_id = after.placeholder.as_ref().unwrap().candidates[0]
        .app
        .app_id
        .clone();
    // Applied, not chosen yet: nothing to change, the step still printed, the forecast failing.
    let again = diff(&d, &after).unwrap();
    assert!(!again.has_changes(), "{:#?}", again.changes);
    assert_eq!(notes_of(&again, NoteKind::PortalStep).len(), 1);
    assert!(notes_of(&again, NoteKind::PortalStep)[0].contains(&app_id));
    // The admin chooses it: the setting names it.
    after.forecast.as_mut().unwrap().baseline = BaselineRead::Read {
        setting: BaselineScopes::Custom(app_id),
    };
    let converged = diff(&d, &after).unwrap();
    assert!(!converged.has_changes());
    assert!(notes_of(&converged, NoteKind::PortalStep).is_empty());
    assert!(converged.notes.iter().all(|n| n.risks.is_empty()));
    let f = converged.sign_in_forecast.unwrap();
    assert!(!f.fails(), "{f:#?}");
}

#[test]
fn a_setting_naming_another_app_is_said_and_an_unreadable_one_too() {
    let d = mac_login_with_placeholder();
    let policies = vec![policy("p-mfa", "Require MFA", &[PLACEHOLDER_APP_ID])];
    let other = BaselineScopes::Custom(OTHER_APP_ID.into());
    let o = tenant(other, policies.clone(), vec![placeholder_app(json!({}))]);
    let plan = diff(&d, &o).unwrap();
    let step = notes_of(&plan, NoteKind::PortalStep);
    assert!(step[0].contains(&format!("names another app today, {OTHER_APP_ID}")));
    assert!(step[0].contains(PLACEHOLDER_APP_ID));
    assert!(plan.sign_in_forecast.unwrap().fails());

    let mut o = tenant(
        BaselineScopes::Enforced,
        policies,
        vec![placeholder_app(json!({}))],
    );
    o.forecast.as_mut().unwrap().baseline = BaselineRead::Unreadable {
        reason: "403 Forbidden".into(),
    };
    let plan = diff(&d, &o).unwrap();
    assert!(notes_of(&plan, NoteKind::PortalStep)[0].contains("could not be read (403 Forbidden)"));
}

#[test]
fn drift_of_what_entractl_sets_is_an_update_of_those_fields_only() {
    let d = mac_login_with_placeholder();
    let drifted = placeholder_app(json!({
        "displayName": "renamed",
        "isFallbackPublicClient": true,
        "publicClient": {"redirectUris": ["https://localhost"]},
        "web": {"redirectUris": ["https://evil.example/cb"], "homePageUrl": "https://x.example"},
        "notes": null,
        "description": "someone's words, left alone",
    }));
    let o = tenant(BaselineScopes::Enforced, vec![], vec![drifted]);
    let plan = diff(&d, &o).unwrap();
    let c = plan
        .changes
        .iter()
        .find(|c| c.object.kind == ObjectKind::PlaceholderApplication)
        .unwrap();
    assert_eq!(c.action, Action::Update);
    insta::assert_json_snapshot!("drift", json!({"fields": c.fields, "payload": c.payload}));
    // Applying it converges.
    let after = simulate_apply(&o, &plan).unwrap();
    assert!(!diff(&d, &after).unwrap().has_changes());
}

#[test]
fn a_stranger_with_its_unique_name_or_the_app_s_own_name_stops_the_plan() {
    let d = mac_login_with_placeholder();
    let mut o = tenant(BaselineScopes::Enforced, vec![], vec![]);
    o.placeholder.as_mut().unwrap().candidates = vec![Candidate {
        app: parse(&placeholder_app(json!({"tags": []}))).unwrap(),
        matched_by: vec![MatchedBy::UniqueName],
    }];
    let err = diff(&d, &o).unwrap_err();
    assert!(matches!(err, PlanError::Placeholder { .. }), "{err}");
    assert!(err.to_string().contains("not managed by entractl"), "{err}");

    let mut same = mac_login_with_placeholder();
    same.mfa
        .as_mut()
        .unwrap()
        .placeholder
        .as_mut()
        .unwrap()
        .unique_name = "Kandji-Passport".into();
    let err = diff(&same, &tenant(BaselineScopes::Enforced, vec![], vec![])).unwrap_err();
    assert!(
        err.to_string().contains("uniqueName of the app itself"),
        "{err}"
    );
}

#[test]
fn no_step_when_the_placeholder_is_excluded_from_no_policy() {
    let d = mac_login_with_placeholder();
    let mut elsewhere = policy("p-other", "MFA for one app", &[]);
    elsewhere["conditions"]["applications"]["includeApplications"] = json!([OTHER_APP_ID]);
    let o = tenant(
        BaselineScopes::Enforced,
        vec![elsewhere],
        vec![placeholder_app(json!({}))],
    );
    let plan = diff(&d, &o).unwrap();
    assert!(notes_of(&plan, NoteKind::PortalStep).is_empty());
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
}

#[test]
fn a_placeholder_made_before_the_link_tag_gets_it_its_other_tags_kept() {
    let d = mac_login_with_placeholder();
    let old = placeholder_app(json!({"tags": [format!("entractl:{PLACEHOLDER_KEY}"), "theirs"]}));
    let o = tenant(BaselineScopes::Enforced, vec![], vec![old]);
    let plan = diff(&d, &o).unwrap();
    let c = plan
        .changes
        .iter()
        .find(|c| c.object.kind == ObjectKind::PlaceholderApplication)
        .unwrap();
    assert_eq!(c.action, Action::Update);
    assert_eq!(
        c.payload,
        json!({"tags": [format!("entractl:{PLACEHOLDER_KEY}"), "theirs", "entractl-placeholder-for:kandji-passport"]})
    );
    let after = simulate_apply(&o, &plan).unwrap();
    assert!(!diff(&d, &after).unwrap().has_changes());
}
