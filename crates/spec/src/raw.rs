//! The file as written: what serde reads, what the JSON Schema describes, what `--expanded`
//! writes. Keys are camelCase; unknown keys are errors everywhere.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{Audience, Cloud, GroupsClaim, Passport, Preset};

/// An entractl desired-state file: one app registration in one Microsoft Entra ID tenant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "entractl desired-state file")]
pub struct RawSpec {
    /// The file format version. Always `1`.
    pub version: u32,
    /// The tenant: its id (a GUID) or a verified domain such as `contoso.onmicrosoft.com`.
    pub tenant: String,
    /// The national cloud: `public` (default), `usgov`, `usgov-dod` or `china`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,
    /// A bundle of values to start from; every value in this file overrides it.
    /// `kandji-passport`: everything Kandji's (Iru's) Passport procedure for Entra ID
    /// prescribes for the `passport.mode` chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// Kandji Passport: how it signs Mac users in. Required with `preset: kandji-passport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passport: Option<Passport>,
    /// The app registration and its enterprise application.
    pub app: RawApp,
    /// Who may sign in to the app. Leave out to leave assignments unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignments: Option<RawAssignments>,
    /// The tenant's MFA posture for this app. Leave out to leave MFA unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<RawMfa>,
}

/// The app registration (`application`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawApp {
    /// The name shown in the portal and on the consent screen (`displayName`).
    pub display_name: String,
    /// The stable key the app is created with and found by (`uniqueName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    /// The Application (client) ID of an existing app to adopt instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Supported account types (`signInAudience`); `single-tenant` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Audience>,
    /// "Allow public client flows" / "Enable the following mobile and desktop flows"
    /// (`isFallbackPublicClient`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_client_flows: Option<bool>,
    /// Redirect URIs per platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<RawRedirectUris>,
    /// Token configuration: optional claims and the groups claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<RawTokens>,
    /// API permissions by resource (`Microsoft Graph` or the resource's appId).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_permissions: Option<OrderedMap<RawPermissions>>,
    /// "Grant admin consent for <tenant>": a tenant-wide grant of the delegated permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_consent: Option<bool>,
}

/// Redirect URIs per platform; a platform left out is unmanaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRedirectUris {
    /// Platform "Web" (`web.redirectUris`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<Vec<String>>,
    /// Platform "Mobile and desktop applications" (`publicClient.redirectUris`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_client: Option<Vec<String>>,
    /// Platform "Single-page application" (`spa.redirectUris`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spa: Option<Vec<String>>,
}

/// Token configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTokens {
    /// Optional claims of the ID token (`optionalClaims.idToken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RawTokenClaims>,
    /// Optional claims of the access token (`optionalClaims.accessToken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<RawTokenClaims>,
    /// Optional claims of the SAML token (`optionalClaims.saml2Token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml2: Option<RawTokenClaims>,
    /// "Add groups claim" (`groupMembershipClaims`): `none`, `security-groups`,
    /// `directory-roles`, `application-groups` or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<GroupsClaim>,
}

/// The optional claims of one token type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTokenClaims {
    /// Claim names (`preferred_username`) or claims with options.
    pub optional_claims: Vec<RawClaim>,
}

/// An optional claim: its name, or its name with options.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RawClaim {
    /// Just the name, e.g. `preferred_username`.
    Name(String),
    /// The name with options.
    Detailed(RawClaimDetail),
}

/// An optional claim with options.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawClaimDetail {
    /// The claim name, e.g. `upn`.
    pub name: String,
    /// Whether the client needs the claim for a good end-user experience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    /// `user` for a directory extension attribute; leave out for a predefined claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Extra behaviour, e.g. `include_externally_authenticated_upn` on `upn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<Vec<String>>,
}

/// The permissions requested of one resource API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPermissions {
    /// Delegated permissions (scopes), e.g. `openid`, `email`, `User.Read`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegated: Option<Vec<String>>,
    /// Application permissions (app roles), e.g. `User.Read.All`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<Vec<String>>,
}

/// Users and groups assigned to the enterprise application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAssignments {
    /// "Assignment required?": only assigned users and groups can sign in
    /// (`appRoleAssignmentRequired`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Users by user principal name (`alice@contoso.com`) or object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// Groups by display name (`Mac Users`) or object id. Needs Entra ID P1 or P2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// The app role to assign, by its value; leave out for the default access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `true`: remove assignments that are not listed here. `false` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
}

/// The MFA posture the app needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMfa {
    /// Security defaults: `enabled`, `disabled` or `unmanaged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_defaults: Option<RawSecurityDefaults>,
    /// Legacy per-user MFA: `disabled-for-app-users` or `unmanaged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_user_mfa: Option<RawPerUserMfa>,
    /// Conditional access exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_access: Option<RawConditionalAccess>,
}

/// Security defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RawSecurityDefaults {
    /// Security defaults on (MFA for everyone, no exclusions possible).
    Enabled,
    /// Security defaults off.
    Disabled,
    /// Leave the setting as it is.
    Unmanaged,
}

/// Legacy per-user MFA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RawPerUserMfa {
    /// Per-user MFA state `disabled` for every user assigned to the app.
    DisabledForAppUsers,
    /// Leave per-user MFA as it is.
    Unmanaged,
}

/// Conditional access: the exclusions that let Passport's password sign-in (Mac Login) through
/// policies requiring MFA.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawConditionalAccess {
    /// Exclude the app: `from-policies-requiring-mfa`, a list of policy names or ids (`[]`:
    /// none), or `unmanaged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_app: Option<RawExcludeApp>,
    /// Exclude the users and groups assigned to the app (they then lose MFA from these policies
    /// for every app): `from-policies-requiring-mfa` or a list of policy names or ids. Mac Login
    /// only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_users: Option<RawPolicySelection>,
    /// A placeholder app for "Customize behavior" on the Baseline scopes settings page, which
    /// entractl creates, manages and excludes from the policies. Mac Login only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<RawPlaceholder>,
}

/// Which conditional access policies exclude the app.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RawExcludeApp {
    /// `from-policies-requiring-mfa` or `unmanaged`.
    Keyword(RawExcludeKeyword),
    /// Policies by display name or id; `[]`: none.
    Policies(Vec<String>),
}

/// A keyword for `excludeApp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RawExcludeKeyword {
    /// Every enabled policy whose grant controls require MFA.
    FromPoliciesRequiringMfa,
    /// Leave conditional access as it is.
    Unmanaged,
}

/// Which conditional access policies an exclusion applies to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RawPolicySelection {
    /// `from-policies-requiring-mfa`.
    Keyword(RawPolicyKeyword),
    /// Policies by display name or id; `[]`: none.
    Policies(Vec<String>),
}

/// A keyword for a policy selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RawPolicyKeyword {
    /// Every enabled policy whose grant controls require MFA.
    FromPoliciesRequiringMfa,
}

/// The placeholder app of "Customize behavior" for baseline scopes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPlaceholder {
    /// The placeholder app's name (`displayName`).
    pub display_name: String,
    /// The placeholder app's stable key (`uniqueName`); must differ from `app.uniqueName`.
    pub unique_name: String,
    /// The policies it is excluded from: `from-policies-requiring-mfa` (default) or a list of
    /// policy names or ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_from: Option<RawPolicySelection>,
}

/// A YAML mapping that keeps the order of its entries as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    entries.push((k, v));
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<V: JsonSchema> JsonSchema for OrderedMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<V>();
        schemars::json_schema!({
            "type": "object",
            "additionalProperties": value,
        })
    }
}

/// The JSON Schema of the file, as pretty-printed JSON with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawSpec);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The JSON Schema as a value (for the structural checks).
pub(crate) fn json_schema_value() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawSpec)).unwrap_or(serde_json::Value::Null)
}
