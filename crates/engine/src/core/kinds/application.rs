//! The application registration: created (with its `uniqueName`), updated, adopted (tagged
//! `entractl:<key>`), or restored from deleted items.

use entractl_graph::resource::merge_patch;
use entractl_graph::resource::{application as graph, deleted_item, parse};
use entractl_graph::{GraphError, GraphRequest};
use serde_json::{Value, json};

use super::application_fields::AppFields;
use super::context::{AppState, PlanContext};
use super::kind::{Kind, PlanOut, RequiredPermissions};
use crate::core::desired::{Desired, MANAGED_TAG_PREFIX};
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{Application, Candidate, DeletedApplication, MatchedBy, Observed};
use crate::core::plan::{Action, Change, Note, NoteKind, ObjectKind, ObjectRef, Risk};

/// See the module documentation.
pub struct ApplicationKind;

const KIND: ObjectKind = ObjectKind::Application;

impl Kind for ApplicationKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    /// Nothing: the application comes first.
    fn after(&self) -> &'static [ObjectKind] {
        &[]
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        let d = &cx.desired.app;
        let f = AppFields::diff(d, cx.app(), cx.resolved.as_deref());
        let object = ObjectRef {
            kind: KIND,
            key: cx.key(),
            display: d.display_name.clone(),
            id: cx.app().map(|a| a.id.clone()),
        };
        if cx.desired.destroying() {
            let change = super::teardown::application(cx, object, out);
            out.changes.push(change);
            return Ok(());
        }
        let change = match cx.app_state {
            AppState::Restore(deleted) => restore_change(cx, deleted, object, &f),
            AppState::Create => {
                let mut c = Change::new(
                    object,
                    Action::Create,
                    format!(
                        "no application with uniqueName `{}` or tag `{}` exists",
                        cx.key(),
                        d.identity.managed_tag()
                    ),
                );
                c.fields = f.fields.clone();
                c.payload = Value::Object(f.body.clone());
                c
            }
            AppState::Found { app, managed } => {
                out.notes.extend(unique_name_note(cx, app));
                out.unmanaged.extend(f.unmanaged());
                existing_change(cx, object, &f, managed, app)
            }
        };
        out.changes.push(change);
        Ok(())
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        let id = || {
            c.object
                .id
                .as_deref()
                .ok_or_else(|| BadChange::new(KIND, "no application id"))
        };
        Ok(match c.action {
            Action::Create => {
                let key = c
                    .payload
                    .get("uniqueName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        BadChange::new(KIND, "an application is only created with a uniqueName")
                    })?;
                vec![graph::create(c.payload.clone(), key)]
            }
            Action::Update | Action::Adopt => vec![graph::update(id()?, c.payload.clone())],
            Action::Restore => {
                let id = id()?;
                let mut steps = vec![deleted_item::restore(
                    id,
                    format!("restore application \"{}\"", c.object.display),
                )];
                if c.payload.as_object().is_some_and(|m| !m.is_empty()) {
                    steps.push(graph::update(id, c.payload.clone()).label(format!(
                        "update restored application \"{}\"",
                        c.object.display
                    )));
                }
                steps
            }
            Action::Delete => vec![graph::delete(id()?)],
            other => {
                return Err(BadChange::unsupported(KIND, other.as_str()));
            }
        })
    }

    fn prior_state(&self, o: &Observed, c: &Change) -> Value {
        match c.action {
            Action::Restore => o
                .deleted
                .applications
                .iter()
                .find(|d| Some(&d.app.id) == c.object.id.as_ref())
                .map(DeletedApplication::to_json)
                .unwrap_or(Value::Null),
            _ => o
                .candidates
                .first()
                .map(|a| a.app.to_json())
                .unwrap_or(Value::Null),
        }
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        let mut matched_by = vec![MatchedBy::UniqueName, MatchedBy::ManagedTag];
        let app = match c.action {
            Action::Create => {
                let mut raw = c.payload.clone();
                raw["id"] = json!(new_id("id"));
                raw["appId"] = json!(new_id("appId"));
                raw
            }
            Action::Update | Action::Adopt => {
                let cand = o
                    .candidates
                    .first()
                    .ok_or_else(|| BadChange::new(KIND, "update of a missing app"))?;
                matched_by = cand.matched_by.clone();
                if !matched_by.contains(&MatchedBy::ManagedTag) {
                    matched_by.push(MatchedBy::ManagedTag);
                }
                merge_patch(&cand.app.to_json(), &c.payload)
            }
            Action::Delete => {
                simulate_delete(o, c)?;
                return Ok(Value::Null);
            }
            Action::Restore => {
                let d = o
                    .deleted
                    .applications
                    .iter()
                    .find(|d| Some(&d.app.id) == c.object.id.as_ref())
                    .ok_or_else(|| {
                        BadChange::new(
                            KIND,
                            "restore of an application that is not among the deleted items",
                        )
                    })?;
                let restored = merge_patch(&d.app.to_json(), &c.payload);
                let gone = d.app.id.clone();
                o.deleted.applications.retain(|x| x.app.id != gone);
                restored
            }
            other => {
                return Err(BadChange::unsupported(KIND, other.as_str()));
            }
        };
        let parsed: Application =
            parse(&app).ok_or_else(|| BadChange::new(KIND, "cannot parse the application"))?;
        o.candidates = vec![Candidate {
            app: parsed,
            matched_by,
        }];
        Ok(app)
    }

    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        needed.to_plan(
            graph::READ,
            "find the application, its service principal and the APIs named in apiPermissions (GET /applications, /servicePrincipals)",
        );
        if desired.destroying() {
            if desired.deletes_app() {
                let (p, whose) = match desired.app.identity.adopt_app_id {
                    Some(_) => (graph::UPDATE_ANY, "an adopted application"),
                    None => (
                        graph::UPDATE_OWNED,
                        "the application entractl created (and owns)",
                    ),
                };
                needed.to_apply(
                    p,
                    &format!("delete {whose} and its service principal (DELETE /applications/{{id}}, /servicePrincipals/{{id}})"),
                );
            }
            return;
        }
        if desired.app.identity.adopt_app_id.is_some() {
            needed.to_apply(
                graph::UPDATE_ANY,
                "update an adopted application and its service principal that entractl's identity does not own (Application.ReadWrite.OwnedBy suffices once it is an owner)",
            );
        } else {
            needed.to_apply(
                graph::CREATE,
                "create the application (entractl's identity becomes its owner), update it, and create its service principal; it also allows the reads of plan",
            );
        }
    }

    /// A deletion of an application already gone: as planned.
    fn already_done(&self, c: &Change, e: &GraphError) -> bool {
        c.action == Action::Delete && e.is_not_found()
    }

    fn undo_hint(&self, c: &Change) -> String {
        match c.action {
            Action::Delete => "restore it from deleted items within 30 days: `entractl apply` with the same spec, or POST /directory/deletedItems/{id}/restore with the id under `before` (Graph does not restore its service principal with it: apply creates a new one)".into(),
            Action::Create => "delete the created application (its id is under `created.id` once the create succeeded)".into(),
            Action::Restore => "delete the application again (`before` is it as it was in deleted items)".into(),
            _ => "PATCH the application with the properties listed under `change.fields[].path`, taking their values from `before`".into(),
        }
    }

    /// Another apply may have won the race for the `uniqueName`: the create then answers with
    /// the application found by that key. It must be one entractl manages, never a stranger's
    /// that took the key meanwhile.
    fn check_created(&self, c: &Change, created: &Value) -> Result<(), PlanError> {
        match stranger_created(c, created) {
            None => Ok(()),
            Some((display_name, app_id)) => Err(PlanError::UnmanagedApplication {
                key: c.object.key.clone(),
                display_name,
                app_id,
            }),
        }
    }
}

/// Graph's deletion of the application: to deleted items, with its service principal.
fn simulate_delete(o: &mut Observed, c: &Change) -> Result<(), BadChange> {
    let at = o
        .candidates
        .iter()
        .position(|a| Some(&a.app.id) == c.object.id.as_ref())
        .ok_or_else(|| BadChange::new(KIND, "deletion of an application that was not found"))?;
    let gone = o.candidates.remove(at);
    o.service_principal = None;
    o.deleted.applications.push(DeletedApplication {
        app: gone.app,
        deleted_date_time: None,
        matched_by: gone.matched_by,
    });
    Ok(())
}

/// The change of an application that exists: adopt it, update it, or nothing.
fn existing_change(
    cx: &PlanContext<'_>,
    object: ObjectRef,
    f: &AppFields<'_>,
    managed: bool,
    app: &Application,
) -> Change {
    let tag = cx.desired.app.identity.managed_tag();
    let (action, reason, risks) = if !managed {
        (
            Action::Adopt,
            format!(
                "the spec adopts the existing application by appId {}; entractl tags it `{tag}` and manages it from now on",
                app.app_id
            ),
            vec![Risk::Adoption],
        )
    } else if f.fields.is_empty() {
        (Action::NoOp, "in sync with the spec".to_string(), vec![])
    } else {
        (
            Action::Update,
            "properties differ from the spec".to_string(),
            vec![],
        )
    };
    let mut c = Change::new(object, action, reason);
    c.fields = f.fields.clone();
    c.risks = risks;
    if action != Action::NoOp {
        c.payload = Value::Object(f.body.clone());
    }
    c
}

/// A warning when an adopted application's `uniqueName` is not the spec's (it cannot change).
fn unique_name_note(cx: &PlanContext<'_>, a: &Application) -> Option<Note> {
    let u = cx.desired.app.identity.unique_name.as_ref()?;
    if a.unique_name.as_deref() == Some(u.as_str()) {
        return None;
    }
    Some(Note {
        kind: NoteKind::Warning,
        risks: Vec::new(),
        message: format!(
            "the adopted application has uniqueName {}, not `{u}` from the spec; uniqueName cannot be changed after creation, so entractl finds it by appId and its `{}` tag",
            a.unique_name
                .as_deref()
                .map(|s| format!("`{s}`"))
                .unwrap_or_else(|| "(none)".to_string()),
            cx.desired.app.identity.managed_tag()
        ),
    })
}

/// The change that restores `d`: same object id and client id, then the properties that differ
/// from the spec.
fn restore_change(
    cx: &PlanContext<'_>,
    d: &DeletedApplication,
    object: ObjectRef,
    f: &AppFields<'_>,
) -> Change {
    let managed = d.app.has_tag(&cx.desired.app.identity.managed_tag());
    let age = cx
        .observed
        .deleted
        .read_at
        .and_then(|n| d.age_days(n))
        .map(|a| format!(", {a} day(s) ago"))
        .unwrap_or_default();
    let when = d
        .deleted_date_time
        .as_deref()
        .map(|w| format!(" on {w}{age}"))
        .unwrap_or_default();
    let mut c = Change::new(
        object,
        Action::Restore,
        format!(
            "the application was deleted{when} and is still in deleted items (found by {}): restoring it keeps its client id {} instead of creating a new app",
            d.matched_by
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join(" and "),
            d.app.app_id
        ),
    );
    c.fields = f.fields.clone();
    c.payload = Value::Object(f.body.clone());
    if !managed {
        c.risks.push(Risk::Adoption);
    }
    c
}

/// The display name and appId of the application a create of `c` was answered with, when it
/// does not carry `entractl:<key>` (another apply won the race for the `uniqueName` with a
/// stranger's app meanwhile); `None` for entractl's own, or when `c` is no create.
pub(super) fn stranger_created(c: &Change, created: &Value) -> Option<(String, String)> {
    if c.action != Action::Create {
        return None;
    }
    let tag = format!("{MANAGED_TAG_PREFIX}{}", c.object.key);
    let managed = created
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .any(|x| x.eq_ignore_ascii_case(&tag))
        });
    let s = |k: &str| {
        created
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    (!managed).then(|| (s("displayName"), s("appId")))
}
