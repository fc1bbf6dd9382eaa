//! The exported spec as values, before it is written as YAML: what it sets, the comments that
//! explain them, and the Passport mode the app's settings tell. Built from what was read
//! ([`super::from_facts`]), compared with the kandji-passport preset ([`super::preset`]),
//! relaxed where a plan of it would still change the tenant ([`super::relax`]).

use std::collections::{BTreeMap, BTreeSet};

use entractl_spec::{Audience, GroupsClaim, OptionalClaim, PassportMode};

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
    /// The Passport mode the app's settings tell ([`mode_of`]).
    pub mode: PassportMode,
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

/// Mac Login's web redirect URI (Kandji's procedure: Add a platform → Web → `http://localhost`).
const MAC_LOGIN_WEB: &str = "http://localhost";

/// The Passport mode an app's settings tell: Mac Login when public client flows are on and
/// `http://localhost` is a web redirect URI (the Mac Login procedure), else Web Login.
pub fn mode_of(public_client_flows: bool, web: &[String]) -> PassportMode {
    let localhost = web.iter().any(|u| {
        u.trim()
            .trim_end_matches('/')
            .eq_ignore_ascii_case(MAC_LOGIN_WEB)
    });
    if public_client_flows && localhost {
        PassportMode::MacLogin
    } else {
        PassportMode::WebLogin
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
}
