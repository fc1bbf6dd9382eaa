//! Semantic checks: values of the right type that Entra would reject or that cannot be right,
//! duplicates and contradictions. Every error points at the value it is about.

use std::collections::HashMap;

use crate::app_rules::{Platform, check_claims, check_redirect_uri};
pub use crate::checker::is_upn;
use crate::checker::{Checker, is_domain, looks_like_broken_guid};
use crate::claims::TokenType;
use crate::model::{PassportMode, SecurityDefaults, Spec, is_guid};
use crate::node::SNode;
use crate::raw::{OrderedMap, RawExcludeApp, RawPermissions, RawPolicySelection, RawSpec};
use crate::report::{ErrorKind, SpecError};

/// Every semantic error of a file that passed the structural checks.
pub(crate) fn validate(raw: &RawSpec, spec: &Spec, tree: &SNode, text: &str) -> Vec<SpecError> {
    let mut c = Checker {
        tree,
        text,
        errors: Vec::new(),
    };

    if raw.version != 1 {
        c.push(
            ErrorKind::UnknownValue,
            "version",
            format!("unsupported spec version {}", raw.version),
            "unsupported version",
            "this entractl reads `version: 1`".to_string(),
        );
    }

    check_tenant(&mut c, &raw.tenant);
    check_app(&mut c, raw);
    check_assignments(&mut c, raw);
    check_passport(&mut c, raw, spec);
    check_mfa(&mut c, raw, spec);

    c.errors
}

fn check_tenant(c: &mut Checker, tenant: &str) {
    let t = tenant.trim();
    if ["common", "organizations", "consumers"].contains(&t.to_lowercase().as_str()) {
        c.push(
            ErrorKind::InvalidValue,
            "tenant",
            format!("`{t}` is not a tenant"),
            "not a tenant",
            "`common`, `organizations` and `consumers` are multi-tenant sign-in endpoints; give your tenant's id or a verified domain such as `contoso.onmicrosoft.com`".to_string(),
        );
    } else if looks_like_broken_guid(t) {
        c.push(
            ErrorKind::InvalidValue,
            "tenant",
            format!("`{t}` is not a valid tenant id"),
            "malformed GUID",
            "a tenant id has the form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (Entra admin center → Overview → Tenant ID); or give a verified domain such as `contoso.onmicrosoft.com`".to_string(),
        );
    } else if !is_guid(t) && !is_domain(t) {
        c.push(
            ErrorKind::InvalidValue,
            "tenant",
            format!("`{t}` is neither a tenant id nor a domain name"),
            "not a tenant id or domain",
            "give the tenant id (a GUID) or a verified domain such as `contoso.onmicrosoft.com`"
                .to_string(),
        );
    }
}

fn check_app(c: &mut Checker, raw: &RawSpec) {
    let app = &raw.app;
    c.not_blank("app.displayName", &app.display_name, "app's display name");

    if let Some(u) = &app.unique_name {
        check_unique_name(c, "app.uniqueName", u);
    }
    if let Some(id) = &app.app_id
        && !is_guid(id)
    {
        c.push(
            ErrorKind::InvalidValue,
            "app.appId",
            format!("`{id}` is not a valid application (client) id"),
            "not a GUID",
            "copy the Application (client) ID from the app's Overview page: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`".to_string(),
        );
    }
    if app.unique_name.is_none() && app.app_id.is_none() {
        c.push_at(
            ErrorKind::MissingField,
            "app",
            true,
            "the app has no stable key: set `uniqueName` or `appId`".to_string(),
            "no `uniqueName` or `appId`",
            format!(
                "entractl finds the app by its key, never by display name; add `uniqueName: {}` (creates the app) or `appId: <client id>` (adopts an existing app)",
                slug(&app.display_name)
            ),
        );
    }

    if let Some(r) = &app.redirect_uris {
        for (key, list, platform) in [
            ("web", &r.web, Platform::Web),
            ("publicClient", &r.public_client, Platform::PublicClient),
            ("spa", &r.spa, Platform::Spa),
        ] {
            let Some(list) = list else { continue };
            let path = format!("app.redirectUris.{key}");
            for (i, uri) in list.iter().enumerate() {
                check_redirect_uri(c, &format!("{path}[{i}]"), uri, platform);
            }
            c.duplicates(&path, list, "redirect URI");
        }
    }

    if let Some(t) = &app.tokens {
        for (claims, tt) in [
            (&t.id, TokenType::Id),
            (&t.access, TokenType::Access),
            (&t.saml2, TokenType::Saml2),
        ] {
            if let Some(claims) = claims {
                check_claims(c, claims, tt);
            }
        }
    }

    if let Some(perms) = &app.api_permissions {
        check_api_permissions(c, perms);
    }

    if app.admin_consent == Some(true)
        && raw.preset.is_none()
        && app.api_permissions.as_ref().is_none_or(|p| {
            p.0.iter()
                .all(|(_, p)| p.delegated.as_ref().is_none_or(Vec::is_empty))
        })
    {
        c.push(
            ErrorKind::Contradiction,
            "app.adminConsent",
            "`adminConsent: true`, but the app requests no delegated permissions".to_string(),
            "nothing to consent to",
            "add delegated permissions under `apiPermissions` (e.g. `Microsoft Graph: {delegated: [User.Read]}`), or remove `adminConsent`".to_string(),
        );
    }
}

/// `app.apiPermissions`: each resource once, well-formed appIds, at least one permission, one
/// permission per entry, no duplicates.
fn check_api_permissions(c: &mut Checker, perms: &OrderedMap<RawPermissions>) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (resource, p) in &perms.0 {
        let path = format!("app.apiPermissions.{resource}");
        if let Some(first) = seen.get(&resource.to_lowercase()) {
            c.push_at(
                ErrorKind::Duplicate,
                &path,
                true,
                format!("the resource `{resource}` is listed twice in `app.apiPermissions`"),
                "listed again here",
                format!("merge its permissions into the entry `{first}`"),
            );
        } else {
            seen.insert(resource.to_lowercase(), resource);
        }
        if looks_like_broken_guid(resource) {
            c.push_at(
                ErrorKind::InvalidValue,
                &path,
                true,
                format!("`{resource}` is not a valid appId"),
                "malformed GUID",
                "give the resource by name (`Microsoft Graph`) or by its appId (`00000003-0000-0000-c000-000000000000`)".to_string(),
            );
        }
        let delegated = p.delegated.as_deref().unwrap_or_default();
        let application = p.application.as_deref().unwrap_or_default();
        if delegated.is_empty() && application.is_empty() {
            c.push_at(
                ErrorKind::InvalidValue,
                &path,
                true,
                format!("no permissions listed for `{resource}`"),
                "no permissions",
                "list `delegated:` and/or `application:` permissions, e.g. `delegated: [User.Read]`, or remove the resource".to_string(),
            );
        }
        for (kind, list) in [("delegated", delegated), ("application", application)] {
            let list_path = format!("{path}.{kind}");
            for (i, value) in list.iter().enumerate() {
                let item = format!("{list_path}[{i}]");
                if !c.not_blank(&item, value, "permission") {
                    continue;
                }
                if value.contains(char::is_whitespace) {
                    let parts: Vec<&str> = value.split_whitespace().collect();
                    c.push(
                        ErrorKind::InvalidValue,
                        &item,
                        format!("`{value}` is several permissions in one entry"),
                        "one permission per entry",
                        format!("list them one by one: `[{}]`", parts.join(", ")),
                    );
                }
            }
            c.duplicates(&list_path, list, "permission");
        }
    }
}

fn check_assignments(c: &mut Checker, raw: &RawSpec) {
    let Some(a) = &raw.assignments else { return };
    let users = a.users.as_deref().unwrap_or_default();
    let groups = a.groups.as_deref().unwrap_or_default();
    for (i, u) in users.iter().enumerate() {
        let path = format!("assignments.users[{i}]");
        if !c.not_blank(&path, u, "user") {
            continue;
        }
        if looks_like_broken_guid(u) {
            c.guid_or_name(&path, u, "user principal name");
        } else if !is_guid(u) && !is_upn(u) {
            let help = if u.contains('@') {
                "a user principal name looks like `alice@contoso.com` (the domain must be a domain name)".to_string()
            } else {
                format!(
                    "give the user's principal name (`{u}@contoso.com`) or object id; groups go under `assignments.groups`"
                )
            };
            c.push(
                ErrorKind::InvalidValue,
                &path,
                format!("`{u}` is not a user principal name or object id"),
                "not a UPN or object id",
                help,
            );
        }
    }
    c.duplicates("assignments.users", users, "user");
    for (i, g) in groups.iter().enumerate() {
        let path = format!("assignments.groups[{i}]");
        if c.not_blank(&path, g, "group") {
            c.guid_or_name(&path, g, "group's display name");
        }
    }
    c.duplicates("assignments.groups", groups, "group");
    if let Some(role) = &a.role {
        c.not_blank("assignments.role", role, "app role value");
    }
    if a.prune == Some(true) && users.is_empty() && groups.is_empty() {
        c.push(
            ErrorKind::Contradiction,
            "assignments.prune",
            "`prune: true` with no users and no groups would remove every assignment".to_string(),
            "prunes everything",
            "list the users and groups to keep under `assignments`, or set `prune: false`"
                .to_string(),
        );
    }
}

/// A unique name (`app.uniqueName`, the placeholder's): letters, digits, `.`, `_` and `-`.
fn check_unique_name(c: &mut Checker, path: &str, u: &str) {
    if c.not_blank(path, u, "unique name")
        && !u
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'))
    {
        c.push(
            ErrorKind::InvalidValue,
            path,
            format!("`{u}` is not a valid unique name"),
            "only letters, digits, `.`, `_` and `-`",
            format!(
                "the unique name is the app's stable key in Graph URLs; use letters, digits, `.`, `_` and `-`, e.g. `{}`",
                slug(u)
            ),
        );
    }
}

/// The Passport mode: required with the preset; Web Login weakens nothing.
fn check_passport(c: &mut Checker, raw: &RawSpec, spec: &Spec) {
    if let Some(preset) = raw.preset
        && raw.passport.is_none()
    {
        c.push(
            ErrorKind::MissingField,
            "preset",
            format!("`preset: {}` needs `passport.mode`: `web-login` or `mac-login`", preset.name()),
            "which Passport mode?",
            "add `passport: {mode: web-login}` (recommended: Passport shows the Entra sign-in page, so MFA and conditional access stay in force); `mac-login` signs in with the password (ROPC), which cannot do MFA: it turns security defaults off, turns per-user MFA off for the app's users and excludes the app from conditional access policies".to_string(),
        );
    }
    if spec.passport.map(|p| p.mode) != Some(PassportMode::WebLogin) {
        return;
    }
    let Some(mfa) = &spec.mfa else { return };
    for path in mfa.weakenings() {
        let (what, label) = match path {
            "mfa.securityDefaults" => ("turns security defaults off", "contradicts Web Login"),
            "mfa.perUserMfa" => ("turns per-user MFA off", "contradicts Web Login"),
            "mfa.conditionalAccess.excludeApp" => (
                "excludes the app from conditional access policies",
                "contradicts Web Login",
            ),
            "mfa.conditionalAccess.excludeUsers" => (
                "excludes the app's users from conditional access policies",
                "Mac Login only",
            ),
            _ => (
                "excludes a placeholder app from conditional access policies",
                "Mac Login only",
            ),
        };
        c.push_first(
            ErrorKind::Contradiction,
            &[path, "mfa"],
            format!("`{path}` {what}, but `passport.mode` is `web-login`"),
            label,
            "Web Login signs in on the Entra sign-in page, where MFA and conditional access work: it needs none of this; remove it (or write `unmanaged`, or `[]` for an exclusion), or use `passport.mode: mac-login`".to_string(),
        );
    }
}

/// The policy names or ids of an exclusion: not blank, well-formed ids, no duplicates.
fn check_policy_list(c: &mut Checker, path: &str, policies: &[String]) {
    for (i, p) in policies.iter().enumerate() {
        let item = format!("{path}[{i}]");
        if c.not_blank(&item, p, "policy name or id") {
            c.guid_or_name(&item, p, "policy's display name");
        }
    }
    c.duplicates(path, policies, "policy");
}

fn check_mfa(c: &mut Checker, raw: &RawSpec, spec: &Spec) {
    let ca = raw.mfa.as_ref().and_then(|m| m.conditional_access.as_ref());
    if let Some(RawExcludeApp::Policies(policies)) = ca.and_then(|ca| ca.exclude_app.as_ref()) {
        check_policy_list(c, "mfa.conditionalAccess.excludeApp", policies);
    }
    if let Some(RawPolicySelection::Policies(policies)) =
        ca.and_then(|ca| ca.exclude_users.as_ref())
    {
        check_policy_list(c, "mfa.conditionalAccess.excludeUsers", policies);
    }
    if let Some(p) = ca.and_then(|ca| ca.placeholder.as_ref()) {
        check_placeholder(c, raw, p);
    }

    let Some(mfa) = &spec.mfa else { return };
    let web_login = spec.passport.map(|p| p.mode) == Some(PassportMode::WebLogin);
    let exclusions = {
        let mut e = mfa.ca_weakenings();
        if mfa.per_user_mfa.is_some() {
            e.push("mfa.perUserMfa");
        }
        e
    };
    // Under Web Login, `check_passport` reports each of them already.
    if let Some(first) = exclusions.first()
        && !web_login
        && spec.app.public_client_flows != Some(true)
    {
        let what = if *first == "mfa.perUserMfa" {
            "per-user MFA exclusion"
        } else {
            "conditional access exclusion"
        };
        c.push_first(
            ErrorKind::Contradiction,
            &[
                "app.publicClientFlows",
                "mfa.conditionalAccess",
                "mfa.perUserMfa",
                "preset",
                "mfa",
            ],
            format!("an MFA {what} without public client flows"),
            "contradicts the MFA exclusion",
            "turning MFA off for the app only serves password sign-in (ROPC), which needs `app.publicClientFlows: true`; set it, or set the MFA settings to `unmanaged`".to_string(),
        );
    }
    if mfa.security_defaults == Some(SecurityDefaults::Enabled) && !mfa.ca_weakenings().is_empty() {
        c.push_first(
            ErrorKind::Contradiction,
            &["mfa.securityDefaults", "mfa.conditionalAccess", "preset"],
            "security defaults enabled together with conditional access exclusions".to_string(),
            "contradicts `conditionalAccess`",
            "security defaults require MFA with no exclusions and cannot be on while conditional access policies are used; set `securityDefaults: disabled`, or `conditionalAccess: {excludeApp: unmanaged}`".to_string(),
        );
    }
}

/// The placeholder app: a name, a valid unique name of its own, its policies.
fn check_placeholder(c: &mut Checker, raw: &RawSpec, p: &crate::raw::RawPlaceholder) {
    let base = "mfa.conditionalAccess.placeholder";
    c.not_blank(
        &format!("{base}.displayName"),
        &p.display_name,
        "placeholder app's display name",
    );
    let path = format!("{base}.uniqueName");
    check_unique_name(c, &path, &p.unique_name);
    if raw
        .app
        .unique_name
        .as_ref()
        .is_some_and(|u| u.trim().eq_ignore_ascii_case(p.unique_name.trim()))
    {
        c.push(
            ErrorKind::Contradiction,
            &path,
            format!(
                "`{path}` is `{}`, the app's own unique name",
                p.unique_name
            ),
            "same as `app.uniqueName`",
            "the placeholder is a separate app registration that entractl creates beside Passport's; give it a unique name of its own, e.g. `kandji-passport-baseline-placeholder`".to_string(),
        );
    }
    if let Some(RawPolicySelection::Policies(policies)) = &p.exclude_from {
        check_policy_list(c, &format!("{base}.excludeFrom"), policies);
    }
}

/// A unique-name suggestion from a display name: `Kandji Passport` → `kandji-passport`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.trim().chars() {
        if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_') {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "my-app".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("00000003-0000-0000-c000-000000000000"));
        assert!(!is_guid("00000003-0000-0000-c000-00000000000"));
        assert!(!is_guid("0000000g-0000-0000-c000-000000000000"));
        assert!(looks_like_broken_guid(
            "00000003-0000-0000-c000-00000000000"
        ));
        assert!(looks_like_broken_guid(
            "0000000g-0000-0000-c000-000000000000"
        ));
        assert!(!looks_like_broken_guid("Mac Users"));
        assert!(!looks_like_broken_guid("contoso.onmicrosoft.com"));
    }

    #[test]
    fn upns_and_domains() {
        assert!(is_upn("alice@contoso.com"));
        assert!(is_upn("bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"));
        assert!(!is_upn("alice"));
        assert!(!is_upn("alice@contoso"));
        assert!(!is_upn("@contoso.com"));
        assert!(is_domain("contoso.onmicrosoft.com"));
        assert!(!is_domain("contoso"));
        assert!(!is_domain("-x.com"));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Kandji Passport"), "kandji-passport");
        assert_eq!(slug("  "), "my-app");
    }
}
