//! How conditional access evaluates Passport's password sign-in, given the tenant's baseline-scope
//! setting (Microsoft's 2026 enforcement; facts and sources in docs/mfa.md), and whether a policy
//! — as it is, or as a plan leaves it — is evaluated for that sign-in as far as its
//! `conditions.applications` go.

use entractl_graph::resource::conditional_access_policy::{
    ConditionalAccessPolicy as Policy, list_contains as contains,
};
use entractl_graph::resource::conditional_access_settings::{
    Evaluation, MICROSOFT_GRAPH, WINDOWS_AZURE_ACTIVE_DIRECTORY, public_client_sign_in,
};
use serde::Serialize;

pub use crate::core::observed::BaselineRead;

/// How Passport's password sign-in is evaluated by conditional access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInTarget {
    pub baseline: BaselineRead,
    pub evaluation: Evaluation,
}

/// Whether a policy's applications condition takes in Passport's sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum AppScope {
    /// Evaluated: the policy targets all resources (and does not exclude the one evaluated).
    AllResources,
    /// Evaluated: the policy names the resource the sign-in is evaluated against.
    Resource { app_id: String },
    /// Not evaluated: the legacy behaviour exempts baseline-scope sign-ins from "All resources"
    /// policies that exclude any resource.
    LegacyExempt,
    /// Not evaluated: the policy excludes the resource the sign-in is evaluated against.
    Excluded { app_id: String },
    /// Not evaluated: the policy targets other resources only.
    OtherResources,
}

impl AppScope {
    /// Whether the policy is evaluated for the sign-in (as far as applications go).
    pub fn applies(&self) -> bool {
        matches!(self, AppScope::AllResources | AppScope::Resource { .. })
    }
}

impl SignInTarget {
    /// The target of a sign-in by a public client asking Microsoft Graph for `scopes`.
    pub fn new(baseline: BaselineRead, scopes: &[String]) -> SignInTarget {
        let evaluation = public_client_sign_in(&baseline.effective(), scopes);
        SignInTarget {
            baseline,
            evaluation,
        }
    }

    /// The resource a What-If evaluation names: the one the sign-in is evaluated against, or —
    /// under the legacy behaviour, where no single resource decides — Microsoft Graph (the
    /// resource of Passport's scopes), whose answer is then filtered by [`Self::app_scope`].
    pub fn what_if_resource(&self) -> &str {
        match &self.evaluation {
            Evaluation::Resource(app) => app,
            Evaluation::LegacyExemption => MICROSOFT_GRAPH,
        }
    }

    /// Whether excluding Passport's own app takes an "All resources" policy off its sign-in:
    /// only under the legacy behaviour.
    pub fn app_exclusion_works(&self) -> bool {
        self.evaluation == Evaluation::LegacyExemption
    }

    /// The placeholder app the sign-in is evaluated against ("Customize behavior"), if any.
    pub fn placeholder(&self) -> Option<&str> {
        match &self.evaluation {
            Evaluation::Resource(app)
                if app != WINDOWS_AZURE_ACTIVE_DIRECTORY && app != MICROSOFT_GRAPH =>
            {
                Some(app)
            }
            _ => None,
        }
    }

    /// Whether `policy`'s applications condition takes in the sign-in.
    pub fn app_scope(&self, policy: &Policy) -> AppScope {
        let include = policy.applications("includeApplications");
        let exclude = policy.applications("excludeApplications");
        let all = contains(&include, "All");
        match &self.evaluation {
            Evaluation::LegacyExemption if all && exclude.is_empty() => AppScope::AllResources,
            Evaluation::LegacyExemption if all => AppScope::LegacyExempt,
            Evaluation::LegacyExemption => AppScope::OtherResources,
            Evaluation::Resource(app) if contains(&exclude, app) => AppScope::Excluded {
                app_id: app.clone(),
            },
            Evaluation::Resource(app) if contains(&include, app) => AppScope::Resource {
                app_id: app.clone(),
            },
            Evaluation::Resource(_) if all => AppScope::AllResources,
            Evaluation::Resource(_) => AppScope::OtherResources,
        }
    }

    /// In words: what the sign-in is evaluated against.
    pub fn describe(&self) -> String {
        let against = match &self.evaluation {
            Evaluation::LegacyExemption => "exempt from \"All resources\" policies that exclude any resource (the legacy behaviour)".to_string(),
            Evaluation::Resource(app) if app == WINDOWS_AZURE_ACTIVE_DIRECTORY => format!(
                "evaluated as directory access, against Windows Azure Active Directory ({app}): excluding Passport's app does not take an \"All resources\" policy off it"
            ),
            Evaluation::Resource(app) if app == MICROSOFT_GRAPH => format!(
                "evaluated against Microsoft Graph ({app}), which cannot be excluded"
            ),
            Evaluation::Resource(app) => format!(
                "evaluated against the placeholder app {app} (\"Customize behavior\"): policies that exclude it do not apply"
            ),
        };
        format!(
            "Passport asks only for baseline scopes, and {}; so its sign-in is {against}",
            self.baseline.describe()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entractl_graph::resource::conditional_access_settings::BaselineScopes;
    use serde_json::json;

    const PASSPORT: &str = "9b1f4c2e-6a3d-4f8b-b1e7-2c5d8a0f3e69";
    const PLACEHOLDER: &str = "5a5a5a5a-0000-4000-8000-00000000a0ff";

    fn target(setting: BaselineScopes) -> SignInTarget {
        let scopes: Vec<String> = ["openid", "profile", "email", "offline_access", "User.Read"]
            .map(String::from)
            .to_vec();
        SignInTarget::new(BaselineRead::Read { setting }, &scopes)
    }

    fn policy(include: &[&str], exclude: &[&str]) -> Policy {
        Policy(json!({"conditions": {"applications": {
            "includeApplications": include, "excludeApplications": exclude}}}))
    }

    #[test]
    fn enforced_all_resources_policies_apply_whatever_app_they_exclude() {
        let t = target(BaselineScopes::Enforced);
        assert!(!t.app_exclusion_works());
        assert_eq!(t.what_if_resource(), WINDOWS_AZURE_ACTIVE_DIRECTORY);
        assert_eq!(
            t.app_scope(&policy(&["All"], &[PASSPORT])),
            AppScope::AllResources
        );
        assert_eq!(
            t.app_scope(&policy(&[WINDOWS_AZURE_ACTIVE_DIRECTORY], &[])),
            AppScope::Resource {
                app_id: WINDOWS_AZURE_ACTIVE_DIRECTORY.into()
            }
        );
        assert_eq!(
            t.app_scope(&policy(&[PASSPORT], &[])),
            AppScope::OtherResources
        );
        assert!(
            !t.app_scope(&policy(&["All"], &[WINDOWS_AZURE_ACTIVE_DIRECTORY]))
                .applies()
        );
    }

    #[test]
    fn legacy_exempts_all_resources_policies_with_any_exclusion() {
        let t = target(BaselineScopes::Disabled);
        assert!(t.app_exclusion_works());
        assert_eq!(t.what_if_resource(), MICROSOFT_GRAPH);
        assert_eq!(t.app_scope(&policy(&["All"], &[])), AppScope::AllResources);
        assert_eq!(
            t.app_scope(&policy(&["All"], &[PASSPORT])),
            AppScope::LegacyExempt
        );
        assert_eq!(
            t.app_scope(&policy(&["All"], &["x"])),
            AppScope::LegacyExempt
        );
        assert_eq!(
            t.app_scope(&policy(&[PASSPORT], &[])),
            AppScope::OtherResources
        );
    }

    #[test]
    fn a_placeholder_is_what_policies_must_exclude() {
        let t = target(BaselineScopes::Custom(PLACEHOLDER.into()));
        assert_eq!(t.placeholder(), Some(PLACEHOLDER));
        assert_eq!(
            t.app_scope(&policy(&["All"], &[PLACEHOLDER.to_uppercase().as_str()])),
            AppScope::Excluded {
                app_id: PLACEHOLDER.into()
            }
        );
        assert_eq!(
            t.app_scope(&policy(&["All"], &[PASSPORT])),
            AppScope::AllResources
        );
        assert_eq!(target(BaselineScopes::Enforced).placeholder(), None);
    }

    #[test]
    fn an_unreadable_setting_counts_as_enforced() {
        let scopes = vec!["openid".to_string()];
        let t = SignInTarget::new(
            BaselineRead::Unreadable {
                reason: "403".into(),
            },
            &scopes,
        );
        assert_eq!(
            t.evaluation,
            Evaluation::Resource(WINDOWS_AZURE_ACTIVE_DIRECTORY.into())
        );
        assert!(
            t.describe()
                .contains("could not be read (403): enforcement is assumed"),
            "{}",
            t.describe()
        );
    }
}
