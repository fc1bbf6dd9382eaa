//! The plan: a value type with no I/O. `diff` produces it, renderers print it, `apply` executes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the JSON plan format (`docs/plan-format.md`). Bump on any incompatible change.
pub const FORMAT_VERSION: &str = "1";

/// The Entra object kinds the engine knows, in Graph's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    Application,
    ServicePrincipal,
    #[serde(rename = "oauth2PermissionGrant")]
    OAuth2PermissionGrant,
    /// An application permission granted to the app (admin consent): in Graph, an
    /// `appRoleAssignment` of the API's app role to the app's service principal.
    ApplicationPermissionGrant,
    AppRoleAssignment,
    ConditionalAccessPolicy,
    SecurityDefaults,
    PerUserMfa,
    /// The placeholder app of Microsoft's "Customize behavior" for baseline scopes (an
    /// `application` entractl manages beside Passport's).
    PlaceholderApplication,
    /// The placeholder app's service principal (the conditional access app picker lists service
    /// principals).
    PlaceholderServicePrincipal,
    /// A group that records what entractl weakened (docs/decisions.md).
    RecordGroup,
    /// One entry of a record group: a user or group whose weakening entractl recorded.
    Record,
}

impl ObjectKind {
    /// The name used in plans, journals and JSON (`application`, `servicePrincipal`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Application => "application",
            ObjectKind::ServicePrincipal => "servicePrincipal",
            ObjectKind::OAuth2PermissionGrant => "oauth2PermissionGrant",
            ObjectKind::ApplicationPermissionGrant => "applicationPermissionGrant",
            ObjectKind::AppRoleAssignment => "appRoleAssignment",
            ObjectKind::ConditionalAccessPolicy => "conditionalAccessPolicy",
            ObjectKind::SecurityDefaults => "securityDefaults",
            ObjectKind::PerUserMfa => "perUserMfa",
            ObjectKind::PlaceholderApplication => "placeholderApplication",
            ObjectKind::PlaceholderServicePrincipal => "placeholderServicePrincipal",
            ObjectKind::RecordGroup => "recordGroup",
            ObjectKind::Record => "record",
        }
    }

    /// Dependency rank: changes are applied in increasing rank (see [`Change::rank`]). A record
    /// is written before the downgrades it records.
    pub fn rank(self) -> u8 {
        match self {
            ObjectKind::Application => 0,
            ObjectKind::ServicePrincipal => 1,
            ObjectKind::OAuth2PermissionGrant => 2,
            ObjectKind::ApplicationPermissionGrant => 3,
            ObjectKind::AppRoleAssignment => 4,
            ObjectKind::RecordGroup => 5,
            ObjectKind::Record => 6,
            ObjectKind::SecurityDefaults => 7,
            ObjectKind::PerUserMfa => 8,
            // Before the policies that exclude it.
            ObjectKind::PlaceholderApplication => 9,
            ObjectKind::PlaceholderServicePrincipal => 10,
            ObjectKind::ConditionalAccessPolicy => 11,
        }
    }
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which object a change is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    /// Stable key within the kind (the app's uniqueName or appId, `app → resource` for a grant, …).
    pub key: String,
    /// What a person calls it (display name).
    pub display: String,
    /// Graph object id, when the object exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Take an existing, not yet managed object under management (and update it).
    Adopt,
    /// Bring a deleted object back from `directory/deletedItems` (same ids; and update it).
    Restore,
    NoOp,
}

impl Action {
    /// The action under way, for progress lines (`creating`).
    pub fn doing(self) -> &'static str {
        match self {
            Action::Create => "creating",
            Action::Update => "updating",
            Action::Delete => "deleting",
            Action::Adopt => "adopting",
            Action::Restore => "restoring",
            Action::NoOp => "checking",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Adopt => "adopt",
            Action::Restore => "restore",
            Action::NoOp => "no-op",
        }
    }
}

/// One property's before and after. `null` means absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Graph property path, e.g. `isFallbackPublicClient`, `optionalClaims.idToken`,
    /// `requiredResourceAccess[Microsoft Graph]`.
    pub path: String,
    pub before: Value,
    pub after: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Weakens MFA or another security control.
    SecurityDowngrade,
    /// Grants tenant-wide consent to permissions: delegated ones for every user, or an
    /// application permission (app-only access, no signed-in user).
    TenantWideConsent,
    /// Takes over an object created outside entractl.
    Adoption,
    /// Removes something.
    Removal,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::SecurityDowngrade => "security-downgrade",
            Risk::TenantWideConsent => "tenant-wide-consent",
            Risk::Adoption => "adoption",
            Risk::Removal => "removal",
        }
    }
}

/// The first apply rank of the removals that wait for every change of a lower rank
/// ([`Change::rank`]).
pub const TEARDOWN: u8 = 250;

/// One change of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub object: ObjectRef,
    pub action: Action,
    /// Field-level differences (for people and machines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Why this change is planned.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<Risk>,
    /// The Graph request body that `apply` sends (create/update), already merged with the
    /// current values of properties Graph replaces whole (read-modify-write). A value known only
    /// once an earlier change of the same apply has created its object is `null` here, and
    /// named in `refs`.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub payload: Value,
    /// Values of `payload` that an earlier change of the same apply creates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<CreatedRef>,
}

/// A value of a change's payload that is known only after an earlier change of the same apply
/// has created its object: apply fills it in from that change's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedRef {
    /// Where in the payload (a JSON pointer, `/appId`).
    pub at: String,
    /// The change that creates the object.
    pub created_by: ChangeId,
    /// Which property of the created object (`id`, `appId`).
    pub property: String,
}

/// Names one change of a plan: its object's kind and key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChangeId {
    pub kind: ObjectKind,
    pub key: String,
}

impl Change {
    /// This change's id.
    pub fn id(&self) -> ChangeId {
        ChangeId {
            kind: self.object.kind,
            key: self.object.key.clone(),
        }
    }

    /// Apply order: the kind's rank, except for the removals that must come after everything
    /// else ([`TEARDOWN`] and above, each waiting for every change of a lower rank): what
    /// `destroy` deletes — the service principals before their applications, once their
    /// assignments and grants are gone and every restore is made — then the record entries,
    /// removed only after every restore they record, and the record groups last.
    pub fn rank(&self) -> u8 {
        match (self.object.kind, self.action) {
            (ObjectKind::ServicePrincipal, Action::Delete) => TEARDOWN,
            (ObjectKind::PlaceholderServicePrincipal, Action::Delete) => TEARDOWN + 1,
            (ObjectKind::Application, Action::Delete) => TEARDOWN + 2,
            (ObjectKind::PlaceholderApplication, Action::Delete) => TEARDOWN + 3,
            (ObjectKind::Record, Action::Delete) => TEARDOWN + 4,
            (ObjectKind::RecordGroup, Action::Delete) => TEARDOWN + 5,
            (kind, _) => kind.rank(),
        }
    }

    /// `create application "Kandji Passport"`: the change in words, for progress and errors.
    pub fn describe(&self) -> String {
        format!(
            "{} {} \"{}\"",
            self.action.as_str(),
            self.object.kind,
            self.object.display
        )
    }

    /// A change of `object` with no field changes, no risks, no payload.
    pub fn new(object: ObjectRef, action: Action, reason: impl Into<String>) -> Change {
        Change {
            object,
            action,
            fields: Vec::new(),
            reason: reason.into(),
            risks: Vec::new(),
            payload: Value::Null,
            refs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// Something the spec asks for that this version does not do (yet).
    NotYetApplied,
    /// Something entractl saw but leaves alone.
    Unmanaged,
    Warning,
    /// A step an admin must take in the Entra admin center, because Microsoft offers no API for
    /// it (choosing the placeholder on the Baseline scopes settings page).
    PortalStep,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub kind: NoteKind,
    /// What the note is about weakens security (`security-downgrade`): a reviewer should read it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<Risk>,
    pub message: String,
}

/// A property of a managed object the spec does not mention: left exactly as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unmanaged {
    pub object: ObjectKind,
    pub path: String,
    pub current: Value,
}

/// Values to copy into Kandji (and CI): known after apply when the objects do not exist yet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outputs {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub oidc_metadata_url: Option<String>,
    pub application_object_id: Option<String>,
    pub service_principal_object_id: Option<String>,
    /// Every group assigned to the app with its object id (Kandji: "Specify per identity
    /// provider group").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assigned_groups: Vec<AssignedGroup>,
}

/// An assigned group with the object id Kandji's "Specify per identity provider group" asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedGroup {
    pub display_name: String,
    pub id: String,
}

/// The plan: ordered changes (dependency order), notes, unmanaged properties and outputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The tenant as the spec names it.
    pub tenant: String,
    pub cloud: String,
    pub changes: Vec<Change>,
    #[serde(default)]
    pub notes: Vec<Note>,
    #[serde(default)]
    pub unmanaged: Vec<Unmanaged>,
    pub outputs: Outputs,
    /// Whether Passport's sign-in will work once the plan is applied (when the spec says its
    /// mode or needs password sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_forecast: Option<crate::core::forecast::SignInForecast>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub adopt: usize,
    /// Objects restored from deleted items (counted apart from `create`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restore: usize,
    pub unchanged: usize,
    pub security_downgrades: usize,
}

impl Plan {
    /// True when applying would change anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }

    /// Changes other than no-ops, in order.
    pub fn actionable(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action != Action::NoOp)
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
                Action::Adopt => s.adopt += 1,
                Action::Restore => s.restore += 1,
                Action::NoOp => s.unchanged += 1,
            }
            if c.action != Action::NoOp && c.risks.contains(&Risk::SecurityDowngrade) {
                s.security_downgrades += 1;
            }
        }
        s
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
