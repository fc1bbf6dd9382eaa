//! `conditionalAccessSettings` (beta `identity/conditionalAccess/settings`), and the rule that
//! decides which resource conditional access evaluates a public client's sign-in against:
//! Microsoft's baseline-scope enforcement ("improved enforcement for All resources policies with
//! resource exclusions", rolled out from 15 June 2026; entra-docs
//! `docs/identity/conditional-access/concept-enforcement-resource-exclusions.md`,
//! `improved-enforcement-resource-exclusions-faq.md`, `concept-conditional-access-cloud-apps.md`).
//!
//! Graph documents only `exclusions` on the settings. The tenant's baseline-scope choice is read
//! from `advancedSettings.baselineScopes.resourceAppId`, which Graph does **not document**
//! (third-party tools report it): `00000002-…` enforced, the all-zero GUID "Disable enforcement",
//! another app id the "Customize behavior" placeholder, `advancedSettings: null` never changed.

use serde_json::Value;

use super::common::Operation;
use crate::request::GraphRequest;

pub const PATH: &str = "/identity/conditionalAccess/settings";

/// Least privilege to read the settings (Policy.Read.All also allows it).
pub const READ: &str = "Policy.Read.ConditionalAccess";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", PATH, READ),
    Operation::new("PATCH", PATH, "Policy.ReadWrite.ConditionalAccess"),
];

/// *Windows Azure Active Directory*: the resource baseline scopes are evaluated against under
/// enforcement (directory access).
pub const WINDOWS_AZURE_ACTIVE_DIRECTORY: &str = "00000002-0000-0000-c000-000000000000";
/// Microsoft Graph: the resource of a sign-in asking for any scope beyond the baseline scopes.
pub const MICROSOFT_GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const DISABLED: &str = "00000000-0000-0000-0000-000000000000";

/// The baseline scopes: OpenID Connect and baseline directory scopes (the enforcement docs' list).
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

/// The low-privilege scopes public clients were exempt with under the legacy behaviour.
pub const LEGACY_PUBLIC_CLIENT_SCOPES: [&str; 6] = [
    "email",
    "offline_access",
    "openid",
    "profile",
    "User.Read",
    "People.Read",
];

/// The tenant's baseline-scope setting, as read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "setting", content = "placeholder")]
pub enum BaselineScopes {
    /// Enforced: baseline scopes are evaluated as directory access.
    Enforced,
    /// "Disable enforcement": the legacy behaviour, tenant-wide.
    Disabled,
    /// "Customize behavior": baseline scopes are evaluated against this placeholder app (app id).
    Custom(String),
    /// `advancedSettings` is `null`: never changed, so enforced since the rollout completed
    /// (about mid-August 2026).
    NeverChanged,
}

impl BaselineScopes {
    /// From the settings object (anything unreadable counts as never changed).
    pub fn from_settings(v: &Value) -> BaselineScopes {
        let id = v
            .pointer("/advancedSettings/baselineScopes/resourceAppId")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_ascii_lowercase());
        match id.as_deref() {
            Some(WINDOWS_AZURE_ACTIVE_DIRECTORY) => BaselineScopes::Enforced,
            Some(DISABLED) => BaselineScopes::Disabled,
            Some(other) if other.len() == 36 => BaselineScopes::Custom(other.to_string()),
            _ => BaselineScopes::NeverChanged,
        }
    }

    /// In words, for plans.
    pub fn describe(&self) -> String {
        match self {
            BaselineScopes::Enforced => "enforced".into(),
            BaselineScopes::NeverChanged => {
                "enforced (never changed: enforcement is the default since the 2026 rollout)".into()
            }
            BaselineScopes::Disabled => {
                "disabled (\"Disable enforcement\": the legacy behaviour, tenant-wide)".into()
            }
            BaselineScopes::Custom(app) => {
                format!("customized (\"Customize behavior\" with the placeholder app {app})")
            }
        }
    }
}

/// What conditional access evaluates a public client's sign-in against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    /// Against this resource (app id): policies on "All resources" (unless they exclude it) and
    /// policies naming it apply.
    Resource(String),
    /// The legacy behaviour for baseline scopes: only "All resources" policies **without any**
    /// resource exclusion apply.
    LegacyExemption,
}

fn within(scopes: &[String], list: &[&str]) -> bool {
    scopes
        .iter()
        .all(|s| list.iter().any(|b| b.eq_ignore_ascii_case(s)))
}

/// What a public client's sign-in asking for the Microsoft Graph `scopes` is evaluated against.
pub fn public_client_sign_in(setting: &BaselineScopes, scopes: &[String]) -> Evaluation {
    match setting {
        BaselineScopes::Disabled => {
            if within(scopes, &LEGACY_PUBLIC_CLIENT_SCOPES) {
                Evaluation::LegacyExemption
            } else {
                Evaluation::Resource(MICROSOFT_GRAPH.into())
            }
        }
        _ if !within(scopes, &BASELINE_SCOPES) => Evaluation::Resource(MICROSOFT_GRAPH.into()),
        BaselineScopes::Custom(app) => Evaluation::Resource(app.clone()),
        BaselineScopes::Enforced | BaselineScopes::NeverChanged => {
            Evaluation::Resource(WINDOWS_AZURE_ACTIVE_DIRECTORY.into())
        }
    }
}

/// Read the settings (beta).
pub fn get() -> GraphRequest {
    GraphRequest::get(PATH)
        .beta()
        .label("read the conditional access settings (baseline scopes)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn setting(v: Value) -> BaselineScopes {
        BaselineScopes::from_settings(&json!({"advancedSettings": v}))
    }

    #[test]
    fn reads_the_undocumented_setting() {
        let app = |id: &str| json!({"baselineScopes": {"resourceAppId": id}});
        assert_eq!(
            setting(app(WINDOWS_AZURE_ACTIVE_DIRECTORY)),
            BaselineScopes::Enforced
        );
        assert_eq!(setting(app(DISABLED)), BaselineScopes::Disabled);
        assert_eq!(
            setting(app("5A5A5A5A-0000-4000-8000-00000000A0FF")),
            BaselineScopes::Custom("5a5a5a5a-0000-4000-8000-00000000a0ff".into())
        );
        assert_eq!(setting(Value::Null), BaselineScopes::NeverChanged);
        assert_eq!(setting(app("not-a-guid")), BaselineScopes::NeverChanged);
        assert_eq!(
            BaselineScopes::from_settings(&json!({})),
            BaselineScopes::NeverChanged
        );
    }

    #[test]
    fn public_client_sign_ins_are_evaluated_per_setting() {
        let scopes = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let passport = scopes(&["openid", "profile", "email", "offline_access", "User.Read"]);
        let aad = Evaluation::Resource(WINDOWS_AZURE_ACTIVE_DIRECTORY.into());
        let graph = Evaluation::Resource(MICROSOFT_GRAPH.into());
        for s in [BaselineScopes::Enforced, BaselineScopes::NeverChanged] {
            assert_eq!(public_client_sign_in(&s, &passport), aad);
        }
        let placeholder = BaselineScopes::Custom("p".into());
        assert_eq!(
            public_client_sign_in(&placeholder, &passport),
            Evaluation::Resource("p".into())
        );
        assert_eq!(
            public_client_sign_in(&BaselineScopes::Disabled, &passport),
            Evaluation::LegacyExemption
        );
        // Beyond the baseline: Microsoft Graph, whatever the setting.
        let more = scopes(&["openid", "Mail.Read"]);
        for s in [
            BaselineScopes::Enforced,
            BaselineScopes::Disabled,
            placeholder,
        ] {
            assert_eq!(public_client_sign_in(&s, &more), graph);
        }
        // A baseline scope the legacy exemption did not cover.
        let all = scopes(&["openid", "User.Read.All"]);
        assert_eq!(
            public_client_sign_in(&BaselineScopes::Disabled, &all),
            graph
        );
        assert_eq!(public_client_sign_in(&BaselineScopes::Enforced, &all), aad);
    }
}
