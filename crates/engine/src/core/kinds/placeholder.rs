//! The placeholder app of Microsoft's "Customize behavior" for baseline scopes
//! (`mfa.conditionalAccess.placeholder`): a single-tenant app registration entractl creates and
//! keeps inert — no redirect URIs, no permissions, no public client flows — tagged
//! `entractl:<uniqueName>` and `entractl-placeholder-for:<app key>` (found by the latter once the
//! spec no longer names it: [`super::placeholder_former`]), with notes saying what it is for. Conditional access policies exclude
//! it ([`super::ca_remedy`]); an admin then picks it on the Baseline scopes settings page
//! ([`super::placeholder_step`]). Its service principal is [`super::placeholder_sp`].

use entractl_graph::GraphRequest;
use entractl_graph::resource::application::{self as graph, Application, Platform};
use entractl_graph::resource::{merge_patch, parse};
use serde_json::{Map, Value, json};

use super::application::stranger_created;
use super::context::{PlaceholderState, PlanContext};
use super::kind::{Kind, PlanOut, RequiredPermissions};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{Candidate, MatchedBy, Observed, ObservedPlaceholder};
use crate::core::plan::{Action, Change, FieldChange, ObjectKind, ObjectRef};

/// See the module documentation.
pub struct PlaceholderApplicationKind;

const KIND: ObjectKind = ObjectKind::PlaceholderApplication;

/// The application's `notes`: what it is for, for whoever finds it in the portal.
pub const NOTES: &str = "Managed by entractl: the placeholder app of Microsoft's \"Customize behavior\" for baseline scopes (Conditional Access, Baseline scopes settings). Sign-ins that ask only for baseline scopes are evaluated against it, so the conditional access policies that exclude it leave them alone. Nothing signs in to it: no redirect URIs, no permissions, no public client flows. Do not delete it while the Baseline scopes setting names it.";

/// The audience the placeholder is registered with ("single tenant", as Microsoft says).
fn single_tenant() -> &'static str {
    entractl_spec::Audience::SingleTenant.graph_value()
}

impl Kind for PlaceholderApplicationKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    /// Nothing: the policies that exclude it wait for its appId (their `refs`).
    fn after(&self) -> &'static [ObjectKind] {
        &[]
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        super::placeholder_former::plan(cx, out);
        let Some(p) = cx.placeholder else {
            return Ok(());
        };
        let link = cx.desired.app.identity.placeholder_link_tag();
        let object = ObjectRef {
            kind: KIND,
            key: p.desired.unique_name.clone(),
            display: p.desired.display_name.clone(),
            id: p.app.map(|a| a.id.clone()),
        };
        if cx.desired.destroying() {
            if p.app.is_some() {
                out.changes.push(super::teardown::placeholder(object));
            }
            return Ok(());
        }
        out.changes.push(match p.app {
            None => create(p, object, &link),
            Some(app) => existing(p, app, object, &link),
        });
        Ok(())
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        match c.action {
            Action::Create => {
                let key = c
                    .payload
                    .get("uniqueName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| BadChange::new(KIND, "created only with a uniqueName"))?;
                Ok(vec![graph::create(c.payload.clone(), key)])
            }
            Action::Update => {
                let id = c
                    .object
                    .id
                    .as_deref()
                    .ok_or_else(|| BadChange::new(KIND, "no application id"))?;
                Ok(vec![graph::update(id, c.payload.clone())])
            }
            Action::Delete => {
                let id = c
                    .object
                    .id
                    .as_deref()
                    .ok_or_else(|| BadChange::new(KIND, "no application id"))?;
                Ok(vec![graph::delete(id)])
            }
            other => Err(BadChange::unsupported(KIND, other.as_str())),
        }
    }

    fn prior_state(&self, o: &Observed, c: &Change) -> Value {
        if let Some(a) = super::placeholder_former::find(o, c) {
            return a.to_json();
        }
        o.placeholder
            .as_ref()
            .and_then(|p| p.candidates.first())
            .map(|c| c.app.to_json())
            .unwrap_or(Value::Null)
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        if c.action == Action::Delete {
            super::placeholder_former::simulate_delete(o, c);
            return Ok(Value::Null);
        }
        let found = o
            .placeholder
            .get_or_insert_with(ObservedPlaceholder::default);
        let raw = match (c.action, found.candidates.first()) {
            (Action::Create, _) => {
                let mut raw = c.payload.clone();
                raw["id"] = json!(new_id("id"));
                raw["appId"] = json!(new_id("appId"));
                raw
            }
            (Action::Update, Some(cand)) => merge_patch(&cand.app.to_json(), &c.payload),
            _ => return Err(BadChange::new(KIND, "update of a missing placeholder app")),
        };
        let app: Application =
            parse(&raw).ok_or_else(|| BadChange::new(KIND, "cannot parse the application"))?;
        found.candidates = vec![Candidate {
            app,
            matched_by: vec![MatchedBy::UniqueName, MatchedBy::ManagedTag],
        }];
        Ok(raw)
    }

    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        if desired.placeholder().is_none() {
            return;
        }
        if desired.destroying() {
            needed.to_plan(
                graph::READ,
                "find the placeholder app and its service principal (GET /applications, /servicePrincipals)",
            );
            needed.to_apply(
                graph::UPDATE_OWNED,
                "delete the placeholder app entractl created and its service principal (DELETE /applications/{id}, /servicePrincipals/{id})",
            );
            return;
        }
        needed.to_plan(
            graph::READ,
            "find the placeholder app and its service principal (GET /applications, /servicePrincipals)",
        );
        needed.to_apply(
            graph::CREATE,
            "create the placeholder app of \"Customize behavior\" and its service principal, and keep them as entractl set them",
        );
    }

    /// A deletion of a placeholder app already gone: as planned.
    fn already_done(&self, c: &Change, e: &entractl_graph::GraphError) -> bool {
        c.action == Action::Delete && e.is_not_found()
    }

    /// A create answered with an application found by the `uniqueName` (another apply won the
    /// race) must be entractl's.
    fn check_created(&self, c: &Change, created: &Value) -> Result<(), PlanError> {
        match stranger_created(c, created) {
            None => Ok(()),
            Some((name, app_id)) => Err(PlanError::Placeholder {
                key: c.object.key.clone(),
                problem: format!(
                    "application \"{name}\" (appId {app_id}) already has that uniqueName but is not managed by entractl"
                ),
            }),
        }
    }
}

/// The create: everything entractl sets, with its `uniqueName` and tags (its own, and `link`,
/// naming the app it is made for).
fn create(p: PlaceholderState<'_>, object: ObjectRef, link: &str) -> Change {
    let d = p.desired;
    let tag = d.identity().managed_tag();
    let set = [
        ("uniqueName", json!(d.unique_name)),
        ("displayName", json!(d.display_name)),
        ("tags", json!([tag, link])),
        ("signInAudience", json!(single_tenant())),
        ("isFallbackPublicClient", json!(false)),
        ("notes", json!(NOTES)),
    ];
    let mut c = Change::new(
        object,
        Action::Create,
        format!(
            "no placeholder app with uniqueName `{}` or tag `{tag}` exists: Microsoft's \"Customize behavior\" needs a single-tenant app to evaluate baseline scopes against, with nothing else configured",
            d.unique_name
        ),
    );
    c.fields = set
        .iter()
        .map(|(path, after)| FieldChange {
            path: path.to_string(),
            before: Value::Null,
            after: after.clone(),
        })
        .collect();
    c.payload = Value::Object(set.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    c
}

/// What differs from what entractl sets, and the PATCH body that sets it back.
#[derive(Default)]
struct Drift {
    fields: Vec<FieldChange>,
    body: Map<String, Value>,
}

impl Drift {
    /// `path` differs (`before` → `after`); the body sets `property` to `patch`.
    fn set(&mut self, path: &str, before: Value, after: Value, property: &str, patch: Value) {
        self.fields.push(FieldChange {
            path: path.into(),
            before,
            after,
        });
        self.body.insert(property.into(), patch);
    }

    /// Its name, audience, public client flows and notes.
    fn scalars(&mut self, p: PlaceholderState<'_>, app: &Application) {
        let want = &p.desired.display_name;
        if &app.display_name != want {
            self.set(
                "displayName",
                json!(app.display_name),
                json!(want),
                "displayName",
                json!(want),
            );
        }
        let audience = app.sign_in_audience.as_deref();
        if audience != Some(single_tenant()) {
            let after = json!(single_tenant());
            self.set(
                "signInAudience",
                json!(audience),
                after.clone(),
                "signInAudience",
                after,
            );
        }
        if app.is_fallback_public_client == Some(true) {
            let f = json!(false);
            self.set(
                "isFallbackPublicClient",
                json!(true),
                f.clone(),
                "isFallbackPublicClient",
                f,
            );
        }
        if app.notes() != Some(NOTES) {
            self.set(
                "notes",
                json!(app.notes()),
                json!(NOTES),
                "notes",
                json!(NOTES),
            );
        }
    }

    /// The tag naming the app it is made for (a placeholder made before entractl set it gets it
    /// added; its other tags kept).
    fn link(&mut self, app: &Application, link: &str) {
        if app.has_tag(link) {
            return;
        }
        let mut tags = app.tags.clone();
        tags.push(link.to_string());
        self.set("tags", json!(app.tags), json!(tags), "tags", json!(tags));
    }

    /// No redirect URIs on any platform (the platforms' other properties kept), no permissions.
    fn inert(&mut self, app: &Application) {
        for platform in Platform::ALL {
            let uris = app.redirect_uris(platform);
            if !uris.is_empty() {
                let name = platform.property();
                let value = graph::redirect_uris_value(app.platform(platform), &[]);
                self.set(
                    &format!("{name}.redirectUris"),
                    json!(uris),
                    json!([]),
                    name,
                    value,
                );
            }
        }
        if !app.required_resource_access.is_empty() {
            let before = json!(app.required_resource_access);
            self.set(
                "requiredResourceAccess",
                before,
                json!([]),
                "requiredResourceAccess",
                json!([]),
            );
        }
    }
}

/// The drift of what entractl sets on an existing placeholder, as an update (or nothing).
fn existing(p: PlaceholderState<'_>, app: &Application, object: ObjectRef, link: &str) -> Change {
    let mut drift = Drift::default();
    drift.scalars(p, app);
    drift.inert(app);
    drift.link(app, link);
    if drift.fields.is_empty() {
        return Change::new(object, Action::NoOp, "in sync: inert, as entractl made it");
    }
    let mut c = Change::new(
        object,
        Action::Update,
        "the placeholder app differs from what entractl keeps it as (single tenant, no redirect URIs, no permissions, no public client flows, its notes, the tag naming the app it is made for)",
    );
    c.fields = drift.fields;
    c.payload = Value::Object(drift.body);
    c
}
