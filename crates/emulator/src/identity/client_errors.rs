//! The client-authentication errors of the token endpoint (AADSTS700016, 7000215, 7000218, 700025,
//! 50027, 700027, 700023, 700024, 50048, 700211–700213, 7000222), in Entra's wording (see
//! [`crate::identity::errors`] for the body and the sources).

use crate::identity::errors::{TokenError, kind};

impl TokenError {
    // ---- client authentication --------------------------------------------------------------

    /// AADSTS700016: no application with this client id in the tenant.
    pub fn unknown_client(client_id: &str, tenant_name: &str) -> Self {
        Self::new(
            kind::UNAUTHORIZED_CLIENT,
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory \
                 '{tenant_name}'. This can happen if the application has not been installed by the \
                 administrator of the tenant or consented to by any user in the tenant. You may have \
                 sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// AADSTS7000215: wrong client secret.
    pub fn invalid_client_secret(client_id: &str) -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the \
                 client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    /// AADSTS7000222: every matching client secret has expired.
    pub fn client_secret_expired(client_id: &str) -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            7000222,
            format!(
                "The provided client secret keys for app '{client_id}' are expired. Visit the Azure \
                 portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider \
                 using certificate credentials for added security: https://aka.ms/certCreds."
            ),
        )
    }

    /// AADSTS7000218: neither a secret nor an assertion, on a client that is not a public client.
    pub fn credential_required() -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    }

    /// AADSTS700025: a public client sent a secret or an assertion.
    pub fn public_client_with_credential() -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        )
    }

    /// AADSTS50027: the client assertion is not a well-formed JWT (or lacks a required claim).
    pub fn malformed_assertion(detail: &str) -> Self {
        Self::new(
            kind::INVALID_REQUEST,
            50027,
            format!("JWT token is invalid or malformed. {detail}"),
        )
    }

    /// AADSTS700027: the signing certificate is not registered on the app, or the signature is bad.
    pub fn assertion_key_not_found(client_id: &str, thumbprint: &str) -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered \
                 on application. [Reason - The key was not found., Thumbprint of key used by client: \
                 '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph \
                 to see configured keys for app Id '{client_id}'. Review the documentation at \
                 https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding \
                 service endpoint and \
                 https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http \
                 to build a query request URL, such as \
                 'https://graph.microsoft.com/beta/applications/{client_id}']"
            ),
        )
    }

    /// AADSTS700027: the signature of the assertion does not verify.
    pub fn assertion_bad_signature() -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            700027,
            "Client assertion failed signature validation.",
        )
    }

    /// AADSTS700023: the assertion's `aud` is not this tenant's token endpoint.
    pub fn assertion_audience() -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            700023,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at \
             https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
        )
    }

    /// AADSTS700024: the assertion is expired or not yet valid.
    pub fn assertion_time_range(now: i64, nbf: Option<i64>, exp: i64) -> Self {
        let fmt = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| format!("{}0Z", d.format("%Y-%m-%dT%H:%M:%S%.6f")))
                .unwrap_or_else(|| t.to_string())
        };
        Self::new(
            kind::INVALID_CLIENT,
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid \
                 from {}, expiry time of assertion {}. Review the documentation at \
                 https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
                fmt(now),
                fmt(nbf.unwrap_or(0)),
                fmt(exp)
            ),
        )
    }

    /// AADSTS50048: `sub` of the assertion is not the client id (or differs from `iss`).
    pub fn assertion_subject_mismatch(client_id: &str) -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            50048,
            format!(
                "Subject mismatches Issuer claim in the client assertion for application '{client_id}'."
            ),
        )
    }

    /// AADSTS700211: no federated credential with the assertion's issuer.
    pub fn federated_issuer(issuer: &str) -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            700211,
            format!(
                "No matching federated identity record found for presented assertion issuer '{issuer}'. \
                 Please check your federated identity credential Subject, Audience and Issuer against \
                 the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        )
    }

    /// AADSTS700212: no federated credential with the assertion's audience.
    pub fn federated_audience(audience: &str) -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience \
                 '{audience}'. Please check your federated identity credential Subject, Audience and \
                 Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        )
    }

    /// AADSTS700213: no federated credential with the assertion's subject.
    pub fn federated_subject(subject: &str) -> Self {
        Self::new(
            kind::INVALID_CLIENT,
            700213,
            format!(
                "No matching federated identity record found for presented assertion subject \
                 '{subject}'. Check your federated identity credential Subject, Audience and Issuer \
                 against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        )
    }
}
