//! The assignments' plan: resolution errors, add, prune, keep, warnings, outputs, and simulate
//! → empty plan.

use entractl_graph::resource::app_role_assignment::DEFAULT_ACCESS_ROLE;
use entractl_graph::resource::service_principal::Permission;
use serde_json::{Value, json};

use crate::core::desired::{Desired, DesiredAssignments, SpecEntry};
use crate::core::diff::diff;
use crate::core::observed::{
    AppRoleAssignment as Assignment, Group as GroupHit, LicenseTier, Members, Observed, Principals,
    User,
};
use crate::core::plan::{Action, AssignedGroup, ChangeId, NoteKind, ObjectKind, Plan, Risk};
use crate::core::simulate::simulate_apply;

const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";
const BOB: &str = "b0b00000-0000-4000-8000-000000000002";
const DAVE: &str = "da7e0000-0000-4000-8000-000000000004";
const MAC: &str = "3ac00000-0000-4000-8000-0000000000a1";
const NESTED: &str = "4e57ed00-0000-4000-8000-0000000000a2";

fn user(id: &str, upn: &str, enabled: bool) -> User {
    User {
        id: id.into(),
        user_principal_name: upn.into(),
        display_name: upn.split('@').next().unwrap_or_default().into(),
        account_enabled: enabled,
        user_type: None,
    }
}

fn entries(section: &str, v: &[&str]) -> Vec<SpecEntry> {
    v.iter()
        .enumerate()
        .map(|(i, s)| SpecEntry {
            value: s.to_string(),
            path: format!("assignments.{section}[{i}]"),
            at: Some(format!("spec.yaml:{}:7", 10 + i)),
        })
        .collect()
}

fn desired(users: &[&str], groups: &[&str], prune: bool) -> Desired {
    let mut d = crate::core::tests::kandji();
    d.assignments = Some(DesiredAssignments {
        required: Some(true),
        users: entries("users", users),
        groups: entries("groups", groups),
        role: None,
        prune,
    });
    d
}

/// The app and its service principal exist (converged app), no assignments yet.
fn tenant_with_app(d: &Desired) -> Observed {
    let empty = Observed {
        tenant_id: Some(crate::core::tests::TENANT_ID.into()),
        resources: vec![crate::core::tests::graph_lookup()],
        tier: Some(LicenseTier::P1),
        ..Observed::default()
    };
    let mut bare = d.clone();
    bare.assignments = None;
    let plan = diff(&bare, &empty).unwrap();
    simulate_apply(&empty, &plan).unwrap()
}

/// Lookups as the fetch would record them for `desired(["alice", "dave"], ["Mac Users"])`.
fn resolved(mut o: Observed, d: &Desired) -> Observed {
    let a = d.assignments.as_ref().unwrap();
    o.assignments.users = a
        .users
        .iter()
        .map(|e| match e.value.as_str() {
            "alice@contoso.com" => Some(user(ALICE, "alice@contoso.com", true)),
            "bob@contoso.com" => Some(user(BOB, "bob@contoso.com", true)),
            "dave@contoso.com" => Some(user(DAVE, "dave@contoso.com", false)),
            _ => None,
        })
        .collect();
    o.assignments.groups = a
        .groups
        .iter()
        .map(|e| match e.value.as_str() {
            "Mac Users" => vec![GroupHit {
                id: MAC.into(),
                display_name: "Mac Users".into(),
                description: None,
            }],
            "All Creatives" => vec![GroupHit {
                id: NESTED.into(),
                display_name: "All Creatives".into(),
                description: None,
            }],
            "Engineering" => vec![
                GroupHit {
                    id: "e0000000-0000-4000-8000-000000000001".into(),
                    display_name: "Engineering".into(),
                    description: Some("Seattle".into()),
                },
                GroupHit {
                    id: "e0000000-0000-4000-8000-000000000002".into(),
                    display_name: "Engineering".into(),
                    description: Some("Berlin".into()),
                },
            ],
            _ => vec![],
        })
        .collect();
    o.assignments.members.insert(
        MAC.into(),
        Members {
            users: vec![ALICE.into(), BOB.into()],
            groups: 0,
            others: 0,
        },
    );
    o.assignments.members.insert(
        NESTED.into(),
        Members {
            users: vec![],
            groups: 1,
            others: 0,
        },
    );
    o.principals = Principals::after_apply(a, &o.assignments);
    o
}

fn assignment_changes(p: &Plan) -> Vec<(Action, String)> {
    p.actionable()
        .filter(|c| c.object.kind == ObjectKind::AppRoleAssignment)
        .map(|c| (c.action, c.object.display.clone()))
        .collect()
}

#[test]
fn plan_adds_listed_principals_sets_required_and_outputs_group_ids() {
    let d = desired(
        &["alice@contoso.com", "dave@contoso.com"],
        &["Mac Users"],
        false,
    );
    let o = resolved(tenant_with_app(&d), &d);
    let p = diff(&d, &o).unwrap();
    assert_eq!(
        assignment_changes(&p),
        [
            (Action::Create, "user alice@contoso.com (alice)".to_string()),
            (Action::Create, "user dave@contoso.com (dave)".to_string()),
            (Action::Create, "group Mac Users".to_string()),
        ]
    );
    let create = p
        .changes
        .iter()
        .find(|c| c.object.display == "group Mac Users")
        .unwrap();
    assert_eq!(create.payload["principalId"], MAC);
    assert_eq!(create.payload["appRoleId"], DEFAULT_ACCESS_ROLE);
    assert_eq!(
        create.payload["resourceId"],
        json!(o.service_principal.as_ref().unwrap().id)
    );
    // The service principal gets appRoleAssignmentRequired.
    let sp = p
        .actionable()
        .find(|c| c.object.kind == ObjectKind::ServicePrincipal)
        .unwrap();
    assert_eq!(sp.action, Action::Update);
    assert_eq!(sp.payload, json!({"appRoleAssignmentRequired": true}));
    // Dave is disabled: a warning, not an error.
    assert!(p.notes.iter().any(|n| n.kind == NoteKind::Warning
        && n.message.contains("dave@contoso.com")
        && n.message.contains("disabled")));
    assert_eq!(
        p.outputs.assigned_groups,
        [AssignedGroup {
            display_name: "Mac Users".into(),
            id: MAC.into()
        }]
    );
    // The sign-in set: assigned users plus direct members of assigned groups.
    let ids: Vec<String> = o.principals.sign_in_user_ids().into_iter().collect();
    assert_eq!(ids, [ALICE, BOB, DAVE]);

    // After applying, a fresh plan is empty.
    let after = simulate_apply(&o, &p).unwrap();
    let again = diff(&d, &after).unwrap();
    assert!(!again.has_changes(), "{:#?}", again.changes);
}

#[test]
fn unlisted_assignments_are_removed_only_with_prune() {
    let d = desired(&["alice@contoso.com"], &[], false);
    let mut o = resolved(tenant_with_app(&d), &d);
    for (id, pid, ty, name) in [
        ("as-alice", ALICE, "User", "Alice"),
        ("as-bob", BOB, "User", "Bob"),
        ("as-mac", MAC, "Group", "Mac Users"),
        (
            "as-sp",
            "5e000000-0000-4000-8000-000000000009",
            "ServicePrincipal",
            "Some daemon",
        ),
    ] {
        o.assignments.existing.push(Assignment {
            id: id.into(),
            app_role_id: DEFAULT_ACCESS_ROLE.into(),
            principal_id: pid.into(),
            principal_type: ty.into(),
            principal_display_name: name.into(),
            resource_id: String::new(),
            resource_display_name: String::new(),
        });
    }
    o.service_principal
        .as_mut()
        .unwrap()
        .app_role_assignment_required = Some(true);
    let keep = diff(&d, &o).unwrap();
    assert!(!keep.has_changes(), "{:#?}", keep.changes);
    let note = keep
        .notes
        .iter()
        .find(|n| n.kind == NoteKind::Unmanaged)
        .unwrap();
    assert!(note.message.contains("2 assignment(s)"), "{}", note.message);
    assert!(note.message.contains("prune"));

    let d = desired(&["alice@contoso.com"], &[], true);
    let prune = diff(&d, &o).unwrap();
    assert_eq!(
        assignment_changes(&prune),
        [
            (Action::Delete, "group Mac Users".to_string()),
            (Action::Delete, "user Bob".to_string()),
        ]
    );
    assert!(
        prune
            .actionable()
            .all(|c| c.risks == [Risk::Removal] && c.object.id.is_some())
    );
    let after = simulate_apply(&o, &prune).unwrap();
    assert!(!diff(&d, &after).unwrap().has_changes());
    // The service principal's own assignment is never touched.
    assert!(after.assignments.existing.iter().any(|e| e.id == "as-sp"));
}

#[test]
fn unknown_and_ambiguous_principals_are_one_report_with_locations() {
    let d = desired(
        &["alice@contoso.com", "zed@contoso.com"],
        &["Engineering", "Nobody", "Mac Users"],
        false,
    );
    let o = resolved(tenant_with_app(&d), &d);
    let err = diff(&d, &o).unwrap_err().to_string();
    assert!(err.starts_with("3 user(s) or group(s)"), "{err}");
    assert!(
        err.contains("spec.yaml:11:7 (assignments.users[1]): no user `zed@contoso.com`"),
        "{err}"
    );
    assert!(err.contains("spec.yaml:10:7 (assignments.groups[0]): 2 groups are named `Engineering`: e0000000-0000-4000-8000-000000000001 (Seattle), e0000000-0000-4000-8000-000000000002 (Berlin)"), "{err}");
    assert!(
        err.contains("spec.yaml:11:7 (assignments.groups[1]): no group named `Nobody`"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn groups_on_the_free_tier_are_refused_at_plan_time() {
    let d = desired(&["alice@contoso.com"], &["Mac Users"], false);
    let mut o = resolved(tenant_with_app(&d), &d);
    o.tier = Some(LicenseTier::Free);
    let err = diff(&d, &o).unwrap_err().to_string();
    assert!(err.contains("Microsoft Entra ID Free"), "{err}");
    assert!(err.contains("\"Mac Users\""), "{err}");
    assert!(
        err.contains("spec.yaml:10:7 (assignments.groups[0])"),
        "{err}"
    );
    assert!(err.contains("users only on the entry-level tier"), "{err}");
    // Users alone are fine on the free tier.
    let d = desired(&["alice@contoso.com"], &[], false);
    let mut o = resolved(tenant_with_app(&d), &d);
    o.tier = Some(LicenseTier::Free);
    assert!(diff(&d, &o).is_ok());
}

#[test]
fn a_group_with_only_nested_groups_is_a_warning() {
    let d = desired(&[], &["All Creatives"], false);
    let o = resolved(tenant_with_app(&d), &d);
    let p = diff(&d, &o).unwrap();
    assert!(p.notes.iter().any(|n| n.kind == NoteKind::Warning
        && n.message.contains("All Creatives")
        && n.message.contains("nested")));
}

#[test]
fn on_a_new_app_the_assignments_wait_for_the_service_principal() {
    let d = desired(&["alice@contoso.com"], &[], false);
    let empty = Observed {
        tenant_id: Some(crate::core::tests::TENANT_ID.into()),
        resources: vec![crate::core::tests::graph_lookup()],
        tier: Some(LicenseTier::P1),
        ..Observed::default()
    };
    let o = resolved(empty, &d);
    let p = diff(&d, &o).unwrap();
    let sp = p
        .changes
        .iter()
        .find(|c| c.object.kind == ObjectKind::ServicePrincipal)
        .unwrap();
    assert_eq!(sp.action, Action::Create);
    assert_eq!(sp.payload["appRoleAssignmentRequired"], json!(true));
    let a = p
        .changes
        .iter()
        .find(|c| c.object.kind == ObjectKind::AppRoleAssignment)
        .unwrap();
    assert_eq!(a.payload["resourceId"], Value::Null);
    // The assignment comes after the service principal it needs.
    let pos = |k| p.changes.iter().position(|c| c.object.kind == k).unwrap();
    assert!(pos(ObjectKind::ServicePrincipal) < pos(ObjectKind::AppRoleAssignment));
    // Its resource is the service principal the same apply creates.
    assert_eq!(a.refs.len(), 1);
    assert_eq!(a.refs[0].at, "/resourceId");
    assert_eq!(a.refs[0].created_by.kind, ObjectKind::ServicePrincipal);
    let created = std::collections::BTreeMap::from([(
        ChangeId {
            kind: ObjectKind::ServicePrincipal,
            key: "kandji-passport".into(),
        },
        json!({"id": "sp-1"}),
    )]);
    let req = requests_of(a, &created, &o);
    assert_eq!(req.path(), "/servicePrincipals/sp-1/appRoleAssignedTo");
    assert!(crate::core::refs::resolve_refs(a, &Default::default()).is_err());
    let after = simulate_apply(&o, &p).unwrap();
    assert!(!diff(&d, &after).unwrap().has_changes());
}

#[test]
fn a_named_role_must_exist_on_the_app() {
    let mut d = desired(&["alice@contoso.com"], &[], false);
    d.assignments.as_mut().unwrap().role = Some("Admin".into());
    let o = resolved(tenant_with_app(&d), &d);
    let err = diff(&d, &o).unwrap_err().to_string();
    assert!(
        err.contains("`Admin`") && err.contains("defines no app roles"),
        "{err}"
    );
    let mut o = o;
    o.service_principal.as_mut().unwrap().app_roles = vec![Permission {
        id: "ad000000-0000-4000-8000-000000000001".into(),
        value: "Admin".into(),
        allowed_member_types: vec!["User".into()],
        description: String::new(),
    }];
    let p = diff(&d, &o).unwrap();
    let a = p
        .changes
        .iter()
        .find(|c| c.object.kind == ObjectKind::AppRoleAssignment)
        .unwrap();
    assert_eq!(
        a.payload["appRoleId"],
        "ad000000-0000-4000-8000-000000000001"
    );
    // Without `role`, an app with roles gets the default access role, with a warning.
    let mut plain = d.clone();
    plain.assignments.as_mut().unwrap().role = None;
    let p = diff(&plain, &o).unwrap();
    assert!(p.notes.iter().any(|n| n.kind == NoteKind::Warning
        && n.message.contains("`Admin`")
        && n.message.contains("assignments.role")));
}

#[test]
fn a_deleted_user_given_by_id_is_a_warning_not_an_error() {
    let d = desired(&["alice@contoso.com", DAVE], &[], false);
    let mut o = resolved(tenant_with_app(&d), &d);
    assert!(diff(&d, &o).is_err());
    o.assignments
        .deleted_users
        .insert(1, user(DAVE, "dave@contoso.com", true));
    let p = diff(&d, &o).unwrap();
    assert_eq!(
        assignment_changes(&p),
        [(Action::Create, "user alice@contoso.com (alice)".to_string())]
    );
    assert!(p.notes.iter().any(|n| n.kind == NoteKind::Warning
        && n.message.contains("dave@contoso.com")
        && n.message.contains("was deleted")
        && n.message.contains("spec.yaml:11:7 (assignments.users[1])")));
}

/// The one request of `change`, its references filled from `created`.
fn requests_of(
    change: &crate::core::plan::Change,
    created: &std::collections::BTreeMap<ChangeId, Value>,
    o: &Observed,
) -> entractl_graph::GraphRequest {
    let c = crate::core::refs::resolve_refs(change, created).unwrap();
    super::of(c.object.kind).requests(&c, o).unwrap().remove(0)
}
