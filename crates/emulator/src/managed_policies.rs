//! Microsoft-managed conditional access policies (entra-docs
//! `docs/identity/conditional-access/managed-policies.md`): created by Microsoft in report-only,
//! turned on by Microsoft no less than 45 days later if left in report-only (the docs said 30 days
//! earlier), named `Microsoft-managed: …`. Administrators can change only their state and the users
//! and groups they exclude; they cannot rename or delete them.
//!
//! The docs describe the policies in prose only; their JSON here (targets, controls) follows that
//! prose and is the emulator's: All resources, all users (the per-user MFA policy: the users with
//! per-user MFA `enabled` or `enforced`), grant `mfa` or `block`.

use serde_json::{Map, Value, json};

/// The display-name prefix of every Microsoft-managed policy.
pub const PREFIX: &str = "Microsoft-managed: ";

/// The policy bodies Microsoft creates in a P1/P2 tenant without security defaults (without `id`),
/// report-only. `per_user_mfa_users`: object ids of the users with per-user MFA on.
pub fn templates(per_user_mfa_users: &[String]) -> Vec<Value> {
    let policy = |name: &str, users: Value, extra: Value, grant: &str| {
        let mut conditions = json!({
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": []},
            "users": users,
        });
        if let (Value::Object(c), Value::Object(e)) = (&mut conditions, extra) {
            c.extend(e);
        }
        json!({
            "displayName": format!("{PREFIX}{name}"),
            "state": "enabledForReportingButNotEnforced",
            "conditions": conditions,
            "grantControls": {"operator": "OR", "builtInControls": [grant]},
        })
    };
    let all_users = json!({"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": []});
    let listed = json!({"includeUsers": per_user_mfa_users, "excludeUsers": [], "includeGroups": [], "excludeGroups": []});
    vec![
        policy(
            "Multifactor authentication for all users",
            all_users.clone(),
            json!({}),
            "mfa",
        ),
        policy(
            "Multifactor authentication for per-user multifactor authentication users",
            listed,
            json!({}),
            "mfa",
        ),
        policy(
            "Block legacy authentication",
            all_users.clone(),
            json!({"clientAppTypes": ["exchangeActiveSync", "other"]}),
            "block",
        ),
        policy(
            "Block device code flow",
            all_users,
            json!({"authenticationFlows": {"transferMethods": "deviceCodeFlow"}}),
            "block",
        ),
    ]
}

/// Why a PATCH of a Microsoft-managed policy is refused, if it is: anything but `state` and
/// `conditions.users.excludeUsers` / `excludeGroups` (`current` is the stored policy, so that a body
/// repeating unchanged values is accepted).
pub fn refused_change(current: &Map<String, Value>, patch: &Map<String, Value>) -> Option<String> {
    let now = |path: &[&str]| {
        let mut v = current.get(path[0]);
        for p in &path[1..] {
            v = v.and_then(|x| x.get(*p));
        }
        v
    };
    for (key, value) in patch {
        match key.as_str() {
            "state" => {}
            "conditions" => {
                let Some(conditions) = value.as_object() else {
                    return Some("conditions".into());
                };
                for (ck, cv) in conditions {
                    if ck != "users" {
                        if now(&["conditions", ck]) != Some(cv) {
                            return Some(format!("conditions.{ck}"));
                        }
                        continue;
                    }
                    let Some(users) = cv.as_object() else {
                        return Some("conditions.users".into());
                    };
                    for (uk, uv) in users {
                        let unchanged = now(&["conditions", "users", uk]) == Some(uv);
                        if !matches!(uk.as_str(), "excludeUsers" | "excludeGroups") && !unchanged {
                            return Some(format!("conditions.users.{uk}"));
                        }
                    }
                }
            }
            other => {
                if current.get(other) != Some(value) {
                    return Some(other.to_string());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_state_and_user_exclusions_change() {
        let p = templates(&["u1".into()]).remove(0);
        let current = p.as_object().unwrap().clone();
        let ok = json!({"state": "enabled", "conditions": {"users": {"excludeUsers": ["u9"], "excludeGroups": ["g1"]}}});
        assert_eq!(refused_change(&current, ok.as_object().unwrap()), None);
        let rename = json!({"displayName": "mine now"});
        assert_eq!(
            refused_change(&current, rename.as_object().unwrap()).as_deref(),
            Some("displayName")
        );
        let apps = json!({"conditions": {"applications": {"excludeApplications": ["x"]}}});
        assert_eq!(
            refused_change(&current, apps.as_object().unwrap()).as_deref(),
            Some("conditions.applications")
        );
        let include = json!({"conditions": {"users": {"includeUsers": ["u2"]}}});
        assert_eq!(
            refused_change(&current, include.as_object().unwrap()).as_deref(),
            Some("conditions.users.includeUsers")
        );
        assert!(templates(&[]).iter().all(|t| {
            t["displayName"].as_str().unwrap().starts_with(PREFIX)
                && t["state"] == "enabledForReportingButNotEnforced"
        }));
    }
}
