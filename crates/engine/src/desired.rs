//! The desired state: what the (expanded) spec asks for, in Graph's terms, before any lookup.
//!
//! `None` everywhere means *unmanaged*: the engine never touches that property.

use serde::{Deserialize, Serialize};

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
        if crate::normalize::is_guid(t) {
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

/// appId of Microsoft Graph, the same in every tenant and cloud.
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

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
}

/// Prefix of the tag entractl puts on the applications it manages.
pub const MANAGED_TAG_PREFIX: &str = "entractl:";

/// The application registration as the spec wants it.
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
    /// `groupMembershipClaims` in Graph's spelling (`None`, `SecurityGroup`, `DirectoryRole`,
    /// `ApplicationGroup`, `All`).
    pub group_membership_claims: Option<String>,
    /// `requiredResourceAccess`; `None` leaves API permissions unmanaged.
    pub api_permissions: Option<Vec<ApiPermission>>,
    /// `true`: a tenant-wide (`AllPrincipals`) grant of exactly the delegated permissions;
    /// `false`: no tenant-wide grant to the named resources; `None`: unmanaged.
    pub admin_consent: Option<bool>,
}

/// Everything the engine is asked to make true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    /// The tenant as the spec names it (id or verified domain).
    pub tenant: String,
    /// Cloud name (`public`, `usgov`, `usgov-dod`, `china`).
    pub cloud: String,
    /// Base URL of the identity platform (`https://login.microsoftonline.com`), for the OIDC
    /// metadata URL output.
    pub authority_url: String,
    pub app: DesiredApp,
    /// The MFA posture (`mfa` of the spec); `None`: unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<crate::mfa::posture::DesiredMfa>,
    /// Users and groups assigned to the app (`assignments` of the spec); `None`: unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignments: Option<crate::assignments::DesiredAssignments>,
    /// Spec sections present in the file that this version does not apply yet (e.g.
    /// `assignments`, `mfa`): each becomes a visible note in every plan.
    pub not_yet_applied: Vec<String>,
}

/// Default identity-platform host for a cloud name.
pub fn default_authority_url(cloud: &str) -> &'static str {
    match cloud {
        "usgov" | "usgov-dod" => "https://login.microsoftonline.us",
        "china" => "https://login.chinacloudapi.cn",
        _ => "https://login.microsoftonline.com",
    }
}

impl Desired {
    /// The desired state of an expanded spec. `authority_url` overrides the cloud's identity
    /// platform host (`--authority-url`), for the OIDC metadata URL output.
    pub fn from_spec(spec: &entractl_spec::Spec, authority_url: Option<&str>) -> Desired {
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
        let app = &spec.app;
        let not_yet_applied: Vec<String> = Vec::new();
        Desired {
            tenant: spec.tenant.clone(),
            cloud: spec.cloud.name().to_string(),
            authority_url: authority_url
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| spec.cloud.login_url().to_string()),
            app: DesiredApp {
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
                    .map(|g| g.graph_value().to_string()),
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
            },
            mfa: spec
                .mfa
                .as_ref()
                .map(crate::mfa::posture::DesiredMfa::from_spec)
                .filter(|m| *m != crate::mfa::posture::DesiredMfa::default()),
            assignments: spec
                .assignments
                .as_ref()
                .map(crate::assignments::DesiredAssignments::from_spec),
            not_yet_applied,
        }
    }

    /// Adds the file, line and column of spec entries (users and groups under `assignments`)
    /// so that errors found against the tenant point at the spec.
    pub fn locate(mut self, loaded: &entractl_spec::LoadedSpec) -> Desired {
        if let Some(a) = self.assignments.as_mut() {
            a.locate(loaded);
        }
        self
    }
}
