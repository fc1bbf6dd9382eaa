//! The claims of v2.0 ID tokens: standard claims, optional claims, `groups` (and its overage).
//!
//! Sources: entra-docs `identity-platform/id-token-claims-reference.md`, `optional-claims.md`,
//! `optional-claims-reference.md` (group claims, 200-group JWT limit and overage).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::identity::signin::Client;
use crate::state::{Record, Tenant};

/// Most groups an ID token carries before the overage claim replaces them.
pub const GROUPS_CLAIM_LIMIT: usize = 200;
/// The names of the optional claims configured for ID tokens on the application.
pub fn id_token_optional_claims(client: &Client<'_>) -> Vec<String> {
    client
        .app
        .and_then(|a| a.obj.get("optionalClaims"))
        .and_then(|o| o.get("idToken"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The `groups` claim per the app's `groupMembershipClaims`; `None` when no claim is emitted.
///
/// `SecurityGroup`: security groups the user belongs to (transitively); `All`: every group the user
/// belongs to; `ApplicationGroup`: only those of the user's groups that are assigned to the app;
/// `DirectoryRole`, `None` or `null`: no `groups` claim.
pub fn groups_claim(tenant: &Tenant, client: &Client<'_>, user: &Record) -> Option<Vec<String>> {
    let setting = client
        .app
        .and_then(|a| a.str("groupMembershipClaims"))
        .unwrap_or("None");
    // One value, as Graph documents the property (application.md: "use one of the following valid
    // string values"); writes of anything else are refused.
    let kind = setting.trim().to_ascii_lowercase();
    let member_of = tenant.transitive_groups_of(user.id());
    let groups: Vec<String> = if kind == "all" {
        member_of
    } else if kind == "securitygroup" {
        member_of
            .into_iter()
            .filter(|g| {
                tenant
                    .groups
                    .get(g)
                    .is_some_and(|r| r.bool("securityEnabled") == Some(true))
            })
            .collect()
    } else if kind == "applicationgroup" {
        let sp = client.sp?;
        member_of
            .into_iter()
            .filter(|g| {
                tenant.app_role_assignments.iter().any(|a| {
                    a.str("resourceId") == Some(sp.id()) && a.str("principalId") == Some(g.as_str())
                })
            })
            .collect()
    } else {
        return None;
    };
    Some(groups)
}

/// Pairwise `sub`: stable per (user, application), as Entra's.
fn pairwise_sub(tenant_id: &str, client_id: &str, user_id: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{tenant_id}|{client_id}|{user_id}").as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// The claims of a v2.0 ID token for this sign-in.
pub fn id_token_claims(
    tenant: &Tenant,
    client: &Client<'_>,
    user: &Record,
    scopes: &[String],
    issuer: &str,
    epoch: i64,
    uti: &str,
) -> Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|x| x.eq_ignore_ascii_case(s));
    let optional = id_token_optional_claims(client);
    let configured = |n: &str| optional.iter().any(|o| o.eq_ignore_ascii_case(n));
    let mut c = Map::new();
    c.insert("aud".into(), json!(client.app_id));
    c.insert("iss".into(), json!(issuer));
    c.insert("iat".into(), json!(epoch));
    c.insert("nbf".into(), json!(epoch));
    c.insert("exp".into(), json!(epoch + 3600));
    if configured("email")
        && let Some(mail) = user.str("mail")
    {
        c.insert("email".into(), json!(mail));
    }
    if let Some(groups) = groups_claim(tenant, client, user) {
        if groups.len() > GROUPS_CLAIM_LIMIT {
            c.insert("_claim_names".into(), json!({"groups": "src1"}));
            c.insert(
                "_claim_sources".into(),
                json!({"src1": {"endpoint": format!(
                    "https://graph.microsoft.com/v1.0/users/{}/getMemberObjects", user.id())}}),
            );
        } else if !groups.is_empty() {
            c.insert("groups".into(), json!(groups));
        }
    }
    if has("profile")
        && let Some(name) = user.str("displayName")
    {
        c.insert("name".into(), json!(name));
    }
    c.insert("oid".into(), json!(user.id()));
    // v2.0 ID tokens carry it whenever `profile` is granted (id-token-claims-reference.md); the
    // optional claim (what the Kandji Passport guide configures) also asks for it.
    if (has("profile") || configured("preferred_username"))
        && let Some(upn) = user.str("userPrincipalName")
    {
        c.insert("preferred_username".into(), json!(upn));
    }
    c.insert(
        "sub".into(),
        json!(pairwise_sub(&tenant.id, client.app_id, user.id())),
    );
    c.insert("tid".into(), json!(tenant.id));
    c.insert("uti".into(), json!(uti));
    c.insert("ver".into(), json!("2.0"));
    c
}
