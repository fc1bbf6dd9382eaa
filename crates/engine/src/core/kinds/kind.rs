//! The trait every kind of Entra object entractl manages implements, and the vocabulary it
//! speaks: what a kind adds to a plan, how apply sends its changes, what it needs permission
//! for.

use entractl_graph::{GraphError, GraphRequest};
use serde::Serialize;
use serde_json::Value;

use super::context::PlanContext;
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::Observed;
use crate::core::plan::{Action, AssignedGroup, Change, Note, ObjectKind, Unmanaged};

/// One kind of Entra object (application, service principal, grant, …): how its desired state
/// becomes changes, how a change becomes Graph requests, what the journal keeps of it, what
/// Graph does with it, and which permissions it needs. `apply`, `simulate_apply`, the journal
/// and `entractl permissions` work through this trait only.
pub trait Kind: Sync {
    /// Which kind this is.
    fn kind(&self) -> ObjectKind;

    /// Adds this kind's changes, notes and outputs to the plan (pure).
    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError>;

    /// The Graph requests that make `change`, in order (its references to objects created
    /// earlier in the same apply already filled in; `observed`: the tenant the plan was made
    /// from).
    fn requests(
        &self,
        change: &Change,
        observed: &Observed,
    ) -> Result<Vec<GraphRequest>, BadChange>;

    /// The object as it is before `change` (the journal's "before"); `null` for a create.
    fn prior_state(&self, observed: &Observed, change: &Change) -> Value;

    /// What Graph does with `change`, applied to `observed` (for `simulate_apply`); returns what
    /// Graph would answer (the created object, or `null`). `new_id(property)` gives the value
    /// Graph gives a created object's `property` (`id`, `appId`).
    fn simulate(
        &self,
        observed: &mut Observed,
        change: &Change,
        new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange>;

    /// The least-privileged application permissions this kind needs for `desired`.
    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions);

    /// The kinds whose changes Graph needs made before this kind's start, besides the objects a
    /// change references (its `refs`): apply runs every other kind at the same time.
    fn after(&self) -> &'static [ObjectKind];

    /// Whether this kind's `changes` (one apply step) wait for `kind`, one of [`Kind::after`]'s:
    /// yes, unless the kind knows that these changes do not need it (a conditional access
    /// change that adds no user or group has nothing for the record to keep first).
    fn waits_for(&self, _changes: &[&Change], _kind: ObjectKind) -> bool {
        true
    }

    /// How apply sends this kind's changes.
    fn sending(&self) -> Sending {
        Sending::OneByOne
    }

    /// Whether a failed write still leaves the object as planned (a duplicate create that a
    /// concurrent writer made, a delete of something already gone).
    fn already_done(&self, _change: &Change, _error: &GraphError) -> bool {
        false
    }

    /// How to undo `change` by hand (written into the journal next to the prior state).
    fn undo_hint(&self, change: &Change) -> String {
        let kind = change.object.kind;
        match change.action {
            Action::Create => format!(
                "delete the created {kind} (its id is under `created.id` once the create succeeded)"
            ),
            Action::Restore => {
                format!("delete the {kind} again (`before` is it as it was in deleted items)")
            }
            Action::Delete => format!(
                "restore the {kind} from deleted items within 30 days (POST /directory/deletedItems/{{id}}/restore, the id under `before`) where Graph keeps it there, else create it again from `before`"
            ),
            _ => format!(
                "PATCH the {kind} with the properties listed under `change.fields[].path`, taking their values from `before`"
            ),
        }
    }

    /// Checks the answer to a create before apply goes on (e.g. that an application found by
    /// its key after a conflict is one entractl manages).
    fn check_created(&self, _change: &Change, _created: &Value) -> Result<(), PlanError> {
        Ok(())
    }
}

/// How apply sends the changes of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// One change after the other, in plan order.
    OneByOne,
    /// All changes of the kind together, in `$batch`es; with `first_alone`, the first one goes
    /// alone first (with the replication retries a just-created object needs), the rest after.
    Together { first_alone: bool },
}

/// What the kinds add to a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOut {
    pub changes: Vec<Change>,
    pub notes: Vec<Note>,
    pub unmanaged: Vec<Unmanaged>,
    pub assigned_groups: Vec<AssignedGroup>,
}

/// One permission and why it is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Needed {
    pub permission: &'static str,
    pub why: String,
}

/// Permissions to plan (read only) and to apply (read and write).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequiredPermissions {
    pub plan: Vec<Needed>,
    pub apply: Vec<Needed>,
}

impl RequiredPermissions {
    /// Needed to plan (and so to apply too).
    pub fn to_plan(&mut self, permission: &'static str, why: &str) {
        add(&mut self.plan, permission, why);
    }

    /// Needed to apply.
    pub fn to_apply(&mut self, permission: &'static str, why: &str) {
        add(&mut self.apply, permission, why);
    }
}

/// Adds a permission, or the reason to one already listed.
fn add(list: &mut Vec<Needed>, permission: &'static str, why: &str) {
    match list.iter_mut().find(|n| n.permission == permission) {
        Some(n) if !n.why.contains(why) => {
            n.why.push_str("; ");
            n.why.push_str(why);
        }
        Some(_) => {}
        None => list.push(Needed {
            permission,
            why: why.to_string(),
        }),
    }
}
