//! The application registration as the spec wants it, in Graph's terms.

use entractl_graph::resource::application::{GroupMembershipClaims, Platform, TokenType};
use serde::{Deserialize, Serialize};

use crate::core::normalize;

/// appId of Microsoft Graph, the same in every tenant and cloud.
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Prefix of the tag entractl puts on the applications it manages.
pub const MANAGED_TAG_PREFIX: &str = "entractl:";

/// Prefix of the tag entractl puts on a placeholder app of "Customize behavior", naming the key
/// of the app it was made for: found by it once the spec no longer names the placeholder.
pub const PLACEHOLDER_LINK_PREFIX: &str = "entractl-placeholder-for:";

/// A resource API named in `apiPermissions`: by display name or by appId.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceRef {
    /// `Microsoft Graph`, or any service principal display name.
    Name(String),
    /// The resource application's appId.
    AppId(String),
}

impl ResourceRef {
    /// Builds a reference from what the user wrote: a GUID is an appId, anything else a name.
    /// `Microsoft Graph` is resolved to its well-known appId so the lookup is by key.
    pub fn parse(s: &str) -> ResourceRef {
        let t = s.trim();
        if normalize::is_guid(t) {
            ResourceRef::AppId(t.to_ascii_lowercase())
        } else if t.eq_ignore_ascii_case("Microsoft Graph") {
            ResourceRef::AppId(MICROSOFT_GRAPH_APP_ID.to_string())
        } else {
            ResourceRef::Name(t.to_string())
        }
    }

    /// How the user wrote it (for messages).
    pub fn label(&self) -> String {
        match self {
            ResourceRef::Name(n) => n.clone(),
            ResourceRef::AppId(a) if a == MICROSOFT_GRAPH_APP_ID => "Microsoft Graph".to_string(),
            ResourceRef::AppId(a) => a.clone(),
        }
    }
}

/// Permissions wanted on one resource API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiPermission {
    pub resource: ResourceRef,
    /// Delegated permission values (`User.Read`) → `Scope` entries and the admin-consent grant.
    pub delegated: Vec<String>,
    /// Application permission values (`User.Read.All`) → `Role` entries.
    pub application: Vec<String>,
}

/// One optional claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionalClaim {
    pub name: String,
    pub source: Option<String>,
    pub essential: bool,
    pub additional_properties: Vec<String>,
}

impl OptionalClaim {
    pub fn named(name: &str) -> OptionalClaim {
        OptionalClaim {
            name: name.to_string(),
            source: None,
            essential: false,
            additional_properties: Vec::new(),
        }
    }
}

/// Optional claims per token type; `None` leaves that token type unmanaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionalClaims {
    pub id_token: Option<Vec<OptionalClaim>>,
    pub access_token: Option<Vec<OptionalClaim>>,
    pub saml2_token: Option<Vec<OptionalClaim>>,
}

impl OptionalClaims {
    /// The claims wanted in one token type (`None`: unmanaged).
    pub fn of(&self, token: TokenType) -> Option<&Vec<OptionalClaim>> {
        match token {
            TokenType::Id => self.id_token.as_ref(),
            TokenType::Access => self.access_token.as_ref(),
            TokenType::Saml2 => self.saml2_token.as_ref(),
        }
    }
}

/// How the managed application is identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppIdentity {
    /// The stable key the app is created with and found by.
    pub unique_name: Option<String>,
    /// An existing app to adopt (made in the portal).
    pub adopt_app_id: Option<String>,
}

impl AppIdentity {
    /// The key used in plans and journals.
    pub fn key(&self) -> String {
        match (&self.unique_name, &self.adopt_app_id) {
            (Some(u), _) => u.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) => String::new(),
        }
    }

    /// The tag that marks the application as managed by entractl under this key.
    pub fn managed_tag(&self) -> String {
        format!("{MANAGED_TAG_PREFIX}{}", self.key())
    }

    /// The tag on the placeholder apps entractl makes for the application of this key.
    pub fn placeholder_link_tag(&self) -> String {
        format!("{PLACEHOLDER_LINK_PREFIX}{}", self.key())
    }
}

/// The application registration as the spec wants it. `None` everywhere means unmanaged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredApp {
    pub display_name: String,
    pub identity: AppIdentity,
    /// `signInAudience` (`AzureADMyOrg`, …).
    pub sign_in_audience: Option<String>,
    /// `isFallbackPublicClient` ("Allow public client flows").
    pub is_fallback_public_client: Option<bool>,
    /// `web.redirectUris`.
    pub web_redirect_uris: Option<Vec<String>>,
    /// `publicClient.redirectUris`.
    pub public_client_redirect_uris: Option<Vec<String>>,
    /// `spa.redirectUris`.
    pub spa_redirect_uris: Option<Vec<String>>,
    pub optional_claims: OptionalClaims,
    /// `groupMembershipClaims`.
    pub group_membership_claims: Option<GroupMembershipClaims>,
    /// `requiredResourceAccess`; `None` leaves API permissions unmanaged.
    pub api_permissions: Option<Vec<ApiPermission>>,
    /// `true`: a tenant-wide (`AllPrincipals`) grant of exactly the delegated permissions;
    /// `false`: no tenant-wide grant to the named resources; `None`: unmanaged.
    pub admin_consent: Option<bool>,
}

impl DesiredApp {
    /// The redirect URIs wanted on platform `p` (`None`: unmanaged).
    pub fn redirect_uris(&self, p: Platform) -> Option<&Vec<String>> {
        match p {
            Platform::Web => self.web_redirect_uris.as_ref(),
            Platform::PublicClient => self.public_client_redirect_uris.as_ref(),
            Platform::Spa => self.spa_redirect_uris.as_ref(),
        }
    }

    /// Every API named in `apiPermissions`, each once, sorted.
    pub fn resources_named(&self) -> Vec<ResourceRef> {
        let mut v: Vec<ResourceRef> = self
            .api_permissions
            .iter()
            .flatten()
            .map(|p| p.resource.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub(super) fn from_spec(app: &entractl_spec::App) -> DesiredApp {
        let claims = |v: &Option<Vec<entractl_spec::OptionalClaim>>| {
            v.as_ref().map(|cs| {
                cs.iter()
                    .map(|c| OptionalClaim {
                        name: c.name.clone(),
                        source: c.source.clone(),
                        essential: c.essential,
                        additional_properties: c.additional_properties.clone(),
                    })
                    .collect()
            })
        };
        DesiredApp {
            display_name: app.display_name.clone(),
            identity: AppIdentity {
                unique_name: app.unique_name.clone(),
                adopt_app_id: app.app_id.as_ref().map(|a| a.to_ascii_lowercase()),
            },
            sign_in_audience: app.audience.map(|a| a.graph_value().to_string()),
            is_fallback_public_client: app.public_client_flows,
            web_redirect_uris: app.redirect_uris.web.clone(),
            public_client_redirect_uris: app.redirect_uris.public_client.clone(),
            spa_redirect_uris: app.redirect_uris.spa.clone(),
            optional_claims: OptionalClaims {
                id_token: claims(&app.tokens.id),
                access_token: claims(&app.tokens.access),
                saml2_token: claims(&app.tokens.saml2),
            },
            group_membership_claims: app
                .tokens
                .groups_claim
                .and_then(|g| GroupMembershipClaims::parse(Some(g.graph_value()))),
            api_permissions: app.api_permissions.as_ref().map(|ps| {
                ps.iter()
                    .map(|p| ApiPermission {
                        resource: ResourceRef::parse(&p.resource),
                        delegated: p.delegated.clone(),
                        application: p.application.clone(),
                    })
                    .collect()
            }),
            admin_consent: app.admin_consent,
        }
    }
}

/// The scopes Kandji Passport asks for when the spec names no Microsoft Graph delegated
/// permissions (what Kandji's procedure grants).
pub const PASSPORT_SCOPES: [&str; 4] = ["openid", "profile", "email", "User.Read"];

const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

impl DesiredApp {
    /// The Microsoft Graph scopes Passport's sign-in asks for: the spec's Microsoft Graph
    /// delegated permissions (what admin consent grants), OpenID Connect scopes first; Passport's
    /// own scopes when the spec names none.
    pub fn passport_scopes(&self) -> Vec<String> {
        let graph = ResourceRef::AppId(MICROSOFT_GRAPH_APP_ID.to_string());
        let mut out: Vec<String> = Vec::new();
        for s in self
            .api_permissions
            .iter()
            .flatten()
            .filter(|p| p.resource == graph)
            .flat_map(|p| p.delegated.iter())
        {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
                out.push(s.clone());
            }
        }
        if out.is_empty() {
            return PASSPORT_SCOPES.iter().map(|s| s.to_string()).collect();
        }
        let rank = |s: &String| {
            OIDC_SCOPES
                .iter()
                .position(|o| o.eq_ignore_ascii_case(s))
                .unwrap_or(OIDC_SCOPES.len())
        };
        out.sort_by_key(rank);
        out
    }
}
