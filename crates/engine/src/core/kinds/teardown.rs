//! `entractl destroy`: what the kinds plan when the desired state is the spec with nothing
//! present ([`Desired::for_destroy`](crate::core::desired::Desired::for_destroy)). The deletions
//! of the service principals and applications are ranked after every other change
//! ([`Change::rank`]): the assignments, grants and restores first.

use super::context::{AppState, PlanContext};
use super::kind::PlanOut;
use crate::core::observed::Application;
use crate::core::plan::{Action, Change, Note, NoteKind, ObjectKind, ObjectRef, Risk};

/// The reason of every removal `destroy` plans for the app's assignments and grants.
pub const REMOVED: &str =
    "destroy: removed before the app's service principal is deleted (the spec is decommissioned)";

/// The application's change under `destroy`: deleted (to deleted items), left alone (adopted
/// without `--delete-adopted-app`), or nothing to do (already deleted, or absent).
pub fn application(cx: &PlanContext<'_>, object: ObjectRef, out: &mut PlanOut) -> Change {
    let t = cx.desired.teardown.as_ref();
    let deletes = cx.desired.deletes_app();
    match cx.app_state {
        AppState::Found { app, .. } if deletes => delete_app(cx, object, app),
        AppState::Found { app, .. } => {
            out.notes.push(Note {
                kind: NoteKind::Unmanaged,
                risks: Vec::new(),
                message: format!(
                    "the spec adopts the application by app.appId {}: entractl did not create it, so destroy leaves it, its service principal, grants and assignments as they are (`entractl destroy --delete-adopted-app` deletes them); the restores below are made either way",
                    app.app_id
                ),
            });
            Change::new(
                object,
                Action::NoOp,
                "adopted, not created by entractl: left as it is",
            )
        }
        AppState::Restore(d) => {
            let when = d
                .deleted_date_time
                .as_deref()
                .map(|w| format!(" on {w}"))
                .unwrap_or_default();
            Change::new(
                object,
                Action::NoOp,
                format!(
                    "already deleted{when}: in deleted items, where `entractl apply` restores it (client id {}) within 30 days",
                    d.app.app_id
                ),
            )
        }
        AppState::Create if t.is_some_and(|t| t.adopted) && !deletes => {
            Change::new(object, Action::NoOp, "adopted: left as it is")
        }
        AppState::Create => Change::new(object, Action::NoOp, "no such application"),
    }
}

fn delete_app(cx: &PlanContext<'_>, object: ObjectRef, app: &Application) -> Change {
    let adopted = if cx.desired.app.identity.adopt_app_id.is_some() {
        " (the spec adopted it and --delete-adopted-app is given)"
    } else {
        ""
    };
    let mut c = Change::new(
        object,
        Action::Delete,
        format!(
            "destroy: the application is deleted{adopted}; Graph keeps it in deleted items for 30 days, and `entractl apply` with this spec restores it within them, with the same client id {}",
            app.app_id
        ),
    );
    c.risks = vec![Risk::Removal];
    c
}

/// The service principal's change under `destroy`: deleted before its application (Graph would
/// delete it with the application: done first, its own step is journaled), when both exist.
pub fn service_principal(cx: &PlanContext<'_>, object: ObjectRef) -> Option<Change> {
    let found = matches!(cx.app_state, AppState::Found { .. });
    cx.sp().filter(|_| found && cx.desired.deletes_app())?;
    let mut c = Change::new(
        object,
        Action::Delete,
        "destroy: the enterprise application (service principal) is deleted, once its assignments and grants are removed and before its application",
    );
    c.risks = vec![Risk::Removal];
    Some(c)
}

/// The placeholder app's (or its service principal's) deletion under `destroy`, after the
/// policies no longer exclude it.
pub fn placeholder(object: ObjectRef) -> Change {
    let what = match object.kind {
        ObjectKind::PlaceholderServicePrincipal => "its service principal",
        _ => "the placeholder app of \"Customize behavior\" (to deleted items for 30 days)",
    };
    let mut c = Change::new(
        object,
        Action::Delete,
        format!(
            "destroy: {what} is deleted once the policies no longer exclude it; if the Baseline scopes settings page still names it, turn \"Customize behavior\" off there (no API does it)"
        ),
    );
    c.risks = vec![Risk::Removal];
    c
}
