//! One stored directory object: its Graph JSON, the sandbox-only properties Graph never returns
//! (passwords, secrets, certificates, members), and its replication state.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Graph object in Graph's exact JSON shape (property order preserved).
pub type Obj = Map<String, Value>;

/// A certificate credential registered on an application (`keyCredentials`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateCredential {
    /// keyId of the `keyCredentials` entry.
    pub key_id: String,
    /// SHA-256 thumbprint of the DER certificate, base64url without padding (what `x5t#S256` carries).
    pub thumbprint_sha256: String,
    /// The certificate's public key (PEM, `-----BEGIN PUBLIC KEY-----`), used to verify client assertions.
    pub public_key_pem: String,
}

/// A federated identity credential of an application (`federatedIdentityCredentials`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedCredential {
    /// Graph id of the credential.
    pub id: String,
    /// Unique name of the credential within the application.
    pub name: String,
    /// Expected `iss` of the incoming token.
    pub issuer: String,
    /// Expected `sub` of the incoming token.
    pub subject: String,
    /// Accepted `aud` values (`api://AzureADTokenExchange`).
    pub audiences: Vec<String>,
}

/// Properties Graph never returns but the emulator needs (passwords, secrets, members, per-user MFA).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Internal {
    /// A user's password (sandbox only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A user's legacy per-user MFA state: `disabled` | `enabled` | `enforced`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_user_mfa_state: Option<String>,
    /// The user has registered an MFA method (fixture `mfaRegistered`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mfa_registered: bool,
    /// A Microsoft-managed conditional access policy (only its state and user/group exclusions can
    /// be changed; it cannot be deleted).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub microsoft_managed: bool,
    /// A group's direct members (object ids of users, groups, service principals), in insertion order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// An application's client secrets (plain text; sandbox only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// An application's certificate credentials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateCredential>,
    /// An application's federated identity credentials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub federated_credentials: Vec<FederatedCredential>,
    /// Object ids of the owners of an application or service principal (Application.ReadWrite.OwnedBy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    /// Object ids of the service principals a home realm discovery policy is assigned to
    /// (`appliesTo`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applies_to: Vec<String>,
}

/// One stored object: its Graph JSON, its internal properties, and when other readers may see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    /// The object exactly as Graph returns it (all properties, nulls included).
    pub obj: Obj,
    /// Properties Graph does not return.
    #[serde(default, skip_serializing_if = "is_default_internal")]
    pub internal: Internal,
    /// Replication delay: until this instant the object is invisible to reads (and references to it fail).
    #[serde(skip)]
    pub visible_at: Option<Instant>,
    /// Replication delay on an update: what other readers still see until `visible_at`.
    #[serde(skip)]
    pub previous: Option<Obj>,
}

fn is_default_internal(i: &Internal) -> bool {
    *i == Internal::default()
}

impl Record {
    /// A record with no internal properties, visible immediately.
    pub fn new(obj: Obj) -> Self {
        Record {
            obj,
            internal: Internal::default(),
            visible_at: None,
            previous: None,
        }
    }

    /// The Graph `id` of the object.
    pub fn id(&self) -> &str {
        self.obj.get("id").and_then(Value::as_str).unwrap_or("")
    }

    /// A string property of the Graph object.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.obj.get(key).and_then(Value::as_str)
    }

    /// A boolean property of the Graph object (`null`/absent = `None`).
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.obj.get(key).and_then(Value::as_bool)
    }

    /// A user's per-user MFA state as Graph reports it: `enabled` turns `enforced` once the user has
    /// registered a method (entra-docs `authentication/howto-mfa-userstates.md`: "Users who complete
    /// registration while they're Enabled are automatically moved to the Enforced state").
    pub fn per_user_mfa_state(&self) -> &str {
        match self.internal.per_user_mfa_state.as_deref() {
            Some("enabled") if self.internal.mfa_registered => "enforced",
            Some(s) => s,
            None => "disabled",
        }
    }

    /// Whether readers may see the object at `now` (replication delay over).
    pub fn is_visible(&self, now: Instant) -> bool {
        self.visible_at.is_none_or(|t| now >= t)
    }

    /// What a reader sees at `now`: the object, its previous version while an update replicates, or
    /// nothing while a creation replicates.
    pub fn view(&self, now: Instant) -> Option<&Obj> {
        if self.is_visible(now) {
            Some(&self.obj)
        } else {
            self.previous.as_ref()
        }
    }
}
