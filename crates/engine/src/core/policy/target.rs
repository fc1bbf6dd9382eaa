//! Whom and what a policy targets: its state, the applications, the users, the client app types.

use entractl_graph::resource::conditional_access_policy::{
    ConditionalAccessPolicy as Policy, list_contains as contains,
};
use serde::Serialize;
use serde_json::Value;

pub use crate::core::observed::UserScope;

/// A policy's `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyState {
    /// `enabled`: enforced.
    Enabled,
    /// `enabledForReportingButNotEnforced`: evaluated and logged, never enforced.
    ReportOnly,
    /// `disabled`: not evaluated.
    Disabled,
    /// Missing or a value Graph may add later (kept as written; treated like `enabled`, so a
    /// policy entractl does not understand is never assumed harmless).
    Other(String),
}

/// The `state` of a policy.
pub fn policy_state(policy: &Policy) -> PolicyState {
    match policy.state().map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case("enabled") => PolicyState::Enabled,
        Some(s) if s.eq_ignore_ascii_case("enabledForReportingButNotEnforced") => {
            PolicyState::ReportOnly
        }
        Some(s) if s.eq_ignore_ascii_case("disabled") => PolicyState::Disabled,
        Some(s) => PolicyState::Other(s.to_string()),
        None => PolicyState::Other(String::new()),
    }
}

/// How a policy's `conditions.applications` relate to one app (by its appId).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum AppTargeting {
    /// `includeApplications` has `All` (all resources), and the app is not excluded.
    AllResources,
    /// `includeApplications` names the app's appId.
    ThisApp,
    /// `excludeApplications` already lists the app's appId.
    AlreadyExcluded,
    /// Only the `Office365` app group is targeted (besides other apps). Passport's password
    /// sign-in asks Microsoft Graph for `openid profile email offline_access User.Read`;
    /// Microsoft Graph is not one of the Office 365 group's apps, so the policy does not apply.
    Office365Only,
    /// Only user actions (`includeUserActions`: register security information, register or
    /// join devices): never evaluated for an app's sign-in.
    UserActionsOnly,
    /// Only authentication contexts (`includeAuthenticationContextClassReferences`): evaluated
    /// when a resource asks for that context, not for a sign-in.
    AuthenticationContextOnly,
    /// Other apps only (named apps, `None`, `MicrosoftAdminPortals`, agent resources, Global
    /// Secure Access traffic profiles, or nothing at all).
    OtherApps {
        /// `includeApplications` as written (may be empty).
        include: Vec<String>,
    },
}

impl AppTargeting {
    /// Whether the policy is evaluated for sign-ins to the app.
    pub fn applies(&self) -> bool {
        matches!(self, AppTargeting::AllResources | AppTargeting::ThisApp)
    }

    /// In words, for plan notes.
    pub fn describe(&self) -> String {
        match self {
            AppTargeting::AllResources => "targets all resources".to_string(),
            AppTargeting::ThisApp => "targets the app by its appId".to_string(),
            AppTargeting::AlreadyExcluded => {
                "the app is already in excludeApplications".to_string()
            }
            AppTargeting::Office365Only => "targets the Office 365 app group, which does not include Microsoft Graph (the resource of Passport's sign-in)".to_string(),
            AppTargeting::UserActionsOnly => {
                "targets user actions only (not app sign-ins)".to_string()
            }
            AppTargeting::AuthenticationContextOnly => {
                "targets authentication contexts only (not app sign-ins)".to_string()
            }
            AppTargeting::OtherApps { include } if include.is_empty() => {
                "targets no applications".to_string()
            }
            AppTargeting::OtherApps { include } => {
                format!("targets other applications only ({})", include.join(", "))
            }
        }
    }
}

/// How `policy` targets the app with appId `app_id`. Exclusion wins over inclusion.
pub fn app_targeting(policy: &Policy, app_id: &str) -> AppTargeting {
    let include = policy.applications("includeApplications");
    let exclude = policy.applications("excludeApplications");
    if contains(&exclude, app_id) {
        return AppTargeting::AlreadyExcluded;
    }
    if contains(&include, app_id) {
        return AppTargeting::ThisApp;
    }
    if contains(&include, "All") {
        return AppTargeting::AllResources;
    }
    let real_include: Vec<&str> = include
        .iter()
        .copied()
        .filter(|a| !a.trim().eq_ignore_ascii_case("None"))
        .collect();
    if real_include.is_empty() {
        let actions = policy.applications("includeUserActions");
        if !actions.is_empty() {
            return AppTargeting::UserActionsOnly;
        }
        let contexts = policy.applications("includeAuthenticationContextClassReferences");
        if !contexts.is_empty() {
            return AppTargeting::AuthenticationContextOnly;
        }
    }
    if contains(&include, "Office365") {
        return AppTargeting::Office365Only;
    }
    AppTargeting::OtherApps {
        include: include.iter().map(|s| s.to_string()).collect(),
    }
}

/// Whether `policy` is evaluated for sign-ins to the app `app_id`: `includeApplications` has
/// `All` or the appId, and `excludeApplications` does not list it. See [`AppTargeting`] for
/// `Office365`, user actions and authentication contexts (none of them apply).
pub fn applies_to_app(policy: &Policy, app_id: &str) -> bool {
    app_targeting(policy, app_id).applies()
}

/// Whether `conditions.clientAppTypes` covers a password (ROPC) sign-in from a desktop app:
/// `all`, `mobileAppsAndDesktopClients`, or no list at all (Graph's default is all). Policies
/// limited to `browser`, `exchangeActiveSync` or `other` (legacy authentication) do not.
pub fn client_app_types_cover_ropc(policy: &Policy) -> bool {
    let types = policy.client_app_types();
    types.is_empty() || contains(&types, "all") || contains(&types, "mobileAppsAndDesktopClients")
}

/// The authentication flows a policy is limited to (`conditions.authenticationFlows.
/// transferMethods`: `deviceCodeFlow`, `authenticationTransfer`), or `None` when it is not
/// limited. A limited policy is evaluated only for those flows, never for a password sign-in.
pub fn authentication_flows(policy: &Policy) -> Option<String> {
    let methods = policy.transfer_methods()?;
    let text = match methods {
        Value::String(s) => s.trim().to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    };
    let none = text.is_empty()
        || text
            .split(',')
            .all(|m| m.trim().is_empty() || m.trim().eq_ignore_ascii_case("none"));
    (!none).then_some(text)
}

/// Which of a [`UserScope`] a policy covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Coverage {
    /// `includeUsers` has `All`, and not every user and group of the scope is excluded (an
    /// empty scope counts as covered: the app's users are not known yet).
    AllUsers,
    /// These users, groups and roles of the scope are included by id and not excluded.
    Specific {
        users: Vec<String>,
        groups: Vec<String>,
        roles: Vec<String>,
    },
    /// Only guests or external users are included (`GuestsOrExternalUsers`,
    /// `includeGuestsOrExternalUsers`): the app's member users are not covered.
    GuestsOrExternalUsersOnly,
    /// No one of the scope: nothing included (`None`, other users, groups or roles), or every
    /// one of them excluded.
    NotCovered,
}

impl Coverage {
    /// Whether at least one of the app's users is covered.
    pub fn covers_any(&self) -> bool {
        matches!(self, Coverage::AllUsers | Coverage::Specific { .. })
    }

    /// In words, for plan notes.
    pub fn describe(&self) -> String {
        match self {
            Coverage::AllUsers => "covers all users".to_string(),
            Coverage::Specific {
                users,
                groups,
                roles,
            } => {
                let mut parts = Vec::new();
                if !users.is_empty() {
                    parts.push(format!("user(s) {}", users.join(", ")));
                }
                if !groups.is_empty() {
                    parts.push(format!("group(s) {}", groups.join(", ")));
                }
                if !roles.is_empty() {
                    parts.push(format!("role(s) {}", roles.join(", ")));
                }
                format!("covers the app's {}", parts.join(" and "))
            }
            Coverage::GuestsOrExternalUsersOnly => {
                "covers guests and external users only, not the app's member users".to_string()
            }
            Coverage::NotCovered => "covers none of the app's users".to_string(),
        }
    }
}

fn intersect(scope: &[String], include: &[&str], exclude: &[&str]) -> Vec<String> {
    scope
        .iter()
        .filter(|id| contains(include, id) && !contains(exclude, id))
        .cloned()
        .collect()
}

/// Which of `scope` the policy's `conditions.users` covers, honouring `excludeUsers`,
/// `excludeGroups` and `excludeRoles`.
///
/// Group membership is not expanded here: a user of the scope included by id but excluded
/// through a group is still counted as covered, so entractl errs toward excluding the app (the
/// alternative is a broken sign-in). The plan shows each policy with its reason.
pub fn covers_users(policy: &Policy, scope: &UserScope) -> Coverage {
    let list = |key: &str| policy.users(key);
    let (include_users, exclude_users) = (list("includeUsers"), list("excludeUsers"));
    let (include_groups, exclude_groups) = (list("includeGroups"), list("excludeGroups"));
    let (include_roles, exclude_roles) = (list("includeRoles"), list("excludeRoles"));

    if contains(&include_users, "All") {
        let every_user_excluded = scope.user_ids.iter().all(|u| contains(&exclude_users, u));
        let every_group_excluded = scope.group_ids.iter().all(|g| contains(&exclude_groups, g));
        let scope_empty = scope.user_ids.is_empty() && scope.group_ids.is_empty();
        if !scope_empty && every_user_excluded && every_group_excluded {
            return Coverage::NotCovered;
        }
        return Coverage::AllUsers;
    }
    let users = intersect(&scope.user_ids, &include_users, &exclude_users);
    let groups = intersect(&scope.group_ids, &include_groups, &exclude_groups);
    let roles = intersect(&scope.role_ids, &include_roles, &exclude_roles);
    if !users.is_empty() || !groups.is_empty() || !roles.is_empty() {
        return Coverage::Specific {
            users,
            groups,
            roles,
        };
    }
    let guests = contains(&include_users, "GuestsOrExternalUsers")
        || policy.users_has_object("includeGuestsOrExternalUsers");
    let anyone_else = include_users.iter().any(|u| {
        !u.trim().eq_ignore_ascii_case("None")
            && !u.trim().eq_ignore_ascii_case("GuestsOrExternalUsers")
    }) || !include_groups.is_empty()
        || !include_roles.is_empty();
    if guests && !anyone_else {
        Coverage::GuestsOrExternalUsersOnly
    } else {
        Coverage::NotCovered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const APP: &str = "9b1f4c2e-6a3d-4f8b-b1e7-2c5d8a0f3e69";

    // The rules, applied to policies written as JSON.
    fn policy_state(v: &Value) -> PolicyState {
        super::policy_state(&Policy(v.clone()))
    }
    fn app_targeting(v: &Value, app_id: &str) -> AppTargeting {
        super::app_targeting(&Policy(v.clone()), app_id)
    }
    fn applies_to_app(v: &Value, app_id: &str) -> bool {
        super::applies_to_app(&Policy(v.clone()), app_id)
    }
    fn authentication_flows(v: &Value) -> Option<String> {
        super::authentication_flows(&Policy(v.clone()))
    }
    fn client_app_types_cover_ropc(v: &Value) -> bool {
        super::client_app_types_cover_ropc(&Policy(v.clone()))
    }
    fn covers_users(v: &Value, scope: &UserScope) -> Coverage {
        super::covers_users(&Policy(v.clone()), scope)
    }

    fn with_apps(apps: Value) -> Value {
        json!({"conditions": {"applications": apps}})
    }

    #[test]
    fn states() {
        assert_eq!(
            policy_state(&json!({"state": "enabled"})),
            PolicyState::Enabled
        );
        assert_eq!(
            policy_state(&json!({"state": "enabledForReportingButNotEnforced"})),
            PolicyState::ReportOnly
        );
        assert_eq!(
            policy_state(&json!({"state": "Disabled"})),
            PolicyState::Disabled
        );
        assert_eq!(policy_state(&json!({})), PolicyState::Other(String::new()));
    }

    #[test]
    fn app_targeting_rules() {
        let t = |apps| app_targeting(&with_apps(apps), APP);
        assert_eq!(
            t(json!({"includeApplications": ["All"]})),
            AppTargeting::AllResources
        );
        assert_eq!(
            t(json!({"includeApplications": [APP.to_uppercase()]})),
            AppTargeting::ThisApp
        );
        assert_eq!(
            t(json!({"includeApplications": ["All"], "excludeApplications": [APP.to_uppercase()]})),
            AppTargeting::AlreadyExcluded
        );
        assert_eq!(
            t(json!({"includeApplications": ["Office365"]})),
            AppTargeting::Office365Only
        );
        assert_eq!(
            t(
                json!({"includeApplications": [], "includeUserActions": ["urn:user:registerdevice"]})
            ),
            AppTargeting::UserActionsOnly
        );
        assert_eq!(
            t(
                json!({"includeApplications": ["None"], "includeAuthenticationContextClassReferences": ["c1"]})
            ),
            AppTargeting::AuthenticationContextOnly
        );
        assert_eq!(
            t(json!({"includeApplications": ["None"]})),
            AppTargeting::OtherApps {
                include: vec!["None".into()]
            }
        );
        assert_eq!(
            app_targeting(
                &json!({"conditions": {"applications": {"globalSecureAccess": {}}}}),
                APP
            ),
            AppTargeting::OtherApps { include: vec![] }
        );
        assert!(applies_to_app(
            &with_apps(json!({"includeApplications": ["All"]})),
            APP
        ));
        assert!(!applies_to_app(&json!({}), APP));
    }

    #[test]
    fn authentication_flows_limit() {
        let p = |m: Value| json!({"conditions": {"authenticationFlows": {"transferMethods": m}}});
        assert_eq!(
            authentication_flows(&p(json!("deviceCodeFlow"))),
            Some("deviceCodeFlow".into())
        );
        assert_eq!(authentication_flows(&p(json!("none"))), None);
        assert_eq!(authentication_flows(&p(json!(null))), None);
        assert_eq!(authentication_flows(&json!({"conditions": {}})), None);
    }

    #[test]
    fn client_app_types() {
        let p = |types: Value| json!({"conditions": {"clientAppTypes": types}});
        assert!(client_app_types_cover_ropc(&json!({"conditions": {}})));
        assert!(client_app_types_cover_ropc(&p(json!([]))));
        assert!(client_app_types_cover_ropc(&p(json!(["All"]))));
        assert!(client_app_types_cover_ropc(&p(json!([
            "browser",
            "mobileAppsAndDesktopClients"
        ]))));
        assert!(!client_app_types_cover_ropc(&p(json!([
            "exchangeActiveSync",
            "other"
        ]))));
        assert!(!client_app_types_cover_ropc(&p(json!(["browser"]))));
    }

    fn scope() -> UserScope {
        UserScope {
            user_ids: vec!["u1".into(), "u2".into()],
            group_ids: vec!["g1".into()],
            role_ids: vec!["r1".into()],
        }
    }

    fn users(u: Value) -> Value {
        json!({"conditions": {"users": u}})
    }

    #[test]
    fn coverage_rules() {
        let c = |u| covers_users(&users(u), &scope());
        assert_eq!(c(json!({"includeUsers": ["All"]})), Coverage::AllUsers);
        assert_eq!(
            c(json!({"includeUsers": ["All"], "excludeUsers": ["u1"]})),
            Coverage::AllUsers
        );
        assert_eq!(
            c(
                json!({"includeUsers": ["All"], "excludeUsers": ["u1", "U2"], "excludeGroups": ["g1"]})
            ),
            Coverage::NotCovered
        );
        assert_eq!(
            covers_users(
                &users(json!({"includeUsers": ["All"]})),
                &UserScope::default()
            ),
            Coverage::AllUsers
        );
        assert_eq!(
            c(json!({"includeUsers": ["u2"], "includeGroups": ["g1", "g9"], "excludeGroups": []})),
            Coverage::Specific {
                users: vec!["u2".into()],
                groups: vec!["g1".into()],
                roles: vec![]
            }
        );
        assert_eq!(
            c(json!({"includeRoles": ["r1"], "excludeRoles": ["r1"]})),
            Coverage::NotCovered
        );
        assert!(c(json!({"includeRoles": ["r1"]})).covers_any());
        assert_eq!(c(json!({"includeUsers": ["None"]})), Coverage::NotCovered);
        assert_eq!(
            c(json!({"includeUsers": ["GuestsOrExternalUsers"]})),
            Coverage::GuestsOrExternalUsersOnly
        );
        assert_eq!(
            c(
                json!({"includeUsers": [], "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest"}})
            ),
            Coverage::GuestsOrExternalUsersOnly
        );
        assert_eq!(
            c(json!({"includeGroups": ["<AdministratorGroup>"]})),
            Coverage::NotCovered
        );
        assert_eq!(covers_users(&json!({}), &scope()), Coverage::NotCovered);
    }
}
