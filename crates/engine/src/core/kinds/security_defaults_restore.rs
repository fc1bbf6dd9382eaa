//! Turning security defaults back on once the spec no longer needs them off (Web Login, no `mfa`
//! section, `securityDefaults: enabled` or `unmanaged`, `destroy`), when entractl's record says
//! entractl turned them off for this app (its service principal in the app's security defaults
//! record group, [`super::record`]). Never on a guess: without a record they are left as they
//! are. Security defaults are tenant-wide, so they stay off while another app's record says
//! entractl turned them off for it too, and while conditional access policies are enabled (Entra
//! does not turn them on then: entra-docs `fundamentals/security-defaults.md`).

use entractl_graph::resource::security_defaults as graph;
use serde_json::json;

use super::context::PlanContext;
use super::kind::PlanOut;
use super::record::{group_display, release};
use crate::core::observed::{Purpose, RecordGroup};
use crate::core::plan::{Action, Change, FieldChange, Note, NoteKind, ObjectRef};

/// What the plan knows of security defaults: what the spec asks (`want`, `None`: unmanaged),
/// what was read (`have`, `None`: not read), and the object a change of them is about.
pub struct State {
    pub want: Option<bool>,
    pub have: Option<bool>,
    pub object: ObjectRef,
}

/// Plans the restore (or the notes that say why there is none) and the record's release.
pub fn plan(cx: &PlanContext<'_>, out: &mut PlanOut, state: State) {
    let State { want, have, object } = state;
    if want == Some(false) {
        return;
    }
    let group = cx
        .observed
        .records
        .group(&Purpose::SecurityDefaults)
        .filter(|g| !g.members.is_empty());
    let Some(g) = group else {
        missing_record_note(cx, out);
        return;
    };
    let record = group_display(&Purpose::SecurityDefaults, &cx.key());
    let why = why(cx, want);
    match (want, have) {
        (Some(true), _) => release_all(
            out,
            g,
            &format!("security defaults are on as the spec asks ({why})"),
        ),
        (None, Some(true)) => release_all(
            out,
            g,
            &format!("security defaults are on again already; {why}"),
        ),
        (None, Some(false)) => turn_back_on(cx, out, g, object, (&record, &why)),
        // Not read (nothing is known: the record stays), or asked off (returned above).
        _ => {}
    }
}

/// Why the spec no longer needs security defaults off, in words.
fn why(cx: &PlanContext<'_>, want: Option<bool>) -> String {
    if cx.desired.destroying() {
        "destroy decommissions the spec".into()
    } else if want == Some(true) {
        "`mfa.securityDefaults: enabled`".into()
    } else if cx.desired.mfa.is_none() {
        "the spec has no `mfa` section".into()
    } else {
        "`mfa.securityDefaults` is `unmanaged`".into()
    }
}

/// Security defaults are off and the record says entractl turned them off: turned back on, unless
/// another app's record or an enabled conditional access policy keeps them off.
fn turn_back_on(
    cx: &PlanContext<'_>,
    out: &mut PlanOut,
    g: &RecordGroup,
    object: ObjectRef,
    (record, why): (&str, &str),
) {
    let others: Vec<&str> = cx
        .observed
        .records
        .other_security_defaults
        .iter()
        .filter(|o| o.members > 0)
        .map(|o| o.display_name.as_str())
        .collect();
    if !others.is_empty() {
        out.notes.push(note(
            NoteKind::Unmanaged,
            format!(
                "security defaults stay off: entractl turned them off for this app (record \"{record}\") and the spec no longer needs them off ({why}), but they are tenant-wide and entractl's record says it turned them off for another app too ({}): left off, and only this app's record entry is released (that app's plan turns them back on once it no longer needs them off)",
                quoted(&others)
            ),
        ));
        release_all(
            out,
            g,
            "another app's record keeps security defaults off: this app no longer needs them off",
        );
        return;
    }
    let enabled = enabled_policies(cx);
    if !enabled.is_empty() {
        let after = if cx.desired.destroying() {
            "destroy deletes the record: turn them on by hand (Entra admin center, Overview, Properties, Manage security defaults) once no policy is enabled, if conditional access is not to replace them"
        } else {
            "the record is kept, so that a later plan turns them on once no policy is enabled"
        };
        out.notes.push(note(
            NoteKind::Warning,
            format!(
                "security defaults stay off: entractl turned them off for this app (record \"{record}\") and the spec no longer needs them off ({why}), but Entra does not turn security defaults on while conditional access policies are enabled ({}); {after}",
                quoted(&enabled)
            ),
        ));
        return;
    }
    out.changes.push(restore(object, record, why));
    release_all(out, g, "restored: security defaults are on again");
}

/// The restore: security defaults on again (no downgrade).
fn restore(object: ObjectRef, record: &str, why: &str) -> Change {
    let mut c = Change::new(
        object,
        Action::Update,
        format!(
            "restore: entractl turned security defaults off for this app (record \"{record}\") and the spec no longer needs them off ({why}): they are turned back on, for the whole tenant"
        ),
    );
    c.fields = vec![FieldChange {
        path: "isEnabled".into(),
        before: json!(false),
        after: json!(true),
    }];
    c.payload = graph::enabled_body(true);
    c
}

fn release_all(out: &mut PlanOut, g: &RecordGroup, why: &str) {
    for m in &g.members {
        release(out, g, m, why);
    }
}

/// The enabled conditional access policies, by name (report-only ones do not count).
fn enabled_policies<'a>(cx: &PlanContext<'a>) -> Vec<&'a str> {
    let Some(m) = cx.observed.mfa.as_ref() else {
        return Vec::new();
    };
    m.conditional_access
        .policies()
        .iter()
        .filter(|p| p.state() == Some("enabled"))
        .map(|p| p.display_name())
        .collect()
}

/// `destroy` of a spec that turns security defaults off, without a record that entractl did.
fn missing_record_note(cx: &PlanContext<'_>, out: &mut PlanOut) {
    let off = cx
        .desired
        .teardown
        .as_ref()
        .is_some_and(|t| t.security_defaults_off);
    if !off {
        return;
    }
    out.notes.push(note(
        NoteKind::Unmanaged,
        "the spec turns security defaults off but no record says entractl did (an administrator may have, to use conditional access, or an entractl older than the record): left alone; turn them back on by hand (Entra admin center, Overview, Properties, Manage security defaults) if only Passport needed them off".to_string(),
    ));
}

fn note(kind: NoteKind, message: String) -> Note {
    Note {
        kind,
        risks: Vec::new(),
        message,
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
