//! Security defaults (`identitySecurityDefaultsEnforcementPolicy`): tenant-wide MFA for every
//! user, with no exceptions — Passport's password sign-in cannot pass them. Turning them off is
//! recorded in the tenant first (the app's service principal in a record group,
//! [`super::record`]), so that they are turned back on once the spec no longer needs them off
//! ([`super::security_defaults_restore`]).

use entractl_graph::GraphRequest;
use entractl_graph::resource::merge_patch;
use entractl_graph::resource::security_defaults as graph;
use serde_json::Value;

use super::context::PlanContext;
use super::kind::{Kind, PlanOut, RequiredPermissions};
use super::record::{record, record_created_sp};
use super::security_defaults_restore::State;
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{Observed, Purpose, RecordMember};
use crate::core::plan::{Action, Change, FieldChange, Note, NoteKind, ObjectKind, ObjectRef, Risk};

/// See the module documentation.
pub struct SecurityDefaultsKind;

const KIND: ObjectKind = ObjectKind::SecurityDefaults;

/// The key of the one security defaults change.
pub const KEY: &str = "identitySecurityDefaultsEnforcementPolicy";

impl Kind for SecurityDefaultsKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    /// The record of turning them off (written first; it waits for the service principal it
    /// names when the same apply creates it).
    fn after(&self) -> &'static [ObjectKind] {
        &[ObjectKind::Record]
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        let want = cx.desired.mfa.as_ref().and_then(|m| m.security_defaults);
        let have = observed(cx.observed).map(|s| s.is_enabled);
        if let (Some(want), Some(have)) = (want, have) {
            let c = change(object(cx.observed), want, have);
            if c.action == Action::Update && !want {
                record_turning_off(cx, out);
            }
            out.changes.push(c);
        }
        let object = object(cx.observed);
        super::security_defaults_restore::plan(cx, out, State { want, have, object });
        let Some(m) = &cx.desired.mfa else {
            return Ok(());
        };
        if m.security_defaults.or(have).unwrap_or(false) && m.needs_password_sign_in() {
            out.notes.push(Note {
                kind: NoteKind::Warning,
                risks: Vec::new(),
                message: "security defaults are on in this tenant: they ask every user for MFA with no exceptions, so Passport's password sign-in fails (AADSTS50076) whatever else this plan changes; the fix is `mfa.securityDefaults: disabled` (see docs/mfa.md for the trade-off)".to_string(),
            });
        }
        Ok(())
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        match c.action {
            Action::Update => Ok(vec![graph::update(c.payload.clone())]),
            other => Err(BadChange::new(
                KIND,
                format!("{} of the security defaults", other.as_str()),
            )),
        }
    }

    fn prior_state(&self, o: &Observed, _c: &Change) -> Value {
        o.mfa
            .as_ref()
            .and_then(|m| m.security_defaults.as_ref())
            .map(|s| s.to_json())
            .unwrap_or(Value::Null)
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        _new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        let m = o.mfa.get_or_insert_with(Default::default);
        let current = m
            .security_defaults
            .as_ref()
            .map(|s| s.to_json())
            .unwrap_or_else(|| serde_json::json!({}));
        let merged = merge_patch(&current, &c.payload);
        m.security_defaults = Some(
            entractl_graph::resource::parse(&merged)
                .ok_or_else(|| BadChange::new(KIND, "cannot parse the security defaults"))?,
        );
        Ok(Value::Null)
    }

    /// Every plan reads them: for the spec's `mfa`, or (without) to turn them back on when
    /// entractl's record says it turned them off (the write of a plan's restore:
    /// crate::permissions::for_plan); destroy restores them for a spec that turns them off.
    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        needed.to_plan(
            graph::READ,
            if desired.mfa.is_some() {
                "read the security defaults (GET /policies/identitySecurityDefaultsEnforcementPolicy)"
            } else {
                "read the security defaults when entractl's record says it turned them off (GET /policies/identitySecurityDefaultsEnforcementPolicy)"
            },
        );
        if desired
            .teardown
            .as_ref()
            .is_some_and(|t| t.security_defaults_off)
        {
            needed.to_apply(
                graph::WRITE,
                "turn security defaults back on when entractl's record says it turned them off (PATCH /policies/identitySecurityDefaultsEnforcementPolicy)",
            );
            return;
        }
        let Some(m) = &desired.mfa else { return };
        if m.security_defaults.is_some() {
            needed.to_apply(
                graph::WRITE,
                "turn security defaults on or off (PATCH /policies/identitySecurityDefaultsEnforcementPolicy)",
            );
        }
    }
}

/// The security defaults as read.
fn observed(o: &Observed) -> Option<&graph::SecurityDefaults> {
    o.mfa.as_ref().and_then(|m| m.security_defaults.as_ref())
}

/// The one security defaults object of a plan.
fn object(o: &Observed) -> ObjectRef {
    ObjectRef {
        kind: KIND,
        key: KEY.to_string(),
        display: "Security defaults".to_string(),
        id: observed(o).and_then(|s| s.id.clone()),
    }
}

/// Records that entractl turns security defaults off for this app: its service principal (the
/// one this apply creates, when there is none yet) in the security defaults record group.
fn record_turning_off(cx: &PlanContext<'_>, out: &mut PlanOut) {
    let purpose = Purpose::SecurityDefaults;
    let label = cx.desired.app.display_name.clone();
    match cx.sp() {
        Some(sp) => record(
            cx,
            out,
            &purpose,
            &RecordMember {
                id: sp.id.to_lowercase(),
                label,
                is_group: false,
            },
        ),
        None => record_created_sp(cx, out, &purpose, &label),
    }
}

fn change(object: ObjectRef, want: bool, have: bool) -> Change {
    if want == have {
        return Change::new(
            object,
            Action::NoOp,
            format!(
                "security defaults are {} as the spec asks",
                if have { "on" } else { "off" }
            ),
        );
    }
    let mut c = Change::new(
        object,
        Action::Update,
        if want {
            "the spec sets `mfa.securityDefaults: enabled`".to_string()
        } else {
            "the spec sets `mfa.securityDefaults: disabled`: security defaults are tenant-wide, so EVERY user of the tenant stops being asked for MFA by them (keep MFA with a conditional access policy on P1/P2)".to_string()
        },
    );
    c.fields = vec![FieldChange {
        path: "isEnabled".into(),
        before: serde_json::json!(have),
        after: serde_json::json!(want),
    }];
    if !want {
        c.risks = vec![Risk::SecurityDowngrade];
    }
    c.payload = graph::enabled_body(want);
    c
}
