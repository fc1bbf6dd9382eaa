//! The password sign-in preflight's notes, from hand-made observed states.

use entractl_graph::resource::domain::Domain;
use entractl_graph::resource::home_realm_discovery_policy::HomeRealmDiscoveryPolicy;
use entractl_graph::resource::parse;
use serde_json::json;

use super::*;
use crate::core::desired::{CaSelection, DesiredMfa, PassportMode};
use crate::core::diff::diff;
use crate::core::observed::{
    HomeRealmPolicy, ObservedMfa, ScopeUser, ServicePrincipal, UserMfaState,
};
use crate::core::tests::{TENANT_ID, graph_lookup, kandji};

const PASSPORT_SP: &str = "22222222-aaaa-4bbb-8ccc-000000000003";
const OTHER_SP: &str = "22222222-aaaa-4bbb-8ccc-0000000000ff";

/// The seed spec managing conditional access, and per-user MFA as asked.
fn desired(per_user_managed: bool) -> Desired {
    let mut d = kandji();
    d.mfa = Some(DesiredMfa {
        per_user_mfa_disabled: per_user_managed,
        conditional_access: Some(CaSelection::FromPoliciesRequiringMfa),
        ..DesiredMfa::default()
    });
    d
}

fn user(n: u32, upn: &str, user_type: &str) -> SignInUser {
    SignInUser {
        id: format!("00000000-0000-4000-8000-{n:012}"),
        user_principal_name: upn.to_string(),
        user_type: Some(user_type.to_string()),
    }
}

fn domains() -> Vec<Domain> {
    [
        ("contoso.onmicrosoft.com", "Managed"),
        ("contoso.com", "Managed"),
        ("corp.contoso.com", "Federated"),
    ]
    .into_iter()
    .map(|(id, t)| parse(&json!({"id": id, "authenticationType": t})).unwrap())
    .collect()
}

fn policy(name: &str, allow: bool, default: bool, applies_to: &[&str]) -> HomeRealmPolicy {
    let definition =
        json!({"HomeRealmDiscoveryPolicy": {"AllowCloudPasswordValidation": allow}}).to_string();
    let policy: HomeRealmDiscoveryPolicy = parse(&json!({
        "id": format!("6c6f154f-cb39-4ff9-bf5b-{:012}", name.len()),
        "displayName": name, "definition": [definition], "isOrganizationDefault": default
    }))
    .unwrap();
    HomeRealmPolicy {
        policy,
        applies_to: applies_to.iter().map(|s| s.to_string()).collect(),
    }
}

/// A tenant where Passport's service principal exists and `users` sign in.
fn observed(users: Vec<SignInUser>, policies: Option<Vec<HomeRealmPolicy>>) -> Observed {
    Observed {
        tenant_id: Some(TENANT_ID.into()),
        resources: vec![graph_lookup()],
        service_principal: parse::<ServicePrincipal>(&json!({
            "id": PASSPORT_SP, "appId": "9b1f0000-2222-4333-8444-000000000002"
        })),
        password_sign_in: Some(ObservedPasswordSignIn {
            users,
            domains: domains(),
            home_realm_policies: policies,
        }),
        ..Observed::default()
    }
}

fn of_kind(notes: &[Note], kind: NoteKind) -> Vec<String> {
    notes
        .iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.message.clone())
        .collect()
}

#[test]
fn nothing_when_the_spec_does_not_need_password_sign_in() {
    let o = observed(vec![user(1, "dana@corp.contoso.com", "Member")], None);
    let mut d = desired(false);
    d.mfa = None;
    assert!(notes(&d, &o).is_empty());
    assert!(!needed(&d));
    // Web Login signs in on Entra's page: nothing to check, whatever the MFA section says.
    let mut web = desired(false);
    web.passport_mode = Some(PassportMode::WebLogin);
    assert!(!needed(&web) && notes(&web, &o).is_empty());
    // Mac Login needs it even when the spec weakens nothing.
    d.passport_mode = Some(PassportMode::MacLogin);
    assert!(needed(&d) && !notes(&d, &o).is_empty());
    // Nobody signs in: nothing to say either.
    assert!(notes(&desired(false), &observed(vec![], None)).is_empty());
}

#[test]
fn a_federated_user_without_a_policy_is_a_warning_with_the_code_and_the_fix() {
    let o = observed(
        vec![
            user(1, "alice@contoso.com", "Member"),
            user(2, "dana@corp.contoso.com", "Member"),
        ],
        Some(vec![]),
    );
    let n = notes(&desired(false), &o);
    let w = of_kind(&n, NoteKind::Warning);
    assert_eq!(w.len(), 1, "{n:#?}");
    for part in [
        "1 user of the federated domain(s) corp.contoso.com",
        "dana@corp.contoso.com",
        "AADSTS50126",
        "no home realm discovery policy applies to the app",
        "`\"AllowCloudPasswordValidation\": true`",
        "password hash sync",
    ] {
        assert!(w[0].contains(part), "{part}: {}", w[0]);
    }
    assert!(!w[0].contains("alice"), "{}", w[0]);
}

#[test]
fn an_organization_default_that_allows_cloud_passwords_turns_the_warning_into_a_note() {
    let users = vec![user(2, "dana@corp.contoso.com", "Member")];
    let allow = policy("Cloud passwords", true, true, &[]);
    let n = notes(&desired(false), &observed(users.clone(), Some(vec![allow])));
    assert!(of_kind(&n, NoteKind::Warning).is_empty(), "{n:#?}");
    let u = of_kind(&n, NoteKind::Unmanaged);
    assert!(
        u[0].contains("the organization's default home realm discovery policy \"Cloud passwords\" allows cloud password validation")
            && u[0].contains("password hash sync"),
        "{u:#?}"
    );
    // The same policy assigned to the app's service principal (not the default): also fine.
    let assigned = policy("Cloud passwords", true, false, &[PASSPORT_SP]);
    let n = notes(&desired(false), &observed(users, Some(vec![assigned])));
    assert!(of_kind(&n, NoteKind::Warning).is_empty(), "{n:#?}");
}

#[test]
fn a_policy_assigned_to_the_app_wins_over_the_default_and_others_do_not_count() {
    let users = vec![user(2, "dana@corp.contoso.com", "Member")];
    let policies = vec![
        policy("Default allows", true, true, &[]),
        policy("Accelerate to ADFS", false, false, &[PASSPORT_SP]),
    ];
    let n = notes(&desired(false), &observed(users.clone(), Some(policies)));
    let w = of_kind(&n, NoteKind::Warning);
    assert!(
        w[0].contains("the home realm discovery policy \"Accelerate to ADFS\" assigned to the app does not allow cloud password validation (a policy assigned to the app takes precedence over the organization's default)"),
        "{w:#?}"
    );
    // Allowed for another app only; the default does not allow: a warning naming the default.
    let policies = vec![
        policy("Other app", true, false, &[OTHER_SP]),
        policy("Strict default", false, true, &[]),
    ];
    let n = notes(
        &desired(false),
        &observed(users.clone(), Some(policies.clone())),
    );
    let w = of_kind(&n, NoteKind::Warning);
    assert!(
        w[0].contains("the organization's default home realm discovery policy \"Strict default\" does not allow"),
        "{w:#?}"
    );
    // The app does not exist yet: the fix is for after apply.
    let mut o = observed(users, Some(policies));
    o.service_principal = None;
    let w = of_kind(&notes(&desired(false), &o), NoteKind::Warning);
    assert!(
        w[0].contains("once apply has created the app's service principal"),
        "{w:#?}"
    );
}

#[test]
fn guests_are_a_warning_of_their_own() {
    let users = vec![
        user(
            3,
            "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "Guest",
        ),
        user(4, "partner@corp.contoso.com", "Guest"),
    ];
    let n = notes(&desired(false), &observed(users, Some(vec![])));
    let w = of_kind(&n, NoteKind::Warning);
    assert_eq!(
        w.len(),
        1,
        "a guest is not reported as federated too: {w:#?}"
    );
    for part in [
        "2 guest accounts (`userType` Guest)",
        "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com, partner@corp.contoso.com",
        "AADSTS50126",
        "AADSTS50020",
    ] {
        assert!(w[0].contains(part), "{part}: {}", w[0]);
    }
}

#[test]
fn per_user_mfa_enabled_users_are_told_they_become_enforced() {
    let users = vec![
        user(5, "pat@contoso.com", "Member"),
        user(6, "carol@contoso.com", "Member"),
        user(7, "alice@contoso.com", "Member"),
    ];
    let mut o = observed(users.clone(), None);
    let state = |u: &SignInUser, s: &str| UserMfaState {
        user: ScopeUser {
            id: u.id.clone(),
            label: u.user_principal_name.clone(),
        },
        state: s.to_string(),
    };
    o.mfa = Some(ObservedMfa {
        per_user: vec![
            state(&users[0], "enabled"),
            state(&users[1], "enforced"),
            state(&users[2], "disabled"),
        ],
        ..ObservedMfa::default()
    });
    let w = of_kind(&notes(&desired(false), &o), NoteKind::Warning);
    assert_eq!(w.len(), 1, "{w:#?}");
    for part in [
        "1 user with per-user MFA `enabled`, which the spec leaves unmanaged: pat@contoso.com",
        "moves them to `enforced` as soon as they have",
        "AADSTS50076",
        "AADSTS50079",
        "`mfa.perUserMfa: disabled-for-app-users`",
    ] {
        assert!(w[0].contains(part), "{part}: {}", w[0]);
    }
    // `enforced` is the sign-in forecast's (a verdict per user); `disabled` is fine.
    assert!(
        !w[0].contains("carol") && !w[0].contains("alice"),
        "{}",
        w[0]
    );
    // When the spec turns per-user MFA off for the app's users, the plan does that instead.
    let managed = of_kind(&notes(&desired(true), &o), NoteKind::Warning);
    assert!(managed.is_empty(), "{managed:#?}");
}

#[test]
fn whether_accounts_have_a_password_is_said_to_be_unknown() {
    let one = notes(
        &desired(true),
        &observed(vec![user(1, "alice@contoso.com", "Member")], None),
    );
    assert_eq!(one.len(), 1, "{one:#?}");
    assert_eq!(one[0].kind, NoteKind::Unmanaged);
    assert!(
        one[0]
            .message
            .contains("not checked whether the 1 user who can sign in has a password")
            && one[0].message.contains("AADSTS50126")
            && one[0].message.contains("exactly one password method"),
        "{}",
        one[0].message
    );
}

#[test]
fn long_lists_are_cut_with_a_count() {
    let users: Vec<SignInUser> = (0..12)
        .map(|i| user(10 + i, &format!("u{i:02}@corp.contoso.com"), "Member"))
        .collect();
    let w = of_kind(
        &notes(&desired(false), &observed(users, Some(vec![]))),
        NoteKind::Warning,
    );
    assert!(
        w[0].contains("12 users of the federated domain(s)")
            && w[0].contains("u00@corp.contoso.com, u01@")
            && w[0].contains("u09@corp.contoso.com and 2 more"),
        "{}",
        w[0]
    );
}

#[test]
fn diff_adds_the_notes_after_the_kinds() {
    let o = observed(vec![user(3, "guest@contoso.com", "Guest")], Some(vec![]));
    let plan = diff(&desired(false), &o).unwrap();
    assert!(
        plan.notes
            .iter()
            .any(|n| n.kind == NoteKind::Warning && n.message.contains("guest@contoso.com")),
        "{:#?}",
        plan.notes
    );
}

#[test]
fn the_reads_need_read_permissions_only_when_password_sign_in_is_needed() {
    let names = |d: &Desired| {
        let mut p = RequiredPermissions::default();
        permissions(d, &mut p);
        assert!(p.apply.is_empty());
        p.plan.iter().map(|n| n.permission).collect::<Vec<_>>()
    };
    assert_eq!(
        names(&desired(false)),
        ["Domain.Read.All", "Policy.Read.All", "Application.Read.All"]
    );
    let mut d = desired(false);
    d.mfa = None;
    assert!(names(&d).is_empty());
}
