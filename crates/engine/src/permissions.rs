//! The least-privileged Microsoft Graph application permissions a spec needs, to plan and to
//! apply: what every kind needs ([`Kind::permissions`](crate::core::kinds::Kind)) and what the
//! checks read ([`crate::core::checks`]), with the permission names from the resource modules of
//! `entractl_graph`.

pub use crate::core::kinds::{Needed, RequiredPermissions};

use crate::core::checks::password_sign_in;
use crate::core::desired::Desired;
use crate::core::kinds::KINDS;

/// The least-privileged application permissions for `desired` (Microsoft's permission tables).
pub fn required_permissions(desired: &Desired) -> RequiredPermissions {
    let mut needed = RequiredPermissions::default();
    for kind in KINDS {
        kind.permissions(desired, &mut needed);
    }
    password_sign_in::permissions(desired, &mut needed);
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
            ["Application.Read.All", "GroupMember.Read.All"]
        );
        assert_eq!(names(&p.apply), ["Application.ReadWrite.All"]);
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
}
