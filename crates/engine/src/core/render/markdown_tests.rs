//! The Markdown plan: snapshots of small plans, and the size bound on plans GitHub would refuse
//! whole (a 2,000-member group whose members all have per-user MFA, and worse).

use serde_json::json;

use super::*;
use crate::core::desired::DesiredMfa;
use crate::core::diff::diff;
use crate::core::observed::{
    CaObserved, Observed, ObservedMfa, ScopeUser, SignInScope, UserMfaState,
};
use crate::core::plan::{AssignedGroup, Note, NoteKind, Outputs, Plan, Unmanaged};

/// The Kandji spec planned against a tenant without the app: application, service principal
/// and grant to create.
fn create_plan() -> Plan {
    let observed = Observed {
        tenant_id: Some(crate::core::tests::TENANT_ID.into()),
        resources: vec![crate::core::tests::graph_lookup()],
        ..Observed::default()
    };
    diff(&crate::core::tests::kandji(), &observed).expect("plan")
}

/// `members` users of the group `Mac Users`, every one with per-user MFA `enforced`, and
/// security defaults on: the spec turns both off.
fn group_plan(members: usize) -> Plan {
    let users: Vec<ScopeUser> = (0..members)
        .map(|i| ScopeUser {
            id: format!("00000000-0000-4000-8000-{i:012}"),
            label: format!("mac.user{i:04}@contoso.onmicrosoft.com"),
        })
        .collect();
    let mfa = ObservedMfa {
        security_defaults: entractl_graph::resource::parse(&json!({"isEnabled": true})),
        scope: SignInScope {
            users: users.clone(),
            groups: vec!["Mac Users".into()],
        },
        per_user: users
            .into_iter()
            .map(|user| UserMfaState {
                user,
                state: "enforced".into(),
            })
            .collect(),
        conditional_access: CaObserved::NotRead,
        policy_groups_with_users: vec![],
    };
    let desired = DesiredMfa {
        security_defaults: Some(false),
        per_user_mfa_disabled: true,
        conditional_access: None,
        ..DesiredMfa::default()
    };
    let mut spec = crate::core::tests::kandji();
    spec.mfa = Some(desired);
    let observed = Observed {
        tenant_id: Some(crate::core::tests::TENANT_ID.into()),
        resources: vec![crate::core::tests::graph_lookup()],
        mfa: Some(mfa),
        ..Observed::default()
    };
    let mut plan = diff(&spec, &observed).expect("plan");
    plan.outputs.assigned_groups = vec![AssignedGroup {
        display_name: "Mac Users".into(),
        id: "5e1d0000-0000-4000-8000-000000000001".into(),
    }];
    plan
}

fn characters(s: &str) -> usize {
    s.chars().count()
}

#[test]
fn snapshot_create() {
    insta::assert_snapshot!(markdown(&create_plan()));
}

#[test]
fn snapshot_group_of_twelve_counts_the_users_in_the_table() {
    insta::assert_snapshot!(markdown(&group_plan(12)));
}

#[test]
fn a_two_thousand_member_group_fits_a_pull_request_comment() {
    let plan = group_plan(2_000);
    let per_user = plan
        .changes
        .iter()
        .filter(|c| c.object.kind == ObjectKind::PerUserMfa)
        .count();
    assert_eq!(per_user, 2_000);
    let full_text = super::super::text(&plan, false);
    assert!(
        full_text.len() > GITHUB_BODY_LIMIT,
        "the plan itself is big"
    );

    let md = markdown(&plan);
    assert!(md.len() <= DEFAULT_LIMIT, "{} bytes", md.len());
    assert!(characters(&md) < GITHUB_BODY_LIMIT);
    // The summary table counts the users in one row and comes first.
    let table = md.find("| ✏️ | perUserMfa × 2,000 | update | `security-downgrade` |");
    let details = md.find("<details>");
    assert!(
        table.is_some() && details.is_some() && table < details,
        "{md}"
    );
    // The first users are shown, the others counted, and the full plan is named.
    assert!(md.contains("<code>perUserMfa</code>: 2,000 changes, the first 20"));
    assert!(md.contains("! perUserMfa \"mac.user0000@contoso.onmicrosoft.com\""));
    assert!(md.contains("! perUserMfa \"mac.user0019@contoso.onmicrosoft.com\""));
    assert!(!md.contains("mac.user0020@"));
    assert!(md.contains("**Not shown here**"));
    assert!(md.contains("1,980 `perUserMfa` change details"));
    assert!(md.contains("--out plan.json"));
    // The outputs are still there.
    assert!(md.contains("| Mac Users | `5e1d0000-0000-4000-8000-000000000001` |"));
}

/// Every part at its worst: thousands of changes of every kind with long names and fields,
/// notes, unmanaged properties and assigned groups. Still within the bound.
#[test]
fn the_bound_holds_for_every_part_at_once() {
    let mut plan = group_plan(3_000);
    let long = "x".repeat(400);
    let template = plan.changes[0].clone();
    for kind in [
        ObjectKind::Application,
        ObjectKind::ServicePrincipal,
        ObjectKind::OAuth2PermissionGrant,
        ObjectKind::AppRoleAssignment,
        ObjectKind::ConditionalAccessPolicy,
        ObjectKind::SecurityDefaults,
    ] {
        for i in 0..1_000 {
            let mut c = template.clone();
            c.object.kind = kind;
            c.object.display = format!("{long} {i} | <b>```");
            c.object.key = format!("key {i}");
            c.fields = vec![crate::core::plan::FieldChange {
                path: "web.redirectUris".into(),
                before: json!(
                    (0..50)
                        .map(|j| format!("https://{j}.example.com/{long}"))
                        .collect::<Vec<_>>()
                ),
                after: json!([]),
            }];
            plan.changes.push(c);
        }
    }
    for i in 0..2_000 {
        plan.notes.push(Note {
            kind: NoteKind::Warning,
            risks: Vec::new(),
            message: format!("note {i} {long}"),
        });
        plan.unmanaged.push(Unmanaged {
            object: ObjectKind::Application,
            path: format!("tags[{i}]"),
            current: json!(long),
        });
        plan.outputs.assigned_groups.push(AssignedGroup {
            display_name: format!("group {i} {long}"),
            id: format!("00000000-0000-4000-8000-{i:012}"),
        });
    }
    let md = markdown(&plan);
    assert!(md.len() <= DEFAULT_LIMIT, "{} bytes", md.len());
    assert!(md.contains("**Not shown here**"));
    assert!(md.contains("1,951 more assigned groups"));
    // Backticks in names never close the diff block early.
    assert!(
        md.contains("````diff"),
        "a longer fence around triple backticks"
    );
}

#[test]
fn smaller_limits_hold_too() {
    let plan = group_plan(2_000);
    for limit in [20_000, 30_000, 45_000] {
        let md = markdown_within(&plan, limit);
        assert!(md.len() <= limit, "{limit}: {} bytes", md.len());
    }
}

#[test]
fn markers_are_in_column_one_of_the_diff_blocks() {
    let md = markdown(&group_plan(3));
    let mut in_diff = false;
    let mut marked = 0;
    for line in md.lines() {
        if line.ends_with("diff") && line.starts_with("```") {
            in_diff = true;
            continue;
        }
        if line.starts_with("```") {
            in_diff = false;
            continue;
        }
        if in_diff && !line.is_empty() {
            let first = line.chars().next().unwrap_or(' ');
            assert!(
                matches!(first, '+' | '-' | '!' | ' '),
                "`{line}`: a marker or context in column one"
            );
            marked += usize::from(first != ' ');
        }
    }
    assert!(marked > 6, "{md}");
}

#[test]
fn no_changes_has_no_details_and_no_omission_line() {
    let plan = Plan {
        tenant: "contoso.onmicrosoft.com".into(),
        cloud: "public".into(),
        changes: vec![],
        notes: vec![],
        unmanaged: vec![],
        outputs: Outputs::default(),
        sign_in_forecast: None,
    };
    let md = markdown(&plan);
    assert!(md.contains("No changes: the tenant matches the spec."));
    assert!(!md.contains("<details>") && !md.contains("Not shown"));
}
