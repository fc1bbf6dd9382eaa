//! The one table of Graph operation → accepted permissions, from the "Permissions" section of each
//! operation's page in Microsoft's Graph docs (`microsoft-graph-docs-contrib/api-reference/v1.0/api/*.md`,
//! and `beta` for authentication requirements). Each entry lists alternatives; an alternative is a set of
//! permissions that must all be present (e.g. `appRoleAssignedTo` create needs AppRoleAssignment.ReadWrite.All
//! *and* Application.Read.All). App-only tokens are checked against `roles`, delegated ones against `scp`.

/// Accepted permission sets for one operation.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// HTTP method.
    pub method: &'static str,
    /// Path template without the version (`/applications/{id}`).
    pub template: &'static str,
    /// Alternatives; each inner slice must be fully granted.
    pub accepted: &'static [&'static [&'static str]],
}

const APP_READ: &[&[&str]] = &[
    &["Application.Read.All"],
    &["Application.ReadWrite.OwnedBy"],
    &["Application.ReadWrite.All"],
    &["Directory.Read.All"],
    &["Directory.ReadWrite.All"],
];
const APP_CREATE: &[&[&str]] = &[
    &["AppRegistration.Create"],
    &["Application.ReadWrite.OwnedBy"],
    &["Application.ReadWrite.All"],
];
const APP_WRITE: &[&[&str]] = &[
    &["Application.ReadWrite.OwnedBy"],
    &["Application.ReadWrite.All"],
];
const ARA_READ: &[&[&str]] = &[
    &["Application.Read.All"],
    &["Application.ReadWrite.All"],
    &["Directory.Read.All"],
    &["AppRoleAssignment.ReadWrite.All"],
];
const ARA_CREATE: &[&[&str]] = &[
    &["AppRoleAssignment.ReadWrite.All", "Application.Read.All"],
    &[
        "AppRoleAssignment.ReadWrite.All",
        "Application.ReadWrite.All",
    ],
    &["AppRoleAssignment.ReadWrite.All", "Directory.Read.All"],
];
const ARA_DELETE: &[&[&str]] = &[&["AppRoleAssignment.ReadWrite.All"]];
const GRANT_READ: &[&[&str]] = &[
    &["Directory.Read.All"],
    &["DelegatedPermissionGrant.Read.All"],
    &["DelegatedPermissionGrant.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
];
const GRANT_WRITE: &[&[&str]] = &[&["DelegatedPermissionGrant.ReadWrite.All"]];
const USER_READ: &[&[&str]] = &[
    &["User.Read.All"],
    &["User.ReadBasic.All"],
    &["User.ReadWrite.All"],
    &["Directory.Read.All"],
    &["Directory.ReadWrite.All"],
];
const USER_WRITE: &[&[&str]] = &[&["User.ReadWrite.All"], &["Directory.ReadWrite.All"]];
const GROUP_READ: &[&[&str]] = &[
    &["Group.Read.All"],
    &["GroupMember.Read.All"],
    &["Group.ReadWrite.All"],
    &["Directory.Read.All"],
    &["Directory.ReadWrite.All"],
];
const GROUP_CREATE: &[&[&str]] = &[
    &["Group.Create"],
    &["Group.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
];
/// `group-delete.md`: Group.ReadWrite.All is the least privileged application permission.
const GROUP_DELETE: &[&[&str]] = &[&["Group.ReadWrite.All"], &["Directory.ReadWrite.All"]];
const MEMBER_WRITE: &[&[&str]] = &[
    &["GroupMember.ReadWrite.All"],
    &["Group.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
];
/// `group-post-members.md`, per member type: "[servicePrincipal](../resources/group.md) |
/// GroupMember.ReadWrite.All and Application.ReadWrite.All"; Directory.ReadWrite.All writes both.
const SP_MEMBER_ADD: &[&[&str]] = &[
    &["GroupMember.ReadWrite.All", "Application.ReadWrite.All"],
    &["Group.ReadWrite.All", "Application.ReadWrite.All"],
    &["Directory.ReadWrite.All"],
];
const ORG_READ: &[&[&str]] = &[
    &["Organization.Read.All"],
    &["Organization.ReadWrite.All"],
    &["Directory.Read.All"],
    &["Directory.ReadWrite.All"],
];
const POLICY_READ: &[&[&str]] = &[
    &["Policy.Read.All"],
    &["Policy.ReadWrite.ConditionalAccess"],
];
const CA_WRITE: &[&[&str]] = &[
    &["Policy.ReadWrite.ConditionalAccess", "Application.Read.All"],
    &["Policy.ReadWrite.ConditionalAccess", "Policy.Read.All"],
];
const CA_DELETE: &[&[&str]] = &[&["Policy.ReadWrite.ConditionalAccess"]];
/// What-If and the conditional access settings (graph-docs `conditionalaccessroot-evaluate.md`,
/// beta `conditionalAccessSettings`): least privileged Policy.Read.ConditionalAccess.
const CA_READ: &[&[&str]] = &[
    &["Policy.Read.ConditionalAccess"],
    &["Policy.Read.All"],
    &["Policy.ReadWrite.ConditionalAccess"],
];
const CA_SETTINGS_WRITE: &[&[&str]] = &[&["Policy.ReadWrite.ConditionalAccess"]];
const SD_READ: &[&[&str]] = &[&["Policy.Read.All"]];
const SD_WRITE: &[&[&str]] = &[
    &["Policy.ReadWrite.SecurityDefaults"],
    &["Policy.ReadWrite.ConditionalAccess"],
];
const AUTH_REQ_READ: &[&[&str]] = &[
    &["Policy.Read.All"],
    &["Policy.ReadWrite.AuthenticationMethod"],
];
const AUTH_REQ_WRITE: &[&[&str]] = &[&["Policy.ReadWrite.AuthenticationMethod"]];
/// `domain-list.md`, `domain-get.md`.
const DOMAIN_READ: &[&[&str]] = &[
    &["Domain.Read.All"],
    &["Domain.ReadWrite.All"],
    &["Directory.Read.All"],
    &["Directory.ReadWrite.All"],
];
/// `homerealmdiscoverypolicy-list.md`, `-get.md`, `-post-homerealmdiscoverypolicies.md`,
/// `-list-appliesto.md`.
const HRD_READ: &[&[&str]] = &[
    &["Policy.Read.All"],
    &["Policy.ReadWrite.ApplicationConfiguration"],
];
const HRD_WRITE: &[&[&str]] = &[&["Policy.ReadWrite.ApplicationConfiguration"]];
const HRD_APPLIES_TO: &[&[&str]] = &[
    &["Policy.Read.All", "Application.Read.All"],
    &[
        "Policy.ReadWrite.ApplicationConfiguration",
        "Application.Read.All",
    ],
    &["Directory.Read.All"],
];
/// `serviceprincipal-{list,post,delete}-homerealmdiscoverypolicies.md`: a write permission on
/// applications even to list.
const SP_HRD: &[&[&str]] = &[
    &["Policy.Read.All", "Application.ReadWrite.OwnedBy"],
    &["Policy.Read.All", "Application.ReadWrite.All"],
    &[
        "Policy.ReadWrite.ApplicationConfiguration",
        "Application.ReadWrite.OwnedBy",
    ],
    &[
        "Policy.ReadWrite.ApplicationConfiguration",
        "Application.ReadWrite.All",
    ],
];

/// Every Graph operation the emulator serves and the permissions it accepts.
pub const RULES: &[Rule] = &[
    Rule {
        method: "GET",
        template: "/applications",
        accepted: APP_READ,
    },
    Rule {
        method: "POST",
        template: "/applications",
        accepted: APP_CREATE,
    },
    Rule {
        method: "GET",
        template: "/applications/{id}",
        accepted: APP_READ,
    },
    Rule {
        method: "PATCH",
        template: "/applications/{id}",
        accepted: APP_WRITE,
    },
    Rule {
        method: "DELETE",
        template: "/applications/{id}",
        accepted: APP_WRITE,
    },
    Rule {
        method: "GET",
        template: "/applications(appId='{appId}')",
        accepted: APP_READ,
    },
    Rule {
        method: "PATCH",
        template: "/applications(appId='{appId}')",
        accepted: APP_WRITE,
    },
    Rule {
        method: "DELETE",
        template: "/applications(appId='{appId}')",
        accepted: APP_WRITE,
    },
    Rule {
        method: "GET",
        template: "/applications(uniqueName='{uniqueName}')",
        accepted: APP_READ,
    },
    Rule {
        method: "PATCH",
        template: "/applications(uniqueName='{uniqueName}')",
        accepted: APP_WRITE,
    },
    Rule {
        method: "DELETE",
        template: "/applications(uniqueName='{uniqueName}')",
        accepted: APP_WRITE,
    },
    Rule {
        method: "GET",
        template: "/servicePrincipals",
        accepted: APP_READ,
    },
    Rule {
        method: "POST",
        template: "/servicePrincipals",
        accepted: APP_WRITE,
    },
    Rule {
        method: "GET",
        template: "/servicePrincipals/{id}",
        accepted: APP_READ,
    },
    Rule {
        method: "PATCH",
        template: "/servicePrincipals/{id}",
        accepted: APP_WRITE,
    },
    Rule {
        method: "DELETE",
        template: "/servicePrincipals/{id}",
        accepted: APP_WRITE,
    },
    Rule {
        method: "GET",
        template: "/servicePrincipals(appId='{appId}')",
        accepted: APP_READ,
    },
    Rule {
        method: "PATCH",
        template: "/servicePrincipals(appId='{appId}')",
        accepted: APP_WRITE,
    },
    Rule {
        method: "DELETE",
        template: "/servicePrincipals(appId='{appId}')",
        accepted: APP_WRITE,
    },
    Rule {
        method: "GET",
        template: "/servicePrincipals/{id}/appRoleAssignedTo",
        accepted: ARA_READ,
    },
    Rule {
        method: "POST",
        template: "/servicePrincipals/{id}/appRoleAssignedTo",
        accepted: ARA_CREATE,
    },
    Rule {
        method: "DELETE",
        template: "/servicePrincipals/{id}/appRoleAssignedTo/{id}",
        accepted: ARA_DELETE,
    },
    Rule {
        method: "GET",
        template: "/servicePrincipals/{id}/appRoleAssignments",
        accepted: ARA_READ,
    },
    Rule {
        method: "POST",
        template: "/servicePrincipals/{id}/appRoleAssignments",
        accepted: ARA_CREATE,
    },
    Rule {
        method: "DELETE",
        template: "/servicePrincipals/{id}/appRoleAssignments/{id}",
        accepted: ARA_DELETE,
    },
    Rule {
        method: "GET",
        template: "/servicePrincipals/{id}/oauth2PermissionGrants",
        accepted: GRANT_READ,
    },
    Rule {
        method: "GET",
        template: "/oauth2PermissionGrants",
        accepted: GRANT_READ,
    },
    Rule {
        method: "POST",
        template: "/oauth2PermissionGrants",
        accepted: GRANT_WRITE,
    },
    Rule {
        method: "GET",
        template: "/oauth2PermissionGrants/{id}",
        accepted: GRANT_READ,
    },
    Rule {
        method: "PATCH",
        template: "/oauth2PermissionGrants/{id}",
        accepted: GRANT_WRITE,
    },
    Rule {
        method: "DELETE",
        template: "/oauth2PermissionGrants/{id}",
        accepted: GRANT_WRITE,
    },
    Rule {
        method: "GET",
        template: "/users",
        accepted: USER_READ,
    },
    Rule {
        method: "POST",
        template: "/users",
        accepted: USER_WRITE,
    },
    Rule {
        method: "GET",
        template: "/users/{id}",
        accepted: USER_READ,
    },
    Rule {
        method: "GET",
        template: "/users/{id}/authentication/requirements",
        accepted: AUTH_REQ_READ,
    },
    Rule {
        method: "PATCH",
        template: "/users/{id}/authentication/requirements",
        accepted: AUTH_REQ_WRITE,
    },
    Rule {
        method: "GET",
        template: "/groups",
        accepted: GROUP_READ,
    },
    Rule {
        method: "POST",
        template: "/groups",
        accepted: GROUP_CREATE,
    },
    Rule {
        method: "GET",
        template: "/groups/{id}",
        accepted: GROUP_READ,
    },
    Rule {
        method: "DELETE",
        template: "/groups/{id}",
        accepted: GROUP_DELETE,
    },
    Rule {
        method: "GET",
        template: "/groups/{id}/members",
        accepted: GROUP_READ,
    },
    Rule {
        method: "GET",
        template: "/groups/{id}/transitiveMembers",
        accepted: GROUP_READ,
    },
    Rule {
        method: "POST",
        template: "/groups/{id}/members/$ref",
        accepted: MEMBER_WRITE,
    },
    Rule {
        method: "DELETE",
        template: "/groups/{id}/members/{id}/$ref",
        accepted: MEMBER_WRITE,
    },
    Rule {
        method: "GET",
        template: "/subscribedSkus",
        accepted: ORG_READ,
    },
    Rule {
        method: "GET",
        template: "/domains",
        accepted: DOMAIN_READ,
    },
    Rule {
        method: "GET",
        template: "/domains/{id}",
        accepted: DOMAIN_READ,
    },
    Rule {
        method: "GET",
        template: "/policies/homeRealmDiscoveryPolicies",
        accepted: HRD_READ,
    },
    Rule {
        method: "POST",
        template: "/policies/homeRealmDiscoveryPolicies",
        accepted: HRD_WRITE,
    },
    Rule {
        method: "GET",
        template: "/policies/homeRealmDiscoveryPolicies/{id}",
        accepted: HRD_READ,
    },
    Rule {
        method: "GET",
        template: "/policies/homeRealmDiscoveryPolicies/{id}/appliesTo",
        accepted: HRD_APPLIES_TO,
    },
    Rule {
        method: "GET",
        template: "/servicePrincipals/{id}/homeRealmDiscoveryPolicies",
        accepted: SP_HRD,
    },
    Rule {
        method: "POST",
        template: "/servicePrincipals/{id}/homeRealmDiscoveryPolicies/$ref",
        accepted: SP_HRD,
    },
    Rule {
        method: "DELETE",
        template: "/servicePrincipals/{id}/homeRealmDiscoveryPolicies/{id}/$ref",
        accepted: SP_HRD,
    },
    Rule {
        method: "GET",
        template: "/organization",
        accepted: ORG_READ,
    },
    Rule {
        method: "GET",
        template: "/organization/{id}",
        accepted: ORG_READ,
    },
    Rule {
        method: "GET",
        template: "/identity/conditionalAccess/policies",
        accepted: POLICY_READ,
    },
    Rule {
        method: "POST",
        template: "/identity/conditionalAccess/policies",
        accepted: CA_WRITE,
    },
    Rule {
        method: "GET",
        template: "/identity/conditionalAccess/policies/{id}",
        accepted: POLICY_READ,
    },
    Rule {
        method: "PATCH",
        template: "/identity/conditionalAccess/policies/{id}",
        accepted: CA_WRITE,
    },
    Rule {
        method: "DELETE",
        template: "/identity/conditionalAccess/policies/{id}",
        accepted: CA_DELETE,
    },
    Rule {
        method: "POST",
        template: "/identity/conditionalAccess/evaluate",
        accepted: CA_READ,
    },
    Rule {
        method: "GET",
        template: "/identity/conditionalAccess/settings",
        accepted: CA_READ,
    },
    Rule {
        method: "PATCH",
        template: "/identity/conditionalAccess/settings",
        accepted: CA_SETTINGS_WRITE,
    },
    Rule {
        method: "GET",
        template: "/policies/identitySecurityDefaultsEnforcementPolicy",
        accepted: SD_READ,
    },
    Rule {
        method: "PATCH",
        template: "/policies/identitySecurityDefaultsEnforcementPolicy",
        accepted: SD_WRITE,
    },
    Rule {
        method: "GET",
        template: "/directory/deletedItems/microsoft.graph.application",
        accepted: APP_READ,
    },
    Rule {
        method: "GET",
        template: "/directory/deletedItems/microsoft.graph.servicePrincipal",
        accepted: APP_READ,
    },
    Rule {
        method: "GET",
        template: "/directory/deletedItems/{id}",
        accepted: APP_READ,
    },
    Rule {
        method: "POST",
        template: "/directory/deletedItems/{id}/restore",
        accepted: APP_WRITE,
    },
    Rule {
        method: "DELETE",
        template: "/directory/deletedItems/{id}",
        accepted: APP_WRITE,
    },
];

/// The rule for an operation.
pub fn rule(method: &str, template: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.method == method && r.template == template)
}

/// What adding a member of this `@odata.type` to a group needs besides the route's rule: a
/// service principal needs Application.ReadWrite.All too (`group-post-members.md`).
pub fn member_add_rule(odata_type: &str) -> Option<Rule> {
    (odata_type == "#microsoft.graph.servicePrincipal").then_some(Rule {
        method: "POST",
        template: "/groups/{id}/members/$ref",
        accepted: SP_MEMBER_ADD,
    })
}

/// Whether `granted` (roles or scopes) satisfies the rule.
pub fn allowed(rule: &Rule, granted: &[&str]) -> bool {
    rule.accepted.iter().any(|all| {
        all.iter()
            .all(|p| granted.iter().any(|g| g.eq_ignore_ascii_case(p)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_privileged_permissions_are_enough_and_others_are_not() {
        let r = rule("POST", "/servicePrincipals/{id}/appRoleAssignedTo").unwrap();
        assert!(!allowed(r, &["AppRoleAssignment.ReadWrite.All"]));
        assert!(allowed(
            r,
            &["AppRoleAssignment.ReadWrite.All", "Application.Read.All"]
        ));
        let r = rule("PATCH", "/users/{id}/authentication/requirements").unwrap();
        assert!(!allowed(
            r,
            &["Policy.Read.All", "UserAuthenticationMethod.ReadWrite.All"]
        ));
        assert!(allowed(r, &["Policy.ReadWrite.AuthenticationMethod"]));
        let r = rule("GET", "/subscribedSkus").unwrap();
        assert!(allowed(r, &["Organization.Read.All"]));
        assert!(!allowed(r, &["User.Read.All"]));
        let r = rule("GET", "/domains").unwrap();
        assert!(allowed(r, &["Domain.Read.All"]));
        assert!(!allowed(r, &["Organization.Read.All"]));
        let r = rule("GET", "/policies/homeRealmDiscoveryPolicies/{id}/appliesTo").unwrap();
        assert!(!allowed(r, &["Policy.Read.All"]));
        assert!(allowed(r, &["Policy.Read.All", "Application.Read.All"]));
    }

    #[test]
    fn a_service_principal_member_needs_application_read_write_all_too() {
        let r = member_add_rule("#microsoft.graph.servicePrincipal").unwrap();
        assert!(!allowed(&r, &["GroupMember.ReadWrite.All"]));
        assert!(!allowed(&r, &["Group.ReadWrite.All"]));
        assert!(allowed(
            &r,
            &["GroupMember.ReadWrite.All", "Application.ReadWrite.All"]
        ));
        assert!(allowed(&r, &["Directory.ReadWrite.All"]));
        assert!(member_add_rule("#microsoft.graph.user").is_none());
        assert!(member_add_rule("#microsoft.graph.group").is_none());
    }

    #[test]
    fn every_rule_is_unique() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.template == b.template),
                    "{} {}",
                    a.method,
                    a.template
                );
            }
        }
    }
}
