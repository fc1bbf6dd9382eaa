//! The application, its service principal, the APIs it asks permissions of.

use entractl_graph::resource::application::Application;
use entractl_graph::resource::service_principal::ServicePrincipal;
use serde::{Deserialize, Serialize};

use crate::core::desired::ResourceRef;

/// How an application candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    UniqueName,
    ManagedTag,
    AppId,
}

impl MatchedBy {
    pub fn describe(self) -> &'static str {
        match self {
            MatchedBy::UniqueName => "its uniqueName",
            MatchedBy::ManagedTag => "its entractl tag",
            MatchedBy::AppId => "the appId pinned in the spec",
        }
    }
}

/// An application found by one of the lookups, with every way it matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub app: Application,
    pub matched_by: Vec<MatchedBy>,
}

impl Candidate {
    /// In an ambiguity error: name, appId and how it was found.
    pub fn describe(&self) -> String {
        format!(
            "\"{}\" (appId {}, found by {})",
            self.app.display_name,
            self.app.app_id,
            self.matched_by
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join(" and ")
        )
    }
}

/// The result of looking up one resource API named in the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceLookup {
    pub query: ResourceRef,
    /// Every service principal that matched (0: not in the tenant, >1: ambiguous name).
    pub found: Vec<ServicePrincipal>,
}

/// The placeholder app of "Customize behavior" (`mfa.conditionalAccess.placeholder`) as read:
/// the applications found by its `uniqueName` and its `entractl:` tag, and its service principal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObservedPlaceholder {
    /// 0, 1 or, in error, more.
    pub candidates: Vec<Candidate>,
    /// The service principal of the one candidate (by its tag, else by appId).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal: Option<ServicePrincipal>,
}
