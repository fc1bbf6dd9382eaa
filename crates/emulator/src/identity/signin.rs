//! The pure sign-in evaluation behind the password (ROPC) and device-code grants: given the tenant's
//! CURRENT state, decide whether a user may get tokens for a client, and if not, which AADSTS error
//! Entra would answer.
//!
//! Order (the order Entra reports failures in; each step only runs if the previous ones passed):
//!
//! 1. client: unknown (or not yet replicated) → 700016; public/confidential client checks → 700025,
//!    7000218, 7000215 (done by the token endpoint, see `token.rs`);
//! 2. user: unknown → 50034; an account ROPC cannot sign in (federated without cloud password
//!    validation, guest, no password) or a wrong password → 50126 (ROPC only); disabled account →
//!    50057;
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
//! Steps 5 and 6 ask the one conditional access evaluator ([`crate::conditional_access`]) which
//! enabled policies apply, with the resources computed from the scopes by
//! [`crate::baseline_scopes::audience`] (baseline-scope enforcement).

use std::time::Instant;

use serde_json::Value;

use super::errors::TokenError;
use crate::baseline_scopes::{self, OIDC_SCOPES};
use crate::conditional_access::{self, Conditions, SignIn, Target};
use crate::home_realm;
use crate::state::{GRAPH_APP_ID, Record, Tenant};

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
    client: &Client<'_>,
    username: &str,
    password: &str,
    now: Instant,
) -> Result<&'t Record, TokenError> {
    let user = tenant
        .users
        .find_by("userPrincipalName", username)
        .filter(|u| u.is_visible(now))
        .ok_or_else(|| TokenError::user_not_found(tenant.display_name()))?;
    check_ropc_preconditions(tenant, client, user)?;
    match user.internal.password.as_deref() {
        Some(p) if p == password => Ok(user),
        _ => Err(TokenError::invalid_username_or_password()),
    }
}

/// The accounts ROPC cannot sign in (entra-docs `identity-platform/v2-oauth-ropc.md`): users of a
/// federated domain (unless the home realm discovery policy in effect for the client allows cloud
/// password validation, see [`home_realm`]), invited guests, accounts without a password, and
/// passwords with leading or trailing spaces. The docs give no error code for these; the emulator
/// answers AADSTS50126 (the password cannot be validated) with a message naming the reason.
fn check_ropc_preconditions(
    tenant: &Tenant,
    client: &Client<'_>,
    user: &Record,
) -> Result<(), TokenError> {
    let upn = user.str("userPrincipalName").unwrap_or("");
    let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    let sp = client.sp.map(Record::id);
    if tenant.domain_is_federated(domain)
        && !home_realm::cloud_password_validation_allowed(tenant, sp)
    {
        return Err(TokenError::ropc_not_supported(
            "the user's domain is federated and no home realm discovery policy allows cloud password validation",
        ));
    }
    if user
        .str("userType")
        .is_some_and(|t| t.eq_ignore_ascii_case("Guest"))
    {
        return Err(TokenError::ropc_not_supported(
            "invited (guest) accounts cannot use the password grant",
        ));
    }
    match user.internal.password.as_deref() {
        None => Err(TokenError::ropc_not_supported(
            "the account has no password",
        )),
        Some(p) if p.trim() != p => Err(TokenError::ropc_not_supported(
            "passwords with leading or trailing spaces are not supported",
        )),
        Some(_) => Ok(()),
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
    let audience = baseline_scopes::audience(
        &tenant.baseline_scopes,
        !client.is_public_client(),
        client.app_id,
        scopes,
    );
    let sign_in = SignIn {
        tenant,
        user,
        target: Target::Applications(audience),
        conditions: match flow {
            Flow::Password => Conditions::password(),
            Flow::DeviceCode => Conditions::device_code(),
        },
    };
    let enforcement = conditional_access::enforce(&sign_in);
    if !enforcement.blocking.is_empty() {
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
        if !enforcement.requiring_mfa.is_empty() {
            return Err(TokenError::mfa_required(&enforcement.requiring_mfa));
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
