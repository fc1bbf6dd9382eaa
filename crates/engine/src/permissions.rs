//! The least-privileged Microsoft Graph application permissions a spec needs, to plan and to apply.

use serde::Serialize;

use crate::desired::Desired;

/// One permission and why it is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Needed {
    pub permission: &'static str,
    pub why: String,
}

/// Permissions to plan (read only) and to apply (read and write).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequiredPermissions {
    pub plan: Vec<Needed>,
    pub apply: Vec<Needed>,
    /// Spec sections this version does not apply (their permissions are not listed).
    pub not_covered: Vec<String>,
}

/// The least-privileged application permissions for `desired` (Microsoft's permission tables).
pub fn required_permissions(desired: &Desired) -> RequiredPermissions {
    let consent = desired.app.admin_consent.is_some() && desired.app.api_permissions.is_some();
    let mut plan = vec![Needed {
        permission: "Application.Read.All",
        why: "find the application, its service principal and the APIs named in apiPermissions (GET /applications, /servicePrincipals)".into(),
    }];
    if consent {
        plan.push(Needed {
            permission: "DelegatedPermissionGrant.Read.All",
            why: "read the app's tenant-wide delegated grants (GET /oauth2PermissionGrants)".into(),
        });
    }
    let mut apply = vec![if desired.app.identity.adopt_app_id.is_some() {
        Needed {
            permission: "Application.ReadWrite.All",
            why: "update an adopted application and its service principal that entractl's identity does not own (Application.ReadWrite.OwnedBy suffices once it is an owner)".into(),
        }
    } else {
        Needed {
            permission: "Application.ReadWrite.OwnedBy",
            why: "create the application (entractl's identity becomes its owner), update it, and create its service principal; it also allows the reads of plan".into(),
        }
    }];
    if consent {
        apply.push(Needed {
            permission: "DelegatedPermissionGrant.ReadWrite.All",
            why: "grant admin consent (POST/PATCH/DELETE /oauth2PermissionGrants); this permission can grant any delegated permission: keep the identity's secret or federation tight".into(),
        });
    }
    if let Some(a) = &desired.assignments {
        crate::assignments::required_permissions(a, &mut plan, &mut apply);
    }
    if let Some(m) = &desired.mfa {
        crate::mfa::posture::required_permissions(m, &mut plan, &mut apply);
    }
    RequiredPermissions {
        plan,
        apply,
        not_covered: desired.not_yet_applied.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_adds_grant_permissions_and_adoption_needs_all() {
        let mut d = crate::tests::kandji();
        let p = required_permissions(&d);
        let names = |v: &[Needed]| v.iter().map(|n| n.permission).collect::<Vec<_>>();
        assert_eq!(
            names(&p.plan),
            ["Application.Read.All", "DelegatedPermissionGrant.Read.All"]
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
        assert_eq!(names(&p.plan), ["Application.Read.All"]);
        assert_eq!(names(&p.apply), ["Application.ReadWrite.All"]);
    }

    #[test]
    fn mfa_adds_policy_permissions() {
        let mut d = crate::tests::kandji();
        d.mfa = Some(crate::mfa::posture::DesiredMfa {
            security_defaults: Some(false),
            per_user_mfa_disabled: true,
            conditional_access: Some(crate::mfa::posture::CaSelection::FromPoliciesRequiringMfa),
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
