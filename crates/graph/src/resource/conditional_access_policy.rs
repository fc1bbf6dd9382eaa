//! `conditionalAccessPolicy`. Policies are read as Graph returns them and kept whole (a policy
//! is written back only through [`exclusion_patch`], which carries nothing but
//! `conditions.applications.excludeApplications`). Their properties are read tolerantly: a key
//! in another letter case is still found (an exact match wins), `null` is absent, and a lone
//! string stands for a list of one — policies come from many tools and Graph versions, and a
//! policy entractl misreads could break sign-ins.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::common::Operation;
use crate::request::GraphRequest;

pub const PATH: &str = "/identity/conditionalAccess/policies";

pub const READ: &str = "Policy.Read.All";
pub const WRITE: &str = "Policy.ReadWrite.ConditionalAccess";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", PATH, READ),
    Operation::new("GET", "/identity/conditionalAccess/policies/{}", READ),
    Operation::new(
        "PATCH",
        "/identity/conditionalAccess/policies/{}",
        "Policy.ReadWrite.ConditionalAccess + Application.Read.All",
    ),
    Operation::new("GET", "/policies/authenticationStrengthPolicies", READ),
];

/// The resource "Windows Azure Active Directory" (Azure AD Graph), which conditional access
/// evaluates baseline-scope sign-ins against under Microsoft's 2026 enforcement.
pub const WINDOWS_AZURE_ACTIVE_DIRECTORY: &str = "00000002-0000-0000-c000-000000000000";

/// A conditional access policy, exactly as Graph returned it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConditionalAccessPolicy(pub Value);

/// A policy's grant controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantControls<'a> {
    /// `builtInControls`, as written.
    pub built_in: Vec<&'a str>,
    /// `authenticationStrength` is set (any non-null value).
    pub strength: bool,
    /// The display name or id of the authentication strength, when given.
    pub strength_name: Option<&'a str>,
    /// Terms of use and custom factors: controls too.
    pub others: usize,
    /// `operator` is `AND` (anything else, including missing, reads as `OR`).
    pub and: bool,
}

impl ConditionalAccessPolicy {
    pub fn id(&self) -> &str {
        string(&self.0, "id").unwrap_or("")
    }

    pub fn display_name(&self) -> &str {
        string(&self.0, "displayName").unwrap_or("")
    }

    /// A Microsoft-managed policy (entra-docs `managed-policies.md`: their names start with
    /// `Microsoft-managed:`; no Graph property marks them): only its state and its user and group
    /// exclusions may be changed.
    pub fn is_microsoft_managed(&self) -> bool {
        self.display_name()
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("microsoft-managed:")
    }

    /// `createdDateTime` as written.
    pub fn created_date_time(&self) -> Option<&str> {
        string(&self.0, "createdDateTime")
    }

    /// `state` as written (`enabled`, `enabledForReportingButNotEnforced`, `disabled`).
    pub fn state(&self) -> Option<&str> {
        string(&self.0, "state")
    }

    fn conditions(&self, keys: &[&str]) -> Option<&Value> {
        let mut v = get(&self.0, "conditions")?;
        for k in keys {
            v = get(v, k)?;
        }
        Some(v)
    }

    /// A list under `conditions.applications` (`includeApplications`, `excludeApplications`,
    /// `includeUserActions`, `includeAuthenticationContextClassReferences`).
    pub fn applications(&self, key: &str) -> Vec<&str> {
        strings(self.conditions(&["applications", key]))
    }

    /// A list under `conditions.users` (`includeUsers`, `excludeUsers`, `includeGroups`,
    /// `excludeGroups`, `includeRoles`, `excludeRoles`).
    pub fn users(&self, key: &str) -> Vec<&str> {
        strings(self.conditions(&["users", key]))
    }

    /// Whether `conditions.users.{key}` is an object (`includeGuestsOrExternalUsers`).
    pub fn users_has_object(&self, key: &str) -> bool {
        self.conditions(&["users", key])
            .is_some_and(Value::is_object)
    }

    /// `conditions.clientAppTypes`.
    pub fn client_app_types(&self) -> Vec<&str> {
        strings(self.conditions(&["clientAppTypes"]))
    }

    /// `conditions.authenticationFlows.transferMethods` as written.
    pub fn transfer_methods(&self) -> Option<&Value> {
        self.conditions(&["authenticationFlows", "transferMethods"])
    }

    /// Another condition (`signInRiskLevels`, `locations`, `platforms`, `devices`, …) as written.
    pub fn condition(&self, key: &str) -> Option<&Value> {
        self.conditions(&[key])
    }

    /// The grant controls; `None` when the policy has none (a session-only policy).
    pub fn grant_controls(&self) -> Option<GrantControls<'_>> {
        let g = get(&self.0, "grantControls").filter(|g| g.is_object())?;
        let strength = get(g, "authenticationStrength");
        Some(GrantControls {
            built_in: strings(get(g, "builtInControls")),
            strength: strength.is_some(),
            strength_name: strength
                .and_then(|s| string(s, "displayName").or_else(|| string(s, "id"))),
            others: strings(get(g, "termsOfUse")).len()
                + strings(get(g, "customAuthenticationFactors")).len(),
            and: string(g, "operator").is_some_and(|o| o.trim().eq_ignore_ascii_case("AND")),
        })
    }

    /// The PATCH body adding `app_id` to `conditions.applications.excludeApplications` (the
    /// entries already there kept, in order), or `None` when it is listed already. Nothing
    /// else of the policy is in the body, so nothing else can change.
    pub fn exclusion_patch(&self, app_id: &str) -> Option<Value> {
        let existing = self.conditions(&["applications", "excludeApplications"]);
        if list_contains(&strings(existing), app_id) {
            return None;
        }
        let mut list: Vec<Value> = match existing {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::String(s)) => vec![Value::String(s.clone())],
            _ => Vec::new(),
        };
        list.push(Value::String(app_id.to_string()));
        Some(json!({"conditions": {"applications": {"excludeApplications": list}}}))
    }

    /// The PATCH body adding ids to exclusion lists (`excludeApplications`, `excludeUsers`,
    /// `excludeGroups`): each list that gains an id is sent whole (the entries already there
    /// kept, in order, then the new ones); lists that gain nothing are not sent, and nothing
    /// else of the policy is in the body. `None` when nothing is added. Only user and group
    /// exclusions may be changed on a Microsoft-managed policy.
    pub fn exclusions_patch(&self, additions: &[(Exclusion, Vec<&str>)]) -> Option<Value> {
        let mut body = json!({"conditions": {}});
        for (list, ids) in additions {
            let (section, key) = list.path();
            let existing = self.conditions(&[section, key]);
            let have = strings(existing);
            let mut new: Vec<&str> = Vec::new();
            for id in ids {
                if !list_contains(&have, id) && !list_contains(&new, id) {
                    new.push(id);
                }
            }
            if new.is_empty() {
                continue;
            }
            let mut items: Vec<Value> = match existing {
                Some(Value::Array(items)) => items.clone(),
                Some(Value::String(s)) => vec![Value::String(s.clone())],
                _ => Vec::new(),
            };
            items.extend(new.into_iter().map(|s| Value::String(s.to_string())));
            let conditions = &mut body["conditions"];
            if conditions.get(section).is_none() {
                conditions[section] = json!({});
            }
            conditions[section][key] = Value::Array(items);
        }
        (body["conditions"]
            .as_object()
            .is_some_and(|c| !c.is_empty()))
        .then_some(body)
    }

    /// The policy as Graph stores it after a PATCH with `patch` (nested objects merged, a key
    /// matched in any letter case, other values replaced).
    pub fn patched(&self, patch: &Value) -> ConditionalAccessPolicy {
        let mut out = self.0.clone();
        merge(&mut out, patch);
        ConditionalAccessPolicy(out)
    }
}

/// An exclusion list of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// `conditions.applications.excludeApplications` (app ids).
    Applications,
    /// `conditions.users.excludeUsers` (user object ids).
    Users,
    /// `conditions.users.excludeGroups` (group object ids).
    Groups,
}

impl Exclusion {
    /// The section of `conditions` and the list's key.
    pub fn path(self) -> (&'static str, &'static str) {
        match self {
            Exclusion::Applications => ("applications", "excludeApplications"),
            Exclusion::Users => ("users", "excludeUsers"),
            Exclusion::Groups => ("users", "excludeGroups"),
        }
    }
}

/// Whether `list` holds `wanted`, ignoring case and surrounding spaces.
pub fn list_contains(list: &[&str], wanted: &str) -> bool {
    list.iter()
        .any(|s| s.trim().eq_ignore_ascii_case(wanted.trim()))
}

/// Read every policy.
pub fn list() -> GraphRequest {
    GraphRequest::get(PATH).label("read the conditional access policies")
}

/// `PATCH` a policy (Graph paces conditional access to about one request per second).
pub fn update(id: &str, patch: Value) -> GraphRequest {
    GraphRequest::patch(format!("{PATH}/{id}")).json(patch)
}

// -------------------------------------------------------------------------------------------
// The tolerant reader

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    member(object, key).filter(|v| !v.is_null())
}

fn member<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(v) = object.get(key) {
        return Some(v);
    }
    object
        .iter()
        .find(|(k, _)| !k.contains('@') && k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

fn string<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    get(value, key).and_then(Value::as_str)
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (key, value) in p {
                let slot = existing_key(t, key).unwrap_or_else(|| key.clone());
                match t.get_mut(&slot) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value);
                    }
                    _ => {
                        t.insert(slot, value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn existing_key(object: &Map<String, Value>, key: &str) -> Option<String> {
    if object.contains_key(key) {
        return Some(key.to_string());
    }
    object
        .keys()
        .find(|k| !k.contains('@') && k.eq_ignore_ascii_case(key))
        .cloned()
}

#[cfg(test)]
#[path = "conditional_access_policy_tests.rs"]
mod tests;
