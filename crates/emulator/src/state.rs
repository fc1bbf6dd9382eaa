//! The in-memory directory: tenants, their Graph objects (kept in Graph's exact JSON shape) and the
//! sandbox-only secrets that Graph never returns (passwords, client secrets, certificates).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::collection::Collection;
pub use crate::record::{CertificateCredential, FederatedCredential, Internal, Obj, Record};

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
    /// `policies/homeRealmDiscoveryPolicies` (assignments in `internal.applies_to`; see
    /// [`crate::home_realm`]).
    #[serde(default)]
    pub home_realm_discovery_policies: Collection,
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
            &mut self.home_realm_discovery_policies,
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

    /// Whether `domain` is one of the tenant's federated domains.
    pub fn domain_is_federated(&self, domain: &str) -> bool {
        self.organization
            .get("verifiedDomains")
            .and_then(Value::as_array)
            .is_some_and(|ds| {
                ds.iter().any(|d| {
                    d.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(domain))
                        && d.get("type").and_then(Value::as_str) == Some("Federated")
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
