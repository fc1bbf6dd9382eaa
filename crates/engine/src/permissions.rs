//! The least-privileged Microsoft Graph application permissions a spec needs, to plan and to
//! apply: what every kind needs ([`Kind::permissions`](crate::core::kinds::Kind)) and what the
//! checks read ([`crate::core::checks`]), with the permission names from the resource modules of
//! `entractl_graph`.

pub use crate::core::kinds::{Needed, RequiredPermissions};

use entractl_graph::resource::application;
use entractl_graph::resource::authentication_requirements as requirements;
use entractl_graph::resource::conditional_access_policy as ca;
use entractl_graph::resource::group;
use entractl_graph::resource::security_defaults as sd;

use crate::core::checks::password_sign_in;
use crate::core::desired::Desired;
use crate::core::kinds::KINDS;
use crate::core::plan::{Action, ObjectKind, Plan};

/// The least-privileged application permissions for `desired` (Microsoft's permission tables).
pub fn required_permissions(desired: &Desired) -> RequiredPermissions {
    let mut needed = RequiredPermissions::default();
    for kind in KINDS {
        kind.permissions(desired, &mut needed);
    }
    password_sign_in::permissions(desired, &mut needed);
    needed
}

/// What applying `plan` needs: the spec's permissions, and those of the restores the plan makes
/// from entractl's record whatever the spec says now (a Web Login spec that takes back what a
/// Mac Login spec weakened writes per-user MFA, conditional access, security defaults and the
/// record; `destroy` deletes a placeholder app the spec no longer names).
pub fn for_plan(desired: &Desired, plan: &Plan) -> RequiredPermissions {
    let mut needed = required_permissions(desired);
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let restore = match c.object.kind {
            ObjectKind::SecurityDefaults => Some((
                sd::WRITE,
                "turn back on the security defaults entractl turned off (PATCH /policies/identitySecurityDefaultsEnforcementPolicy)",
            )),
            ObjectKind::PerUserMfa => Some((
                requirements::WRITE,
                "restore the per-user MFA state entractl turned off (PATCH beta /users/{id}/authentication/requirements)",
            )),
            ObjectKind::ConditionalAccessPolicy => Some((
                ca::WRITE,
                "take out of conditional access policies the exclusions entractl added (PATCH /identity/conditionalAccess/policies/{id})",
            )),
            ObjectKind::Record => Some((
                group::MEMBER_WRITE,
                "release entractl's record of what it restores (DELETE /groups/{id}/members/{id}/$ref)",
            )),
            ObjectKind::PlaceholderApplication => Some((
                application::UPDATE_OWNED,
                "delete the placeholder app entractl created (DELETE /applications/{id})",
            )),
            _ => None,
        };
        match restore {
            Some((p, why)) if !needed.apply.iter().any(|n| n.permission == p) => {
                needed.to_apply(p, why);
            }
            _ => {}
        }
    }
    needed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_adds_grant_permissions_and_adoption_needs_all() {
        let mut d = crate::core::tests::kandji();
        let p = required_permissions(&d);
        let names = |v: &[Needed]| v.iter().map(|n| n.permission).collect::<Vec<_>>();
        assert_eq!(
            names(&p.plan),
            [
                "Application.Read.All",
                "DelegatedPermissionGrant.Read.All",
                "Policy.Read.All",
                "GroupMember.Read.All"
            ]
        );
        assert_eq!(
            names(&p.apply),
            [
                "Application.ReadWrite.OwnedBy",
                "DelegatedPermissionGrant.ReadWrite.All"
            ]
        );
        d.app.admin_consent = None;
        d.app.identity.adopt_app_id = Some("9b1f0000-2222-4333-8444-000000000002".into());
        let p = required_permissions(&d);
        assert_eq!(
            names(&p.plan),
            [
                "Application.Read.All",
                "Policy.Read.All",
                "GroupMember.Read.All"
            ]
        );
        assert_eq!(names(&p.apply), ["Application.ReadWrite.All"]);
    }

    #[test]
    fn a_spec_that_weakens_nothing_needs_no_record_writes_unless_its_plan_restores() {
        use crate::core::plan::{Action, Change, ObjectRef};
        let d = crate::core::tests::kandji();
        assert!(d.mfa.is_none());
        let names = |v: &[Needed]| v.iter().map(|n| n.permission).collect::<Vec<_>>();
        let p = required_permissions(&d);
        for w in [group::CREATE, group::MEMBER_WRITE, requirements::WRITE] {
            assert!(!names(&p.apply).contains(&w), "{w}");
        }
        // Every plan reads the record, and what it takes to restore it.
        assert!(names(&p.plan).contains(&group::READ));
        assert!(names(&p.plan).contains(&requirements::READ));
        let change = |kind| {
            let object = ObjectRef {
                kind,
                key: "k".into(),
                display: "d".into(),
                id: Some("i".into()),
            };
            Change::new(object, Action::Update, "restore")
        };
        let plan = Plan {
            changes: vec![
                change(ObjectKind::PerUserMfa),
                change(ObjectKind::Record),
                change(ObjectKind::ConditionalAccessPolicy),
                change(ObjectKind::SecurityDefaults),
            ],
            ..Plan::default()
        };
        let p = for_plan(&d, &plan);
        for w in [
            group::MEMBER_WRITE,
            requirements::WRITE,
            ca::WRITE,
            sd::WRITE,
        ] {
            assert!(names(&p.apply).contains(&w), "{w}");
        }
        assert!(!names(&p.apply).contains(&group::CREATE));
        // A plan without restores needs what the spec needs.
        assert_eq!(for_plan(&d, &Plan::default()), required_permissions(&d));
    }

    #[test]
    fn mfa_adds_policy_permissions() {
        let mut d = crate::core::tests::kandji();
        d.mfa = Some(crate::core::desired::DesiredMfa {
            security_defaults: Some(false),
            per_user_mfa_disabled: true,
            conditional_access: Some(crate::core::desired::CaSelection::FromPoliciesRequiringMfa),
            ..Default::default()
        });
        let p = required_permissions(&d);
        let names = |v: &[Needed]| v.iter().map(|n| n.permission).collect::<Vec<_>>();
        assert!(names(&p.plan).contains(&"Policy.Read.All"));
        for w in [
            "Policy.ReadWrite.SecurityDefaults",
            "Policy.ReadWrite.AuthenticationMethod",
            "Policy.ReadWrite.ConditionalAccess",
        ] {
            assert!(names(&p.apply).contains(&w), "{w}");
        }
    }

    #[test]
    fn turning_security_defaults_off_needs_the_record_and_destroy_their_restore() {
        let names = |v: &[Needed]| v.iter().map(|n| n.permission).collect::<Vec<_>>();
        let mut d = crate::core::tests::kandji();
        d.mfa = Some(crate::core::desired::DesiredMfa {
            security_defaults: Some(false),
            ..Default::default()
        });
        let p = required_permissions(&d);
        for w in [
            group::CREATE,
            group::MEMBER_WRITE,
            group::SERVICE_PRINCIPAL_MEMBER_WRITE,
            sd::WRITE,
        ] {
            assert!(names(&p.apply).contains(&w), "{w}");
        }
        let p = required_permissions(&d.for_destroy(false));
        assert!(names(&p.apply).contains(&sd::WRITE));
        // Destroy only releases the record (DELETE .../members/{id}/$ref: GroupMember.ReadWrite.All).
        assert!(!names(&p.apply).contains(&group::SERVICE_PRINCIPAL_MEMBER_WRITE));
        assert!(names(&p.plan).contains(&sd::READ), "with the record");
        // Turning them on writes no record.
        d.mfa = Some(crate::core::desired::DesiredMfa {
            security_defaults: Some(true),
            ..Default::default()
        });
        let p = required_permissions(&d);
        assert!(!names(&p.apply).contains(&group::CREATE));
        // Records of users only (per-user MFA) add no service principal.
        d.mfa = Some(crate::core::desired::DesiredMfa {
            per_user_mfa_disabled: true,
            ..Default::default()
        });
        let p = required_permissions(&d);
        assert!(names(&p.apply).contains(&group::MEMBER_WRITE));
        assert!(!names(&p.apply).contains(&group::SERVICE_PRINCIPAL_MEMBER_WRITE));
    }

    /// Each read is listed once, with one reason: no two reasons of a permission name the same
    /// request (`GET /identity/conditionalAccess/policies` twice, …), for any part of the spec
    /// nor for destroy.
    #[test]
    fn one_reason_per_need() {
        use crate::core::desired::{CaSelection, DesiredMfa};
        let mut specs = vec![crate::core::tests::kandji()];
        for mfa in [
            DesiredMfa {
                security_defaults: Some(false),
                ..Default::default()
            },
            DesiredMfa {
                per_user_mfa_disabled: true,
                ..Default::default()
            },
            DesiredMfa {
                security_defaults: Some(false),
                per_user_mfa_disabled: true,
                conditional_access: Some(CaSelection::FromPoliciesRequiringMfa),
                ..Default::default()
            },
        ] {
            let mut d = crate::core::tests::kandji();
            d.mfa = Some(mfa);
            specs.push(d);
        }
        for d in specs.clone() {
            specs.push(d.for_destroy(false));
        }
        for d in &specs {
            let p = required_permissions(d);
            for n in p.plan.iter().chain(&p.apply) {
                let mut requests: Vec<&str> = n
                    .why
                    .split("; ")
                    .filter_map(|why| why.split_once(" (").map(|(_, r)| r))
                    .collect();
                let all = requests.len();
                requests.sort_unstable();
                requests.dedup();
                assert_eq!(requests.len(), all, "{}: {}", n.permission, n.why);
            }
        }
    }
}
