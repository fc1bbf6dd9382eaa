//! The application's service principal (its enterprise application): created with the
//! `entractl:<key>` tag, tagged when found without it, and its "assignment required?" setting
//! (`appRoleAssignmentRequired`, from the spec's `assignments.required`).

use entractl_graph::resource::merge_patch;
use entractl_graph::resource::parse;
use entractl_graph::resource::service_principal::{self as graph, INTEGRATED_APP_TAG};
use entractl_graph::{GraphError, GraphRequest};
use serde_json::{Value, json};

use super::context::PlanContext;
use super::kind::{Kind, PlanOut, RequiredPermissions};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{Observed, ServicePrincipal};
use crate::core::plan::{Action, Change, ChangeId, CreatedRef, FieldChange, ObjectKind, ObjectRef};

/// See the module documentation.
pub struct ServicePrincipalKind;

const KIND: ObjectKind = ObjectKind::ServicePrincipal;

impl Kind for ServicePrincipalKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    /// The application (created, restored or changed) before its service principal.
    fn after(&self) -> &'static [ObjectKind] {
        &[ObjectKind::Application]
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        let object = ObjectRef {
            kind: KIND,
            key: cx.key(),
            display: cx.desired.app.display_name.clone(),
            id: cx.sp().map(|s| s.id.clone()),
        };
        if cx.desired.destroying() {
            out.changes
                .extend(super::teardown::service_principal(cx, object));
            return Ok(());
        }
        let mut c = match cx.sp() {
            None => create(cx, object),
            Some(s) => existing(cx, s, object),
        };
        if let Some(want) = cx.desired.assignments.as_ref().and_then(|a| a.required) {
            assignment_required(&mut c, cx.sp(), want);
        }
        out.changes.push(c);
        Ok(())
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        requests_of(KIND, c)
    }

    fn prior_state(&self, o: &Observed, _c: &Change) -> Value {
        o.service_principal
            .as_ref()
            .map(ServicePrincipal::to_json)
            .unwrap_or(Value::Null)
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        simulate_into(&mut o.service_principal, KIND, c, &mut || new_id("id"))
    }

    fn permissions(&self, _desired: &Desired, _needed: &mut RequiredPermissions) {
        // Covered by the application's: the same Application.* permissions.
    }

    /// A deletion of a service principal already gone: as planned.
    fn already_done(&self, c: &Change, e: &GraphError) -> bool {
        c.action == Action::Delete && e.is_not_found()
    }

    fn undo_hint(&self, c: &Change) -> String {
        sp_undo_hint(c)
    }
}

/// The requests of a service principal's change (the main app's or the placeholder's).
pub(super) fn requests_of(kind: ObjectKind, c: &Change) -> Result<Vec<GraphRequest>, BadChange> {
    let id = || {
        c.object
            .id
            .as_deref()
            .ok_or_else(|| BadChange::new(kind, "no service principal id"))
    };
    Ok(match c.action {
        Action::Create => vec![graph::create(c.payload.clone())],
        Action::Update => vec![graph::update(id()?, c.payload.clone())],
        Action::Delete => vec![graph::delete(id()?)],
        other => {
            return Err(BadChange::unsupported(kind, other.as_str()));
        }
    })
}

/// How to undo a service principal's change by hand.
pub(super) fn sp_undo_hint(c: &Change) -> String {
    match c.action {
        Action::Delete => "POST /directory/deletedItems/{id}/restore within 30 days, with the id under `before` (or let `entractl apply` create a new one)".into(),
        Action::Create => "delete the created service principal (its id is under `created.id` once the create succeeded)".into(),
        _ => "PATCH the service principal with the properties listed under `change.fields[].path`, taking their values from `before`".into(),
    }
}

fn create(cx: &PlanContext<'_>, object: ObjectRef) -> Change {
    let created_by = ChangeId {
        kind: ObjectKind::Application,
        key: cx.key(),
    };
    let tag = cx.desired.app.identity.managed_tag();
    create_change(
        object,
        cx.app_id(),
        &tag,
        created_by,
        "the application has no service principal (enterprise application) in this tenant; sign-in and consent need one",
    )
}

fn existing(cx: &PlanContext<'_>, s: &ServicePrincipal, object: ObjectRef) -> Change {
    existing_change(s, object, &cx.desired.app.identity.managed_tag())
}

/// The change creating the service principal of `app_id` (`None`: the application `created_by`
/// creates in the same apply), tagged `tag`.
pub(super) fn create_change(
    object: ObjectRef,
    app_id: Option<&str>,
    tag: &str,
    created_by: ChangeId,
    reason: &str,
) -> Change {
    let mut c = Change::new(object, Action::Create, reason);
    c.fields = vec![FieldChange {
        path: "appId".into(),
        before: Value::Null,
        after: app_id
            .map(|a| json!(a))
            .unwrap_or(json!("(known after apply)")),
    }];
    c.payload = graph::create_body(app_id, &[INTEGRATED_APP_TAG, tag]);
    if app_id.is_none() {
        c.refs.push(CreatedRef {
            at: "/appId".into(),
            created_by,
            property: "appId".into(),
        });
    }
    c
}

/// The change of a service principal that exists: tag it `tag` when it is not, else nothing.
pub(super) fn existing_change(s: &ServicePrincipal, object: ObjectRef, tag: &str) -> Change {
    if s.has_tag(tag) {
        return Change::new(object, Action::NoOp, "exists");
    }
    let mut after = s.tags.clone();
    after.push(tag.to_string());
    let mut c = Change::new(
        object,
        Action::Update,
        "mark the service principal as managed (found in one read next time)",
    );
    c.fields = vec![FieldChange {
        path: "tags".into(),
        before: json!(s.tags),
        after: json!(after),
    }];
    c.payload = json!({ "tags": after });
    c
}

/// Sets `appRoleAssignmentRequired` (create body, or an update merged with the tag update).
fn assignment_required(c: &mut Change, sp: Option<&ServicePrincipal>, want: bool) {
    let have = sp.and_then(|s| s.app_role_assignment_required);
    let creating = c.action == Action::Create;
    if !creating && have.unwrap_or(false) == want {
        return;
    }
    c.fields.push(FieldChange {
        path: "appRoleAssignmentRequired".into(),
        before: if creating {
            Value::Null
        } else {
            json!(have.unwrap_or(false))
        },
        after: json!(want),
    });
    if !c.payload.is_object() {
        c.payload = json!({});
    }
    c.payload["appRoleAssignmentRequired"] = json!(want);
    if c.action == Action::NoOp {
        c.action = Action::Update;
        c.reason = if want {
            "assignment required: only the users and groups assigned to the app may sign in".into()
        } else {
            "assignment not required: every user of the tenant may sign in".into()
        };
    }
}

/// A service principal's create or update applied to `slot` (the main app's or the
/// placeholder's); the object as Graph would hold it.
pub(super) fn simulate_into(
    slot: &mut Option<ServicePrincipal>,
    kind: ObjectKind,
    c: &Change,
    new_id: &mut dyn FnMut() -> String,
) -> Result<Value, BadChange> {
    if c.action == Action::Delete {
        *slot = None;
        return Ok(Value::Null);
    }
    let raw = match (c.action, slot.as_ref()) {
        (Action::Create, _) => {
            let mut body = c.payload.clone();
            body["id"] = json!(new_id());
            body
        }
        (Action::Update, Some(sp)) => merge_patch(&sp.to_json(), &c.payload),
        _ => {
            return Err(BadChange::new(
                kind,
                "update of a missing service principal",
            ));
        }
    };
    *slot = Some(
        parse(&raw).ok_or_else(|| BadChange::new(kind, "cannot parse the service principal"))?,
    );
    Ok(raw)
}
