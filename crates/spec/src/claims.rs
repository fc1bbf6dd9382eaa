//! Entra's documented optional claims per token type (identity platform "Optional claims
//! reference": the v1.0 and v2.0 set, the v2.0-specific set and the v1.0-specific set).

/// Claims of JWTs: both ID and access tokens.
const JWT: &[&str] = &[
    "acct",
    "acrs",
    "auth_time",
    "ctry",
    "email",
    "family_name",
    "fwd",
    "given_name",
    "groups",
    "in_corp",
    "ipaddr",
    "login_hint",
    "onprem_sid",
    "preferred_username",
    "pwd_exp",
    "pwd_url",
    "sid",
    "tenant_ctry",
    "tenant_region_scope",
    "upn",
    "verified_primary_email",
    "verified_secondary_email",
    "vnet",
    "xms_cc",
    "xms_edov",
    "xms_pdl",
    "xms_pl",
    "xms_tpl",
    "ztdid",
];

/// Claims only access tokens have.
const ACCESS_ONLY: &[&str] = &["aud", "idtyp"];

/// Claims SAML tokens have.
const SAML: &[&str] = &["acct", "email", "groups", "upn"];

/// The token types of `tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenType {
    Id,
    Access,
    Saml2,
}

impl TokenType {
    pub fn key(self) -> &'static str {
        match self {
            TokenType::Id => "id",
            TokenType::Access => "access",
            TokenType::Saml2 => "saml2",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            TokenType::Id => "ID token",
            TokenType::Access => "access token",
            TokenType::Saml2 => "SAML token",
        }
    }

    /// The optional claims Entra offers for this token type.
    pub fn claims(self) -> Vec<&'static str> {
        match self {
            TokenType::Id => JWT.to_vec(),
            TokenType::Access => JWT.iter().chain(ACCESS_ONLY).copied().collect(),
            TokenType::Saml2 => SAML.to_vec(),
        }
    }
}

/// The documented `additionalProperties` of a claim (empty: the claim takes none).
pub(crate) fn additional_properties(claim: &str) -> &'static [&'static str] {
    match claim {
        "upn" => &[
            "include_externally_authenticated_upn",
            "include_externally_authenticated_upn_without_hash",
        ],
        "aud" => &["use_guid"],
        "idtyp" => &["include_user_token"],
        "groups" => &[
            "sam_account_name",
            "dns_domain_and_sam_account_name",
            "netbios_domain_and_sam_account_name",
            "emit_as_roles",
            "cloud_displayname",
        ],
        _ => &[],
    }
}
