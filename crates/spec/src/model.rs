//! The expanded desired state: what the engine works from.
//!
//! Every value here has the preset and the defaults applied. An `Option` that is `None`
//! means *unmanaged*: entractl neither reads nor changes that part of the tenant.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One desired-state file, expanded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// The file format version (always 1 today).
    pub version: u32,
    /// The tenant: a GUID or a verified domain such as `contoso.onmicrosoft.com`.
    pub tenant: String,
    /// The national cloud the tenant lives in.
    pub cloud: Cloud,
    /// The preset the file named, if any (already applied to the values below).
    pub preset: Option<Preset>,
    /// How Kandji Passport signs users in (`passport.mode`). `None`: the file does not say
    /// (allowed only without a preset).
    pub passport: Option<Passport>,
    /// The app registration and its enterprise application.
    pub app: App,
    /// Who may sign in to the app. `None`: unmanaged.
    pub assignments: Option<Assignments>,
    /// The tenant's MFA posture as far as this app is concerned. `None`: unmanaged.
    pub mfa: Option<Mfa>,
}

impl Spec {
    /// The OpenID Connect metadata URL of the tenant (what the portal calls "OpenID Connect
    /// metadata document").
    pub fn oidc_metadata_url(&self) -> String {
        self.cloud.oidc_metadata_url(&self.tenant)
    }

    /// The names of every delegated permission, per resource, in file order.
    pub fn delegated_permissions(&self) -> Vec<(&str, &[String])> {
        self.app
            .api_permissions
            .iter()
            .flatten()
            .map(|p| (p.resource.as_str(), p.delegated.as_slice()))
            .collect()
    }
}

/// A named bundle of values. The user's own values override it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Everything Kandji's (Iru's) Passport procedure for Entra ID prescribes, per
    /// `passport.mode`.
    KandjiPassport,
}

impl Preset {
    /// The name used in the file.
    pub fn name(self) -> &'static str {
        match self {
            Preset::KandjiPassport => "kandji-passport",
        }
    }
}

/// Kandji Passport's settings (the file's `passport` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Passport {
    /// How Passport signs Mac users in: `web-login` (recommended) or `mac-login`.
    pub mode: PassportMode,
}

/// How Kandji Passport signs Mac users in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PassportMode {
    /// Web Login: Passport shows the Entra sign-in page in a web view, so MFA and conditional
    /// access run at login and nothing has to be weakened (recommended).
    WebLogin,
    /// Mac Login: Passport signs in with the user's password (ROPC), which cannot do MFA:
    /// security defaults off, per-user MFA off and conditional access exclusions.
    MacLogin,
}

impl PassportMode {
    /// The name used in the file.
    pub fn name(self) -> &'static str {
        match self {
            PassportMode::WebLogin => "web-login",
            PassportMode::MacLogin => "mac-login",
        }
    }
}

/// The national cloud. Decides the login and Graph hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Microsoft Entra ID global service.
    #[default]
    Public,
    /// Azure US Government (GCC High).
    #[serde(rename = "usgov")]
    UsGov,
    /// Azure US Government DoD.
    #[serde(rename = "usgov-dod")]
    UsGovDod,
    /// Microsoft Azure operated by 21Vianet (China).
    China,
}

impl Cloud {
    /// The name used in the file.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::UsGov => "usgov",
            Cloud::UsGovDod => "usgov-dod",
            Cloud::China => "china",
        }
    }

    /// The identity platform (authority) root, without a trailing slash.
    pub fn login_url(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::UsGovDod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The Microsoft Graph root, without a trailing slash and without a version.
    pub fn graph_url(self) -> &'static str {
        match self {
            Cloud::Public => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::UsGovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The OpenID Connect metadata document URL (v2.0 endpoint) for a tenant.
    pub fn oidc_metadata_url(self, tenant: &str) -> String {
        format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            self.login_url()
        )
    }
}

/// The app registration (`application`) and what hangs off it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// `application.displayName`.
    pub display_name: String,
    /// `application.uniqueName`: the stable key the app is created with and found by.
    pub unique_name: Option<String>,
    /// `application.appId` of an existing app to adopt.
    pub app_id: Option<String>,
    /// `application.signInAudience`.
    pub audience: Option<Audience>,
    /// `application.isFallbackPublicClient`.
    pub public_client_flows: Option<bool>,
    /// Redirect URIs per platform.
    pub redirect_uris: RedirectUris,
    /// Token configuration.
    pub tokens: Tokens,
    /// `application.requiredResourceAccess`, by resource. `None`: unmanaged.
    pub api_permissions: Option<Vec<ApiPermission>>,
    /// A tenant-wide (`AllPrincipals`) grant of the delegated permissions. `None`: unmanaged.
    pub admin_consent: Option<bool>,
}

/// `application.signInAudience`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    /// Accounts in this organizational directory only.
    SingleTenant,
    /// Accounts in any organizational directory.
    MultiTenant,
    /// Any organizational directory and personal Microsoft accounts.
    MultiTenantAndPersonal,
    /// Personal Microsoft accounts only.
    PersonalOnly,
}

impl Audience {
    /// The name used in the file.
    pub fn name(self) -> &'static str {
        match self {
            Audience::SingleTenant => "single-tenant",
            Audience::MultiTenant => "multi-tenant",
            Audience::MultiTenantAndPersonal => "multi-tenant-and-personal",
            Audience::PersonalOnly => "personal-only",
        }
    }

    /// The value of `application.signInAudience`.
    pub fn graph_value(self) -> &'static str {
        match self {
            Audience::SingleTenant => "AzureADMyOrg",
            Audience::MultiTenant => "AzureADMultipleOrgs",
            Audience::MultiTenantAndPersonal => "AzureADandPersonalMicrosoftAccount",
            Audience::PersonalOnly => "PersonalMicrosoftAccount",
        }
    }

    /// The audience for a `signInAudience` value read from Graph.
    pub fn from_graph_value(value: &str) -> Option<Audience> {
        [
            Audience::SingleTenant,
            Audience::MultiTenant,
            Audience::MultiTenantAndPersonal,
            Audience::PersonalOnly,
        ]
        .into_iter()
        .find(|a| a.graph_value() == value)
    }
}

/// Redirect URIs per platform. `None`: that platform's list is unmanaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectUris {
    /// `application.web.redirectUris`.
    pub web: Option<Vec<String>>,
    /// `application.publicClient.redirectUris` (mobile and desktop).
    pub public_client: Option<Vec<String>>,
    /// `application.spa.redirectUris`.
    pub spa: Option<Vec<String>>,
}

/// Token configuration: `application.optionalClaims` and `groupMembershipClaims`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    /// `optionalClaims.idToken`. `None`: unmanaged.
    pub id: Option<Vec<OptionalClaim>>,
    /// `optionalClaims.accessToken`. `None`: unmanaged.
    pub access: Option<Vec<OptionalClaim>>,
    /// `optionalClaims.saml2Token`. `None`: unmanaged.
    pub saml2: Option<Vec<OptionalClaim>>,
    /// `application.groupMembershipClaims`. `None`: unmanaged.
    pub groups_claim: Option<GroupsClaim>,
}

/// One `optionalClaim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionalClaim {
    /// `name`, e.g. `preferred_username`.
    pub name: String,
    /// `essential`.
    pub essential: bool,
    /// `source`: `None` for a predefined claim, `user` for a directory extension.
    pub source: Option<String>,
    /// `additionalProperties`, e.g. `sam_account_name` on `groups`.
    pub additional_properties: Vec<String>,
}

impl OptionalClaim {
    /// A predefined claim with no options.
    pub fn named(name: impl Into<String>) -> Self {
        OptionalClaim {
            name: name.into(),
            essential: false,
            source: None,
            additional_properties: Vec::new(),
        }
    }
}

/// `application.groupMembershipClaims`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GroupsClaim {
    /// No groups claim.
    None,
    /// Security groups the user is a member of.
    SecurityGroups,
    /// Directory roles the user is assigned.
    DirectoryRoles,
    /// Groups assigned to the application.
    ApplicationGroups,
    /// Security groups, distribution lists and directory roles.
    All,
}

impl GroupsClaim {
    /// The name used in the file.
    pub fn name(self) -> &'static str {
        match self {
            GroupsClaim::None => "none",
            GroupsClaim::SecurityGroups => "security-groups",
            GroupsClaim::DirectoryRoles => "directory-roles",
            GroupsClaim::ApplicationGroups => "application-groups",
            GroupsClaim::All => "all",
        }
    }

    /// The value of `application.groupMembershipClaims`.
    pub fn graph_value(self) -> &'static str {
        match self {
            GroupsClaim::None => "None",
            GroupsClaim::SecurityGroups => "SecurityGroup",
            GroupsClaim::DirectoryRoles => "DirectoryRole",
            GroupsClaim::ApplicationGroups => "ApplicationGroup",
            GroupsClaim::All => "All",
        }
    }

    /// The groups claim for a `groupMembershipClaims` value read from Graph (`null` reads as
    /// [`GroupsClaim::None`]; Graph compares case-insensitively).
    pub fn from_graph_value(value: Option<&str>) -> Option<GroupsClaim> {
        let Some(value) = value else {
            return Some(GroupsClaim::None);
        };
        [
            GroupsClaim::None,
            GroupsClaim::SecurityGroups,
            GroupsClaim::DirectoryRoles,
            GroupsClaim::ApplicationGroups,
            GroupsClaim::All,
        ]
        .into_iter()
        .find(|g| g.graph_value().eq_ignore_ascii_case(value))
    }
}

/// The permissions requested of one resource API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiPermission {
    /// The resource: its display name (`Microsoft Graph`) or its appId.
    pub resource: String,
    /// Delegated permissions (`oauth2PermissionScopes` values), e.g. `User.Read`.
    pub delegated: Vec<String>,
    /// Application permissions (`appRoles` values), e.g. `User.Read.All`.
    pub application: Vec<String>,
}

impl ApiPermission {
    /// True when `resource` is written as an appId (a GUID) rather than a name.
    pub fn resource_is_app_id(&self) -> bool {
        is_guid(&self.resource)
    }
}

/// Who may sign in: `servicePrincipal.appRoleAssignmentRequired` and `appRoleAssignedTo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignments {
    /// `servicePrincipal.appRoleAssignmentRequired`. `None`: unmanaged.
    pub required: Option<bool>,
    /// Users by UPN or object id.
    pub users: Vec<String>,
    /// Groups by display name or object id.
    pub groups: Vec<String>,
    /// The app role to assign, by value. `None`: the default access role.
    pub role: Option<String>,
    /// Remove assignments that are not listed.
    pub prune: bool,
}

/// The MFA posture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mfa {
    /// `policies/identitySecurityDefaultsEnforcementPolicy.isEnabled`. `None`: unmanaged.
    pub security_defaults: Option<SecurityDefaults>,
    /// Legacy per-user MFA of the app's assigned users. `None`: unmanaged.
    pub per_user_mfa: Option<PerUserMfa>,
    /// `conditionalAccess.excludeApp`: the policies that get the app added to
    /// `excludeApplications`. `None`: unmanaged.
    pub exclude_app: Option<PolicySelection>,
    /// `conditionalAccess.excludeUsers`: the policies that get the app's assigned users and
    /// groups added to `excludeUsers`/`excludeGroups`. `None`: unmanaged.
    pub exclude_users: Option<PolicySelection>,
    /// `conditionalAccess.placeholder`: the managed placeholder app of "Customize behavior" for
    /// baseline scopes. `None`: unmanaged.
    pub placeholder: Option<Placeholder>,
}

impl Mfa {
    /// The weakenings this posture asks for, by the file's field path: security defaults off,
    /// per-user MFA off, and each conditional access exclusion that excludes something.
    pub fn weakenings(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.security_defaults == Some(SecurityDefaults::Disabled) {
            out.push("mfa.securityDefaults");
        }
        if self.per_user_mfa.is_some() {
            out.push("mfa.perUserMfa");
        }
        out.extend(self.ca_weakenings());
        out
    }

    /// The conditional access exclusions among [`Mfa::weakenings`].
    pub fn ca_weakenings(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self
            .exclude_app
            .as_ref()
            .is_some_and(PolicySelection::selects_any)
        {
            out.push("mfa.conditionalAccess.excludeApp");
        }
        if self
            .exclude_users
            .as_ref()
            .is_some_and(PolicySelection::selects_any)
        {
            out.push("mfa.conditionalAccess.excludeUsers");
        }
        if self.placeholder.is_some() {
            out.push("mfa.conditionalAccess.placeholder");
        }
        out
    }
}

/// Security defaults on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityDefaults {
    /// `isEnabled: true`.
    Enabled,
    /// `isEnabled: false`.
    Disabled,
}

impl SecurityDefaults {
    /// The value of `identitySecurityDefaultsEnforcementPolicy.isEnabled`.
    pub fn is_enabled(self) -> bool {
        matches!(self, SecurityDefaults::Enabled)
    }
}

/// Legacy per-user MFA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PerUserMfa {
    /// `perUserMfaState: disabled` for every user assigned to the app (directly, or as a member
    /// of an assigned group).
    DisabledForAppUsers,
}

/// Which conditional access policies an exclusion applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicySelection {
    /// `from-policies-requiring-mfa`: every enabled policy whose grant controls require MFA (or
    /// an authentication strength).
    FromPoliciesRequiringMfa,
    /// The named policies (display name or id); empty: none.
    Named(Vec<String>),
}

impl PolicySelection {
    /// Whether it can select any policy (an empty list selects none).
    pub fn selects_any(&self) -> bool {
        match self {
            PolicySelection::FromPoliciesRequiringMfa => true,
            PolicySelection::Named(names) => !names.is_empty(),
        }
    }
}

/// The placeholder application of Microsoft's "Customize behavior" for baseline scopes
/// (`mfa.conditionalAccess.placeholder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placeholder {
    /// `application.displayName` of the placeholder.
    pub display_name: String,
    /// `application.uniqueName` of the placeholder: its stable key.
    pub unique_name: String,
    /// The policies the placeholder is excluded from.
    pub exclude_from: PolicySelection,
}

/// Whether `s` is a GUID (`8-4-4-4-12` hex digits), as Entra writes object and app ids.
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}
