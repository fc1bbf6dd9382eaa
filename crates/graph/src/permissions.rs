//! The least-privileged Graph permission Microsoft documents per operation (method + path template).
//!
//! Source: the permission tables of the `api-reference/v1.0/api/*.md` pages (see
//! `/work/shared/reference/graph-api.md`). Used for 403 hints and by callers that check a token before writing.

/// (method, path template, least-privileged application permission). `{}` matches one segment;
/// a key segment such as `applications(appId='…')` is read as `applications/{}`.
const TABLE: &[(&str, &str, &str)] = &[
    ("GET", "/applications", "Application.Read.All"),
    ("GET", "/applications/{}", "Application.Read.All"),
    (
        "POST",
        "/applications",
        "Application.ReadWrite.OwnedBy (or AppRegistration.Create)",
    ),
    (
        "PATCH",
        "/applications/{}",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
    (
        "DELETE",
        "/applications/{}",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
    (
        "POST",
        "/applications/{}/addPassword",
        "Application.ReadWrite.OwnedBy",
    ),
    (
        "GET",
        "/applications/{}/federatedIdentityCredentials",
        "Application.Read.All",
    ),
    (
        "POST",
        "/applications/{}/federatedIdentityCredentials",
        "Application.ReadWrite.OwnedBy",
    ),
    ("GET", "/servicePrincipals", "Application.Read.All"),
    ("GET", "/servicePrincipals/{}", "Application.Read.All"),
    (
        "POST",
        "/servicePrincipals",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
    (
        "PATCH",
        "/servicePrincipals/{}",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
    (
        "GET",
        "/servicePrincipals/{}/oauth2PermissionGrants",
        "Directory.Read.All",
    ),
    (
        "GET",
        "/servicePrincipals/{}/appRoleAssignedTo",
        "Application.Read.All",
    ),
    (
        "POST",
        "/servicePrincipals/{}/appRoleAssignedTo",
        "AppRoleAssignment.ReadWrite.All + Application.Read.All",
    ),
    (
        "DELETE",
        "/servicePrincipals/{}/appRoleAssignedTo/{}",
        "AppRoleAssignment.ReadWrite.All",
    ),
    ("GET", "/oauth2PermissionGrants", "Directory.Read.All"),
    ("GET", "/oauth2PermissionGrants/{}", "Directory.Read.All"),
    (
        "POST",
        "/oauth2PermissionGrants",
        "DelegatedPermissionGrant.ReadWrite.All",
    ),
    (
        "PATCH",
        "/oauth2PermissionGrants/{}",
        "DelegatedPermissionGrant.ReadWrite.All",
    ),
    (
        "DELETE",
        "/oauth2PermissionGrants/{}",
        "DelegatedPermissionGrant.ReadWrite.All",
    ),
    ("GET", "/users", "User.Read.All"),
    ("GET", "/users/{}", "User.Read.All"),
    (
        "GET",
        "/users/{}/authentication/requirements",
        "Policy.Read.All",
    ),
    (
        "PATCH",
        "/users/{}/authentication/requirements",
        "Policy.ReadWrite.AuthenticationMethod",
    ),
    ("GET", "/groups", "GroupMember.Read.All (or Group.Read.All)"),
    (
        "GET",
        "/groups/{}",
        "GroupMember.Read.All (or Group.Read.All)",
    ),
    (
        "GET",
        "/groups/{}/members",
        "GroupMember.Read.All (or Group.Read.All)",
    ),
    (
        "GET",
        "/groups/{}/transitiveMembers",
        "GroupMember.Read.All (or Group.Read.All)",
    ),
    (
        "GET",
        "/identity/conditionalAccess/policies",
        "Policy.Read.All",
    ),
    (
        "GET",
        "/identity/conditionalAccess/policies/{}",
        "Policy.Read.All",
    ),
    (
        "PATCH",
        "/identity/conditionalAccess/policies/{}",
        "Policy.ReadWrite.ConditionalAccess + Application.Read.All",
    ),
    (
        "GET",
        "/policies/identitySecurityDefaultsEnforcementPolicy",
        "Policy.Read.All",
    ),
    (
        "PATCH",
        "/policies/identitySecurityDefaultsEnforcementPolicy",
        "Policy.ReadWrite.SecurityDefaults",
    ),
    (
        "GET",
        "/policies/authenticationStrengthPolicies",
        "Policy.Read.All",
    ),
    ("GET", "/subscribedSkus", "Organization.Read.All"),
    ("GET", "/organization", "Organization.Read.All"),
];

/// Splits a path into template segments: the query is dropped, `name(key)` becomes `name`, `{}`.
fn segments(path: &str) -> Vec<String> {
    let path = path.split('?').next().unwrap_or("");
    let mut out = Vec::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        match seg.find('(') {
            Some(i) if seg.ends_with(')') => {
                out.push(seg[..i].to_string());
                out.push("{}".to_string());
            }
            _ => out.push(seg.to_string()),
        }
    }
    out
}

/// The least-privileged application permission Microsoft documents for `method path`, if known.
pub fn permission_for(method: &str, path: &str) -> Option<&'static str> {
    let segs = segments(path);
    TABLE.iter().find_map(|(m, template, perm)| {
        if !m.eq_ignore_ascii_case(method) {
            return None;
        }
        let t: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
        let matches = t.len() == segs.len()
            && t.iter()
                .zip(&segs)
                .all(|(t, s)| *t == "{}" || t.eq_ignore_ascii_case(s));
        matches.then_some(*perm)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_reads_name_the_least_privileged_role_entractl_asks_for() {
        for path in [
            "/groups?$filter=displayName eq 'Mac Users'",
            "/groups/5c1e",
            "/groups/5c1e/members",
            "/groups/5c1e/transitiveMembers",
        ] {
            assert_eq!(
                permission_for("GET", path),
                Some("GroupMember.Read.All (or Group.Read.All)"),
                "{path}"
            );
        }
    }

    #[test]
    fn templates_match_ids_and_alternate_keys() {
        assert_eq!(
            permission_for("GET", "/applications?$filter=x"),
            Some("Application.Read.All")
        );
        assert_eq!(
            permission_for("PATCH", "/applications(uniqueName='kandji')"),
            Some("Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All")
        );
        assert_eq!(
            permission_for("post", "/servicePrincipals/abc/appRoleAssignedTo"),
            Some("AppRoleAssignment.ReadWrite.All + Application.Read.All")
        );
        assert_eq!(
            permission_for("PATCH", "/users/a@b.com/authentication/requirements"),
            Some("Policy.ReadWrite.AuthenticationMethod")
        );
        assert_eq!(permission_for("DELETE", "/users/x"), None);
    }
}
