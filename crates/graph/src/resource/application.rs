//! `application`: the app registration (v1.0 `application` resource type).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::common::{Operation, has_tag, list, odata_str, while_replicating};
use super::de;
use crate::request::GraphRequest;

pub const COLLECTION: &str = "/applications";

/// The properties entractl reads (the diff, the journal, export).
pub const SELECT: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "uniqueName",
    "tags",
    "notes",
    "signInAudience",
    "isFallbackPublicClient",
    "web",
    "publicClient",
    "spa",
    "optionalClaims",
    "groupMembershipClaims",
    "requiredResourceAccess",
    "createdDateTime",
];

/// Least privilege to read applications.
pub const READ: &str = "Application.Read.All";
/// Least privilege to create an application (the caller becomes its owner).
pub const CREATE: &str = "Application.ReadWrite.OwnedBy";
/// Least privilege to update an application the caller owns.
pub const UPDATE_OWNED: &str = "Application.ReadWrite.OwnedBy";
/// To update any application (one the caller does not own, e.g. adopted).
pub const UPDATE_ANY: &str = "Application.ReadWrite.All";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", "/applications", READ),
    Operation::new("GET", "/applications/{}", READ),
    Operation::new(
        "POST",
        "/applications",
        "Application.ReadWrite.OwnedBy (or AppRegistration.Create)",
    ),
    Operation::new(
        "PATCH",
        "/applications/{}",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
    Operation::new(
        "DELETE",
        "/applications/{}",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
    Operation::new(
        "POST",
        "/applications/{}/addPassword",
        "Application.ReadWrite.OwnedBy",
    ),
    Operation::new("GET", "/applications/{}/federatedIdentityCredentials", READ),
    Operation::new(
        "POST",
        "/applications/{}/federatedIdentityCredentials",
        "Application.ReadWrite.OwnedBy",
    ),
];

/// An app registration as Graph returns it. Properties entractl does not model are kept in
/// `other`, so the object can be written back (journal) as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    pub app_id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub display_name: String,
    #[serde(
        default,
        deserialize_with = "de::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub unique_name: Option<String>,
    #[serde(default, deserialize_with = "de::strings")]
    pub tags: Vec<String>,
    #[serde(
        default,
        deserialize_with = "de::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub sign_in_audience: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::boolean",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_fallback_public_client: Option<bool>,
    /// `web`, `publicClient`, `spa`: each a complex value whose `redirectUris` entractl manages.
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub web: Option<RedirectPlatform>,
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_client: Option<RedirectPlatform>,
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub spa: Option<RedirectPlatform>,
    #[serde(
        default,
        deserialize_with = "de::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub optional_claims: Option<OptionalClaims>,
    /// Graph's spelling (`None`, `SecurityGroup`, `All`, …; Graph also accepts a comma list).
    #[serde(
        default,
        deserialize_with = "de::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_membership_claims: Option<String>,
    #[serde(default, deserialize_with = "de::list")]
    pub required_resource_access: Vec<RequiredResourceAccess>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The three redirect platforms of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Web,
    PublicClient,
    Spa,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Web, Platform::PublicClient, Platform::Spa];

    /// The property name (`web`, `publicClient`, `spa`).
    pub fn property(self) -> &'static str {
        match self {
            Platform::Web => "web",
            Platform::PublicClient => "publicClient",
            Platform::Spa => "spa",
        }
    }
}

/// `web`, `publicClient` or `spa`: the redirect URIs and whatever else the platform holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectPlatform {
    #[serde(default, deserialize_with = "de::strings")]
    pub redirect_uris: Vec<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The three token types of `optionalClaims`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Id,
    Access,
    Saml2,
}

impl TokenType {
    pub const ALL: [TokenType; 3] = [TokenType::Id, TokenType::Access, TokenType::Saml2];

    /// The property name in `optionalClaims` (`idToken`, `accessToken`, `saml2Token`).
    pub fn property(self) -> &'static str {
        match self {
            TokenType::Id => "idToken",
            TokenType::Access => "accessToken",
            TokenType::Saml2 => "saml2Token",
        }
    }
}

/// `optionalClaims`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionalClaims {
    #[serde(default, deserialize_with = "de::list")]
    pub id_token: Vec<OptionalClaim>,
    #[serde(default, deserialize_with = "de::list")]
    pub access_token: Vec<OptionalClaim>,
    #[serde(default, deserialize_with = "de::list")]
    pub saml2_token: Vec<OptionalClaim>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl OptionalClaims {
    /// The claims of one token type.
    pub fn of(&self, token: TokenType) -> &[OptionalClaim] {
        match token {
            TokenType::Id => &self.id_token,
            TokenType::Access => &self.access_token,
            TokenType::Saml2 => &self.saml2_token,
        }
    }
}

/// One optional claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionalClaim {
    pub name: String,
    #[serde(default, deserialize_with = "de::string")]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "de::flag")]
    pub essential: bool,
    #[serde(default, deserialize_with = "de::strings")]
    pub additional_properties: Vec<String>,
}

impl OptionalClaim {
    /// The claim as a request body entry (every documented property written).
    pub fn body(name: &str, source: Option<&str>, essential: bool, props: &[String]) -> Value {
        json!({
            "name": name,
            "source": source,
            "essential": essential,
            "additionalProperties": props,
        })
    }
}

/// One `requiredResourceAccess` entry: the permissions asked of one resource API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    #[serde(default, deserialize_with = "de::list")]
    pub resource_access: Vec<ResourceAccess>,
}

/// One permission in `requiredResourceAccess`: `type` is `Scope` (delegated) or `Role`
/// (application).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One kind of group `groupMembershipClaims` puts in the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupClaim {
    SecurityGroup,
    DirectoryRole,
    ApplicationGroup,
    All,
}

impl GroupClaim {
    const ALL: [GroupClaim; 4] = [
        GroupClaim::SecurityGroup,
        GroupClaim::DirectoryRole,
        GroupClaim::ApplicationGroup,
        GroupClaim::All,
    ];

    /// Graph's spelling.
    pub fn graph_value(self) -> &'static str {
        match self {
            GroupClaim::SecurityGroup => "SecurityGroup",
            GroupClaim::DirectoryRole => "DirectoryRole",
            GroupClaim::ApplicationGroup => "ApplicationGroup",
            GroupClaim::All => "All",
        }
    }
}

/// `groupMembershipClaims`: the groups the tokens carry. Graph stores a string: `None` (or
/// `null`), one of the [`GroupClaim`] values, or a comma-separated combination of them
/// (`"SecurityGroup, DirectoryRole"`); values compare case-insensitively and in any order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupMembershipClaims(pub std::collections::BTreeSet<GroupClaim>);

impl GroupMembershipClaims {
    /// From Graph's value; an entry Graph does not document makes the whole value unreadable
    /// (`None`), so it is never mistaken for another.
    pub fn parse(value: Option<&str>) -> Option<GroupMembershipClaims> {
        let mut set = std::collections::BTreeSet::new();
        for part in value.unwrap_or("").split(',').map(str::trim) {
            if part.is_empty() || part.eq_ignore_ascii_case("None") {
                continue;
            }
            let claim = GroupClaim::ALL
                .into_iter()
                .find(|c| c.graph_value().eq_ignore_ascii_case(part))?;
            set.insert(claim);
        }
        Some(GroupMembershipClaims(set))
    }

    /// A single kind of group (or none).
    pub fn of(claim: Option<GroupClaim>) -> GroupMembershipClaims {
        GroupMembershipClaims(claim.into_iter().collect())
    }

    /// Graph's spelling: `None`, one value, or values joined with `, `.
    pub fn graph_value(&self) -> String {
        if self.0.is_empty() {
            return "None".to_string();
        }
        self.0
            .iter()
            .map(|c| c.graph_value())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Serialize for GroupMembershipClaims {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.graph_value())
    }
}

impl<'de> Deserialize<'de> for GroupMembershipClaims {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GroupMembershipClaims::parse(Some(&s))
            .ok_or_else(|| serde::de::Error::custom(format!("unknown groupMembershipClaims `{s}`")))
    }
}

/// `Scope` or `Role` in `requiredResourceAccess`.
pub const SCOPE: &str = "Scope";
pub const ROLE: &str = "Role";

impl Application {
    /// The redirect platform `p`, when the application has it.
    pub fn platform(&self, p: Platform) -> Option<&RedirectPlatform> {
        match p {
            Platform::Web => self.web.as_ref(),
            Platform::PublicClient => self.public_client.as_ref(),
            Platform::Spa => self.spa.as_ref(),
        }
    }

    /// The redirect URIs of platform `p` (empty when it has none).
    pub fn redirect_uris(&self, p: Platform) -> &[String] {
        self.platform(p).map_or(&[], |x| x.redirect_uris.as_slice())
    }

    /// The optional claims of one token type (empty when none).
    pub fn claims(&self, token: TokenType) -> &[OptionalClaim] {
        self.optional_claims.as_ref().map_or(&[], |c| c.of(token))
    }

    /// `groupMembershipClaims`, typed (`None` when Graph's value is not one entractl knows).
    pub fn group_membership_claims(&self) -> Option<GroupMembershipClaims> {
        GroupMembershipClaims::parse(self.group_membership_claims.as_deref())
    }

    /// True when the application carries `tag` (Entra compares tags case-insensitively).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }

    /// `notes` (kept in `other`): free text for whoever manages the app.
    pub fn notes(&self) -> Option<&str> {
        self.other.get("notes").and_then(Value::as_str)
    }

    /// The object as JSON (the journal's prior state).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

// -------------------------------------------------------------------------------------------
// Paths and reads

/// `/applications/{id}`.
pub fn path(id: &str) -> String {
    format!("{COLLECTION}/{id}")
}

/// `/applications(uniqueName='…')`: the alternate key an application is created with and found by.
pub fn by_unique_name(unique_name: &str) -> String {
    format!("{COLLECTION}(uniqueName={})", odata_str(unique_name))
}

/// Find applications by a `$filter`.
pub fn find(filter: String, label: impl Into<String>) -> GraphRequest {
    list(COLLECTION, filter, SELECT, label)
}

/// Find the applications carrying `tag`.
pub fn find_by_tag(tag: &str, label: impl Into<String>) -> GraphRequest {
    find(has_tag(tag), label)
}

/// Read one application by its alternate key `uniqueName` (404 when there is none).
pub fn get_by_unique_name(unique_name: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(by_unique_name(unique_name))
        .select(SELECT)
        .label(label.into())
}

// -------------------------------------------------------------------------------------------
// Writes

/// Delete an application: Graph moves it to deleted items, restorable for 30 days
/// (`application-delete.md`), and deletes its service principal in the home tenant with it.
pub fn delete(id: &str) -> GraphRequest {
    GraphRequest::delete(path(id))
}

/// Create an application. The create carries its `uniqueName`, so an unknown outcome is resolved
/// by looking the application up by that key (never a second application).
pub fn create(body: Value, unique_name: &str) -> GraphRequest {
    GraphRequest::post(COLLECTION)
        .json(body)
        .idempotency_probe(GraphRequest::get(by_unique_name(unique_name)).select(SELECT))
}

/// Update an application (PATCH: each top-level property in `patch` replaces the current value
/// whole). Retried while a just-created or just-restored application replicates.
pub fn update(id: &str, patch: Value) -> GraphRequest {
    while_replicating(GraphRequest::patch(path(id))).json(patch)
}

/// The PATCH value of a redirect platform with its `redirectUris` replaced and everything else
/// kept (Graph replaces `web`/`publicClient`/`spa` whole). `redirectUriSettings` is dropped: Graph
/// keeps it in step with `redirectUris`, and a stale copy would contradict the new list.
pub fn redirect_uris_value(current: Option<&RedirectPlatform>, uris: &[String]) -> Value {
    let mut obj = current.map(|c| c.other.clone()).unwrap_or_default();
    obj.remove("redirectUriSettings");
    let mut out = Map::new();
    out.insert("redirectUris".into(), json!(uris));
    out.extend(obj);
    Value::Object(out)
}

/// The PATCH value of `optionalClaims` with the given token types replaced and the others kept
/// (Graph replaces `optionalClaims` whole; every token type is written, `[]` when empty).
pub fn optional_claims_value(
    current: Option<&OptionalClaims>,
    replaced: &[(TokenType, Vec<Value>)],
) -> Value {
    let cur = current.cloned().unwrap_or_default();
    let mut out = Map::new();
    for token in TokenType::ALL {
        let value = match replaced.iter().find(|(t, _)| *t == token) {
            Some((_, claims)) => json!(claims),
            None => serde_json::to_value(cur.of(token)).unwrap_or_else(|_| json!([])),
        };
        out.insert(token.property().into(), value);
    }
    out.extend(cur.other);
    Value::Object(out)
}

/// The value of `requiredResourceAccess`: `(resourceAppId, [(permission id, Scope|Role)])`.
pub fn required_resource_access_value(entries: &[(String, Vec<(String, String)>)]) -> Value {
    json!(
        entries
            .iter()
            .map(|(app_id, access)| json!({
                "resourceAppId": app_id,
                "resourceAccess": access
                    .iter()
                    .map(|(id, ty)| json!({"id": id, "type": ty}))
                    .collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )
}
