//! What every kind's plan starts from: the desired and observed states, the managed
//! application (found, to restore, or to create), its service principal, and the API
//! permissions resolved to ids. Computed once per plan.

use chrono::Utc;

use crate::core::desired::{ApiPermission, Desired, DesiredPlaceholder};
use crate::core::error::{PlanError, RestoreError, UnknownPermission};
use crate::core::normalize;
use crate::core::observed::{
    Application, DeletedApplication, MatchedBy, Observed, ServicePrincipal,
};

/// How long Entra keeps a deleted application restorable.
pub use entractl_graph::resource::deleted_item::RESTORE_WINDOW_DAYS;

/// The managed application, as the plan finds it.
#[derive(Debug, Clone, Copy)]
pub enum AppState<'a> {
    /// It exists; `managed`: it carries entractl's tag (else the spec adopts it).
    Found { app: &'a Application, managed: bool },
    /// It was deleted less than 30 days ago: restore it (same client id).
    Restore(&'a DeletedApplication),
    /// It does not exist: create it.
    Create,
}

/// A resource API with the permissions the spec asks of it, resolved to ids.
#[derive(Debug, Clone)]
pub struct ResolvedResource<'a> {
    pub label: String,
    pub sp: &'a ServicePrincipal,
    /// `(id, canonical value)`.
    pub delegated: Vec<(String, String)>,
    pub application: Vec<(String, String)>,
}

/// The placeholder app of "Customize behavior" (`mfa.conditionalAccess.placeholder`), as the
/// plan finds it.
#[derive(Debug, Clone, Copy)]
pub struct PlaceholderState<'a> {
    pub desired: &'a DesiredPlaceholder,
    /// The application, when it exists (carrying entractl's tag).
    pub app: Option<&'a Application>,
    /// Its service principal, when both exist.
    pub sp: Option<&'a ServicePrincipal>,
}

/// See the module documentation.
pub struct PlanContext<'a> {
    pub desired: &'a Desired,
    pub observed: &'a Observed,
    pub app_state: AppState<'a>,
    /// `apiPermissions` resolved (`None`: unmanaged).
    pub resolved: Option<Vec<ResolvedResource<'a>>>,
    /// The placeholder app, when the spec has one.
    pub placeholder: Option<PlaceholderState<'a>>,
    /// The placeholder apps entractl made for this app that the spec no longer names (it uses
    /// none, or another): taken out of the policies' exclusions, left in place (`destroy`
    /// deletes them).
    pub former_placeholders: Vec<&'a Application>,
}

impl<'a> PlanContext<'a> {
    /// Identifies the application and resolves the permissions; the errors that stop a plan
    /// before any kind runs.
    pub fn new(desired: &'a Desired, observed: &'a Observed) -> Result<Self, PlanError> {
        let app_state = match restorable(desired, observed)? {
            Some(d) => AppState::Restore(d),
            None => match identify_app(desired, observed)? {
                Some((app, managed)) => AppState::Found { app, managed },
                None => AppState::Create,
            },
        };
        let resolved = match &desired.app.api_permissions {
            Some(p) => Some(resolve_permissions(desired, p, observed)?),
            None => None,
        };
        let placeholder = identify_placeholder(desired, observed)?;
        let former_placeholders = former_placeholders(desired, observed, placeholder);
        Ok(PlanContext {
            desired,
            observed,
            app_state,
            resolved,
            placeholder,
            former_placeholders,
        })
    }

    /// The application as it is before apply (found, or the deleted one to restore).
    pub fn app(&self) -> Option<&'a Application> {
        match self.app_state {
            AppState::Found { app, .. } => Some(app),
            AppState::Restore(d) => Some(&d.app),
            AppState::Create => None,
        }
    }

    /// Its appId, when it exists before apply.
    pub fn app_id(&self) -> Option<&'a str> {
        self.app().map(|a| a.app_id.as_str())
    }

    /// Its service principal, when both exist before apply.
    pub fn sp(&self) -> Option<&'a ServicePrincipal> {
        self.observed
            .service_principal
            .as_ref()
            .filter(|_| self.app().is_some())
    }

    /// The app's key in plans and journals.
    pub fn key(&self) -> String {
        self.desired.app.identity.key()
    }

    /// The placeholder app's appId ("Customize behavior"), when it exists before apply.
    pub fn placeholder_app_id(&self) -> Option<&'a str> {
        Some(self.placeholder?.app?.app_id.as_str())
    }

    /// The placeholder app's key in plans and journals, when the spec has one.
    pub fn placeholder_key(&self) -> Option<String> {
        let p = self.desired.placeholder()?;
        Some(p.unique_name.clone())
    }
}

/// Finds the placeholder app among its candidates (`None`: the spec has none), or explains why
/// it cannot: its `uniqueName` is the app's, several applications match, or the one found by its
/// `uniqueName` is not entractl's.
pub fn identify_placeholder<'a>(
    desired: &'a Desired,
    observed: &'a Observed,
) -> Result<Option<PlaceholderState<'a>>, PlanError> {
    let Some(p) = desired.placeholder() else {
        return Ok(None);
    };
    let problem = |problem: String| PlanError::Placeholder {
        key: p.unique_name.clone(),
        problem,
    };
    if p.unique_name
        .eq_ignore_ascii_case(&desired.app.identity.key())
    {
        return Err(problem("it has the uniqueName of the app itself".into()));
    }
    let found = observed.placeholder.as_ref();
    let candidates = found.map(|o| o.candidates.as_slice()).unwrap_or(&[]);
    let app = match candidates {
        [] => None,
        [c] if c.app.has_tag(&p.identity().managed_tag())
            || c.matched_by.contains(&MatchedBy::ManagedTag) =>
        {
            Some(&c.app)
        }
        [c] => {
            return Err(problem(format!(
                "application \"{}\" (appId {}) already has that uniqueName but is not managed by entractl",
                c.app.display_name, c.app.app_id
            )));
        }
        many => {
            return Err(problem(format!(
                "more than one application matches it: {}",
                many.iter()
                    .map(|c| c.describe())
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
    };
    let sp = found
        .and_then(|o| o.service_principal.as_ref())
        .filter(|_| app.is_some());
    Ok(Some(PlaceholderState {
        desired: p,
        app,
        sp,
    }))
}

/// The linked placeholder apps ([`Observed::linked_placeholders`]) other than the spec's
/// placeholder (by id, appId or `uniqueName`) and the managed app itself.
fn former_placeholders<'a>(
    desired: &Desired,
    observed: &'a Observed,
    current: Option<PlaceholderState<'_>>,
) -> Vec<&'a Application> {
    let same = |a: &Application, b: &Application| {
        a.id.eq_ignore_ascii_case(&b.id) || a.app_id.eq_ignore_ascii_case(&b.app_id)
    };
    let named = |a: &Application| {
        current.is_some_and(|p| {
            p.app.is_some_and(|c| same(a, c))
                || a.unique_name
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(&p.desired.unique_name))
        })
    };
    let main = |a: &Application| {
        observed.candidates.iter().any(|c| same(a, &c.app))
            || a.has_tag(&desired.app.identity.managed_tag())
    };
    observed
        .linked_placeholders
        .iter()
        .filter(|a| !named(a) && !main(a))
        .collect()
}

/// Finds the managed application among the candidates, or explains why it cannot.
/// `Ok(None)`: it does not exist yet (create it). `Some((app, managed))`.
pub fn identify_app<'a>(
    desired: &Desired,
    observed: &'a Observed,
) -> Result<Option<(&'a Application, bool)>, PlanError> {
    let id = &desired.app.identity;
    if id.unique_name.is_none() && id.adopt_app_id.is_none() {
        return Err(PlanError::NoAppKey);
    }
    let key = id.key();
    if observed.candidates.len() > 1 {
        return Err(PlanError::AmbiguousApplication {
            key,
            candidates: observed.candidates.iter().map(|c| c.describe()).collect(),
        });
    }
    let tag = id.managed_tag();
    match (observed.candidates.first(), &id.adopt_app_id) {
        (None, Some(app_id)) => Err(PlanError::AdoptedAppNotFound {
            app_id: app_id.clone(),
            tenant: desired.tenant.clone(),
        }),
        (None, None) => Ok(None),
        (Some(c), Some(app_id)) => {
            if normalize::guid(&c.app.app_id) != normalize::guid(app_id) {
                return Err(PlanError::AmbiguousApplication {
                    key,
                    candidates: vec![
                        format!("the appId {app_id} pinned in the spec (not found)"),
                        c.describe(),
                    ],
                });
            }
            Ok(Some((&c.app, c.app.has_tag(&tag))))
        }
        (Some(c), None) => {
            let managed = c.app.has_tag(&tag) || c.matched_by.contains(&MatchedBy::ManagedTag);
            if !managed {
                return Err(PlanError::UnmanagedApplication {
                    key,
                    display_name: c.app.display_name.clone(),
                    app_id: c.app.app_id.clone(),
                });
            }
            Ok(Some((&c.app, true)))
        }
    }
}

/// The deleted application to restore, when the managed application does not exist and exactly
/// one deleted application (deleted less than [`RESTORE_WINDOW_DAYS`] days ago) matches. Two or
/// more: an error naming each.
pub fn restorable<'a>(
    desired: &Desired,
    observed: &'a Observed,
) -> Result<Option<&'a DeletedApplication>, PlanError> {
    if !observed.candidates.is_empty() {
        return Ok(None);
    }
    let pinned = desired.app.identity.adopt_app_id.as_deref();
    let now = observed.deleted.read_at;
    let within: Vec<&DeletedApplication> = observed
        .deleted
        .applications
        .iter()
        .filter(|d| match (now, d.age_days(now.unwrap_or_else(Utc::now))) {
            (Some(_), Some(age)) => age < RESTORE_WINDOW_DAYS,
            _ => true,
        })
        // A pinned appId names exactly one app: others found by the other keys are not it.
        .filter(|d| pinned.is_none_or(|p| normalize::guid(p) == normalize::guid(&d.app.app_id)))
        .collect();
    match within.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(PlanError::Restore(RestoreError::Ambiguous {
            key: desired.app.identity.key(),
            candidates: many.iter().map(|d| d.describe(now)).collect(),
        })),
    }
}

/// Resolves the resource APIs and permission values named in the spec to service principals and
/// ids. Every unknown permission is reported at once, with the closest valid names.
pub fn resolve_permissions<'a>(
    desired: &Desired,
    perms: &[ApiPermission],
    observed: &'a Observed,
) -> Result<Vec<ResolvedResource<'a>>, PlanError> {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for p in perms {
        let sp = resource_sp(desired, p, observed)?;
        let label = p.resource.label();
        let delegated = resolve(
            &label,
            &p.delegated,
            sp.oauth2_permission_scopes
                .iter()
                .map(|s| (&s.id, &s.value)),
            "delegated",
            &mut unknown,
        );
        let application = resolve(
            &label,
            &p.application,
            // An application permission is an app role client applications can be granted.
            sp.app_roles
                .iter()
                .filter(|r| r.is_application_permission())
                .map(|s| (&s.id, &s.value)),
            "application",
            &mut unknown,
        );
        out.push(ResolvedResource {
            label: if sp.display_name.is_empty() {
                label
            } else {
                sp.display_name.clone()
            },
            sp,
            delegated,
            application,
        });
    }
    if unknown.is_empty() {
        Ok(out)
    } else {
        Err(PlanError::UnknownPermissions(unknown))
    }
}

/// The one service principal of the API `p` names.
fn resource_sp<'a>(
    desired: &Desired,
    p: &ApiPermission,
    observed: &'a Observed,
) -> Result<&'a ServicePrincipal, PlanError> {
    let label = p.resource.label();
    let found: Vec<&ServicePrincipal> = observed
        .resources
        .iter()
        .filter(|r| r.query == p.resource)
        .flat_map(|r| r.found.iter())
        .collect();
    match found.as_slice() {
        [] => Err(PlanError::ResourceNotFound {
            resource: label,
            tenant: desired.tenant.clone(),
        }),
        [one] => Ok(*one),
        many => Err(PlanError::AmbiguousResource {
            resource: label,
            candidates: many
                .iter()
                .map(|s| format!("\"{}\" (appId {})", s.display_name, s.app_id))
                .collect(),
        }),
    }
}

/// The `(id, value)` of every permission `names` asks for among those `offered`; unknown names
/// go to `unknown` with the closest offered values.
fn resolve<'s>(
    label: &str,
    names: &[String],
    offered: impl Iterator<Item = (&'s String, &'s String)> + Clone,
    kind: &'static str,
    unknown: &mut Vec<UnknownPermission>,
) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for n in names {
        let hit = offered.clone().find(|(id, value)| {
            value.eq_ignore_ascii_case(n.trim())
                || (normalize::is_guid(n.trim()) && id.eq_ignore_ascii_case(n.trim()))
        });
        match hit {
            Some((id, value)) => {
                let e = (normalize::guid(id), value.clone());
                if !v.contains(&e) {
                    v.push(e);
                }
            }
            None => unknown.push(UnknownPermission {
                resource: label.to_string(),
                kind,
                name: n.clone(),
                suggestions: normalize::closest(
                    n,
                    offered.clone().map(|(_, value)| value.as_str()),
                ),
            }),
        }
    }
    v
}
