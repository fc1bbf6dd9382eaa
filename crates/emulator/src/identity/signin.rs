//! The pure sign-in evaluation behind the password (ROPC) and device-code grants: given the tenant's
//! CURRENT state, decide whether a user may get tokens for a client, and if not, which AADSTS error
//! Entra would answer.
//!
//! Order (the order Entra reports failures in; each step only runs if the previous ones passed):
//!
//! 1. client: unknown (or not yet replicated) → 700016; public/confidential client checks → 700025,
//!    7000218, 7000215 (done by the token endpoint, see `token.rs`);
//! 2. user: unknown → 50034; wrong password → 50126 (ROPC only); disabled account → 50057;
//! 3. assignment: the client's service principal has `appRoleAssignmentRequired` and the user has no
//!    app role assignment on it, directly or through a group it is a **direct** member of → 50105;
//! 4. consent (ROPC only): every requested Graph scope must be covered by an `oauth2PermissionGrant`
//!    from the client's service principal to the Microsoft Graph service principal, `AllPrincipals` or
//!    `Principal` for this user → 65001;
//! 5. conditional access block: an **enabled** policy that covers the sign-in and has `block` → 53003;
//! 6. MFA (ROPC only, since ROPC cannot do MFA): security defaults on → 50076; per-user MFA `enabled`
//!    or `enforced` → 50076; an **enabled** policy that covers the sign-in and requires MFA → 50076
//!    (the `claims` challenge lists the policy ids in `capolids`, as Entra does).
//!
//! Which policies count (see [`policy_covers`] and [`policy_requires_mfa`]):
//! * `state`: only `enabled`. `enabledForReportingButNotEnforced` (report-only) is evaluated by Entra
//!   but never enforced, so it never fails a sign-in; `disabled` is ignored.
//! * users: `includeUsers` `All` / the user's id / `GuestsOrExternalUsers` for a guest, or
//!   `includeGroups` containing a group the user belongs to (transitively), or `includeRoles` containing
//!   a directory role template id the user holds; minus `excludeUsers` / `excludeGroups` / `excludeRoles`.
//! * applications: the resources of the request are the client itself and, when a scope outside the
//!   low-privilege OIDC/profile set is requested, Microsoft Graph. A policy covers the request when
//!   `includeApplications` has `All` or one of those app ids and `excludeApplications` does not list it.
//!   This models the documented behaviour that excluding an app from an "All resources" policy keeps
//!   `openid profile email offline_access User.Read People.Read` for it (entra-docs
//!   `identity/conditional-access/concept-conditional-access-cloud-apps.md`). A policy that targets
//!   only user actions or authentication contexts never covers a sign-in.
//! * client app types: ROPC and device code are modern-auth "mobile apps and desktop clients":
//!   `clientAppTypes` must be empty, `all` or contain `mobileAppsAndDesktopClients` (so "block legacy
//!   authentication" policies do not block them).
//! * other conditions: risk levels (`userRiskLevels`, `signInRiskLevels`, …) — the emulator's sign-ins
//!   carry no risk, so a policy with a non-empty risk list does not apply; `locations` — the sign-in
//!   comes from an untrusted, unnamed location, so it applies only when `includeLocations` has `All`;
//!   `platforms` — the platform is unknown, so it applies only when `includePlatforms` has `all` and
//!   `excludePlatforms` is empty; `devices.deviceFilter` — no device, so an `include` filter does not
//!   match and an `exclude` filter does; `authenticationFlows.transferMethods` — applies only to the
//!   device-code flow when it lists `deviceCodeFlow`.
//! * grant controls: `block` blocks. MFA is required when `builtInControls` has `mfa` or
//!   `authenticationStrength` is set, whatever the `operator`: with `OR` (e.g. `mfa OR compliantDevice`)
//!   the other controls are device or app controls, and a password sign-in presents no device and no
//!   app-protection state, so MFA is the only way to satisfy the policy.

use std::time::Instant;

use serde_json::Value;

use super::errors::TokenError;
use crate::state::{GRAPH_APP_ID, Record, Tenant};

/// Graph delegated scopes that stay available to a client excluded from an "All resources" policy.
pub const LOW_PRIVILEGE_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "User.Read",
    "People.Read",
];

/// The OpenID Connect scopes (they produce the ID token and refresh token, and need no resource).
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The flow a user signs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Resource owner password credentials: the password is checked here and MFA cannot be done.
    Password,
    /// Device code: the user signed in interactively (MFA and consent prompts could be satisfied).
    DeviceCode,
}

/// The client application as the tenant knows it: its registration (when it lives in this tenant)
/// and its service principal (when one exists).
#[derive(Debug, Clone, Copy)]
pub struct Client<'t> {
    /// The client id.
    pub app_id: &'t str,
    /// The application object, for apps registered in this tenant.
    pub app: Option<&'t Record>,
    /// The service principal in this tenant.
    pub sp: Option<&'t Record>,
}

impl<'t> Client<'t> {
    /// Display name (of the application, else of the service principal).
    pub fn display_name(&self) -> &'t str {
        self.app
            .and_then(|a| a.str("displayName"))
            .or_else(|| self.sp.and_then(|s| s.str("displayName")))
            .unwrap_or("")
    }

    /// "Allow public client flows" (`isFallbackPublicClient`), `null` meaning false.
    pub fn is_public_client(&self) -> bool {
        self.app
            .and_then(|a| a.bool("isFallbackPublicClient"))
            .unwrap_or(false)
    }
}

/// Find the client visible at `now` (a just-created, not yet replicated object is not found: 700016).
pub fn find_client<'t>(tenant: &'t Tenant, client_id: &'t str, now: Instant) -> Option<Client<'t>> {
    let app = tenant
        .application_by_app_id(client_id)
        .filter(|r| r.is_visible(now));
    let sp = tenant
        .service_principal_by_app_id(client_id)
        .filter(|r| r.is_visible(now));
    if app.is_none() && sp.is_none() {
        return None;
    }
    Some(Client {
        app_id: client_id,
        app,
        sp,
    })
}

/// Step 2 of ROPC: find the user by UPN and check the password.
pub fn check_password<'t>(
    tenant: &'t Tenant,
    username: &str,
    password: &str,
    now: Instant,
) -> Result<&'t Record, TokenError> {
    let user = tenant
        .users
        .find_by("userPrincipalName", username)
        .filter(|u| u.is_visible(now))
        .ok_or_else(|| TokenError::user_not_found(tenant.display_name()))?;
    match user.internal.password.as_deref() {
        Some(p) if p == password => Ok(user),
        _ => Err(TokenError::invalid_username_or_password()),
    }
}

/// What a successful evaluation grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// The Graph scopes granted (values, in request order, de-duplicated).
    pub scopes: Vec<String>,
}

/// Steps 2 (disabled) to 6 for an already identified user.
pub fn evaluate_user(
    tenant: &Tenant,
    client: &Client<'_>,
    user: &Record,
    scopes: &[String],
    flow: Flow,
    now: Instant,
) -> Result<Granted, TokenError> {
    if user.bool("accountEnabled") == Some(false) {
        return Err(TokenError::user_disabled());
    }
    check_assignment(tenant, client, user, now)?;
    if flow == Flow::Password {
        check_consent(tenant, client, user, scopes, now)?;
    }
    let ctx = PolicyContext {
        tenant,
        user,
        client_app_id: client.app_id,
        scopes,
        flow,
    };
    let covering: Vec<&Record> = tenant
        .conditional_access_policies
        .iter()
        .filter(|p| p.str("state") == Some("enabled"))
        .filter(|p| policy_covers(&Value::Object(p.obj.clone()), &ctx))
        .collect();
    if covering
        .iter()
        .any(|p| policy_blocks(&Value::Object(p.obj.clone())))
    {
        return Err(TokenError::blocked_by_conditional_access());
    }
    if flow == Flow::Password {
        if tenant.security_defaults_enabled() {
            return Err(TokenError::mfa_required(&[]));
        }
        if matches!(
            user.internal.per_user_mfa_state.as_deref(),
            Some("enabled") | Some("enforced")
        ) {
            return Err(TokenError::mfa_required(&[]));
        }
        let mfa: Vec<String> = covering
            .iter()
            .filter(|p| policy_requires_mfa(&Value::Object(p.obj.clone())))
            .map(|p| p.id().to_string())
            .collect();
        if !mfa.is_empty() {
            return Err(TokenError::mfa_required(&mfa));
        }
    }
    let mut granted: Vec<String> = Vec::new();
    for s in scopes {
        if !granted.iter().any(|g| g.eq_ignore_ascii_case(s)) {
            granted.push(s.clone());
        }
    }
    Ok(Granted { scopes: granted })
}

/// 50105: assignment required and neither the user nor one of its direct groups is assigned.
/// (Entra does not follow nested groups for app assignment.)
fn check_assignment(
    tenant: &Tenant,
    client: &Client<'_>,
    user: &Record,
    now: Instant,
) -> Result<(), TokenError> {
    let Some(sp) = client.sp else {
        return Ok(());
    };
    if sp.bool("appRoleAssignmentRequired") != Some(true) {
        return Ok(());
    }
    let mut principals = vec![user.id().to_string()];
    principals.extend(tenant.direct_groups_of(user.id()));
    let assigned = tenant.app_role_assignments.iter().any(|a| {
        a.is_visible(now)
            && a.str("resourceId") == Some(sp.id())
            && a.str("principalId")
                .is_some_and(|p| principals.iter().any(|x| x.eq_ignore_ascii_case(p)))
    });
    if assigned {
        Ok(())
    } else {
        Err(TokenError::user_not_assigned(
            client.display_name(),
            client.app_id,
            user.str("userPrincipalName").unwrap_or(""),
        ))
    }
}

/// 65001: a requested scope without a grant covering it.
fn check_consent(
    tenant: &Tenant,
    client: &Client<'_>,
    user: &Record,
    scopes: &[String],
    now: Instant,
) -> Result<(), TokenError> {
    let consented = consented_scopes(tenant, client, user, now);
    let missing = scopes
        .iter()
        .any(|s| !consented.iter().any(|c| c.eq_ignore_ascii_case(s)));
    if missing {
        Err(TokenError::consent_required(
            client.app_id,
            client.display_name(),
        ))
    } else {
        Ok(())
    }
}

/// The Graph scopes consented for this client and user (admin consent plus the user's own).
pub fn consented_scopes(
    tenant: &Tenant,
    client: &Client<'_>,
    user: &Record,
    now: Instant,
) -> Vec<String> {
    let (Some(sp), Some(graph)) = (client.sp, tenant.service_principal_by_app_id(GRAPH_APP_ID))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for g in tenant.oauth2_permission_grants.iter() {
        if !g.is_visible(now)
            || g.str("clientId") != Some(sp.id())
            || g.str("resourceId") != Some(graph.id())
        {
            continue;
        }
        let applies = match g.str("consentType") {
            Some("AllPrincipals") => true,
            Some("Principal") => g.str("principalId") == Some(user.id()),
            _ => false,
        };
        if applies {
            out.extend(
                g.str("scope")
                    .unwrap_or("")
                    .split_whitespace()
                    .map(str::to_string),
            );
        }
    }
    out
}

/// The resource prefixes that mean Microsoft Graph in a scope (`https://graph.microsoft.com/User.Read`).
pub fn graph_resources(base_url: &str) -> Vec<String> {
    vec![
        "https://graph.microsoft.com".to_string(),
        "https://graph.microsoft.us".to_string(),
        "https://dod-graph.microsoft.us".to_string(),
        "https://microsoftgraph.chinacloudapi.cn".to_string(),
        "https://canary.graph.microsoft.com".to_string(),
        GRAPH_APP_ID.to_string(),
        base_url.trim_end_matches('/').to_string(),
    ]
}

/// Parse the `scope` parameter of a delegated request into Graph scope values.
///
/// `openid`/`profile`/`email`/`offline_access` are kept as is; `User.Read` and
/// `https://graph.microsoft.com/User.Read` both become `User.Read`; `https://graph.microsoft.com/.default`
/// becomes the Graph delegated permissions the app declares in `requiredResourceAccess` (its static
/// permissions). A scope of another resource is answered with AADSTS500011 / 70011.
pub fn parse_delegated_scopes(
    tenant: &Tenant,
    client: &Client<'_>,
    scope: &str,
    base_url: &str,
) -> Result<Vec<String>, TokenError> {
    let resources = graph_resources(base_url);
    let mut out: Vec<String> = Vec::new();
    let push = |s: String, out: &mut Vec<String>| {
        if !out.iter().any(|x| x.eq_ignore_ascii_case(&s)) {
            out.push(s);
        }
    };
    for raw in scope.split_whitespace() {
        if OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(raw)) {
            push(raw.to_ascii_lowercase(), &mut out);
            continue;
        }
        let value = if raw.contains("://") || raw.starts_with(GRAPH_APP_ID) {
            let (resource, value) = raw
                .rsplit_once('/')
                .ok_or_else(|| TokenError::invalid_scope(raw))?;
            let resource = resource.trim_end_matches('/');
            if !resources.iter().any(|r| r.eq_ignore_ascii_case(resource)) {
                return Err(TokenError::resource_not_found(
                    resource,
                    tenant.display_name(),
                ));
            }
            value.to_string()
        } else {
            raw.to_string()
        };
        if value == ".default" {
            for s in declared_graph_scopes(tenant, client) {
                push(s, &mut out);
            }
            continue;
        }
        if value.is_empty() {
            return Err(TokenError::invalid_scope(raw));
        }
        push(canonical_graph_scope(tenant, &value), &mut out);
    }
    if out.is_empty() {
        return Err(TokenError::missing_parameter("scope"));
    }
    Ok(out)
}

/// The Graph service principal's spelling of a scope value (`user.read` → `User.Read`).
fn canonical_graph_scope(tenant: &Tenant, value: &str) -> String {
    tenant
        .service_principal_by_app_id(GRAPH_APP_ID)
        .and_then(|g| g.obj.get("oauth2PermissionScopes"))
        .and_then(Value::as_array)
        .and_then(|scopes| {
            scopes.iter().find_map(|s| {
                s.get("value")
                    .and_then(Value::as_str)
                    .filter(|v| v.eq_ignore_ascii_case(value))
            })
        })
        .unwrap_or(value)
        .to_string()
}

/// The Graph delegated scopes declared in the app's `requiredResourceAccess`.
pub fn declared_graph_scopes(tenant: &Tenant, client: &Client<'_>) -> Vec<String> {
    let Some(app) = client.app else {
        return Vec::new();
    };
    let graph_scopes = tenant
        .service_principal_by_app_id(GRAPH_APP_ID)
        .and_then(|g| g.obj.get("oauth2PermissionScopes"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for rra in app
        .obj
        .get("requiredResourceAccess")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if rra.get("resourceAppId").and_then(Value::as_str) != Some(GRAPH_APP_ID) {
            continue;
        }
        for ra in rra
            .get("resourceAccess")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if ra.get("type").and_then(Value::as_str) != Some("Scope") {
                continue;
            }
            let id = ra.get("id").and_then(Value::as_str).unwrap_or("");
            if let Some(v) = graph_scopes.iter().find_map(|s| {
                (s.get("id").and_then(Value::as_str) == Some(id))
                    .then(|| s.get("value").and_then(Value::as_str))
                    .flatten()
            }) {
                out.push(v.to_string());
            }
        }
    }
    out
}

// ---- conditional access ------------------------------------------------------------------------

/// What a conditional access policy is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct PolicyContext<'a> {
    /// The tenant (for group membership and directory roles).
    pub tenant: &'a Tenant,
    /// The signing-in user.
    pub user: &'a Record,
    /// The client application id.
    pub client_app_id: &'a str,
    /// The requested Graph scopes.
    pub scopes: &'a [String],
    /// The flow.
    pub flow: Flow,
}

/// Case-insensitive property lookup (real exports contain wrong-case keys such as `GrantControls`).
fn get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn strings<'v>(v: &'v Value, key: &str) -> Vec<&'v str> {
    get(v, key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn contains_ci(list: &[&str], value: &str) -> bool {
    list.iter().any(|x| x.eq_ignore_ascii_case(value))
}

/// Directory role template ids the user holds (`directoryRoleTemplateIds` kept on the user record by
/// fixtures, if any).
fn user_roles(user: &Record) -> Vec<&str> {
    user.obj
        .get("directoryRoleTemplateIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn is_guest(user: &Record) -> bool {
    user.str("userType")
        .is_some_and(|t| t.eq_ignore_ascii_case("Guest"))
}

fn users_match(users: &Value, ctx: &PolicyContext<'_>) -> bool {
    let user_id = ctx.user.id();
    let groups = ctx.tenant.transitive_groups_of(user_id);
    let roles = user_roles(ctx.user);
    let in_groups = |list: &[&str]| groups.iter().any(|g| contains_ci(list, g));
    let in_roles = |list: &[&str]| roles.iter().any(|r| contains_ci(list, r));
    let guest_sel = |key: &str| get(users, key).is_some_and(|v| !v.is_null()) && is_guest(ctx.user);

    let inc_users = strings(users, "includeUsers");
    let included = contains_ci(&inc_users, "All")
        || contains_ci(&inc_users, user_id)
        || (contains_ci(&inc_users, "GuestsOrExternalUsers") && is_guest(ctx.user))
        || guest_sel("includeGuestsOrExternalUsers")
        || in_groups(&strings(users, "includeGroups"))
        || in_roles(&strings(users, "includeRoles"));
    let exc_users = strings(users, "excludeUsers");
    let excluded = contains_ci(&exc_users, user_id)
        || (contains_ci(&exc_users, "GuestsOrExternalUsers") && is_guest(ctx.user))
        || guest_sel("excludeGuestsOrExternalUsers")
        || in_groups(&strings(users, "excludeGroups"))
        || in_roles(&strings(users, "excludeRoles"));
    included && !excluded
}

fn applications_match(apps: &Value, ctx: &PolicyContext<'_>) -> bool {
    let include = strings(apps, "includeApplications");
    let exclude = strings(apps, "excludeApplications");
    let beyond_low_privilege = ctx.scopes.iter().any(|s| {
        !LOW_PRIVILEGE_SCOPES
            .iter()
            .any(|l| l.eq_ignore_ascii_case(s))
    });
    let mut resources = vec![ctx.client_app_id];
    if beyond_low_privilege {
        resources.push(GRAPH_APP_ID);
    }
    resources.iter().any(|r| {
        (contains_ci(&include, "All") || contains_ci(&include, r)) && !contains_ci(&exclude, r)
    })
}

fn other_conditions_match(conditions: &Value, ctx: &PolicyContext<'_>) -> bool {
    let client_types = strings(conditions, "clientAppTypes");
    if !client_types.is_empty()
        && !contains_ci(&client_types, "all")
        && !contains_ci(&client_types, "mobileAppsAndDesktopClients")
    {
        return false;
    }
    for risk in [
        "userRiskLevels",
        "signInRiskLevels",
        "servicePrincipalRiskLevels",
        "insiderRiskLevels",
    ] {
        let levels = strings(conditions, risk);
        if !levels.is_empty() && !contains_ci(&levels, "none") {
            return false;
        }
        if let Some(Value::String(s)) = get(conditions, risk)
            && !s.is_empty()
            && !s.eq_ignore_ascii_case("none")
        {
            return false;
        }
    }
    if let Some(loc) = get(conditions, "locations").filter(|v| !v.is_null())
        && !contains_ci(&strings(loc, "includeLocations"), "All")
    {
        return false;
    }
    if let Some(p) = get(conditions, "platforms").filter(|v| !v.is_null())
        && (!contains_ci(&strings(p, "includePlatforms"), "all")
            || !strings(p, "excludePlatforms").is_empty())
    {
        return false;
    }
    if let Some(filter) = get(conditions, "devices")
        .and_then(|d| get(d, "deviceFilter"))
        .filter(|v| !v.is_null())
        && get(filter, "mode").and_then(Value::as_str) == Some("include")
    {
        return false;
    }
    if let Some(flows) = get(conditions, "authenticationFlows").filter(|v| !v.is_null()) {
        let methods = get(flows, "transferMethods")
            .and_then(Value::as_str)
            .unwrap_or("");
        let device_code = methods
            .split(',')
            .any(|m| m.trim().eq_ignore_ascii_case("deviceCodeFlow"));
        if !(device_code && ctx.flow == Flow::DeviceCode) {
            return false;
        }
    }
    true
}

/// Whether a policy (in Graph's JSON shape) covers this sign-in, ignoring its `state`.
pub fn policy_covers(policy: &Value, ctx: &PolicyContext<'_>) -> bool {
    let Some(conditions) = get(policy, "conditions") else {
        return false;
    };
    let Some(users) = get(conditions, "users") else {
        return false;
    };
    let Some(apps) = get(conditions, "applications") else {
        return false;
    };
    users_match(users, ctx)
        && applications_match(apps, ctx)
        && other_conditions_match(conditions, ctx)
}

fn grant_controls(policy: &Value) -> Option<&Value> {
    get(policy, "grantControls").filter(|g| !g.is_null())
}

/// Whether the policy's grant controls contain `block`.
pub fn policy_blocks(policy: &Value) -> bool {
    grant_controls(policy).is_some_and(|g| contains_ci(&strings(g, "builtInControls"), "block"))
}

/// Whether the policy's grant controls force MFA (see the module docs for `OR`).
pub fn policy_requires_mfa(policy: &Value) -> bool {
    let Some(g) = grant_controls(policy) else {
        return false;
    };
    let builtins = strings(g, "builtInControls");
    let strength = get(g, "authenticationStrength").is_some_and(|s| !s.is_null());
    // With `OR`, the alternatives to MFA (compliant or joined device, approved app, app protection,
    // terms of use) all need a device or an interactive client: a password grant presents neither.
    contains_ci(&builtins, "mfa") || strength
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str) -> Record {
        let mut r = Record::default();
        r.obj.insert("id".into(), json!(id));
        r.obj
            .insert("userPrincipalName".into(), json!("alice@contoso.com"));
        r.obj.insert("accountEnabled".into(), json!(true));
        r
    }

    fn policy(users: Value, apps: Value, grant: Value) -> Value {
        json!({
            "id": "p", "state": "enabled",
            "conditions": {"users": users, "applications": apps, "clientAppTypes": ["all"],
                           "platforms": null, "locations": null},
            "grantControls": grant
        })
    }

    fn all_users() -> Value {
        json!({"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": []})
    }

    const CLIENT: &str = "11111111-1111-1111-1111-111111111111";

    fn ctx<'a>(t: &'a Tenant, u: &'a Record, scopes: &'a [String]) -> PolicyContext<'a> {
        PolicyContext {
            tenant: t,
            user: u,
            client_app_id: CLIENT,
            scopes,
            flow: Flow::Password,
        }
    }

    #[test]
    fn mfa_controls_and_or() {
        let mfa =
            json!({"operator": "OR", "builtInControls": ["mfa"], "authenticationStrength": null});
        assert!(policy_requires_mfa(&json!({"grantControls": mfa})));
        let or = json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]});
        assert!(policy_requires_mfa(&json!({"grantControls": or})));
        let and = json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]});
        assert!(policy_requires_mfa(&json!({"grantControls": and})));
        let strength = json!({"operator": "OR", "builtInControls": [],
                              "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}});
        assert!(policy_requires_mfa(&json!({"grantControls": strength})));
        let block = json!({"operator": "OR", "builtInControls": ["block"]});
        assert!(!policy_requires_mfa(
            &json!({"grantControls": block.clone()})
        ));
        assert!(policy_blocks(&json!({"grantControls": block})));
        // Wrong-case key from a real template export; no grant controls at all.
        assert!(policy_blocks(
            &json!({"GrantControls": {"builtInControls": ["block"]}})
        ));
        assert!(!policy_requires_mfa(&json!({"state": "enabled"})));
    }

    #[test]
    fn app_exclusion_keeps_low_privilege_scopes_only() {
        let t = Tenant::default();
        let u = user("u1");
        let p = policy(
            all_users(),
            json!({"includeApplications": ["All"], "excludeApplications": [CLIENT]}),
            json!({"operator": "OR", "builtInControls": ["mfa"]}),
        );
        let low: Vec<String> = ["openid", "profile", "User.Read"]
            .map(String::from)
            .to_vec();
        assert!(!policy_covers(&p, &ctx(&t, &u, &low)));
        let high: Vec<String> = ["openid", "Mail.Read"].map(String::from).to_vec();
        assert!(policy_covers(&p, &ctx(&t, &u, &high)));
        let no_exclusion = policy(
            all_users(),
            json!({"includeApplications": ["All"], "excludeApplications": []}),
            json!({"operator": "OR", "builtInControls": ["mfa"]}),
        );
        assert!(policy_covers(&no_exclusion, &ctx(&t, &u, &low)));
    }

    #[test]
    fn user_exclusions_client_types_and_other_conditions() {
        let t = Tenant::default();
        let u = user("u1");
        let s: Vec<String> = vec!["openid".into()];
        let apps = json!({"includeApplications": ["All"]});
        let grant = json!({"builtInControls": ["mfa"]});
        let excluded = policy(
            json!({"includeUsers": ["All"], "excludeUsers": ["u1"]}),
            apps.clone(),
            grant.clone(),
        );
        assert!(!policy_covers(&excluded, &ctx(&t, &u, &s)));
        let only_other = policy(json!({"includeUsers": ["u2"]}), apps.clone(), grant.clone());
        assert!(!policy_covers(&only_other, &ctx(&t, &u, &s)));

        let mut legacy = policy(
            all_users(),
            apps.clone(),
            json!({"builtInControls": ["block"]}),
        );
        legacy["conditions"]["clientAppTypes"] = json!(["exchangeActiveSync", "other"]);
        assert!(!policy_covers(&legacy, &ctx(&t, &u, &s)));

        let mut risky = policy(all_users(), apps.clone(), grant.clone());
        risky["conditions"]["signInRiskLevels"] = json!(["high", "medium"]);
        assert!(!policy_covers(&risky, &ctx(&t, &u, &s)));

        let mut device_flow = policy(
            all_users(),
            apps.clone(),
            json!({"builtInControls": ["block"]}),
        );
        device_flow["conditions"]["authenticationFlows"] =
            json!({"transferMethods": "deviceCodeFlow,authenticationTransfer"});
        assert!(!policy_covers(&device_flow, &ctx(&t, &u, &s)));
        let mut dc = ctx(&t, &u, &s);
        dc.flow = Flow::DeviceCode;
        assert!(policy_covers(&device_flow, &dc));

        let user_action = policy(
            all_users(),
            json!({"includeApplications": [], "includeUserActions": ["urn:user:registersecurityinfo"]}),
            grant,
        );
        assert!(!policy_covers(&user_action, &ctx(&t, &u, &s)));
    }
}
