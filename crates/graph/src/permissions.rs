//! The least-privileged Graph permission Microsoft documents per operation (method + path
//! template), looked up in the operations each resource module declares ([`crate::resource`]).
//! Used for 403 hints.

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
    crate::resource::operations().find_map(|op| {
        if !op.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let t: Vec<&str> = op.path.split('/').filter(|s| !s.is_empty()).collect();
        let matches = t.len() == segs.len()
            && t.iter()
                .zip(&segs)
                .all(|(t, s)| *t == "{}" || t.eq_ignore_ascii_case(s));
        matches.then_some(op.permission)
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
