//! The exported spec as values, before it is written as YAML: what it sets, the comments that
//! explain them, and how it compares with the kandji-passport preset. Built from what was read
//! ([`super::from_facts`]), relaxed where a plan of it would still change the tenant
//! ([`super::relax`]).

use std::collections::{BTreeMap, BTreeSet};

use entractl_spec::{Audience, GroupsClaim, OptionalClaim};

use crate::core::desired::MICROSOFT_GRAPH_APP_ID;

/// `mfa.conditionalAccess.excludeApp` of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaExport {
    Unmanaged,
    FromPoliciesRequiringMfa,
    Policies(Vec<String>),
}

/// One resource API's permissions, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiExport {
    /// `Microsoft Graph`, the API's display name when unique, else its appId.
    pub label: String,
    pub delegated: Vec<String>,
    pub application: Vec<String>,
}

/// The spec to write. Comments are keyed by the dotted path of the value they explain
/// (`app.redirectUris.web[1]`, `mfa.perUserMfa`, `header`).
#[derive(Debug, Clone)]
pub struct ExportModel {
    pub tenant: String,
    pub cloud: String,
    pub preset: bool,
    /// entractl manages the app already (it carries the `entractl:<key>` tag).
    pub managed: bool,
    pub display_name: String,
    pub unique_name: Option<String>,
    pub app_id: String,
    pub audience: Audience,
    pub public_client_flows: bool,
    pub web: Vec<String>,
    pub public_client: Vec<String>,
    pub spa: Vec<String>,
    pub id_claims: Vec<OptionalClaim>,
    pub access_claims: Vec<OptionalClaim>,
    pub saml2_claims: Vec<OptionalClaim>,
    pub groups_claim: GroupsClaim,
    /// `None`: unmanaged (a permission the API does not offer, or an API not in the tenant).
    pub api_permissions: Option<Vec<ApiExport>>,
    /// `None`: unmanaged.
    pub admin_consent: Option<bool>,
    /// `None`: unmanaged.
    pub assignments: Option<AssignmentsExport>,
    pub security_defaults: Option<bool>,
    pub per_user_mfa: bool,
    pub conditional_access: CaExport,
    pub comments: BTreeMap<String, Vec<String>>,
}

/// `assignments` of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentsExport {
    pub required: bool,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub role: Option<String>,
}

/// The preset's values (read from the spec crate, so they never drift from it).
pub struct PresetValues {
    pub spec: entractl_spec::Spec,
}

impl PresetValues {
    pub fn kandji() -> Option<PresetValues> {
        let text = "version: 1\ntenant: t.onmicrosoft.com\npreset: kandji-passport\napp:\n  displayName: x\n  uniqueName: x\n";
        entractl_spec::parse_str("preset", text)
            .ok()
            .map(|l| PresetValues { spec: l.spec })
    }

    pub fn web(&self) -> Vec<String> {
        self.spec.app.redirect_uris.web.clone().unwrap_or_default()
    }
}

pub(crate) fn set_ci(v: &[String]) -> BTreeSet<String> {
    v.iter().map(|s| s.trim().to_lowercase()).collect()
}

impl ExportModel {
    pub fn comment(&mut self, path: &str, text: impl Into<String>) {
        self.comments
            .entry(path.to_string())
            .or_default()
            .push(text.into());
    }

    /// The preset's values this model matches, out of the values it sets.
    pub fn preset_score(&self, p: &entractl_spec::Spec) -> (usize, usize) {
        let a = &p.app;
        let claim_names = |c: &[OptionalClaim]| -> BTreeSet<String> {
            c.iter().map(|c| c.name.to_lowercase()).collect()
        };
        let checks = [
            a.audience == Some(self.audience),
            a.public_client_flows == Some(self.public_client_flows),
            set_ci(a.redirect_uris.web.as_deref().unwrap_or_default()) == set_ci(&self.web),
            a.tokens.id.as_deref().map(claim_names) == Some(claim_names(&self.id_claims)),
            a.tokens.groups_claim == Some(self.groups_claim),
            self.perms_equal(a.api_permissions.as_deref().unwrap_or_default()),
            a.admin_consent == self.admin_consent,
            p.assignments.as_ref().and_then(|x| x.required)
                == self.assignments.as_ref().map(|x| x.required),
            self.security_defaults == Some(false),
            self.per_user_mfa,
            self.conditional_access == CaExport::FromPoliciesRequiringMfa,
        ];
        (checks.iter().filter(|c| **c).count(), checks.len())
    }

    pub fn perms_equal(&self, preset: &[entractl_spec::ApiPermission]) -> bool {
        let Some(mine) = &self.api_permissions else {
            return false;
        };
        let norm = |label: &str| {
            if label.eq_ignore_ascii_case("Microsoft Graph") {
                MICROSOFT_GRAPH_APP_ID.to_string()
            } else {
                label.to_lowercase()
            }
        };
        let a: BTreeSet<(String, BTreeSet<String>, BTreeSet<String>)> = mine
            .iter()
            .map(|p| (norm(&p.label), set_ci(&p.delegated), set_ci(&p.application)))
            .collect();
        let b: BTreeSet<(String, BTreeSet<String>, BTreeSet<String>)> = preset
            .iter()
            .map(|p| {
                (
                    norm(&p.resource),
                    set_ci(&p.delegated),
                    set_ci(&p.application),
                )
            })
            .collect();
        a == b
    }
}
