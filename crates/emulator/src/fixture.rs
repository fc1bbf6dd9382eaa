//! YAML tenant fixtures: a compact description of a tenant (organization, licence, users, groups,
//! conditional access policies, automation clients) turned into Graph-shaped objects. `${BASE_URL}` in a
//! fixture is replaced by the emulator's base URL (used as the issuer of federated credentials).
//! Generated parts ("300 users") come from the `generate` section, so big tenants stay small files.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::baseline_scopes::BaselineScopes;
use crate::graph::schema::{self, Kind};
use crate::managed_policies;
use crate::rng::SplitMix64;
use crate::state::{
    CertificateCredential, FederatedCredential, GRAPH_APP_ID, LicenseTier, Obj, Record, Tenant,
};

/// The sandbox password of every user a fixture does not give one (sandbox only, never a real secret).
pub const DEFAULT_PASSWORD: &str = "Passw0rd!sandbox";

/// The test-only certificate registered on automation clients with `certificate: true`.
pub const TEST_CERT_PEM: &str = include_str!("../testdata/entractl-test-cert.pem");
/// Its public key (PEM), used to verify client assertions.
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../testdata/entractl-test-pubkey.pem");

const GRAPH_SP: &str = include_str!("scenarios/microsoft-graph-sp.json");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Fixture {
    tenant: TenantSpec,
    #[serde(default)]
    users: Vec<UserSpec>,
    #[serde(default)]
    generate: Generate,
    #[serde(default)]
    groups: Vec<GroupSpec>,
    #[serde(default)]
    conditional_access_policies: Vec<Value>,
    /// Add the Microsoft-managed policies (report-only), as Microsoft does in P1/P2 tenants.
    #[serde(default)]
    microsoft_managed_policies: bool,
    #[serde(default)]
    automation_clients: Vec<ClientSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TenantSpec {
    id: String,
    display_name: String,
    domains: Vec<DomainSpec>,
    license: LicenseTier,
    #[serde(default)]
    security_defaults: bool,
    /// Baseline-scope enforcement: `legacy`, `enforced` (default), `disabled`, `{custom: <appId>}`.
    #[serde(default)]
    baseline_scopes: BaselineScopes,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DomainSpec {
    name: String,
    #[serde(default)]
    initial: bool,
    #[serde(default)]
    default: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserSpec {
    upn: String,
    display_name: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    per_user_mfa: Option<String>,
    /// The user has registered an MFA method (per-user MFA `enabled` then reads as `enforced`).
    #[serde(default)]
    mfa_registered: bool,
    #[serde(default = "yes")]
    account_enabled: bool,
    #[serde(default)]
    job_title: Option<String>,
    #[serde(default)]
    user_type: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Generate {
    #[serde(default)]
    users: Option<GenUsers>,
    #[serde(default)]
    groups: Vec<GenGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GenUsers {
    count: usize,
    domain: String,
    /// Every n-th generated user gets per-user MFA `enforced` (0 = none).
    #[serde(default)]
    per_user_mfa_every: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GenGroup {
    display_name: String,
    /// The first N generated users are members.
    member_count: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupSpec {
    display_name: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// UPNs, object ids, or `group:<displayName>` for nested groups.
    #[serde(default)]
    members: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientSpec {
    display_name: String,
    app_id: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    certificate: bool,
    #[serde(default)]
    federated: Vec<FederatedSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FederatedSpec {
    name: String,
    issuer: String,
    subject: String,
    audiences: Vec<String>,
}

const FIRST: &[&str] = &[
    "Adele",
    "Alex",
    "Allan",
    "Christie",
    "Debra",
    "Diego",
    "Emily",
    "Enrico",
    "Grady",
    "Henrietta",
    "Irvin",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Raul",
    "Sanjay",
    "Wei",
    "Yuki",
    "Zrinka",
    "Omar",
    "Fatima",
    "Kofi",
];
const LAST: &[&str] = &[
    "Vance",
    "Wilber",
    "Deyoung",
    "Cline",
    "Berg",
    "Siciliani",
    "Braun",
    "Ciccone",
    "Archie",
    "Gonzalez",
    "Sink",
    "Langer",
    "Lambert",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Graham",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Mendez",
    "Patel",
    "Zhang",
    "Tanaka",
    "Horvat",
    "Haddad",
    "Rahman",
    "Mensah",
];

fn fixture_err(name: &str, message: impl Into<String>) -> Error {
    Error::Fixture {
        name: name.to_string(),
        message: message.into(),
    }
}

fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Load a tenant from fixture YAML text.
pub fn load_str(
    name: &str,
    text: &str,
    base_url: &str,
    rng: &mut SplitMix64,
) -> Result<Tenant, Error> {
    let text = text.replace("${BASE_URL}", base_url);
    let fx: Fixture =
        serde_saphyr::from_str(&text).map_err(|e| fixture_err(name, e.to_string()))?;
    build(name, fx, base_url, rng)
}

fn build(name: &str, fx: Fixture, base_url: &str, rng: &mut SplitMix64) -> Result<Tenant, Error> {
    let tid = fx.tenant.id.to_ascii_lowercase();
    if tid.len() != 36 {
        return Err(fixture_err(
            name,
            format!("tenant.id `{tid}` is not a GUID"),
        ));
    }
    if fx.tenant.domains.is_empty() {
        return Err(fixture_err(
            name,
            "tenant.domains needs at least the initial *.onmicrosoft.com domain",
        ));
    }
    let created = now_iso();
    let mut t = Tenant {
        id: tid.clone(),
        license: fx.tenant.license,
        baseline_scopes: fx.tenant.baseline_scopes.clone(),
        ..Tenant::default()
    };
    let has_default = fx.tenant.domains.iter().any(|d| d.default);
    let domains: Vec<Value> = fx
        .tenant
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({"capabilities": "Email, OfficeCommunicationsOnline",
                   "isDefault": d.default || (!has_default && i == 0), "isInitial": d.initial,
                   "name": d.name.to_ascii_lowercase(), "type": "Managed"})
        })
        .collect();
    let (skus, plans) = licence(fx.tenant.license, &tid);
    t.organization = obj(json!({
        "id": tid, "deletedDateTime": null, "businessPhones": [], "city": null, "country": null,
        "countryLetterCode": "US", "createdDateTime": created, "defaultUsageLocation": null,
        "displayName": fx.tenant.display_name, "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": null, "onPremisesSyncEnabled": null, "postalCode": null,
        "preferredLanguage": "en", "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [], "state": null, "street": null,
        "technicalNotificationMails": [], "tenantType": "AAD",
        "assignedPlans": plans, "privacyProfile": null, "provisionedPlans": [],
        "verifiedDomains": domains
    }));
    t.subscribed_skus = skus;
    t.security_defaults = obj(json!({
        "id": "00000000-0000-0000-0000-000000000005",
        "displayName": "Security Defaults",
        "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks.",
        "isEnabled": fx.tenant.security_defaults
    }));

    // users
    let mut generated: Vec<String> = Vec::new();
    for u in &fx.users {
        let id =
            u.id.clone()
                .unwrap_or_else(|| rng.guid())
                .to_ascii_lowercase();
        let rec = user_record(
            &id,
            &u.upn,
            &u.display_name,
            u.account_enabled,
            u.job_title.as_deref(),
            u.user_type.as_deref(),
            &created,
        );
        let mut rec = rec;
        rec.internal.password = Some(
            u.password
                .clone()
                .unwrap_or_else(|| DEFAULT_PASSWORD.into()),
        );
        let mfa = u.per_user_mfa.clone().unwrap_or_else(|| "disabled".into());
        if !matches!(mfa.as_str(), "disabled" | "enabled" | "enforced") {
            return Err(fixture_err(
                name,
                format!(
                    "user {}: perUserMfa must be disabled, enabled or enforced",
                    u.upn
                ),
            ));
        }
        rec.internal.per_user_mfa_state = Some(mfa);
        rec.internal.mfa_registered = u.mfa_registered;
        t.users.insert(rec);
    }
    if let Some(g) = &fx.generate.users {
        for i in 0..g.count {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            let n = i / (FIRST.len() * LAST.len());
            let nick = if n == 0 {
                format!("{}.{}", first.to_lowercase(), last.to_lowercase())
            } else {
                format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), n)
            };
            let id = rng.guid();
            let upn = format!("{nick}@{}", g.domain);
            let mut rec = user_record(
                &id,
                &upn,
                &format!("{first} {last}"),
                true,
                None,
                None,
                &created,
            );
            rec.internal.password = Some(DEFAULT_PASSWORD.into());
            let enforced = g.per_user_mfa_every > 0 && i % g.per_user_mfa_every == 0;
            rec.internal.per_user_mfa_state =
                Some(if enforced { "enforced" } else { "disabled" }.into());
            generated.push(id);
            t.users.insert(rec);
        }
    }

    // groups (two passes: create, then resolve members so nested groups can reference each other)
    let mut group_ids = Vec::new();
    for g in &fx.groups {
        let id =
            g.id.clone()
                .unwrap_or_else(|| rng.guid())
                .to_ascii_lowercase();
        t.groups.insert(group_record(
            &id,
            &g.display_name,
            g.description.as_deref(),
            &created,
        ));
        group_ids.push(id);
    }
    for (g, gid) in fx.groups.iter().zip(&group_ids) {
        let mut members = Vec::new();
        for m in &g.members {
            let resolved = if let Some(gname) = m.strip_prefix("group:") {
                t.groups
                    .find_by("displayName", gname)
                    .map(|r| r.id().to_string())
            } else {
                t.user(m).map(|r| r.id().to_string())
            };
            members.push(resolved.ok_or_else(|| {
                fixture_err(
                    name,
                    format!(
                        "group `{}`: member `{m}` is not a user or `group:<name>` of the fixture",
                        g.display_name
                    ),
                )
            })?);
        }
        if let Some(rec) = t.groups.get_mut(gid) {
            rec.internal.members = members;
        }
    }
    for g in &fx.generate.groups {
        let id = rng.guid();
        let mut rec = group_record(&id, &g.display_name, None, &created);
        rec.internal.members = generated.iter().take(g.member_count).cloned().collect();
        t.groups.insert(rec);
    }

    // Microsoft Graph service principal
    let graph_sp_id = rng.guid();
    t.service_principals
        .insert(graph_service_principal(&graph_sp_id, &created));

    // automation clients
    for c in &fx.automation_clients {
        add_client(name, &mut t, c, &graph_sp_id, &created, rng)?;
    }

    // conditional access policies
    for (i, p) in fx.conditional_access_policies.iter().enumerate() {
        let Value::Object(body) = p else {
            return Err(fixture_err(
                name,
                format!("conditionalAccessPolicies[{i}] is not a mapping"),
            ));
        };
        let mut body = body.clone();
        let id = body
            .remove("id")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| rng.guid());
        let o = policy_object(&Value::Object(body), id, &created, base_url);
        t.conditional_access_policies.insert(Record::new(o));
    }
    if fx.microsoft_managed_policies {
        let per_user: Vec<String> = t
            .users
            .iter()
            .filter(|u| u.per_user_mfa_state() != "disabled")
            .map(|u| u.id().to_string())
            .collect();
        for body in managed_policies::templates(&per_user) {
            let mut rec = Record::new(policy_object(&body, rng.guid(), &created, base_url));
            rec.internal.microsoft_managed = true;
            t.conditional_access_policies.insert(rec);
        }
    }
    t.reindex();
    Ok(t)
}

/// A conditional access policy in Graph's shape from a fixture body.
fn policy_object(body: &Value, id: String, created: &str, base_url: &str) -> Obj {
    let empty = Map::new();
    let body = body.as_object().unwrap_or(&empty);
    let mut o = schema::instantiate(Kind::ConditionalAccessPolicy, body);
    o.insert("id".into(), json!(id));
    o.insert("createdDateTime".into(), json!(created));
    if let Some(Value::Object(g)) = o.get_mut("grantControls") {
        let strength = g.remove("authenticationStrength").unwrap_or(Value::Null);
        g.entry("customAuthenticationFactors").or_insert(json!([]));
        g.entry("termsOfUse").or_insert(json!([]));
        g.insert(
            "authenticationStrength@odata.context".into(),
            json!(format!("{base_url}/v1.0/$metadata#identity/conditionalAccess/policies('{id}')/grantControls/authenticationStrength/$entity")),
        );
        g.insert("authenticationStrength".into(), strength);
    }
    o
}

fn obj(v: Value) -> Obj {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn user_record(
    id: &str,
    upn: &str,
    display_name: &str,
    enabled: bool,
    job_title: Option<&str>,
    user_type: Option<&str>,
    created: &str,
) -> Record {
    let mut o = Kind::User.template();
    let (given, sur) = display_name.split_once(' ').unwrap_or((display_name, ""));
    let nick = upn.split('@').next().unwrap_or(upn);
    for (k, v) in [
        ("id", json!(id)),
        ("displayName", json!(display_name)),
        ("givenName", json!(given)),
        (
            "surname",
            if sur.is_empty() {
                Value::Null
            } else {
                json!(sur)
            },
        ),
        ("jobTitle", json!(job_title)),
        ("mail", json!(upn.to_ascii_lowercase())),
        ("userPrincipalName", json!(upn.to_ascii_lowercase())),
        ("accountEnabled", json!(enabled)),
        ("createdDateTime", json!(created)),
        ("mailNickname", json!(nick)),
        ("userType", json!(user_type.unwrap_or("Member"))),
        ("usageLocation", json!("US")),
    ] {
        o.insert(k.into(), v);
    }
    Record::new(o)
}

fn group_record(id: &str, display_name: &str, description: Option<&str>, created: &str) -> Record {
    let mut o = Kind::Group.template();
    let nick: String = display_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    for (k, v) in [
        ("id", json!(id)),
        ("displayName", json!(display_name)),
        ("description", json!(description)),
        ("createdDateTime", json!(created)),
        ("mailNickname", json!(nick)),
        ("securityEnabled", json!(true)),
        ("mailEnabled", json!(false)),
    ] {
        o.insert(k.into(), v);
    }
    Record::new(o)
}

/// The Microsoft Graph service principal (same ids as the real one; its object id is per tenant).
fn graph_service_principal(id: &str, created: &str) -> Record {
    let def: Value = serde_json::from_str(GRAPH_SP).unwrap_or(Value::Null);
    let roles: Vec<Value> = def["appRoles"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            json!({"allowedMemberTypes": ["Application"], "description": r["description"],
                   "displayName": r["displayName"], "id": r["id"], "isEnabled": true,
                   "origin": "Application", "value": r["value"]})
        })
        .collect();
    let scopes: Vec<Value> = def["oauth2PermissionScopes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            json!({"adminConsentDescription": s["adminConsentDisplayName"], "adminConsentDisplayName": s["adminConsentDisplayName"],
                   "id": s["id"], "isEnabled": true, "type": s["type"],
                   "userConsentDescription": s["adminConsentDisplayName"], "userConsentDisplayName": s["adminConsentDisplayName"],
                   "value": s["value"]})
        })
        .collect();
    let mut o = Kind::ServicePrincipal.template();
    for (k, v) in [
        ("id", json!(id)),
        ("appDisplayName", json!("Microsoft Graph")),
        ("appId", json!(GRAPH_APP_ID)),
        (
            "appOwnerOrganizationId",
            json!("f8cdef31-a31e-4b4a-93e4-5f571e91255a"),
        ),
        ("createdDateTime", json!(created)),
        ("displayName", json!("Microsoft Graph")),
        (
            "servicePrincipalNames",
            json!([
                GRAPH_APP_ID,
                "https://canary.graph.microsoft.com",
                "https://graph.microsoft.com",
                "https://ags.windows.net",
                "https://graph.microsoft.us",
                "https://graph.microsoft.com/",
                "https://dod-graph.microsoft.us"
            ]),
        ),
        ("signInAudience", json!("AzureADMultipleOrgs")),
        ("appRoles", Value::Array(roles)),
        ("oauth2PermissionScopes", Value::Array(scopes)),
    ] {
        o.insert(k.into(), v);
    }
    Record::new(o)
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .unwrap_or_default()
}

fn add_client(
    name: &str,
    t: &mut Tenant,
    c: &ClientSpec,
    graph_sp_id: &str,
    created: &str,
    rng: &mut SplitMix64,
) -> Result<(), Error> {
    let app_id = c.app_id.to_ascii_lowercase();
    let mut app = Kind::Application.template();
    let app_obj_id = rng.guid();
    for (k, v) in [
        ("id", json!(app_obj_id)),
        ("appId", json!(app_id)),
        ("createdDateTime", json!(created)),
        ("displayName", json!(c.display_name)),
        ("signInAudience", json!("AzureADMyOrg")),
        ("tags", json!(["entractl-automation"])),
        (
            "publisherDomain",
            t.organization["verifiedDomains"][0]["name"].clone(),
        ),
    ] {
        app.insert(k.into(), v);
    }
    let mut rec = Record::new(Map::new());
    let end = "2299-12-31T00:00:00Z";
    if let Some(s) = &c.secret {
        rec.internal.secrets.push(s.clone());
        app.insert(
            "passwordCredentials".into(),
            json!([{"customKeyIdentifier": null, "displayName": "sandbox secret", "endDateTime": end,
                    "hint": s.chars().take(3).collect::<String>(), "keyId": rng.guid(), "secretText": null,
                    "startDateTime": created}]),
        );
    }
    if c.certificate {
        let der = pem_der(TEST_CERT_PEM);
        let sha256 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        let key_id = rng.guid();
        let hex1: String = sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        rec.internal.certificates.push(CertificateCredential {
            key_id: key_id.clone(),
            thumbprint_sha256: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha256.as_ref()),
            public_key_pem: TEST_PUBLIC_KEY_PEM.to_string(),
        });
        app.insert(
            "keyCredentials".into(),
            json!([{"customKeyIdentifier": hex1, "displayName": "CN=entractl-test", "endDateTime": end,
                    "key": null, "keyId": key_id, "startDateTime": created, "type": "AsymmetricX509Cert",
                    "usage": "Verify"}]),
        );
    }
    for f in &c.federated {
        rec.internal
            .federated_credentials
            .push(FederatedCredential {
                id: rng.guid(),
                name: f.name.clone(),
                issuer: f.issuer.clone(),
                subject: f.subject.clone(),
                audiences: f.audiences.clone(),
            });
    }
    rec.obj = app;
    t.applications.insert(rec);

    let sp_id = rng.guid();
    let mut sp = Kind::ServicePrincipal.template();
    for (k, v) in [
        ("id", json!(sp_id)),
        ("appDisplayName", json!(c.display_name)),
        ("appId", json!(app_id)),
        ("appOwnerOrganizationId", json!(t.id)),
        ("createdDateTime", json!(created)),
        ("displayName", json!(c.display_name)),
        ("servicePrincipalNames", json!([app_id])),
        ("signInAudience", json!("AzureADMyOrg")),
    ] {
        sp.insert(k.into(), v);
    }
    t.service_principals.insert(Record::new(sp));

    let graph = t
        .service_principals
        .get(graph_sp_id)
        .cloned()
        .ok_or_else(|| fixture_err(name, "internal: Microsoft Graph service principal missing"))?;
    for role in &c.roles {
        let role_id = graph.obj["appRoles"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["value"].as_str() == Some(role.as_str())))
            .and_then(|r| r["id"].as_str())
            .ok_or_else(|| {
                fixture_err(name, format!("client `{}`: `{role}` is not an app role of the emulator's Microsoft Graph service principal", c.display_name))
            })?;
        let mut a = Kind::AppRoleAssignment.template();
        let mut idb = [0u8; 32];
        for ch in idb.chunks_mut(8) {
            ch.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        for (k, v) in [
            (
                "id",
                json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(idb)),
            ),
            ("appRoleId", json!(role_id)),
            ("createdDateTime", json!(created)),
            ("principalDisplayName", json!(c.display_name)),
            ("principalId", json!(sp_id)),
            ("principalType", json!("ServicePrincipal")),
            ("resourceDisplayName", json!("Microsoft Graph")),
            ("resourceId", json!(graph_sp_id)),
        ] {
            a.insert(k.into(), v);
        }
        t.app_role_assignments.insert(Record::new(a));
    }
    Ok(())
}

/// `subscribedSkus` and `organization.assignedPlans` for a licence tier. SKU and service plan ids from
/// Microsoft's "Product names and service plan identifiers for licensing" (entra-docs
/// `identity/users/licensing-service-plan-reference.md`).
fn licence(tier: LicenseTier, tid: &str) -> (Vec<Obj>, Vec<Value>) {
    let plan = |name: &str, id: &str| json!({"servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"});
    let (sku_id, part, plans) = match tier {
        LicenseTier::Free => (
            "3b555118-da6a-4418-894f-7df1e2096870",
            "O365_BUSINESS_ESSENTIALS",
            vec![
                plan(
                    "EXCHANGE_S_STANDARD",
                    "9aaf7827-d63c-4b61-89c3-182f06f82e5c",
                ),
                plan("SHAREPOINTSTANDARD", "c7699d2e-19aa-44de-8edf-1736da088ca1"),
            ],
        ),
        LicenseTier::P1 => (
            "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
            "SPB",
            vec![
                plan("AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"),
                plan("MFA_PREMIUM", "8a256a2b-b617-496d-b51b-e76466e88db0"),
                plan("INTUNE_A", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"),
                plan(
                    "EXCHANGE_S_STANDARD",
                    "9aaf7827-d63c-4b61-89c3-182f06f82e5c",
                ),
            ],
        ),
        LicenseTier::P2 => (
            "84a661c4-e949-4bd2-a560-ed7766fcaf2b",
            "AAD_PREMIUM_P2",
            vec![
                plan("AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"),
                plan("AAD_PREMIUM_P2", "eec0eb4f-6444-4f95-aba0-50c24d67f998"),
                plan("MFA_PREMIUM", "8a256a2b-b617-496d-b51b-e76466e88db0"),
            ],
        ),
    };
    let sku = obj(json!({
        "accountName": "sandbox", "accountId": tid, "appliesTo": "User", "capabilityStatus": "Enabled",
        "consumedUnits": 25, "id": format!("{tid}_{sku_id}"),
        "prepaidUnits": {"enabled": 300, "suspended": 0, "warning": 0, "lockedOut": 0},
        "servicePlans": plans, "skuId": sku_id, "skuPartNumber": part,
        "subscriptionIds": ["00000000-0000-4000-8000-0000000000a1"]
    }));
    let assigned: Vec<Value> = sku["servicePlans"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let service = match p["servicePlanName"].as_str() {
                Some("AAD_PREMIUM" | "AAD_PREMIUM_P2") => "AADPremiumService",
                Some("MFA_PREMIUM") => "MultiFactorService",
                Some("INTUNE_A") => "SCO",
                Some("SHAREPOINTSTANDARD") => "SharePoint",
                _ => "exchange",
            };
            json!({"assignedDateTime": "2024-01-01T00:00:00Z", "capabilityStatus": "Enabled",
                   "service": service, "servicePlanId": p["servicePlanId"]})
        })
        .collect();
    (vec![sku], assigned)
}
