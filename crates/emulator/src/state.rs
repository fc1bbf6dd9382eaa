//! The in-memory directory: tenants, their Graph objects (kept in Graph's exact JSON shape) and the
//! sandbox-only secrets that Graph never returns (passwords, client secrets, certificates).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Graph object in Graph's exact JSON shape (property order preserved).
pub type Obj = Map<String, Value>;

/// The application id of Microsoft Graph (the same in every tenant).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The emulator's whole directory: many tenants at once, routed by the token's `tid`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Emulator {
    /// Tenants keyed by tenant id (lower-case GUID).
    pub tenants: BTreeMap<String, Tenant>,
}

impl Emulator {
    /// The tenant with this id (GUID) or one of its verified domain names.
    pub fn tenant(&self, id_or_domain: &str) -> Option<&Tenant> {
        let key = id_or_domain.to_ascii_lowercase();
        self.tenants
            .get(&key)
            .or_else(|| self.tenants.values().find(|t| t.has_domain(&key)))
    }

    /// Mutable access to the tenant with this id (GUID) or verified domain name.
    pub fn tenant_mut(&mut self, id_or_domain: &str) -> Option<&mut Tenant> {
        let key = id_or_domain.to_ascii_lowercase();
        if self.tenants.contains_key(&key) {
            return self.tenants.get_mut(&key);
        }
        self.tenants.values_mut().find(|t| t.has_domain(&key))
    }
}

/// The licence tier of a tenant, reflected in `subscribedSkus` and `organization.assignedPlans`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LicenseTier {
    /// Entra ID Free: no `AAD_PREMIUM` service plan.
    #[default]
    Free,
    /// Entra ID P1 (`AAD_PREMIUM`).
    P1,
    /// Entra ID P2 (`AAD_PREMIUM` and `AAD_PREMIUM_P2`).
    P2,
}

/// A certificate credential registered on an application (`keyCredentials`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateCredential {
    /// keyId of the `keyCredentials` entry.
    pub key_id: String,
    /// SHA-256 thumbprint of the DER certificate, base64url without padding (what `x5t#S256` carries).
    pub thumbprint_sha256: String,
    /// The certificate's public key (PEM, `-----BEGIN PUBLIC KEY-----`), used to verify client assertions.
    pub public_key_pem: String,
}

/// A federated identity credential of an application (`federatedIdentityCredentials`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedCredential {
    /// Graph id of the credential.
    pub id: String,
    /// Unique name of the credential within the application.
    pub name: String,
    /// Expected `iss` of the incoming token.
    pub issuer: String,
    /// Expected `sub` of the incoming token.
    pub subject: String,
    /// Accepted `aud` values (`api://AzureADTokenExchange`).
    pub audiences: Vec<String>,
}

/// Properties Graph never returns but the emulator needs (passwords, secrets, members, per-user MFA).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Internal {
    /// A user's password (sandbox only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A user's legacy per-user MFA state: `disabled` | `enabled` | `enforced`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_user_mfa_state: Option<String>,
    /// The user has registered an MFA method (fixture `mfaRegistered`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mfa_registered: bool,
    /// A Microsoft-managed conditional access policy (only its state and user/group exclusions can
    /// be changed; it cannot be deleted).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub microsoft_managed: bool,
    /// A group's direct members (object ids of users, groups, service principals), in insertion order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// An application's client secrets (plain text; sandbox only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// An application's certificate credentials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateCredential>,
    /// An application's federated identity credentials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub federated_credentials: Vec<FederatedCredential>,
    /// Object ids of the owners of an application or service principal (Application.ReadWrite.OwnedBy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
}

/// One stored object: its Graph JSON, its internal properties, and when other readers may see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    /// The object exactly as Graph returns it (all properties, nulls included).
    pub obj: Obj,
    /// Properties Graph does not return.
    #[serde(default, skip_serializing_if = "is_default_internal")]
    pub internal: Internal,
    /// Replication delay: until this instant the object is invisible to reads (and references to it fail).
    #[serde(skip)]
    pub visible_at: Option<Instant>,
    /// Replication delay on an update: what other readers still see until `visible_at`.
    #[serde(skip)]
    pub previous: Option<Obj>,
}

fn is_default_internal(i: &Internal) -> bool {
    *i == Internal::default()
}

impl Record {
    /// A record with no internal properties, visible immediately.
    pub fn new(obj: Obj) -> Self {
        Record {
            obj,
            internal: Internal::default(),
            visible_at: None,
            previous: None,
        }
    }

    /// The Graph `id` of the object.
    pub fn id(&self) -> &str {
        self.obj.get("id").and_then(Value::as_str).unwrap_or("")
    }

    /// A string property of the Graph object.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.obj.get(key).and_then(Value::as_str)
    }

    /// A boolean property of the Graph object (`null`/absent = `None`).
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.obj.get(key).and_then(Value::as_bool)
    }

    /// A user's per-user MFA state as Graph reports it: `enabled` turns `enforced` once the user has
    /// registered a method (entra-docs `authentication/howto-mfa-userstates.md`: "Users who complete
    /// registration while they're Enabled are automatically moved to the Enforced state").
    pub fn per_user_mfa_state(&self) -> &str {
        match self.internal.per_user_mfa_state.as_deref() {
            Some("enabled") if self.internal.mfa_registered => "enforced",
            Some(s) => s,
            None => "disabled",
        }
    }

    /// Whether readers may see the object at `now` (replication delay over).
    pub fn is_visible(&self, now: Instant) -> bool {
        self.visible_at.is_none_or(|t| now >= t)
    }

    /// What a reader sees at `now`: the object, its previous version while an update replicates, or
    /// nothing while a creation replicates.
    pub fn view(&self, now: Instant) -> Option<&Obj> {
        if self.is_visible(now) {
            Some(&self.obj)
        } else {
            self.previous.as_ref()
        }
    }
}

/// A collection of directory objects keyed by id. Iteration order is by id, which is the order the
/// emulator pages in (Graph documents no order for these lists).
///
/// `userPrincipalName` and `appId` lookups use a secondary index (so a 100,000-user tenant answers
/// `GET /users/{upn}` without a scan). The index is authoritative only while no record has been handed
/// out mutably since the last [`Collection::reindex`]; otherwise lookups fall back to a scan.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Collection {
    items: BTreeMap<String, Record>,
    #[serde(skip)]
    index: HashMap<String, String>,
    #[serde(skip)]
    fresh: bool,
}

/// The properties the secondary index covers.
const INDEXED: &[&str] = &["userPrincipalName", "appId"];

fn index_key(prop: &str, value: &str) -> String {
    format!("{prop}\u{1}{}", value.to_ascii_lowercase())
}

impl Collection {
    /// Number of objects, visible or not.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when the collection holds no object.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The object with this id (case-insensitive GUIDs are stored lower-case).
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.items.get(id).or_else(|| {
            let lower = id.to_ascii_lowercase();
            if lower != id {
                self.items.get(&lower)
            } else {
                None
            }
        })
    }
    /// Mutable access to the object with this id.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Record> {
        self.fresh = false;
        if self.items.contains_key(id) {
            return self.items.get_mut(id);
        }
        self.items.get_mut(&id.to_ascii_lowercase())
    }
    fn unindex(&mut self, id: &str) {
        if let Some(old) = self.items.get(id) {
            for p in INDEXED {
                if let Some(v) = old.str(p) {
                    let k = index_key(p, v);
                    if self.index.get(&k).is_some_and(|i| i == id) {
                        self.index.remove(&k);
                    }
                }
            }
        }
    }
    fn add_to_index(&mut self, record: &Record) {
        for p in INDEXED {
            if let Some(v) = record.str(p) {
                self.index
                    .entry(index_key(p, v))
                    .or_insert_with(|| record.id().to_string());
            }
        }
    }
    /// Insert or replace an object (keyed by its `id`).
    pub fn insert(&mut self, record: Record) {
        let id = record.id().to_string();
        if self.fresh {
            self.unindex(&id);
            self.add_to_index(&record);
        }
        self.items.insert(id, record);
    }
    /// Remove the object with this id.
    pub fn remove(&mut self, id: &str) -> Option<Record> {
        let key = if self.items.contains_key(id) {
            id.to_string()
        } else {
            id.to_ascii_lowercase()
        };
        if self.fresh {
            self.unindex(&key);
        }
        self.items.remove(&key)
    }
    /// All objects, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Record> {
        self.items.values()
    }
    /// All objects, mutably, in id order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Record> {
        self.fresh = false;
        self.items.values_mut()
    }
    /// Objects whose id is strictly greater than `after` (for `$skiptoken` paging).
    pub fn iter_after<'a>(
        &'a self,
        after: Option<&str>,
    ) -> Box<dyn Iterator<Item = &'a Record> + 'a> {
        use std::ops::Bound;
        match after {
            Some(a) => Box::new(
                self.items
                    .range::<str, _>((Bound::Excluded(a), Bound::Unbounded))
                    .map(|(_, r)| r),
            ),
            None => Box::new(self.items.values()),
        }
    }
    /// The first object whose string property `key` equals `value` (case-insensitive).
    pub fn find_by(&self, key: &str, value: &str) -> Option<&Record> {
        if self.fresh && INDEXED.contains(&key) {
            return self
                .index
                .get(&index_key(key, value))
                .and_then(|id| self.items.get(id))
                .filter(|r| r.str(key).is_some_and(|v| v.eq_ignore_ascii_case(value)));
        }
        self.items
            .values()
            .find(|r| r.str(key).is_some_and(|v| v.eq_ignore_ascii_case(value)))
    }
    /// Mutable version of [`Collection::find_by`].
    pub fn find_by_mut(&mut self, key: &str, value: &str) -> Option<&mut Record> {
        let id = self.find_by(key, value).map(|r| r.id().to_string())?;
        self.get_mut(&id)
    }
    /// Rebuild the secondary index if a record was handed out mutably since the last rebuild.
    pub fn reindex(&mut self) {
        if self.fresh {
            return;
        }
        let mut index = HashMap::with_capacity(self.items.len());
        for r in self.items.values() {
            for p in INDEXED {
                if let Some(v) = r.str(p) {
                    index
                        .entry(index_key(p, v))
                        .or_insert_with(|| r.id().to_string());
                }
            }
        }
        self.index = index;
        self.fresh = true;
    }
}

/// A deleted directory object, restorable from `directory/deletedItems` for 30 days.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedItem {
    /// The collection it came from: `applications`, `servicePrincipals`, `users`, `groups`.
    pub kind: String,
    /// The object as it was, with `deletedDateTime` set.
    pub record: Record,
}

/// One tenant: organization, directory objects, policies.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Tenant id (lower-case GUID).
    pub id: String,
    /// The `organization` object in Graph's shape.
    pub organization: Obj,
    /// Licence tier (decides `subscribedSkus`).
    pub license: LicenseTier,
    /// `subscribedSkus` objects in Graph's shape.
    pub subscribed_skus: Vec<Obj>,
    /// `users`.
    pub users: Collection,
    /// `groups` (members in `internal.members`).
    pub groups: Collection,
    /// `applications` (credentials in `internal`).
    pub applications: Collection,
    /// `servicePrincipals`.
    pub service_principals: Collection,
    /// `oauth2PermissionGrants`.
    pub oauth2_permission_grants: Collection,
    /// `appRoleAssignment` objects (both `appRoleAssignedTo` and `appRoleAssignments` views).
    pub app_role_assignments: Collection,
    /// `identity/conditionalAccess/policies`.
    pub conditional_access_policies: Collection,
    /// `policies/identitySecurityDefaultsEnforcementPolicy`.
    pub security_defaults: Obj,
    /// `exclusions` of the beta conditional access settings (stored as given).
    #[serde(default)]
    pub conditional_access_exclusions: Value,
    /// Baseline-scope enforcement of conditional access (a portal setting; see `baseline_scopes`).
    #[serde(default)]
    pub baseline_scopes: crate::baseline_scopes::BaselineScopes,
    /// `directory/deletedItems`, keyed by object id.
    pub deleted_items: BTreeMap<String, DeletedItem>,
}

impl Tenant {
    /// Make every pending write visible now (the replication delay of every object ends), and return
    /// how many objects were still replicating.
    pub fn settle_replication(&mut self) -> usize {
        let mut settled = 0;
        for coll in [
            &mut self.users,
            &mut self.groups,
            &mut self.applications,
            &mut self.service_principals,
            &mut self.oauth2_permission_grants,
            &mut self.app_role_assignments,
            &mut self.conditional_access_policies,
        ] {
            for r in coll.iter_mut() {
                if r.visible_at.take().is_some() {
                    settled += 1;
                }
                r.previous = None;
            }
        }
        self.reindex();
        settled
    }

    /// Turn the report-only Microsoft-managed policies on (what Microsoft does when they were left in
    /// report-only long enough); returns their ids.
    pub fn enable_managed_policies(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for p in self.conditional_access_policies.iter_mut() {
            if p.internal.microsoft_managed
                && p.str("state") == Some("enabledForReportingButNotEnforced")
            {
                p.obj.insert("state".into(), Value::from("enabled"));
                out.push(p.id().to_string());
            }
        }
        out
    }

    /// Rebuild the lookup indexes of the collections that were mutated directly (cheap when not).
    pub fn reindex(&mut self) {
        self.users.reindex();
        self.applications.reindex();
        self.service_principals.reindex();
    }

    /// Whether `domain` (lower-case) is one of the tenant's verified domains.
    pub fn has_domain(&self, domain: &str) -> bool {
        self.organization
            .get("verifiedDomains")
            .and_then(Value::as_array)
            .is_some_and(|ds| {
                ds.iter().any(|d| {
                    d.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(domain))
                })
            })
    }

    /// The tenant's display name.
    pub fn display_name(&self) -> &str {
        self.organization
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Security defaults on?
    pub fn security_defaults_enabled(&self) -> bool {
        self.security_defaults
            .get("isEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// A user by object id or userPrincipalName (case-insensitive).
    pub fn user(&self, id_or_upn: &str) -> Option<&Record> {
        self.users
            .get(id_or_upn)
            .or_else(|| self.users.find_by("userPrincipalName", id_or_upn))
    }

    /// Mutable version of [`Tenant::user`].
    pub fn user_mut(&mut self, id_or_upn: &str) -> Option<&mut Record> {
        if self.users.get(id_or_upn).is_some() {
            return self.users.get_mut(id_or_upn);
        }
        self.users.find_by_mut("userPrincipalName", id_or_upn)
    }

    /// The application with this appId (client id).
    pub fn application_by_app_id(&self, app_id: &str) -> Option<&Record> {
        self.applications.find_by("appId", app_id)
    }

    /// The service principal with this appId.
    pub fn service_principal_by_app_id(&self, app_id: &str) -> Option<&Record> {
        self.service_principals.find_by("appId", app_id)
    }

    /// Ids of the groups `object_id` is a direct member of.
    pub fn direct_groups_of(&self, object_id: &str) -> Vec<String> {
        self.groups
            .iter()
            .filter(|g| g.internal.members.iter().any(|m| m == object_id))
            .map(|g| g.id().to_string())
            .collect()
    }

    /// Ids of all groups `object_id` belongs to, directly or through nested groups.
    pub fn transitive_groups_of(&self, object_id: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut frontier = vec![object_id.to_string()];
        while let Some(id) = frontier.pop() {
            for g in self.direct_groups_of(&id) {
                if !out.contains(&g) {
                    out.push(g.clone());
                    frontier.push(g);
                }
            }
        }
        out
    }

    /// Object ids of all members of a group, following nested groups (users, groups, SPs).
    pub fn transitive_members_of(&self, group_id: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut frontier = vec![group_id.to_string()];
        while let Some(gid) = frontier.pop() {
            if let Some(g) = self.groups.get(&gid) {
                for m in &g.internal.members {
                    if seen.insert(m.clone()) {
                        out.push(m.clone());
                        if self.groups.get(m).is_some() {
                            frontier.push(m.clone());
                        }
                    }
                }
            }
        }
        out
    }

    /// Values of the app roles of `resource_app_id` (e.g. Microsoft Graph) granted to the client
    /// application `client_app_id` through appRoleAssignments to its service principal.
    pub fn granted_app_roles(&self, client_app_id: &str, resource_app_id: &str) -> Vec<String> {
        let (Some(client), Some(resource)) = (
            self.service_principal_by_app_id(client_app_id),
            self.service_principal_by_app_id(resource_app_id),
        ) else {
            return Vec::new();
        };
        let roles = resource.obj.get("appRoles").and_then(Value::as_array);
        let mut out = Vec::new();
        for a in self.app_role_assignments.iter() {
            if a.str("principalId") == Some(client.id())
                && a.str("resourceId") == Some(resource.id())
            {
                let role_id = a.str("appRoleId").unwrap_or("");
                if let Some(v) = roles.and_then(|rs| {
                    rs.iter()
                        .find(|r| r.get("id").and_then(Value::as_str) == Some(role_id))
                        .and_then(|r| r.get("value").and_then(Value::as_str))
                }) {
                    out.push(v.to_string());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(id: &str, upn: &str) -> Record {
        let Value::Object(o) = json!({"id": id, "userPrincipalName": upn}) else {
            unreachable!()
        };
        Record::new(o)
    }

    #[test]
    fn index_finds_inserted_and_forgets_removed_and_survives_direct_edits() {
        let mut c = Collection::default();
        c.insert(rec("1", "a@x.com"));
        c.reindex();
        c.insert(rec("2", "B@x.com"));
        assert_eq!(
            c.find_by("userPrincipalName", "b@X.com").map(Record::id),
            Some("2")
        );
        c.remove("2");
        assert!(c.find_by("userPrincipalName", "b@x.com").is_none());
        // a direct edit through get_mut makes lookups scan until the next reindex
        c.get_mut("1")
            .unwrap()
            .obj
            .insert("userPrincipalName".into(), json!("renamed@x.com"));
        assert_eq!(
            c.find_by("userPrincipalName", "renamed@x.com")
                .map(Record::id),
            Some("1")
        );
        assert!(c.find_by("userPrincipalName", "a@x.com").is_none());
        c.reindex();
        assert_eq!(
            c.find_by("userPrincipalName", "renamed@x.com")
                .map(Record::id),
            Some("1")
        );
        // replacing a record re-indexes it
        c.insert(rec("1", "again@x.com"));
        assert!(c.find_by("userPrincipalName", "renamed@x.com").is_none());
        assert_eq!(
            c.find_by("userPrincipalName", "again@x.com")
                .map(Record::id),
            Some("1")
        );
    }
}
