//! Semantic checks: values of the right type that Entra would reject or that cannot be right,
//! duplicates and contradictions. Every error points at the value it is about.

use std::collections::HashMap;

use crate::claims::{TokenType, additional_properties};
use crate::model::{ConditionalAccess, SecurityDefaults, Spec, is_guid};
use crate::node::SNode;
use crate::raw::{RawClaim, RawExcludeApp, RawSpec, RawTokenClaims};
use crate::report::{ErrorKind, Location, SpecError};
use crate::suggest::did_you_mean;

/// True for something that was meant to be a GUID but is not one (hex digits and dashes, of
/// about the right length).
fn looks_like_broken_guid(s: &str) -> bool {
    !is_guid(s)
        && s.len() >= 20
        && s.matches('-').count() >= 3
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '{' | '}'))
        && s.chars().filter(|c| c.is_ascii_hexdigit()).count() * 10 >= s.len() * 7
}

/// True for a DNS domain name with at least two labels (`contoso.com`).
fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && s.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()) && tld.len() >= 2)
}

/// True for a user principal name: `local@verified.domain` (guest UPNs with `#EXT#` included).
pub fn is_upn(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 113
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-'#!$%&*+/=?^`{|}~".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && is_domain(domain)
}

struct Checker<'a> {
    tree: &'a SNode,
    text: &'a str,
    errors: Vec<SpecError>,
}

impl Checker<'_> {
    fn location(&self, path: &str, key: bool) -> Option<Location> {
        let (node, key_span) = self.tree.find(path)?;
        let span = if key {
            key_span.unwrap_or(node.span)
        } else {
            node.span
        };
        Some(Location::from_offset(self.text, span.offset, span.len))
    }

    fn push(&mut self, kind: ErrorKind, path: &str, message: String, label: &str, help: String) {
        self.push_at(kind, path, false, message, label, help);
    }

    fn push_at(
        &mut self,
        kind: ErrorKind,
        path: &str,
        key: bool,
        message: String,
        label: &str,
        help: String,
    ) {
        let location = self.location(path, key);
        self.errors.push(
            SpecError::new(kind, message)
                .label(label)
                .help(help)
                .at(Some(path.to_string()), location),
        );
    }

    /// An error about a value that may come from the file or from the preset: it points at the
    /// first of `paths` written in the file.
    fn push_first(
        &mut self,
        kind: ErrorKind,
        paths: &[&str],
        message: String,
        label: &str,
        help: String,
    ) {
        let path = paths
            .iter()
            .copied()
            .find(|p| self.tree.find(p).is_some())
            .unwrap_or(paths[0]);
        self.push(kind, path, message, label, help);
    }

    fn duplicates(&mut self, path: &str, values: &[String], what: &str) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, v) in values.iter().enumerate() {
            let key = v.trim().to_lowercase();
            if let Some(first) = seen.get(&key) {
                self.push(
                    ErrorKind::Duplicate,
                    &format!("{path}[{i}]"),
                    format!("duplicate {what} `{v}` in `{path}`"),
                    "listed again here",
                    format!("`{v}` is already listed as `{path}[{first}]`; remove one of them"),
                );
            } else {
                seen.insert(key, i);
            }
        }
    }

    fn not_blank(&mut self, path: &str, value: &str, what: &str) -> bool {
        if value.trim().is_empty() {
            self.push(
                ErrorKind::InvalidValue,
                path,
                format!("`{path}` is empty"),
                "empty",
                format!("give the {what}, or remove the entry"),
            );
            return false;
        }
        if value.trim() != value {
            self.push(
                ErrorKind::InvalidValue,
                path,
                format!("`{path}` has spaces at its start or end"),
                "leading or trailing spaces",
                format!("write the {what} as `{}`", value.trim()),
            );
            return false;
        }
        true
    }

    fn guid_or_name(&mut self, path: &str, value: &str, what: &str) {
        if looks_like_broken_guid(value) {
            self.push(
                ErrorKind::InvalidValue,
                path,
                format!("`{value}` is not a valid GUID"),
                "malformed GUID",
                format!(
                    "an object id has the form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits); or give the {what} by name"
                ),
            );
        }
    }
}

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

    if let Some(u) = &app.unique_name
        && c.not_blank("app.uniqueName", u, "unique name")
        && !u
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'))
    {
        c.push(
            ErrorKind::InvalidValue,
            "app.uniqueName",
            format!("`{u}` is not a valid unique name"),
            "only letters, digits, `.`, `_` and `-`",
            format!(
                "the unique name is the app's stable key in Graph URLs; use letters, digits, `.`, `_` and `-`, e.g. `{}`",
                slug(u)
            ),
        );
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Platform {
    Web,
    PublicClient,
    Spa,
}

fn check_redirect_uri(c: &mut Checker, path: &str, uri: &str, platform: Platform) {
    if !c.not_blank(path, uri, "redirect URI") {
        return;
    }
    let bad = |c: &mut Checker, message: String, label: &str, help: &str| {
        c.push(
            ErrorKind::InvalidValue,
            path,
            message,
            label,
            help.to_string(),
        );
    };
    if uri.len() > 256 {
        bad(
            c,
            format!("the redirect URI is {} characters long", uri.len()),
            "too long",
            "Entra accepts redirect URIs of at most 256 characters",
        );
        return;
    }
    if uri.contains('*') {
        bad(
            c,
            format!("`{uri}` contains a wildcard"),
            "wildcard",
            "Entra does not accept wildcards in redirect URIs here; list each URI",
        );
        return;
    }
    let parsed = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => {
            bad(
                c,
                format!("`{uri}` is not an absolute URI"),
                "not an absolute URI",
                "a redirect URI starts with a scheme and a host, e.g. `https://app.contoso.com/callback` or `http://localhost`",
            );
            return;
        }
    };
    if parsed.fragment().is_some() {
        bad(
            c,
            format!("`{uri}` has a fragment (`#…`)"),
            "fragment",
            "Entra rejects redirect URIs with a fragment; remove the `#…` part",
        );
        return;
    }
    let host = parsed.host_str().unwrap_or("");
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match parsed.scheme() {
        "https" if host.is_empty() => bad(
            c,
            format!("`{uri}` has no host"),
            "no host",
            "write the URI with a host, e.g. `https://app.contoso.com/callback`",
        ),
        "https" => {}
        "http" if loopback => {}
        "http" => bad(
            c,
            format!("`{uri}` uses `http` for a host other than localhost"),
            "http is only for localhost",
            "Entra accepts `http` only for `localhost` (and 127.0.0.1); use `https://`",
        ),
        _ if platform == Platform::PublicClient => {}
        scheme => bad(
            c,
            format!("`{uri}` uses the scheme `{scheme}`"),
            "https or http://localhost only",
            "web and single-page-app redirect URIs must be `https://…` or `http://localhost…`; custom schemes belong under `publicClient`",
        ),
    }
}

fn check_claims(c: &mut Checker, claims: &RawTokenClaims, tt: TokenType) {
    let base = format!("app.tokens.{}.optionalClaims", tt.key());
    let known = tt.claims();
    let mut names = Vec::new();
    for (i, claim) in claims.optional_claims.iter().enumerate() {
        let (name, name_path, source, props) = match claim {
            RawClaim::Name(n) => (n.as_str(), format!("{base}[{i}]"), None, None),
            RawClaim::Detailed(d) => (
                d.name.as_str(),
                format!("{base}[{i}].name"),
                d.source.as_deref(),
                d.additional_properties.as_deref(),
            ),
        };
        names.push(name.to_string());
        if !c.not_blank(&name_path, name, "claim name") {
            continue;
        }
        match source {
            Some("user") => {}
            Some(other) => {
                c.push(
                    ErrorKind::UnknownValue,
                    &format!("{base}[{i}].source"),
                    format!("unknown claim source `{other}`"),
                    "unknown source",
                    "`source` is `user` for a directory extension attribute; leave it out for a predefined claim".to_string(),
                );
                continue;
            }
            None if !known.contains(&name) => {
                let message = match did_you_mean(name, known.iter().copied()) {
                    Some(m) => format!(
                        "`{name}` is not an optional claim of the {}, did you mean `{m}`?",
                        tt.title()
                    ),
                    None => format!("`{name}` is not an optional claim of the {}", tt.title()),
                };
                c.push(
                    ErrorKind::UnknownValue,
                    &name_path,
                    message,
                    "unknown claim",
                    format!(
                        "the {} takes {}; a directory extension needs `source: user`",
                        tt.title(),
                        known.join(", ")
                    ),
                );
                continue;
            }
            None => {}
        }
        if let Some(props) = props {
            let allowed = additional_properties(name);
            for (j, p) in props.iter().enumerate() {
                if source.is_none() && !allowed.contains(&p.as_str()) {
                    let help = if allowed.is_empty() {
                        format!("`{name}` takes no additional properties; remove them")
                    } else {
                        format!("`{name}` takes {}", allowed.join(", "))
                    };
                    c.push(
                        ErrorKind::UnknownValue,
                        &format!("{base}[{i}].additionalProperties[{j}]"),
                        format!("`{p}` is not an additional property of `{name}`"),
                        "unknown property",
                        help,
                    );
                }
            }
        }
    }
    c.duplicates(&base, &names, "optional claim");
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

fn check_mfa(c: &mut Checker, raw: &RawSpec, spec: &Spec) {
    if let Some(RawExcludeApp::Policies(policies)) = raw
        .mfa
        .as_ref()
        .and_then(|m| m.conditional_access.as_ref())
        .map(|ca| &ca.exclude_app)
    {
        let path = "mfa.conditionalAccess.excludeApp";
        if policies.is_empty() {
            c.push(
                ErrorKind::InvalidValue,
                path,
                "`excludeApp` lists no policies".to_string(),
                "empty list",
                "name the policies (display name or id), or write `from-policies-requiring-mfa` or `unmanaged`".to_string(),
            );
        }
        for (i, p) in policies.iter().enumerate() {
            let item = format!("{path}[{i}]");
            if c.not_blank(&item, p, "policy name or id") {
                c.guid_or_name(&item, p, "policy's display name");
            }
        }
        c.duplicates(path, policies, "policy");
    }

    let Some(mfa) = &spec.mfa else { return };
    let excludes = mfa.conditional_access.is_some() || mfa.per_user_mfa.is_some();
    if excludes && spec.app.public_client_flows != Some(true) {
        let what = if mfa.conditional_access.is_some() {
            "conditional access exclusion"
        } else {
            "per-user MFA exclusion"
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
    if mfa.security_defaults == Some(SecurityDefaults::Enabled)
        && matches!(
            mfa.conditional_access,
            Some(
                ConditionalAccess::ExcludeFromPoliciesRequiringMfa
                    | ConditionalAccess::ExcludeFromPolicies(_)
            )
        )
    {
        c.push_first(
            ErrorKind::Contradiction,
            &["mfa.securityDefaults", "mfa.conditionalAccess", "preset"],
            "security defaults enabled together with conditional access exclusions".to_string(),
            "contradicts `conditionalAccess`",
            "security defaults require MFA with no exclusions and cannot be on while conditional access policies are used; set `securityDefaults: disabled`, or `conditionalAccess: {excludeApp: unmanaged}`".to_string(),
        );
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
