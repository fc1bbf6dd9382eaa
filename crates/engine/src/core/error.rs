//! Why a plan cannot be made, or a planned change cannot be carried out. Each error says what
//! went wrong, where in the spec, and how to fix it.

use crate::core::desired::SpecEntry;
use crate::core::plan::ObjectKind;

/// A permission named in the spec that the resource API does not offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPermission {
    pub resource: String,
    /// `delegated` or `application`.
    pub kind: &'static str,
    pub name: String,
    pub suggestions: Vec<String>,
}

impl std::fmt::Display for UnknownPermission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` does not offer a {} permission `{}` (spec: app.apiPermissions.{}.{})",
            self.resource, self.kind, self.name, self.resource, self.kind
        )?;
        if !self.suggestions.is_empty() {
            write!(
                f,
                "; did you mean {}?",
                self.suggestions
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        Ok(())
    }
}

/// Why a plan could not be made from the desired and observed states.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the spec gives the app neither `uniqueName` nor `appId` (spec: app)\n  hint: add `uniqueName: <a stable key>` to create and find the app, or `appId: <guid>` to adopt an existing one"
    )]
    NoAppKey,
    #[error(
        "more than one application matches app `{key}` of the spec: {}\n  hint: entractl never guesses; delete or rename the stray one (or remove its `entractl:{key}` tag), or pin the right one with `appId:` in the spec",
        candidates.join("; ")
    )]
    AmbiguousApplication {
        key: String,
        candidates: Vec<String>,
    },
    #[error(
        "application \"{display_name}\" (appId {app_id}) already has uniqueName `{key}` but is not managed by entractl\n  hint: to take it over, add `appId: {app_id}` to the app in the spec (adoption); or choose another `uniqueName`"
    )]
    UnmanagedApplication {
        key: String,
        display_name: String,
        app_id: String,
    },
    #[error(
        "the placeholder app `{key}` (mfa.conditionalAccess.placeholder) cannot be managed: {problem}\n  hint: entractl never guesses; delete or rename the stray application (or remove its `entractl:{key}` tag), or give the placeholder another uniqueName"
    )]
    Placeholder { key: String, problem: String },
    #[error(
        "no application with appId {app_id} exists in tenant {tenant} (spec: app.appId)\n  hint: check the appId (Entra admin center → App registrations → Application (client) ID) and the tenant; to create a new app instead, remove `appId` and set `uniqueName`"
    )]
    AdoptedAppNotFound { app_id: String, tenant: String },
    #[error(
        "the API `{resource}` named in app.apiPermissions has no service principal in tenant {tenant}\n  hint: check the name as it appears under Enterprise applications, or name it by its appId"
    )]
    ResourceNotFound { resource: String, tenant: String },
    #[error(
        "the API name `{resource}` in app.apiPermissions matches several service principals: {}\n  hint: name it by its appId instead",
        candidates.join(", ")
    )]
    AmbiguousResource {
        resource: String,
        candidates: Vec<String>,
    },
    #[error(
        "{} permission(s) in the spec do not exist:\n{}\n  hint: use the permission values shown in Entra admin center → API permissions",
        .0.len(),
        .0.iter().map(|u| format!("  - {u}")).collect::<Vec<_>>().join("\n")
    )]
    UnknownPermissions(Vec<UnknownPermission>),
    #[error(
        "mfa.conditionalAccess.excludeApp cannot be used with this tenant's policies:\n{}\n  hint: name each policy by its exact display name or, when names repeat, by its id (Entra admin center → Protection → Conditional Access → Policies)",
        .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n")
    )]
    PolicySelection(Vec<String>),
    #[error(transparent)]
    Assignments(#[from] AssignmentError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    BadChange(#[from] BadChange),
}

/// A spec entry that does not resolve to exactly one user or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub entry: SpecEntry,
    pub problem: String,
}

/// Why the assignments cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum AssignmentError {
    #[error(
        "{} user(s) or group(s) under `assignments` cannot be assigned:\n{}\n  hint: fix or remove these entries: users by user principal name or object id (Entra admin center → Users), groups by display name or object id (Entra admin center → Groups); a name shared by several groups must be given by object id",
        .0.len(),
        .0.iter().map(|u| format!("  - {}: {}", u.entry.where_(), u.problem)).collect::<Vec<_>>().join("\n")
    )]
    Unresolved(Vec<Unresolved>),
    #[error(
        "tenant {tenant} has Microsoft Entra ID Free (no Entra ID P1 or P2 in its subscriptions), where only users, not groups, can be assigned to an application; the spec assigns {} group(s): {} ({})\n  hint: on this tier list the people under `assignments.users` (the seed procedure: \"users only on the entry-level tier\") and remove `assignments.groups`; or license Microsoft Entra ID P1 (alone or in Microsoft 365 Business Premium / E3 / E5) and plan again",
        groups.len(),
        groups.join(", "),
        at
    )]
    GroupsNeedPremium {
        tenant: String,
        groups: Vec<String>,
        at: String,
    },
    #[error(
        "the app role `{role}` named in assignments.role does not exist on the app: {}\n  hint: use one of the app's role values, or remove `role` to assign the default access role",
        if available.is_empty() { "the app defines no app roles".to_string() } else { format!("it defines {}", available.join(", ")) }
    )]
    UnknownRole {
        role: String,
        available: Vec<String>,
    },
}

/// Why the plan cannot restore.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(
        "the managed application `{key}` does not exist, and more than one deleted application matches it: {}\n  hint: entractl never guesses; pin the one to restore with `appId:` in the spec, or permanently delete the other (Entra admin center → App registrations → Deleted applications → Delete permanently)",
        candidates.join("; ")
    )]
    Ambiguous {
        key: String,
        candidates: Vec<String>,
    },
}

/// A change a kind cannot turn into a request (a saved plan edited by hand, or a bug).
#[derive(Debug, thiserror::Error)]
#[error("internal: a {kind} change has no usable payload: {detail}")]
pub struct BadChange {
    pub kind: ObjectKind,
    pub detail: String,
}

impl BadChange {
    pub fn new(kind: ObjectKind, detail: impl Into<String>) -> BadChange {
        BadChange {
            kind,
            detail: detail.into(),
        }
    }

    /// A change whose action the kind does not carry out (`action`: its name).
    pub fn unsupported(kind: ObjectKind, action: &str) -> BadChange {
        BadChange::new(kind, format!("{action} is not supported"))
    }
}
