//! One matcher per condition of a `conditionalAccessConditionSet` (Graph's JSON shape, read
//! tolerantly). Each answers whether the sign-in satisfies the condition.
//!
//! Sources: Graph `conditionalaccessconditionset.md`, `conditionalaccessapplications.md`,
//! `conditionalaccessusers.md`, `conditionalaccessplatforms.md`; entra-docs
//! `identity/conditional-access/concept-conditional-access-conditions.md` (device platforms: "any
//! device" includes unknown platforms; locations; client apps), `concept-authentication-flows.md`.

use serde_json::Value;

use super::json::{contains_ci, get, present, strings};
use super::sign_in::{Conditions, SignIn, Target};
use crate::state::Record;

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

/// `users`: included by `All`, the user's id, a group (transitively) or a directory role, and not
/// excluded the same ways; `GuestsOrExternalUsers` and the guest selectors match guests.
pub fn users(users: &Value, s: &SignIn<'_>) -> bool {
    let user_id = s.user.id();
    let groups = s.tenant.transitive_groups_of(user_id);
    let roles = user_roles(s.user);
    let guest = is_guest(s.user);
    let in_groups = |list: &[&str]| groups.iter().any(|g| contains_ci(list, g));
    let in_roles = |list: &[&str]| roles.iter().any(|r| contains_ci(list, r));
    let guest_sel = |key: &str| present(users, key).is_some() && guest;
    let listed = |list: &[&str]| {
        contains_ci(list, user_id) || (contains_ci(list, "GuestsOrExternalUsers") && guest)
    };
    let inc_users = strings(users, "includeUsers");
    let included = contains_ci(&inc_users, "All")
        || listed(&inc_users)
        || guest_sel("includeGuestsOrExternalUsers")
        || in_groups(&strings(users, "includeGroups"))
        || in_roles(&strings(users, "includeRoles"));
    let excluded = listed(&strings(users, "excludeUsers"))
        || guest_sel("excludeGuestsOrExternalUsers")
        || in_groups(&strings(users, "excludeGroups"))
        || in_roles(&strings(users, "excludeRoles"));
    included && !excluded
}

/// `applications` for a sign-in to resources: `All` or the resource's app id, not excluded. A
/// baseline-scope sign-in under the legacy behaviour is covered only by `All` without exclusions.
/// App groups (`Office365`, `MicrosoftAdminPortals`) are not expanded (as What-If: they never match).
pub fn applications(apps: &Value, target: &Target) -> Result<(), super::sign_in::Reason> {
    use super::sign_in::Reason;
    let include = strings(apps, "includeApplications");
    let exclude = strings(apps, "excludeApplications");
    match target {
        Target::Applications(audience) => {
            let all = contains_ci(&include, "All");
            let for_every_token = all && exclude.is_empty();
            let covers = audience
                .apps
                .iter()
                .any(|app| (all || contains_ci(&include, app)) && !contains_ci(&exclude, app));
            if covers || (audience.legacy_baseline && for_every_token) {
                Ok(())
            } else {
                Err(Reason::Application)
            }
        }
        Target::UserAction(action) => {
            if contains_ci(&strings(apps, "includeUserActions"), action) {
                Ok(())
            } else {
                Err(Reason::UserActions)
            }
        }
        Target::AuthenticationContext(c) => {
            let refs = strings(apps, "includeAuthenticationContextClassReferences");
            if contains_ci(&refs, c) {
                Ok(())
            } else {
                Err(Reason::AuthenticationContext)
            }
        }
    }
}

/// `platforms`: an unknown platform is inside `all` ("any device") and matches no named exclusion.
pub fn platforms(platforms: &Value, c: &Conditions) -> bool {
    let include = strings(platforms, "includePlatforms");
    let exclude = strings(platforms, "excludePlatforms");
    match c.device_platform.as_deref() {
        None | Some("all") => contains_ci(&include, "all"),
        Some(p) => {
            (contains_ci(&include, "all") || contains_ci(&include, p)) && !contains_ci(&exclude, p)
        }
    }
}

/// `devices.deviceFilter` with no device: an `include` filter matches nothing, an `exclude` filter
/// excludes nothing. `None` when a device is given: the emulator does not evaluate filter rules.
pub fn device_filter(filter: &Value, c: &Conditions) -> Option<bool> {
    if c.device_info.is_some() {
        return None;
    }
    let mode = get(filter, "mode").and_then(Value::as_str).unwrap_or("");
    Some(!mode.eq_ignore_ascii_case("include"))
}

/// `clientAppTypes`: empty or `all` matches every client; a sign-in of unknown or `all` type matches
/// every list.
pub fn client_app_types(conditions: &Value, c: &Conditions) -> bool {
    let types = strings(conditions, "clientAppTypes");
    if types.is_empty() || contains_ci(&types, "all") {
        return true;
    }
    match c.client_app_type.as_deref() {
        None | Some("all") => true,
        Some(t) => contains_ci(&types, t),
    }
}

/// `locations`: the sign-in comes from an unnamed, untrusted location, so only `All` includes it
/// (exclusions name locations it is not in).
pub fn locations(locations: &Value) -> bool {
    contains_ci(&strings(locations, "includeLocations"), "All")
}

/// A risk condition (`signInRiskLevels`, …): empty matches; otherwise the sign-in's level (`none`
/// when not given) must be listed.
pub fn risk(conditions: &Value, key: &str, level: Option<&str>) -> bool {
    let levels = strings(conditions, key);
    levels.is_empty() || contains_ci(&levels, level.unwrap_or("none"))
}

/// `authenticationFlows.transferMethods`: the sign-in's flow must be listed.
pub fn authentication_flows(flows: &Value, c: &Conditions) -> bool {
    let methods = strings(flows, "transferMethods");
    c.authentication_flow
        .as_deref()
        .is_some_and(|f| contains_ci(&methods, f))
}
