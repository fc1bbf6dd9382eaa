use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::core::plan::{Action, ChangeId, CreatedRef, ObjectRef, Outputs};

fn change(kind: ObjectKind, key: &str, action: Action) -> Change {
    Change::new(
        ObjectRef {
            kind,
            key: key.into(),
            display: key.into(),
            id: None,
        },
        action,
        "test",
    )
}

fn referencing(mut c: Change, kind: ObjectKind, key: &str) -> Change {
    c.refs.push(CreatedRef {
        at: "/x".into(),
        created_by: ChangeId {
            kind,
            key: key.into(),
        },
        property: "id".into(),
    });
    c
}

/// `c` with a change of a policy's `conditions.users.<list>` from `before` to `after`.
fn excluding(mut c: Change, list: &str, before: &[&str], after: &[&str]) -> Change {
    c.fields.push(crate::core::plan::FieldChange {
        path: format!("conditions.users.{list}"),
        before: serde_json::json!(before),
        after: serde_json::json!(after),
    });
    c
}

fn plan(changes: Vec<Change>) -> Plan {
    Plan {
        tenant: "t".into(),
        cloud: "public".into(),
        changes,
        notes: vec![],
        unmanaged: vec![],
        outputs: Outputs::default(),
        sign_in_forecast: None,
    }
}

/// Each step's kind and the kinds it waits for (plans without record removals: one step per
/// kind).
fn waits(p: &Plan) -> BTreeMap<ObjectKind, BTreeSet<ObjectKind>> {
    let s = steps(p);
    let of_rank: BTreeMap<u8, ObjectKind> = s.iter().map(|s| (s.rank, s.kind.kind())).collect();
    s.iter()
        .map(|s| (s.kind.kind(), s.after.iter().map(|r| of_rank[r]).collect()))
        .collect()
}

use ObjectKind::*;

#[test]
fn from_an_empty_tenant_only_the_created_objects_are_waited_for() {
    let p = plan(vec![
        referencing(
            change(ConditionalAccessPolicy, "p1", Action::Update),
            Application,
            "app",
        ),
        referencing(
            change(ConditionalAccessPolicy, "p2", Action::Update),
            Application,
            "app",
        ),
        change(PerUserMfa, "carol", Action::Update),
        change(SecurityDefaults, "sd", Action::Update),
        referencing(
            change(AppRoleAssignment, "alice", Action::Create),
            ServicePrincipal,
            "app",
        ),
        referencing(
            change(OAuth2PermissionGrant, "graph", Action::Create),
            ServicePrincipal,
            "app",
        ),
        referencing(
            change(ServicePrincipal, "app", Action::Create),
            Application,
            "app",
        ),
        change(Application, "app", Action::Create),
    ]);
    let w = waits(&p);
    let set = |k: &[ObjectKind]| k.iter().copied().collect::<BTreeSet<_>>();
    assert_eq!(w[&Application], set(&[]));
    assert_eq!(w[&ServicePrincipal], set(&[Application]));
    assert_eq!(w[&OAuth2PermissionGrant], set(&[ServicePrincipal]));
    assert_eq!(w[&AppRoleAssignment], set(&[ServicePrincipal]));
    // Beside the chain: per-user MFA and security defaults wait for nothing, the exclusions
    // only for the application's appId.
    assert_eq!(w[&SecurityDefaults], set(&[]));
    assert_eq!(w[&PerUserMfa], set(&[]));
    assert_eq!(w[&ConditionalAccessPolicy], set(&[Application]));
    // One step per kind, in rank order, with every change of the kind.
    let s = steps(&p);
    let kinds: Vec<ObjectKind> = s.iter().map(|s| s.kind.kind()).collect();
    let mut sorted = kinds.clone();
    sorted.sort_by_key(|k| k.rank());
    assert_eq!(kinds, sorted);
    assert_eq!(s.last().unwrap().changes.len(), 2);
}

#[test]
fn kinds_wait_only_for_kinds_the_plan_changes() {
    // The application exists: its service principal is created at once, the grant after it.
    let p = plan(vec![
        change(ServicePrincipal, "app", Action::Create),
        referencing(
            change(OAuth2PermissionGrant, "graph", Action::Create),
            ServicePrincipal,
            "app",
        ),
        change(ConditionalAccessPolicy, "p1", Action::Update),
        change(Application, "app", Action::NoOp),
    ]);
    let w = waits(&p);
    assert!(w[&ServicePrincipal].is_empty());
    assert!(w[&ConditionalAccessPolicy].is_empty());
    assert_eq!(w[&OAuth2PermissionGrant].len(), 1);
    assert!(!w.contains_key(&Application), "no-ops are not sent");
}

#[test]
fn one_after_another_waits_for_every_kind_before() {
    let p = plan(vec![
        change(Application, "app", Action::Create),
        change(PerUserMfa, "carol", Action::Update),
        change(SecurityDefaults, "sd", Action::Update),
    ]);
    let mut s = steps(&p);
    one_after_another(&mut s);
    let w: Vec<BTreeSet<u8>> = s.into_iter().map(|s| s.after).collect();
    let ranks = |k: &[ObjectKind]| k.iter().map(|k| k.rank()).collect::<BTreeSet<_>>();
    assert!(w[0].is_empty());
    assert_eq!(w[1], ranks(&[Application]));
    assert_eq!(w[2], ranks(&[Application, SecurityDefaults]));
}

#[test]
fn records_are_written_before_the_downgrades_and_removed_after_the_restores() {
    // Mac Login for a new user (record, then per-user MFA off and an identity exclusion) while
    // another user's record is removed after their per-user MFA is turned back on.
    let p = plan(vec![
        change(PerUserMfa, "carol", Action::Update),
        change(PerUserMfa, "dave", Action::Update),
        excluding(
            change(ConditionalAccessPolicy, "p1", Action::Update),
            "excludeUsers",
            &[],
            &["carol"],
        ),
        referencing(change(Record, "carol", Action::Create), RecordGroup, "mfa"),
        change(Record, "dave", Action::Delete),
        change(RecordGroup, "mfa", Action::Create),
    ]);
    let s = steps(&p);
    let by_rank: BTreeMap<u8, &Step<'_>> = s.iter().map(|s| (s.rank, s)).collect();
    let ranks = |k: &[ObjectKind]| k.iter().map(|k| k.rank()).collect::<BTreeSet<_>>();
    assert_eq!(by_rank[&Record.rank()].after, ranks(&[RecordGroup]));
    assert_eq!(by_rank[&PerUserMfa.rank()].after, ranks(&[Record]));
    assert_eq!(
        by_rank[&ConditionalAccessPolicy.rank()].after,
        ranks(&[Record])
    );
    let last = s.last().unwrap();
    assert_eq!((last.rank, last.kind.kind()), (TEARDOWN + 4, Record));
    assert_eq!(
        last.after,
        ranks(&[RecordGroup, Record, PerUserMfa, ConditionalAccessPolicy])
    );
    assert_eq!(
        last.changes.len(),
        1,
        "only the removal waits for the restores"
    );
}

#[test]
fn destroy_deletes_service_principals_then_applications_then_record_groups_after_all_else() {
    use ObjectKind::*;
    let p = plan(vec![
        change(Application, "app", Action::Delete),
        change(ServicePrincipal, "app", Action::Delete),
        change(AppRoleAssignment, "alice", Action::Delete),
        change(OAuth2PermissionGrant, "graph", Action::Delete),
        change(PerUserMfa, "carol", Action::Update),
        change(ConditionalAccessPolicy, "p1", Action::Update),
        change(PlaceholderApplication, "ph", Action::Delete),
        change(PlaceholderServicePrincipal, "ph", Action::Delete),
        change(RecordGroup, "mfa", Action::Delete),
    ]);
    let s = steps(&p);
    let order: Vec<(ObjectKind, u8)> = s.iter().map(|s| (s.kind.kind(), s.rank)).collect();
    assert_eq!(
        order[order.len() - 5..],
        [
            (ServicePrincipal, TEARDOWN),
            (PlaceholderServicePrincipal, TEARDOWN + 1),
            (Application, TEARDOWN + 2),
            (PlaceholderApplication, TEARDOWN + 3),
            (RecordGroup, TEARDOWN + 5),
        ]
    );
    let by_kind = |k: ObjectKind| s.iter().find(|s| s.kind.kind() == k).unwrap();
    // The service principal goes once its assignments and grants are gone and every restore is
    // made; the application after it; the record groups after everything.
    let sp = by_kind(ServicePrincipal);
    for k in [
        AppRoleAssignment,
        OAuth2PermissionGrant,
        PerUserMfa,
        ConditionalAccessPolicy,
    ] {
        assert!(sp.after.contains(&k.rank()), "{k}");
    }
    assert!(by_kind(Application).after.contains(&TEARDOWN));
    let last = s.last().unwrap();
    assert_eq!(last.after.len(), s.len() - 1);
    // Nothing of a lower rank waits for a deletion.
    for st in s.iter().filter(|s| s.rank < TEARDOWN) {
        assert!(st.after.iter().all(|r| *r < TEARDOWN), "{}", st.kind.kind());
    }
}

#[test]
fn an_exclusion_waits_for_the_record_only_when_it_adds_users_or_groups() {
    let record_wait = |policy: Change| {
        let p = plan(vec![
            referencing(policy, Application, "app"),
            change(Application, "app", Action::Create),
            change(RecordGroup, "mfa", Action::Create),
            referencing(change(Record, "carol", Action::Create), RecordGroup, "mfa"),
            change(PerUserMfa, "carol", Action::Update),
        ]);
        waits(&p)[&ConditionalAccessPolicy].contains(&Record)
    };
    let policy = || change(ConditionalAccessPolicy, "p1", Action::Update);
    // Passport's app exclusion: only the appId of the application created in the same apply.
    assert!(!record_wait(policy()));
    // A restore shortens the list: nothing to record.
    assert!(!record_wait(excluding(
        policy(),
        "excludeUsers",
        &["carol", "bob"],
        &["bob"]
    )));
    // The identity remedy adds a user or a group: recorded first.
    assert!(record_wait(excluding(
        policy(),
        "excludeUsers",
        &["bob"],
        &["bob", "carol"]
    )));
    assert!(record_wait(excluding(
        policy(),
        "excludeGroups",
        &[],
        &["g1"]
    )));
}
