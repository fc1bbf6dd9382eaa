//! `domain`: the tenant's domains and how each authenticates its users — `Managed` (Entra ID
//! checks the password) or `Federated` (another identity provider, such as AD FS, does).
//! graph-docs `api-reference/v1.0/resources/domain.md`, `api/domain-list.md`.

use serde::{Deserialize, Serialize};

use super::common::Operation;
use super::de;
use crate::request::GraphRequest;

pub const PATH: &str = "/domains";

/// Least privilege to list the domains (`domain-list.md`).
pub const READ: &str = "Domain.Read.All";

pub const OPERATIONS: &[Operation] = &[Operation::new("GET", PATH, READ)];

/// `authenticationType` of a federated domain.
pub const FEDERATED: &str = "Federated";

/// A domain as entractl reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// The fully qualified domain name (Graph's key), lower case.
    #[serde(deserialize_with = "de::required_lower")]
    pub id: String,
    /// `Managed` or `Federated` (read-only, not nullable in Graph).
    #[serde(default, deserialize_with = "de::text")]
    pub authentication_type: String,
}

impl Domain {
    /// Authentication is federated with another identity provider.
    pub fn is_federated(&self) -> bool {
        self.authentication_type.eq_ignore_ascii_case(FEDERATED)
    }
}

/// The domain of a user principal name: the part after the last `@`, lower case.
pub fn of_upn(upn: &str) -> Option<String> {
    upn.trim()
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

/// The domain `upn` belongs to, among `domains`.
pub fn for_upn<'a>(domains: &'a [Domain], upn: &str) -> Option<&'a Domain> {
    let name = of_upn(upn)?;
    domains.iter().find(|d| d.id == name)
}

/// List the tenant's domains.
pub fn list() -> GraphRequest {
    GraphRequest::get(PATH)
        .select(&["id", "authenticationType"])
        .label("read the tenant's domains")
}
