//! Errors of the engine. Each says what went wrong, where, and how to fix it.

use crate::plan::ObjectKind;

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
    Assignments(#[from] crate::assignments::AssignmentError),
    #[error(transparent)]
    Restore(#[from] crate::restore::RestoreError),
    #[error("internal: a {kind} change has no usable payload: {detail}")]
    BadPayload { kind: ObjectKind, detail: String },
}

/// Why fetching, applying or loading a saved plan failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("could not {what}: {source}")]
    Read {
        what: String,
        #[source]
        source: entractl_graph::GraphError,
    },
    #[error(
        "could not {what}: {source}\n  changes before this one were made; the journal {journal} holds the prior state of every object changed.\n  hint: fix the cause and run apply again: it plans from the tenant as it is now"
    )]
    Write {
        what: String,
        journal: String,
        #[source]
        source: entractl_graph::GraphError,
    },
    #[error(
        "could not write the journal {}: {source}\n  nothing was changed in the tenant.\n  hint: choose a writable directory with `--journal-dir DIR`",
        path.display()
    )]
    Journal {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the plan weakens security and apply was not allowed to: {}\n  hint: review these changes, then run apply with `--allow-security-downgrade`",
        changes.join("; ")
    )]
    SecurityDowngrade { changes: Vec<String> },
    #[error(
        "the saved plan {} is stale: {}\n  hint: make a new plan with `entractl plan SPEC --out FILE`, review it, and apply that",
        path.display(),
        reasons.join("; ")
    )]
    StalePlan {
        path: std::path::PathBuf,
        reasons: Vec<String>,
    },
    #[error(
        "{} is not a usable saved plan: {reason}\n  hint: saved plans are written by `entractl plan SPEC --out FILE` (format_version {})",
        path.display(),
        crate::plan::FORMAT_VERSION
    )]
    SavedPlan {
        path: std::path::PathBuf,
        reason: String,
    },
}

impl EngineError {
    /// Maps a failed read to an error saying what was being read.
    pub fn read(what: &str) -> impl FnOnce(entractl_graph::GraphError) -> EngineError + '_ {
        move |source| EngineError::Read {
            what: what.to_string(),
            source,
        }
    }
}
