//! A placeholder app of "Customize behavior" that entractl made for this app and the spec no
//! longer names (the mode is Web Login, the remedy changed, or the placeholder was renamed): found
//! by its `entractl-placeholder-for:<app key>` tag whatever the spec says
//! ([`crate::core::observed::Observed::linked_placeholders`]). Its exclusions come out of the
//! policies ([`super::ca_app_restore`]); the app itself is left in place, with a note, because the
//! Baseline scopes settings page may still name it and no API tells or changes that; `destroy`
//! deletes it. Pure.

use entractl_graph::resource::conditional_access_settings::BaselineScopes;

use super::context::PlanContext;
use super::kind::PlanOut;
use super::placeholder_step::SETTINGS_LINK;
use crate::core::observed::{Application, BaselineRead, Observed};
use crate::core::plan::{Change, Note, NoteKind, ObjectKind, ObjectRef};

/// Under `destroy`, the deletion of each former placeholder (after the policies no longer
/// exclude it); otherwise a note for each.
pub fn plan(cx: &PlanContext<'_>, out: &mut PlanOut) {
    for app in &cx.former_placeholders {
        if cx.desired.destroying() {
            out.changes.push(super::teardown::placeholder(object(app)));
        } else {
            out.notes.push(note(cx, app));
        }
    }
}

/// The change's object: the application, by its `uniqueName` (else its id).
fn object(app: &Application) -> ObjectRef {
    ObjectRef {
        kind: ObjectKind::PlaceholderApplication,
        key: app.unique_name.clone().unwrap_or_else(|| app.id.clone()),
        display: app.display_name.clone(),
        id: Some(app.id.clone()),
    }
}

/// What happens to a former placeholder, and what is left to an admin.
fn note(cx: &PlanContext<'_>, app: &Application) -> Note {
    let setting = match cx.observed.forecast.as_ref().map(|f| &f.baseline) {
        Some(BaselineRead::Read {
            setting: BaselineScopes::Custom(x),
        }) if x.eq_ignore_ascii_case(&app.app_id) => "names it today",
        _ => "may still name it",
    };
    Note {
        kind: NoteKind::Unmanaged,
        risks: Vec::new(),
        message: format!(
            "the placeholder app \"{}\" (appId {}), which entractl made for \"Customize behavior\", is no longer used by the spec (it names no placeholder, or another): its exclusions from conditional access policies are taken out (this plan's restores, if any) and the app is left in place. \"Customize behavior\" on the Baseline scopes settings page ({SETTINGS_LINK}) {setting}: turn it off there (Microsoft offers no API for it). `entractl destroy` with this spec, or the Entra admin center (App registrations), deletes the app",
            app.display_name, app.app_id
        ),
    }
}

/// The former placeholder a change is about, as read.
pub fn find<'o>(o: &'o Observed, c: &Change) -> Option<&'o Application> {
    let id = c.object.id.as_deref()?;
    o.linked_placeholders
        .iter()
        .find(|a| a.id.eq_ignore_ascii_case(id))
}

/// A placeholder app deleted (Graph deletes its service principal with it): gone from what was
/// read of it, the spec's placeholder or a former one.
pub fn simulate_delete(o: &mut Observed, c: &Change) {
    let id = c.object.id.as_deref().unwrap_or_default();
    o.linked_placeholders
        .retain(|a| !a.id.eq_ignore_ascii_case(id));
    if let Some(p) = o.placeholder.as_mut()
        && p.candidates
            .iter()
            .any(|x| x.app.id.eq_ignore_ascii_case(id))
    {
        p.candidates.clear();
        p.service_principal = None;
    }
}
