//! Baseline-scope enforcement ("improved enforcement for All resources policies with resource
//! exclusions"): which resources a user sign-in is evaluated against by conditional access, given the
//! scopes it asks for, the kind of client, and the tenant's setting.
//!
//! Sources (entra-docs, `docs/identity/conditional-access/`): `concept-enforcement-resource-exclusions.md`,
//! `improved-enforcement-resource-exclusions-faq.md`, `concept-conditional-access-cloud-apps.md`
//! ("Legacy …" and "New Conditional Access behavior when an ALL resources policy has a resource
//! exclusion", "Conditional Access for different client types").
//!
//! - A sign-in asking for any scope beyond the baseline scopes is evaluated against Microsoft Graph
//!   (the resource of every scope the emulator serves).
//! - Baseline scopes only, **enforced** (the default since the 2026 rollout): evaluated as directory
//!   access against *Windows Azure Active Directory* (`00000002-0000-0000-c000-000000000000`), so
//!   "All resources" policies with exclusions and policies naming that resource apply. Exception from
//!   the docs: a confidential client asking only for OIDC scopes ("no change is expected").
//! - Baseline scopes only, **legacy** (not rolled out) or **disabled** (the admin opted out): "All
//!   resources" policies with any resource exclusion are not enforced; an "All resources" policy
//!   without exclusions always is. Public clients have the smaller legacy list of low-privilege scopes.
//! - **custom** (Customize behavior): baseline scopes are evaluated against the placeholder app, so a
//!   policy that excludes the placeholder keeps the legacy behaviour and every other policy applies.
//! - Conditional access applies to public clients only through the resources they ask for; a
//!   confidential client asking for an ID token (`openid`) is itself a resource too.

use serde::{Deserialize, Serialize};

/// App id of *Windows Azure Active Directory* (Azure AD Graph), the resource baseline scopes are
/// evaluated against under enforcement.
pub const AZURE_AD_GRAPH_APP_ID: &str = "00000002-0000-0000-c000-000000000000";

/// App id of Microsoft Graph.
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The all-zero GUID `advancedSettings.baselineScopes.resourceAppId` reports for a disabled setting.
pub const DISABLED_RESOURCE_APP_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The baseline scopes: OIDC scopes and baseline directory scopes (the enforcement docs' list).
pub const BASELINE_SCOPES: [&str; 11] = [
    "email",
    "offline_access",
    "openid",
    "profile",
    "User.Read",
    "User.Read.All",
    "User.ReadBasic.All",
    "People.Read",
    "People.Read.All",
    "GroupMember.Read.All",
    "Member.Read.Hidden",
];

/// The low-privilege Microsoft Graph scopes native clients and SPAs kept under the legacy behaviour.
pub const LEGACY_PUBLIC_CLIENT_SCOPES: [&str; 6] = [
    "email",
    "offline_access",
    "openid",
    "profile",
    "User.Read",
    "People.Read",
];

/// The OpenID Connect scopes.
pub const OIDC_SCOPES: [&str; 4] = ["email", "offline_access", "openid", "profile"];

/// A tenant's baseline-scope setting (fixture key `baselineScopes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum BaselineScopes {
    /// Not yet rolled out: the legacy behaviour.
    Legacy,
    /// Enforced (every tenant that did not opt out, since the 2026 rollout).
    #[default]
    Enforced,
    /// The admin chose "Disable enforcement": the legacy behaviour, tenant-wide.
    Disabled,
    /// The admin chose "Customize behavior" with this placeholder application (app id).
    Custom(String),
}

impl BaselineScopes {
    /// What Graph's undocumented `advancedSettings.baselineScopes.resourceAppId` reports; `None` where
    /// `advancedSettings` is `null` (the setting was never changed).
    pub fn resource_app_id(&self) -> Option<&str> {
        match self {
            BaselineScopes::Legacy => None,
            BaselineScopes::Enforced => Some(AZURE_AD_GRAPH_APP_ID),
            BaselineScopes::Disabled => Some(DISABLED_RESOURCE_APP_ID),
            BaselineScopes::Custom(app) => Some(app),
        }
    }

    /// Parse `legacy`, `enforced`, `disabled` or `custom:<appId>` (command line, control API).
    pub fn parse(text: &str) -> Option<BaselineScopes> {
        match text.trim() {
            "legacy" => Some(BaselineScopes::Legacy),
            "enforced" => Some(BaselineScopes::Enforced),
            "disabled" => Some(BaselineScopes::Disabled),
            other => other
                .strip_prefix("custom:")
                .map(str::trim)
                .filter(|id| id.len() == 36)
                .map(|id| BaselineScopes::Custom(id.to_ascii_lowercase())),
        }
    }
}

/// The resources a sign-in is evaluated against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience {
    /// App ids of the resources (Microsoft Graph, Windows Azure Active Directory, the placeholder app,
    /// a confidential client asking for an ID token).
    pub apps: Vec<String>,
    /// Baseline scopes under the legacy behaviour: "All resources" policies apply only when they
    /// have no resource exclusion.
    pub legacy_baseline: bool,
}

fn within(scopes: &[String], list: &[&str]) -> bool {
    scopes
        .iter()
        .all(|s| list.iter().any(|b| b.eq_ignore_ascii_case(s)))
}

/// The audience of a user sign-in by `client_app_id` asking for `scopes` (Graph scope values).
pub fn audience(
    setting: &BaselineScopes,
    confidential: bool,
    client_app_id: &str,
    scopes: &[String],
) -> Audience {
    let mut apps = Vec::new();
    let asks_id_token = scopes.iter().any(|s| s.eq_ignore_ascii_case("openid"));
    if confidential && asks_id_token {
        apps.push(client_app_id.to_ascii_lowercase());
    }
    let legacy = matches!(setting, BaselineScopes::Legacy | BaselineScopes::Disabled);
    let low_privilege = if legacy && !confidential {
        within(scopes, &LEGACY_PUBLIC_CLIENT_SCOPES)
    } else {
        within(scopes, &BASELINE_SCOPES)
    };
    if !low_privilege {
        apps.push(MICROSOFT_GRAPH_APP_ID.to_string());
        return Audience {
            apps,
            legacy_baseline: false,
        };
    }
    if legacy {
        return Audience {
            apps,
            legacy_baseline: true,
        };
    }
    if !(confidential && within(scopes, &OIDC_SCOPES)) {
        let resource = match setting {
            BaselineScopes::Custom(app) => app.to_ascii_lowercase(),
            _ => AZURE_AD_GRAPH_APP_ID.to_string(),
        };
        apps.push(resource);
    }
    Audience {
        apps,
        legacy_baseline: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "11111111-1111-1111-1111-111111111111";
    const PLACEHOLDER: &str = "22222222-2222-2222-2222-222222222222";

    fn scopes(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn baseline_scopes_follow_the_setting() {
        let passport = scopes("openid profile email User.Read");
        let aad = |apps: &[&str]| Audience {
            apps: apps.iter().map(|a| a.to_string()).collect(),
            legacy_baseline: false,
        };
        assert_eq!(
            audience(&BaselineScopes::Enforced, false, CLIENT, &passport),
            aad(&[AZURE_AD_GRAPH_APP_ID])
        );
        assert_eq!(
            audience(
                &BaselineScopes::Custom(PLACEHOLDER.into()),
                false,
                CLIENT,
                &passport
            ),
            aad(&[PLACEHOLDER])
        );
        for legacy in [BaselineScopes::Legacy, BaselineScopes::Disabled] {
            let a = audience(&legacy, false, CLIENT, &passport);
            assert!(a.legacy_baseline && a.apps.is_empty(), "{a:?}");
        }
        // Beyond the baseline: Microsoft Graph, whatever the setting.
        let more = scopes("openid Group.Read.All");
        for s in [BaselineScopes::Legacy, BaselineScopes::Enforced] {
            assert_eq!(
                audience(&s, false, CLIENT, &more),
                aad(&[MICROSOFT_GRAPH_APP_ID])
            );
        }
        // The legacy public-client list is shorter than the baseline.
        let all_users = scopes("openid User.Read.All");
        assert_eq!(
            audience(&BaselineScopes::Legacy, false, CLIENT, &all_users),
            aad(&[MICROSOFT_GRAPH_APP_ID])
        );
        // A confidential client asking for an ID token is itself a resource; OIDC scopes alone are
        // not directory access for it.
        assert_eq!(
            audience(
                &BaselineScopes::Enforced,
                true,
                CLIENT,
                &scopes("openid profile")
            ),
            aad(&[CLIENT])
        );
        assert_eq!(
            audience(&BaselineScopes::Enforced, true, CLIENT, &passport),
            aad(&[CLIENT, AZURE_AD_GRAPH_APP_ID])
        );
    }

    #[test]
    fn settings_parse_and_report_like_graph() {
        assert_eq!(
            BaselineScopes::parse("custom:22222222-2222-2222-2222-222222222222"),
            Some(BaselineScopes::Custom(PLACEHOLDER.into()))
        );
        assert_eq!(BaselineScopes::parse("custom:x"), None);
        assert_eq!(BaselineScopes::Legacy.resource_app_id(), None);
        assert_eq!(
            BaselineScopes::Disabled.resource_app_id(),
            Some(DISABLED_RESOURCE_APP_ID)
        );
    }
}
