//! Tests of the pure core: diff, normalisation, simulate, renderers (insta), and the property
//! "after applying the plan, a fresh plan is empty" (proptest).

use proptest::prelude::*;
use serde_json::{Value, json};

use entractl_graph::resource::application::GroupMembershipClaims;
use entractl_graph::resource::parse;

use crate::core::desired::*;
use crate::core::diff::diff;
use crate::core::error::PlanError;
use crate::core::observed::*;
use crate::core::plan::*;
use crate::core::render::{Format, render};
use crate::core::simulate::simulate_apply;

pub(crate) const TENANT_ID: &str = "3f2a1b7c-0000-4000-8000-00000000c0de";

/// Microsoft Graph's service principal with the real ids of the permissions used here.
pub(crate) fn graph_sp() -> ServicePrincipal {
    parse::<ServicePrincipal>(&json!({
        "id": "7a0c5b42-1111-4a7e-9d2b-0000000000aa",
        "appId": MICROSOFT_GRAPH_APP_ID,
        "displayName": "Microsoft Graph",
        "oauth2PermissionScopes": [
            {"id": "37f7f235-527c-4136-accd-4a02d197296e", "value": "openid"},
            {"id": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "value": "email"},
            {"id": "14dad69e-099b-42c9-810b-d002981feec1", "value": "profile"},
            {"id": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "value": "offline_access"},
            {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "value": "User.Read"},
        ],
        "appRoles": [
            {"id": "df021288-bdef-4463-88db-98f22de89214", "value": "User.Read.All",
             "allowedMemberTypes": ["Application"],
             "description": "Allows the app to read user profiles without a signed in user."},
            {"id": "5b567255-7703-4780-807c-7be8301ae99b", "value": "Group.Read.All",
             "allowedMemberTypes": ["Application"],
             "description": "Allows the app to read group properties and memberships, and read conversations for all groups, without a signed-in user."},
        ],
    }))
    .expect("valid sp")
}

pub(crate) fn graph_lookup() -> ResourceLookup {
    ResourceLookup {
        query: ResourceRef::parse("Microsoft Graph"),
        found: vec![graph_sp()],
    }
}

/// The seed procedure as a desired state.
pub(crate) fn kandji() -> Desired {
    Desired {
        tenant: "contoso.onmicrosoft.com".into(),
        cloud: "public".into(),
        authority_url: "https://login.microsoftonline.com".into(),
        app: DesiredApp {
            display_name: "Kandji Passport".into(),
            identity: AppIdentity {
                unique_name: Some("kandji-passport".into()),
                adopt_app_id: None,
            },
            sign_in_audience: Some("AzureADMyOrg".into()),
            is_fallback_public_client: Some(true),
            web_redirect_uris: Some(vec!["http://localhost".into()]),
            public_client_redirect_uris: None,
            spa_redirect_uris: None,
            optional_claims: OptionalClaims {
                id_token: Some(vec![OptionalClaim::named("preferred_username")]),
                access_token: None,
                saml2_token: None,
            },
            group_membership_claims: GroupMembershipClaims::parse(Some("All")),
            api_permissions: Some(vec![ApiPermission {
                resource: ResourceRef::parse("Microsoft Graph"),
                delegated: vec!["email".into(), "profile".into(), "User.Read".into()],
                application: vec![],
            }]),
            admin_consent: Some(true),
        },
        mfa: None,
        assignments: None,
        passport_mode: None,
        teardown: None,
    }
}

pub(crate) fn empty_tenant() -> Observed {
    Observed {
        tenant_id: Some(TENANT_ID.into()),
        resources: vec![graph_lookup()],
        ..Observed::default()
    }
}

/// The tenant after the seed procedure was done by hand in the portal, as Graph returns it.
fn portal_app(tags: &[&str]) -> Value {
    json!({
        "id": "11111111-aaaa-4bbb-8ccc-000000000001",
        "appId": "9B1F0000-2222-4333-8444-000000000002",
        "displayName": "Kandji Passport",
        "uniqueName": "kandji-passport",
        "tags": tags,
        "signInAudience": "AzureADMyOrg",
        "isFallbackPublicClient": true,
        "groupMembershipClaims": "All",
        "web": {"redirectUris": ["http://localhost"], "homePageUrl": null,
                "implicitGrantSettings": {"enableIdTokenIssuance": false, "enableAccessTokenIssuance": false}},
        "publicClient": {"redirectUris": []},
        "spa": {"redirectUris": []},
        "optionalClaims": {"idToken": [{"name": "preferred_username", "source": null, "essential": false, "additionalProperties": []}],
                           "accessToken": [], "saml2Token": []},
        "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-C000-000000000000", "resourceAccess": [
            {"id": "E1FE6DD8-BA31-4D61-89E7-88639DA4683D", "type": "Scope"},
            {"id": "14dad69e-099b-42c9-810b-d002981feec1", "type": "Scope"},
            {"id": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "type": "Scope"}]}],
    })
}

pub(crate) fn converged() -> Observed {
    let app = parse::<Application>(&portal_app(&["entractl:kandji-passport"])).unwrap();
    let sp = parse::<ServicePrincipal>(&json!({
        "id": "22222222-aaaa-4bbb-8ccc-000000000003", "appId": app.app_id, "displayName": "Kandji Passport",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp", "entractl:kandji-passport"]
    }))
    .unwrap();
    let grant = parse::<OAuth2PermissionGrant>(&json!({
        "id": "l5eW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk",
        "clientId": sp.id, "consentType": "AllPrincipals", "principalId": null,
        "resourceId": graph_sp().id, "scope": " User.Read profile  email"
    }))
    .unwrap();
    Observed {
        tenant_id: Some(TENANT_ID.into()),
        candidates: vec![Candidate {
            app,
            matched_by: vec![MatchedBy::UniqueName, MatchedBy::ManagedTag],
        }],
        service_principal: Some(sp),
        resources: vec![graph_lookup()],
        grants: vec![grant],
        ..Observed::default()
    }
}

fn with_app(o: &Observed, f: impl FnOnce(&mut Value)) -> Observed {
    let mut o = o.clone();
    let mut raw = o.candidates[0].app.to_json();
    f(&mut raw);
    o.candidates[0].app = parse::<Application>(&raw).unwrap();
    o
}

#[test]
fn empty_tenant_creates_app_sp_and_grant_in_order() {
    let plan = diff(&kandji(), &empty_tenant()).unwrap();
    let kinds: Vec<_> = plan
        .actionable()
        .map(|c| (c.object.kind, c.action))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (ObjectKind::Application, Action::Create),
            (ObjectKind::ServicePrincipal, Action::Create),
            (ObjectKind::OAuth2PermissionGrant, Action::Create),
        ]
    );
    let app = &plan.changes[0].payload;
    assert_eq!(app["uniqueName"], "kandji-passport");
    assert_eq!(app["isFallbackPublicClient"], true);
    assert_eq!(app["tags"], json!(["entractl:kandji-passport"]));
    assert_eq!(
        app["optionalClaims"]["idToken"][0]["name"],
        "preferred_username"
    );
    assert_eq!(
        app["requiredResourceAccess"][0]["resourceAppId"],
        MICROSOFT_GRAPH_APP_ID
    );
    assert_eq!(plan.changes[2].payload["scope"], "email profile User.Read");
    assert_eq!(plan.changes[2].payload["resourceId"], graph_sp().id);
    assert!(plan.changes[2].risks.contains(&Risk::TenantWideConsent));
    assert_eq!(plan.outputs.client_id, None);
    assert_eq!(
        plan.outputs.oidc_metadata_url.as_deref(),
        Some(
            "https://login.microsoftonline.com/3f2a1b7c-0000-4000-8000-00000000c0de/v2.0/.well-known/openid-configuration"
        )
    );
}

#[test]
fn converged_tenant_with_graph_noise_is_an_empty_plan() {
    // GUID case, scope order and spacing, resourceAccess order, nulls: none of it is a change.
    let plan = diff(&kandji(), &converged()).unwrap();
    assert!(
        !plan.has_changes(),
        "{}",
        render(&plan, Format::Text, false)
    );
    assert_eq!(
        plan.outputs.client_id.as_deref(),
        Some("9B1F0000-2222-4333-8444-000000000002")
    );
}

#[test]
fn graph_defaults_are_not_changes() {
    let mut d = kandji();
    d.app.is_fallback_public_client = Some(false);
    d.app.group_membership_claims = GroupMembershipClaims::parse(Some("None"));
    let o = with_app(&converged(), |raw| {
        raw["isFallbackPublicClient"] = Value::Null;
        raw["groupMembershipClaims"] = Value::Null;
    });
    let plan = diff(&d, &o).unwrap();
    assert!(
        !plan.has_changes(),
        "{}",
        render(&plan, Format::Text, false)
    );
}

#[test]
fn drift_shows_exactly_the_changed_fields() {
    let o = with_app(&converged(), |raw| {
        raw["isFallbackPublicClient"] = json!(false);
        raw["web"]["redirectUris"] = json!(["http://localhost", "https://evil.example.com/cb"]);
    });
    let plan = diff(&kandji(), &o).unwrap();
    let changes: Vec<_> = plan.actionable().collect();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].action, Action::Update);
    let paths: Vec<_> = changes[0].fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["isFallbackPublicClient", "web.redirectUris"]);
    // Read-modify-write: the rest of `web` is sent back unchanged.
    let web = &changes[0].payload["web"];
    assert_eq!(web["redirectUris"], json!(["http://localhost"]));
    assert_eq!(web["implicitGrantSettings"]["enableIdTokenIssuance"], false);
    assert!(changes[0].payload.get("optionalClaims").is_none());
}

#[test]
fn unmanaged_properties_are_never_reset() {
    let mut d = kandji();
    d.app.optional_claims.id_token = None;
    d.app.web_redirect_uris = None;
    let o = with_app(&converged(), |raw| {
        raw["optionalClaims"]["idToken"] = json!([{"name": "email"}]);
        raw["web"]["redirectUris"] = json!(["https://other.example.com"]);
        raw["spa"]["redirectUris"] = json!(["https://spa.example.com"]);
    });
    let plan = diff(&d, &o).unwrap();
    assert!(!plan.has_changes());
    let paths: Vec<_> = plan.unmanaged.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "web.redirectUris",
            "spa.redirectUris",
            "optionalClaims.idToken"
        ]
    );
}

#[test]
fn optional_claims_change_keeps_other_token_types() {
    let o = with_app(&converged(), |raw| {
        raw["optionalClaims"]["idToken"] = json!([]);
        raw["optionalClaims"]["accessToken"] = json!([{"name": "ipaddr", "source": null, "essential": false, "additionalProperties": []}]);
    });
    let plan = diff(&kandji(), &o).unwrap();
    let c = plan.actionable().next().unwrap();
    assert_eq!(c.fields[0].path, "optionalClaims.idToken");
    assert_eq!(
        c.payload["optionalClaims"]["accessToken"][0]["name"],
        "ipaddr"
    );
    assert_eq!(
        c.payload["optionalClaims"]["idToken"][0]["name"],
        "preferred_username"
    );
}

#[test]
fn grant_scope_drift_is_an_update_of_that_grant() {
    let mut o = converged();
    o.grants[0] = parse::<OAuth2PermissionGrant>(&{
        let mut g = o.grants[0].to_json();
        g["scope"] = json!("email");
        g
    })
    .unwrap();
    let plan = diff(&kandji(), &o).unwrap();
    let c: Vec<_> = plan.actionable().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].object.kind, ObjectKind::OAuth2PermissionGrant);
    assert_eq!(c[0].action, Action::Update);
    assert_eq!(c[0].payload, json!({"scope": "email profile User.Read"}));
}

#[test]
fn an_untagged_service_principal_gets_the_managed_tag_and_keeps_its_others() {
    let mut o = converged();
    let mut raw = o.service_principal.as_ref().unwrap().to_json();
    raw["tags"] = json!(["HideApp"]);
    o.service_principal = parse::<ServicePrincipal>(&raw);
    let plan = diff(&kandji(), &o).unwrap();
    let c: Vec<_> = plan.actionable().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].object.kind, c[0].action),
        (ObjectKind::ServicePrincipal, Action::Update)
    );
    assert_eq!(
        c[0].payload,
        json!({"tags": ["HideApp", "entractl:kandji-passport"]})
    );
    assert!(
        !diff(&kandji(), &simulate_apply(&o, &plan).unwrap())
            .unwrap()
            .has_changes()
    );
}

#[test]
fn unknown_permission_is_an_error_with_suggestions() {
    let mut d = kandji();
    d.app.api_permissions.as_mut().unwrap()[0].delegated = vec!["User.Raed".into(), "emial".into()];
    let err = diff(&d, &empty_tenant()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, PlanError::UnknownPermissions(ref v) if v.len() == 2),
        "{msg}"
    );
    assert!(
        msg.contains("`User.Raed`") && msg.contains("did you mean `User.Read`"),
        "{msg}"
    );
    assert!(msg.contains("did you mean `email`"), "{msg}");
}

#[test]
fn missing_resource_api_is_an_error() {
    let mut d = kandji();
    d.app.api_permissions.as_mut().unwrap()[0].resource = ResourceRef::parse("Contoso API");
    let mut o = empty_tenant();
    o.resources.push(ResourceLookup {
        query: ResourceRef::parse("Contoso API"),
        found: vec![],
    });
    let msg = diff(&d, &o).unwrap_err().to_string();
    assert!(
        msg.contains("`Contoso API`") && msg.contains("hint:"),
        "{msg}"
    );
}

#[test]
fn two_candidates_is_an_error_naming_both() {
    let mut o = converged();
    let mut other = portal_app(&["entractl:kandji-passport"]);
    other["id"] = json!("33333333-aaaa-4bbb-8ccc-000000000009");
    other["appId"] = json!("44444444-aaaa-4bbb-8ccc-000000000009");
    other["displayName"] = json!("Kandji Passport (copy)");
    o.candidates.push(Candidate {
        app: parse::<Application>(&other).unwrap(),
        matched_by: vec![MatchedBy::ManagedTag],
    });
    let msg = diff(&kandji(), &o).unwrap_err().to_string();
    assert!(
        msg.contains("9B1F0000-2222-4333-8444-000000000002"),
        "{msg}"
    );
    assert!(
        msg.contains("44444444-aaaa-4bbb-8ccc-000000000009"),
        "{msg}"
    );
    assert!(msg.contains("never guesses"), "{msg}");
}

#[test]
fn an_unmanaged_app_with_the_same_unique_name_is_not_touched() {
    let mut o = converged();
    o.candidates[0] = Candidate {
        app: parse::<Application>(&portal_app(&[])).unwrap(),
        matched_by: vec![MatchedBy::UniqueName],
    };
    let err = diff(&kandji(), &o).unwrap_err();
    assert!(matches!(err, PlanError::UnmanagedApplication { .. }));
    assert!(
        err.to_string()
            .contains("appId: 9B1F0000-2222-4333-8444-000000000002")
    );
}

#[test]
fn adoption_by_app_id_tags_the_app() {
    let mut d = kandji();
    d.app.identity.adopt_app_id = Some("9b1f0000-2222-4333-8444-000000000002".into());
    let mut o = converged();
    o.candidates[0] = Candidate {
        app: parse::<Application>(&portal_app(&["HideApp"])).unwrap(),
        matched_by: vec![MatchedBy::UniqueName, MatchedBy::AppId],
    };
    let plan = diff(&d, &o).unwrap();
    let c: Vec<_> = plan.actionable().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].action, Action::Adopt);
    assert!(c[0].risks.contains(&Risk::Adoption));
    assert_eq!(
        c[0].payload,
        json!({"tags": ["HideApp", "entractl:kandji-passport"]})
    );
    let after = simulate_apply(&o, &plan).unwrap();
    assert!(!diff(&d, &after).unwrap().has_changes());
}

#[test]
fn adopting_a_missing_app_is_an_error() {
    let mut d = kandji();
    d.app.identity.adopt_app_id = Some("9b1f0000-2222-4333-8444-000000000002".into());
    let err = diff(&d, &empty_tenant()).unwrap_err();
    assert!(matches!(err, PlanError::AdoptedAppNotFound { .. }), "{err}");
}

#[test]
fn application_permissions_are_declared_and_granted() {
    let mut d = kandji();
    d.app.api_permissions.as_mut().unwrap()[0].application = vec!["User.Read.All".into()];
    let plan = diff(&d, &converged()).unwrap();
    let c: Vec<_> = plan.actionable().collect();
    assert_eq!(c.len(), 2);
    assert_eq!(
        c[0].fields[0].after,
        json!([
            "User.Read (delegated)",
            "User.Read.All (application)",
            "email (delegated)",
            "profile (delegated)"
        ])
    );
    assert_eq!(c[1].object.kind, ObjectKind::ApplicationPermissionGrant);
    assert_eq!(c[1].action, Action::Create);
    assert!(plan.notes.iter().all(|n| n.kind != NoteKind::NotYetApplied));
}

#[test]
fn admin_consent_false_removes_the_tenant_wide_grant() {
    let mut d = kandji();
    d.app.admin_consent = Some(false);
    let plan = diff(&d, &converged()).unwrap();
    let c: Vec<_> = plan.actionable().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].action, Action::Delete);
    assert!(c[0].risks.contains(&Risk::Removal));
}

#[test]
fn simulate_then_diff_is_empty_from_an_empty_tenant() {
    let d = kandji();
    let plan = diff(&d, &empty_tenant()).unwrap();
    let after = simulate_apply(&empty_tenant(), &plan).unwrap();
    let again = diff(&d, &after).unwrap();
    assert!(
        !again.has_changes(),
        "{}",
        render(&again, Format::Text, false)
    );
}

fn drifted() -> (Desired, Observed) {
    let d = kandji();
    let mut o = with_app(&converged(), |raw| {
        raw["isFallbackPublicClient"] = json!(false);
        raw["groupMembershipClaims"] = json!("SecurityGroup");
        raw["web"]["redirectUris"] = json!(["https://evil.example.com/cb", "http://localhost"]);
        raw["optionalClaims"]["idToken"] = json!([]);
        raw["spa"]["redirectUris"] = json!(["https://spa.example.com"]);
    });
    o.grants[0] = parse::<OAuth2PermissionGrant>(&{
        let mut g = o.grants[0].to_json();
        g["scope"] = json!("email Mail.Read");
        g
    })
    .unwrap();
    (d, o)
}

#[test]
fn snapshot_text_create() {
    let plan = diff(&kandji(), &empty_tenant()).unwrap();
    insta::assert_snapshot!(render(&plan, Format::Text, false));
}

#[test]
fn snapshot_text_drift() {
    let (d, o) = drifted();
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Text, false));
}

#[test]
fn snapshot_text_color_only_when_asked() {
    let (d, o) = drifted();
    let plan = diff(&d, &o).unwrap();
    assert!(!render(&plan, Format::Text, false).contains('\x1b'));
    assert!(render(&plan, Format::Text, true).contains("\x1b[33m~ application"));
}

#[test]
fn snapshot_json_drift() {
    let (d, o) = drifted();
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Json, false));
}

#[test]
fn snapshot_markdown_drift() {
    let (d, o) = drifted();
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Markdown, false));
}

#[test]
fn snapshot_text_adopt_and_delete() {
    let mut d = kandji();
    d.app.identity.adopt_app_id = Some("9b1f0000-2222-4333-8444-000000000002".into());
    d.app.admin_consent = Some(false);
    let mut o = converged();
    o.candidates[0] = Candidate {
        app: parse::<Application>(&portal_app(&["HideApp"])).unwrap(),
        matched_by: vec![MatchedBy::UniqueName, MatchedBy::AppId],
    };
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Text, false));
}

#[test]
fn snapshot_markdown_no_changes() {
    insta::assert_snapshot!(render(
        &diff(&kandji(), &converged()).unwrap(),
        Format::Markdown,
        false
    ));
}

#[test]
fn json_plan_round_trips_and_is_versioned() {
    let (d, o) = drifted();
    let plan = diff(&d, &o).unwrap();
    let v: Value = serde_json::from_str(&render(&plan, Format::Json, false)).unwrap();
    assert_eq!(v["format_version"], "1");
    assert_eq!(v["has_changes"], true);
    let back: Plan = serde_json::from_value(json!({
        "tenant": v["tenant"], "cloud": v["cloud"], "changes": v["changes"],
        "notes": v["notes"], "unmanaged": v["unmanaged"], "outputs": v["outputs"],
    }))
    .unwrap();
    assert_eq!(back, plan);
}

// ---------------------------------------------------------------------------------------------
// Property: for generated desired states and starting tenants, after applying the plan a fresh
// plan is empty; and a second simulated apply changes nothing.

const URIS: &[&str] = &[
    "http://localhost",
    "https://a.example.com/cb",
    "https://b.example.com/",
    "msauth.com.kandji://auth",
];
const CLAIMS: &[&str] = &[
    "preferred_username",
    "email",
    "upn",
    "family_name",
    "groups",
];
const SCOPES: &[&str] = &["openid", "email", "profile", "offline_access", "User.Read"];
const ROLES: &[&str] = &["User.Read.All", "Group.Read.All"];
const GROUPS: &[&str] = &[
    "None",
    "SecurityGroup",
    "All",
    "ApplicationGroup",
    "DirectoryRole",
];

fn subset(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(pool, 0..=pool.len())
        .prop_shuffle()
        .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

fn arb_desired() -> impl Strategy<Value = Desired> {
    (
        (
            opt(prop_oneof![
                Just("AzureADMyOrg"),
                Just("AzureADMultipleOrgs")
            ]),
            opt(any::<bool>()),
            opt(subset(URIS)),
            opt(subset(URIS)),
            opt(subset(CLAIMS)),
            opt(subset(CLAIMS)),
        ),
        (
            opt(proptest::sample::select(GROUPS)),
            opt((subset(SCOPES), subset(ROLES))),
            opt(any::<bool>()),
            any::<bool>(),
        ),
    )
        .prop_map(
            |((aud, pc, web, public, id, access), (groups, perms, consent, case))| {
                let mut d = kandji();
                d.app.sign_in_audience = aud.map(str::to_string);
                d.app.is_fallback_public_client = pc;
                d.app.web_redirect_uris = web;
                d.app.public_client_redirect_uris = public;
                d.app.optional_claims.id_token =
                    id.map(|v| v.iter().map(|c| OptionalClaim::named(c)).collect());
                d.app.optional_claims.access_token =
                    access.map(|v| v.iter().map(|c| OptionalClaim::named(c)).collect());
                d.app.group_membership_claims =
                    groups.and_then(|g| GroupMembershipClaims::parse(Some(g)));
                d.app.api_permissions = perms.map(|(scopes, roles)| {
                    vec![ApiPermission {
                        resource: ResourceRef::parse("Microsoft Graph"),
                        delegated: scopes
                            .into_iter()
                            .map(|s| if case { s.to_uppercase() } else { s })
                            .collect(),
                        application: roles,
                    }]
                });
                d.app.admin_consent = consent;
                d
            },
        )
}

fn arb_observed() -> impl Strategy<Value = Observed> {
    (
        0u8..3,
        (
            opt(any::<bool>()),
            subset(URIS),
            subset(CLAIMS),
            subset(CLAIMS),
            opt(proptest::sample::select(GROUPS)),
            subset(SCOPES),
            subset(ROLES),
        ),
        any::<bool>(),
        opt(subset(SCOPES)),
        (subset(ROLES), any::<bool>()),
    )
        .prop_map(|(state, (pc, web, id, access, groups, scopes, roles), has_sp, grant, (granted, foreign))| {
            let mut o = empty_tenant();
            if state == 0 {
                return o;
            }
            let g = graph_sp();
            let id_of = |list: &[entractl_graph::resource::service_principal::Permission], v: &str| {
                list.iter().find(|p| p.value == v).map(|p| p.id.clone()).unwrap()
            };
            let mut access_list: Vec<Value> = scopes
                .iter()
                .map(|s| json!({"id": id_of(&g.oauth2_permission_scopes, s).to_uppercase(), "type": "Scope"}))
                .collect();
            access_list.extend(roles.iter().map(|r| json!({"id": id_of(&g.app_roles, r), "type": "Role"})));
            let claims = |v: &[String]| -> Value {
                json!(v.iter().map(|n| json!({"name": n, "source": null, "essential": false, "additionalProperties": []})).collect::<Vec<_>>())
            };
            let raw = json!({
                "id": "app-object", "appId": "app-client",
                "displayName": if state == 1 { "Old name" } else { "Kandji Passport" },
                "uniqueName": "kandji-passport",
                "tags": ["entractl:kandji-passport", "other"],
                "isFallbackPublicClient": pc,
                "groupMembershipClaims": groups,
                "web": {"redirectUris": web, "logoutUrl": "https://logout.example.com"},
                "optionalClaims": {"idToken": claims(&id), "accessToken": claims(&access), "saml2Token": []},
                "requiredResourceAccess": if access_list.is_empty() { json!([]) } else {
                    json!([{"resourceAppId": MICROSOFT_GRAPH_APP_ID, "resourceAccess": access_list}])
                },
            });
            o.candidates = vec![Candidate {
                app: parse::<Application>(&raw).unwrap(),
                matched_by: vec![MatchedBy::UniqueName, MatchedBy::ManagedTag],
            }];
            if has_sp {
                o.service_principal = parse::<ServicePrincipal>(
                    &json!({"id": "sp-object", "appId": "app-client"}),
                );
                if let Some(scopes) = grant {
                    o.grants = vec![parse::<OAuth2PermissionGrant>(&json!({
                        "id": "grant-1", "clientId": "sp-object", "consentType": "AllPrincipals",
                        "resourceId": g.id, "scope": scopes.join(" "),
                    }))
                    .unwrap()];
                }
                // Application permissions granted: of Microsoft Graph, and of another API.
                let mut grants: Vec<Value> = granted
                    .iter()
                    .map(|r| json!({"id": format!("arg-{r}"), "appRoleId": id_of(&g.app_roles, r).to_uppercase(),
                        "principalId": "SP-OBJECT", "principalType": "ServicePrincipal", "resourceId": g.id}))
                    .collect();
                if foreign {
                    grants.push(json!({"id": "arg-foreign", "appRoleId": "dc50a0fb-09a3-484d-be87-e023b12c6440",
                        "principalId": "sp-object", "principalType": "ServicePrincipal",
                        "resourceId": "0b5e0000-0000-4000-8000-00000000e0e0", "resourceDisplayName": "Office 365 Exchange Online"}));
                }
                o.app_role_grants = grants.iter().filter_map(parse::<AppRoleAssignment>).collect();
            }
            o
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn after_apply_a_fresh_plan_is_empty(d in arb_desired(), o in arb_observed()) {
        let plan = diff(&d, &o).unwrap();
        let after = simulate_apply(&o, &plan).unwrap();
        let again = diff(&d, &after).unwrap();
        prop_assert!(!again.has_changes(), "second plan not empty:\n{}", render(&again, Format::Text, false));
        // Unmanaged properties are untouched.
        let (before_app, after_app) = (o.candidates.first(), after.candidates.first());
        if let (Some(b), Some(a)) = (before_app, after_app) {
            if d.app.public_client_redirect_uris.is_none() {
                prop_assert_eq!(&b.app.public_client, &a.app.public_client);
            }
            prop_assert_eq!(a.app.to_json()["web"]["logoutUrl"].clone(), json!("https://logout.example.com"));
            prop_assert!(a.app.tags.contains(&"other".to_string()));
        }
    }
}
