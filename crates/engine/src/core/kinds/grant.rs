//! Admin consent: one tenant-wide (`AllPrincipals`) delegated grant per resource API, of
//! exactly the delegated permissions the spec declares (application permissions: see
//! `app_permission`).

use entractl_graph::GraphRequest;
use entractl_graph::resource::merge_patch;
use entractl_graph::resource::oauth2_permission_grant::{self as graph, OAuth2PermissionGrant};
use entractl_graph::resource::parse;
use serde_json::{Value, json};

use super::application_fields::sorted;
use super::context::{PlanContext, ResolvedResource};
use super::kind::{Kind, PlanOut, RequiredPermissions};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::normalize;
use crate::core::observed::Observed;
use crate::core::plan::{
    Action, Change, ChangeId, CreatedRef, FieldChange, Note, NoteKind, ObjectKind, ObjectRef, Risk,
};

/// See the module documentation.
pub struct GrantKind;

const KIND: ObjectKind = ObjectKind::OAuth2PermissionGrant;

impl Kind for GrantKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    /// The client's service principal before its grants.
    fn after(&self) -> &'static [ObjectKind] {
        &[ObjectKind::ServicePrincipal]
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        let (Some(consent), Some(resolved)) = (cx.desired.app.admin_consent, &cx.resolved) else {
            return Ok(());
        };
        let grants: Vec<&OAuth2PermissionGrant> = cx
            .observed
            .grants
            .iter()
            .filter(|g| {
                cx.sp()
                    .is_some_and(|s| normalize::guid(&g.client_id) == normalize::guid(&s.id))
            })
            .filter(|g| g.is_all_principals())
            .collect();
        if cx.desired.deletes_app() {
            out.changes
                .extend(grants.into_iter().map(|g| revoke_all(cx, resolved, g)));
            return Ok(());
        }
        for r in resolved {
            let existing = grants
                .iter()
                .find(|g| normalize::guid(&g.resource_id) == normalize::guid(&r.sp.id))
                .copied();
            if let Some(c) = grant_change(cx, r, consent, existing) {
                out.changes.push(c);
            }
        }
        for g in grants {
            let named = resolved
                .iter()
                .any(|r| normalize::guid(&r.sp.id) == normalize::guid(&g.resource_id));
            if !named {
                out.notes.push(Note {
                    kind: NoteKind::Unmanaged,
                    risks: Vec::new(),
                    message: format!(
                        "a tenant-wide grant to resource {} ({}) exists that the spec does not mention; left as is",
                        g.resource_id, g.scope
                    ),
                });
            }
        }
        Ok(())
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        let id = || {
            c.object
                .id
                .as_deref()
                .ok_or_else(|| BadChange::new(KIND, "no grant id"))
        };
        Ok(vec![match c.action {
            Action::Create => graph::create(c.payload.clone()),
            Action::Update => graph::update(id()?, c.payload.clone()),
            Action::Delete => graph::delete(id()?),
            other => {
                return Err(BadChange::unsupported(KIND, other.as_str()));
            }
        }])
    }

    fn prior_state(&self, o: &Observed, c: &Change) -> Value {
        o.grants
            .iter()
            .find(|g| Some(&g.id) == c.object.id.as_ref())
            .map(OAuth2PermissionGrant::to_json)
            .unwrap_or(Value::Null)
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        let existing = || {
            let id = c
                .object
                .id
                .as_deref()
                .ok_or_else(|| BadChange::new(KIND, "no id"))?;
            Ok::<_, BadChange>(id.to_string())
        };
        let created = match c.action {
            Action::Create => {
                let mut body = c.payload.clone();
                body["id"] = json!(new_id("id"));
                o.grants
                    .push(parse(&body).ok_or_else(|| BadChange::new(KIND, "cannot parse"))?);
                body
            }
            Action::Update => {
                let id = existing()?;
                let g = o
                    .grants
                    .iter_mut()
                    .find(|g| g.id == id)
                    .ok_or_else(|| BadChange::new(KIND, "grant not found"))?;
                *g = parse(&merge_patch(&g.to_json(), &c.payload))
                    .ok_or_else(|| BadChange::new(KIND, "cannot parse"))?;
                Value::Null
            }
            Action::Delete => {
                let id = existing()?;
                o.grants.retain(|g| g.id != id);
                Value::Null
            }
            other => {
                return Err(BadChange::unsupported(KIND, other.as_str()));
            }
        };
        Ok(created)
    }

    fn undo_hint(&self, c: &Change) -> String {
        match c.action {
            Action::Delete => "POST /oauth2PermissionGrants with clientId, consentType, resourceId and scope from `before`".into(),
            Action::Create => "delete the created oauth2PermissionGrant (its id is under `created.id` once the create succeeded)".into(),
            _ => "PATCH the oauth2PermissionGrant with the properties listed under `change.fields[].path`, taking their values from `before`".into(),
        }
    }

    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        if desired.app.admin_consent.is_none() || desired.app.api_permissions.is_none() {
            return;
        }
        if desired.destroying() {
            needed.to_plan(
                graph::READ,
                "read the app's tenant-wide delegated grants (GET /oauth2PermissionGrants)",
            );
            needed.to_apply(
                graph::WRITE,
                "revoke the app's tenant-wide delegated grants (DELETE /oauth2PermissionGrants/{id})",
            );
            return;
        }
        needed.to_plan(
            graph::READ,
            "read the app's tenant-wide delegated grants (GET /oauth2PermissionGrants)",
        );
        needed.to_apply(
            graph::WRITE,
            "grant admin consent (POST/PATCH/DELETE /oauth2PermissionGrants); this permission can grant any delegated permission: keep the identity's secret or federation tight",
        );
    }
}

/// The change of the grant to one resource API (`None`: no grant, and none wanted).
fn grant_change(
    cx: &PlanContext<'_>,
    r: &ResolvedResource<'_>,
    consent: bool,
    existing: Option<&OAuth2PermissionGrant>,
) -> Option<Change> {
    let want: Vec<String> = if consent {
        r.delegated.iter().map(|(_, v)| v.clone()).collect()
    } else {
        vec![]
    };
    let object = ObjectRef {
        kind: KIND,
        key: format!("{} → {}", cx.key(), r.label),
        display: format!(
            "{} → {}, AllPrincipals",
            cx.desired.app.display_name, r.label
        ),
        id: existing.map(|g| g.id.clone()),
    };
    let c = match existing {
        None if want.is_empty() => return None,
        None => create_grant(cx, r, object, &want),
        Some(g) if want.is_empty() => {
            let mut c = Change::new(
                object,
                Action::Delete,
                if consent {
                    "the spec lists no delegated permissions for this API"
                } else {
                    "the spec sets `adminConsent: false`"
                },
            );
            c.fields = scope_field(json!(sorted(&g.scopes())), Value::Null);
            c.risks = vec![Risk::Removal];
            c
        }
        Some(g) if normalize::set_ci(g.scopes()) != normalize::set_ci(&want) => {
            update_grant(object, g, &want)
        }
        Some(_) => Change::new(object, Action::NoOp, "granted as the spec asks"),
    };
    Some(c)
}

/// `destroy`: every tenant-wide grant of the app goes, whatever API it is to (its client, the
/// service principal, is deleted).
fn revoke_all(
    cx: &PlanContext<'_>,
    resolved: &[ResolvedResource<'_>],
    g: &OAuth2PermissionGrant,
) -> Change {
    let label = resolved
        .iter()
        .find(|r| normalize::guid(&r.sp.id) == normalize::guid(&g.resource_id))
        .map(|r| r.label.clone())
        .unwrap_or_else(|| g.resource_id.clone());
    let object = ObjectRef {
        kind: KIND,
        key: format!("{} → {label}", cx.key()),
        display: format!("{} → {label}, AllPrincipals", cx.desired.app.display_name),
        id: Some(g.id.clone()),
    };
    let mut c = Change::new(object, Action::Delete, super::teardown::REMOVED);
    c.fields = scope_field(json!(sorted(&g.scopes())), Value::Null);
    c.risks = vec![Risk::Removal];
    c
}

/// The grant's `scope` as the one field a change of it shows.
fn scope_field(before: Value, after: Value) -> Vec<FieldChange> {
    vec![FieldChange {
        path: "scope".into(),
        before,
        after,
    }]
}

/// A new tenant-wide grant of `want`; its `clientId` refers to the service principal created
/// in the same apply when there is none yet.
fn create_grant(
    cx: &PlanContext<'_>,
    r: &ResolvedResource<'_>,
    object: ObjectRef,
    want: &[String],
) -> Change {
    let mut c = Change::new(
        object,
        Action::Create,
        "admin consent: the spec asks for a tenant-wide grant of the delegated permissions",
    );
    c.fields = scope_field(Value::Null, json!(sorted(want)));
    c.risks = vec![Risk::TenantWideConsent];
    let client = cx.sp().map(|s| s.id.as_str());
    c.payload = graph::tenant_wide_body(client, &r.sp.id, want);
    if client.is_none() {
        c.refs.push(CreatedRef {
            at: "/clientId".into(),
            created_by: ChangeId {
                kind: ObjectKind::ServicePrincipal,
                key: cx.key(),
            },
            property: "id".into(),
        });
    }
    c
}

/// The grant `g` with its scopes set to `want` (a consent risk when that adds any).
fn update_grant(object: ObjectRef, g: &OAuth2PermissionGrant, want: &[String]) -> Change {
    let added = normalize::set_ci(want)
        .difference(&normalize::set_ci(g.scopes()))
        .count();
    let mut c = Change::new(
        object,
        Action::Update,
        "the granted scopes differ from the delegated permissions in the spec",
    );
    c.fields = scope_field(json!(sorted(&g.scopes())), json!(sorted(want)));
    if added > 0 {
        c.risks = vec![Risk::TenantWideConsent];
    }
    c.payload = graph::scope_body(want);
    c
}
