//! Application permissions granted by admin consent: grant what the spec declares, revoke what
//! it does not, `adminConsent: false` revokes all, simulate → empty plan, the renderings.

use entractl_graph::resource::parse;
use entractl_graph::resource::service_principal::Permission;
use serde_json::{Value, json};

use crate::core::desired::Desired;
use crate::core::diff::diff;
use crate::core::error::PlanError;
use crate::core::observed::{AppRoleAssignment, Observed};
use crate::core::plan::{Action, ChangeId, ObjectKind, Plan, Risk};
use crate::core::render::{Format, render};
use crate::core::simulate::simulate_apply;
use crate::core::tests::{converged, empty_tenant, graph_sp, kandji};
use crate::permissions::required_permissions;

const KIND: ObjectKind = ObjectKind::ApplicationPermissionGrant;
const USER_READ_ALL: &str = "df021288-bdef-4463-88db-98f22de89214";
const GROUP_READ_ALL: &str = "5b567255-7703-4780-807c-7be8301ae99b";

/// The seed spec with application permissions of Microsoft Graph.
fn desired(roles: &[&str]) -> Desired {
    let mut d = kandji();
    d.app.api_permissions.as_mut().unwrap()[0].application =
        roles.iter().map(|r| r.to_string()).collect();
    d
}

/// An application permission granted to the converged app's service principal.
fn grant(id: &str, resource: &str, role: &str, resource_name: &str) -> AppRoleAssignment {
    let sp = converged().service_principal.unwrap();
    parse::<AppRoleAssignment>(&json!({
        "id": id, "appRoleId": role.to_uppercase(), "principalId": sp.id.to_uppercase(),
        "principalType": "ServicePrincipal", "principalDisplayName": "Kandji Passport",
        "resourceId": resource, "resourceDisplayName": resource_name,
    }))
    .unwrap()
}

/// `converged()` with these application permissions granted and declared in the app
/// registration (so only the grants differ).
fn granted(d: &Desired, grants: Vec<AppRoleAssignment>) -> Observed {
    let mut o = converged();
    let bare = diff(d, &o).unwrap();
    let app_only = Plan {
        changes: bare
            .changes
            .into_iter()
            .filter(|c| c.object.kind == ObjectKind::Application)
            .collect(),
        ..bare
    };
    o = simulate_apply(&o, &app_only).unwrap();
    o.app_role_grants = grants;
    o
}

fn of_kind(p: &Plan) -> Vec<(Action, String)> {
    p.changes
        .iter()
        .filter(|c| c.object.kind == KIND)
        .map(|c| (c.action, c.object.key.clone()))
        .collect()
}

fn assert_converges(d: &Desired, o: &Observed) {
    let plan = diff(d, o).unwrap();
    let after = simulate_apply(o, &plan).unwrap();
    let again = diff(d, &after).unwrap();
    assert!(
        !again.has_changes(),
        "{}",
        render(&again, Format::Text, false)
    );
}

#[test]
fn a_declared_application_permission_is_granted_to_the_apps_service_principal() {
    let d = desired(&["User.Read.All"]);
    let o = granted(&d, vec![]);
    let plan = diff(&d, &o).unwrap();
    let c: Vec<_> = plan.actionable().collect();
    assert_eq!(c.len(), 1, "{}", render(&plan, Format::Text, false));
    let c = c[0];
    assert_eq!(c.object.kind, KIND);
    assert_eq!(c.action, Action::Create);
    assert_eq!(
        c.object.key,
        "kandji-passport → Microsoft Graph: User.Read.All"
    );
    assert_eq!(c.risks, [Risk::TenantWideConsent]);
    let sp = o.service_principal.as_ref().unwrap();
    assert_eq!(
        c.payload,
        json!({"principalId": sp.id, "resourceId": graph_sp().id, "appRoleId": USER_READ_ALL})
    );
    assert!(c.refs.is_empty());
    assert!(c.reason.contains("no signed-in user"), "{}", c.reason);
    assert!(
        c.reason
            .contains("Allows the app to read user profiles without a signed in user."),
        "{}",
        c.reason
    );
    assert_converges(&d, &o);
}

#[test]
fn a_granted_permission_is_a_no_op_and_matches_whatever_the_guid_case() {
    let d = desired(&["User.Read.All"]);
    let o = granted(
        &d,
        vec![grant(
            "g1",
            &graph_sp().id.to_uppercase(),
            USER_READ_ALL,
            "Microsoft Graph",
        )],
    );
    let plan = diff(&d, &o).unwrap();
    assert!(
        !plan.has_changes(),
        "{}",
        render(&plan, Format::Text, false)
    );
    assert_eq!(
        of_kind(&plan),
        [(
            Action::NoOp,
            "kandji-passport → Microsoft Graph: User.Read.All".to_string()
        )]
    );
}

#[test]
fn on_a_new_app_the_grant_waits_for_the_service_principal() {
    let d = desired(&["User.Read.All"]);
    let plan = diff(&d, &empty_tenant()).unwrap();
    let kinds: Vec<ObjectKind> = plan.actionable().map(|c| c.object.kind).collect();
    assert_eq!(
        kinds,
        [
            ObjectKind::Application,
            ObjectKind::ServicePrincipal,
            ObjectKind::OAuth2PermissionGrant,
            KIND
        ]
    );
    let c = plan.changes.iter().find(|c| c.object.kind == KIND).unwrap();
    assert_eq!(c.payload["principalId"], Value::Null);
    assert_eq!(c.refs.len(), 1);
    assert_eq!(c.refs[0].at, "/principalId");
    assert_eq!(
        c.refs[0].created_by,
        ChangeId {
            kind: ObjectKind::ServicePrincipal,
            key: "kandji-passport".into()
        }
    );
    assert_converges(&d, &empty_tenant());
}

#[test]
fn a_permission_the_spec_drops_or_never_named_is_revoked() {
    let d = desired(&["User.Read.All"]);
    let o = granted(
        &d,
        vec![
            grant("g1", &graph_sp().id, USER_READ_ALL, "Microsoft Graph"),
            grant("g2", &graph_sp().id, GROUP_READ_ALL, "Microsoft Graph"),
            grant(
                "g3",
                "0b5e0000-0000-4000-8000-00000000e0e0",
                "dc50a0fb-09a3-484d-be87-e023b12c6440",
                "Office 365 Exchange Online",
            ),
        ],
    );
    let plan = diff(&d, &o).unwrap();
    let deletes: Vec<_> = plan
        .actionable()
        .filter(|c| c.object.kind == KIND)
        .collect();
    assert_eq!(deletes.len(), 2, "{}", render(&plan, Format::Text, false));
    assert!(deletes.iter().all(|c| c.action == Action::Delete));
    assert!(deletes.iter().all(|c| c.risks == [Risk::Removal]));
    assert_eq!(
        deletes[0].object.key,
        "kandji-passport → Microsoft Graph: Group.Read.All"
    );
    assert!(deletes[0].reason.contains("does not declare"));
    assert_eq!(
        deletes[1].object.key,
        "kandji-passport → Office 365 Exchange Online: dc50a0fb-09a3-484d-be87-e023b12c6440"
    );
    assert!(deletes[1].reason.contains("does not name"));
    assert_converges(&d, &o);
}

#[test]
fn admin_consent_false_revokes_every_application_permission() {
    let mut d = desired(&["User.Read.All"]);
    d.app.admin_consent = Some(false);
    let o = granted(
        &d,
        vec![grant(
            "g1",
            &graph_sp().id,
            USER_READ_ALL,
            "Microsoft Graph",
        )],
    );
    let plan = diff(&d, &o).unwrap();
    let c = plan.changes.iter().find(|c| c.object.kind == KIND).unwrap();
    assert_eq!(c.action, Action::Delete);
    assert!(c.reason.contains("adminConsent: false"), "{}", c.reason);
    assert_converges(&d, &o);
}

#[test]
fn unmanaged_consent_leaves_the_grants_alone() {
    let mut d = desired(&[]);
    d.app.admin_consent = None;
    let o = granted(
        &d,
        vec![grant(
            "g1",
            &graph_sp().id,
            USER_READ_ALL,
            "Microsoft Graph",
        )],
    );
    assert!(of_kind(&diff(&d, &o).unwrap()).is_empty());
}

#[test]
fn an_app_role_for_users_only_is_not_an_application_permission() {
    let d = desired(&["Approver"]);
    let mut o = converged();
    o.resources[0].found[0].app_roles.push(Permission {
        id: "a0000000-0000-4000-8000-000000000001".into(),
        value: "Approver".into(),
        allowed_member_types: vec!["User".into()],
        description: String::new(),
    });
    let err = diff(&d, &o).unwrap_err();
    assert!(matches!(err, PlanError::UnknownPermissions(_)), "{err}");
}

#[test]
fn granting_needs_app_role_assignment_write_and_reading_needs_application_read() {
    let names =
        |v: &[crate::permissions::Needed]| v.iter().map(|n| n.permission).collect::<Vec<_>>();
    let p = required_permissions(&desired(&["User.Read.All"]));
    assert!(names(&p.apply).contains(&"AppRoleAssignment.ReadWrite.All"));
    let read = p
        .plan
        .iter()
        .find(|n| n.permission == "Application.Read.All")
        .unwrap();
    assert!(read.why.contains("appRoleAssignments"), "{}", read.why);
    let p = required_permissions(&desired(&[]));
    assert!(!names(&p.apply).contains(&"AppRoleAssignment.ReadWrite.All"));
}

/// A grant to make, one to revoke: the plan every rendering shows.
fn grant_and_revoke() -> (Desired, Observed) {
    let d = desired(&["User.Read.All"]);
    let o = granted(
        &d,
        vec![grant(
            "g2",
            &graph_sp().id,
            GROUP_READ_ALL,
            "Microsoft Graph",
        )],
    );
    (d, o)
}

#[test]
fn snapshot_text_application_permissions() {
    let (d, o) = grant_and_revoke();
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Text, false));
}

#[test]
fn snapshot_json_application_permissions() {
    let (d, o) = grant_and_revoke();
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Json, false));
}

#[test]
fn snapshot_markdown_application_permissions() {
    let (d, o) = grant_and_revoke();
    insta::assert_snapshot!(render(&diff(&d, &o).unwrap(), Format::Markdown, false));
}
