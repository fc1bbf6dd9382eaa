//! Legacy per-user MFA (`strongAuthenticationRequirements`, beta): turned off for every user who
//! signs in to the app. Per user, not per app: it stops applying to that user everywhere. What
//! it was is recorded in the tenant first ([`super::record`]), and turned back when the user no
//! longer signs in to the app or the spec no longer turns it off.

use entractl_graph::GraphRequest;
use entractl_graph::resource::authentication_requirements as graph;
use serde_json::{Value, json};

use super::context::PlanContext;
use super::kind::{Kind, PlanOut, RequiredPermissions, Sending};
use super::record::{record, release};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{Observed, Purpose, RecordMember, UserMfaState};
use crate::core::plan::{Action, Change, FieldChange, Note, NoteKind, ObjectKind, ObjectRef, Risk};

/// See the module documentation.
pub struct PerUserMfaKind;

const KIND: ObjectKind = ObjectKind::PerUserMfa;

impl Kind for PerUserMfaKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    /// The record of what is turned off (written first; depends on no object of the app).
    fn after(&self) -> &'static [ObjectKind] {
        &[ObjectKind::Record]
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        let managed = cx
            .desired
            .mfa
            .as_ref()
            .is_some_and(|m| m.per_user_mfa_disabled);
        if managed {
            weaken(cx, out);
        }
        restore(cx, out, managed);
        Ok(())
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        let id = c
            .object
            .id
            .as_deref()
            .ok_or_else(|| BadChange::new(KIND, "no user id"))?;
        match c.action {
            Action::Update => {
                let state = c
                    .payload
                    .get("perUserMfaState")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Ok(vec![graph::update(id, c.payload.clone()).label(format!(
                    "set per-user MFA to `{state}` for {}",
                    c.object.display
                ))])
            }
            other => Err(BadChange::new(
                KIND,
                format!("{} of a per-user MFA state", other.as_str()),
            )),
        }
    }

    fn prior_state(&self, o: &Observed, c: &Change) -> Value {
        let id = c.object.id.as_deref().unwrap_or_default();
        let read = o
            .mfa
            .as_ref()
            .and_then(|m| m.per_user.iter().find(|s| s.user.id == id))
            .map(|s| (s.user.label.as_str(), s.state.as_str()));
        let recorded = || {
            o.records
                .mfa_states
                .get(id)
                .map(|s| (c.object.display.as_str(), s.as_str()))
        };
        read.or_else(recorded)
            .map(|(label, state)| {
                json!({"id": id, "userPrincipalName": label, "perUserMfaState": state})
            })
            .unwrap_or(Value::Null)
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        _new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        let state = c
            .payload
            .get("perUserMfaState")
            .and_then(Value::as_str)
            .ok_or_else(|| BadChange::new(KIND, "no perUserMfaState"))?;
        let id = c.object.id.as_deref().unwrap_or_default();
        let mut found = false;
        if let Some(s) = o
            .mfa
            .as_mut()
            .and_then(|m| m.per_user.iter_mut().find(|s| s.user.id == id))
        {
            s.state = state.to_string();
            found = true;
        }
        if let Some(s) = o.records.mfa_states.get_mut(id) {
            *s = state.to_string();
            found = true;
        }
        if !found {
            return Err(BadChange::new(
                KIND,
                "per-user MFA change of a user that was not read",
            ));
        }
        Ok(Value::Null)
    }

    /// Every plan reads the state of the users entractl's record names (to restore it, whatever
    /// the spec says; the write of a plan's restore: crate::permissions::for_plan); destroy
    /// restores everything the record lists.
    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        let turns_off = desired
            .mfa
            .as_ref()
            .is_some_and(|m| m.per_user_mfa_disabled);
        needed.to_plan(
            graph::READ,
            if turns_off {
                "read the per-user MFA state of the app's users and of the users entractl's record names (GET beta /users/{id}/authentication/requirements)"
            } else {
                "read the per-user MFA state of the users entractl's record names, to restore it (GET beta /users/{id}/authentication/requirements)"
            },
        );
        if desired.destroying() {
            needed.to_apply(
                graph::WRITE,
                "turn per-user MFA back on for the users entractl's record lists (PATCH beta /users/{id}/authentication/requirements)",
            );
        } else if turns_off {
            needed.to_apply(
                graph::WRITE,
                "set the per-user MFA state of the app's users (PATCH beta /users/{id}/authentication/requirements)",
            );
        }
    }

    /// All together, in `$batch`es (10,000 users are not 10,000 round trips).
    fn sending(&self) -> Sending {
        Sending::Together { first_alone: false }
    }
}

/// Turns per-user MFA off for every user who signs in to the app, recording first what it was.
fn weaken(cx: &PlanContext<'_>, out: &mut PlanOut) {
    let empty = Default::default();
    let observed = cx.observed.mfa.as_ref().unwrap_or(&empty);
    if observed.scope.users.is_empty() {
        out.notes.push(Note {
            kind: NoteKind::Warning,
            risks: Vec::new(),
            message: "per-user MFA: the app has no users to check yet (no assigned users, and no members in the assigned groups)".to_string(),
        });
    }
    let mut states: Vec<&UserMfaState> = observed.per_user.iter().collect();
    states.sort_by(|a, b| {
        a.user
            .label
            .to_lowercase()
            .cmp(&b.user.label.to_lowercase())
            .then_with(|| a.user.id.cmp(&b.user.id))
    });
    for s in states {
        if s.state.eq_ignore_ascii_case(graph::DISABLED) {
            continue;
        }
        let recorded = cx
            .observed
            .records
            .entries(|p| matches!(p, Purpose::PerUserMfa(_)))
            .any(|(_, m)| m.id.eq_ignore_ascii_case(&s.user.id));
        if !recorded {
            let member = RecordMember {
                id: s.user.id.to_lowercase(),
                label: s.user.label.clone(),
                is_group: false,
            };
            record(
                cx,
                out,
                &Purpose::PerUserMfa(s.state.to_lowercase()),
                &member,
            );
        }
        out.changes.push(disable(s));
    }
}

/// Turns per-user MFA back to what the record says it was, for every recorded user who no
/// longer needs it off (not signing in to the app, or the spec no longer turns it off); then
/// releases the record.
fn restore(cx: &PlanContext<'_>, out: &mut PlanOut, managed: bool) {
    let in_scope = |id: &str| {
        managed
            && cx
                .observed
                .mfa
                .as_ref()
                .is_some_and(|m| m.scope.users.iter().any(|u| u.id.eq_ignore_ascii_case(id)))
    };
    let records = &cx.observed.records;
    for g in &records.groups {
        let Purpose::PerUserMfa(was) = &g.purpose else {
            continue;
        };
        let mut members: Vec<&RecordMember> = g.members.iter().filter(|m| !m.is_group).collect();
        members.sort_by_key(|m| m.label.to_lowercase());
        for m in members {
            if in_scope(&m.id) {
                continue;
            }
            let why = if managed {
                "the user no longer signs in to the app (neither assigned nor in an assigned group)"
            } else if cx.desired.destroying() {
                "destroy decommissions the spec"
            } else {
                "the spec no longer turns per-user MFA off (`mfa.perUserMfa`)"
            };
            let now = records.mfa_states.get(&m.id).map(String::as_str);
            let released = match now {
                Some(s) if s.eq_ignore_ascii_case(graph::DISABLED) => {
                    out.changes.push(turn_back(m, was, why));
                    format!("restored: {why}")
                }
                Some(s) => format!("per-user MFA is `{s}` again already; {why}"),
                None => format!("the user no longer exists; {why}"),
            };
            release(out, g, m, &released);
        }
    }
}

/// The restore of one user's per-user MFA to `was`: not a downgrade.
fn turn_back(m: &RecordMember, was: &str, why: &str) -> Change {
    let object = ObjectRef {
        kind: KIND,
        key: m.id.to_lowercase(),
        display: m.label.clone(),
        id: Some(m.id.clone()),
    };
    let mut c = Change::new(
        object,
        Action::Update,
        format!(
            "restore: entractl turned this user's legacy per-user MFA off (it was `{was}`, as the record it kept in the tenant says), and {why}: it is turned back to `{was}`"
        ),
    );
    c.fields = vec![FieldChange {
        path: "perUserMfaState".into(),
        before: json!(graph::DISABLED),
        after: json!(was),
    }];
    c.payload = graph::state_body(was);
    c
}

fn disable(s: &UserMfaState) -> Change {
    let object = ObjectRef {
        kind: KIND,
        key: s.user.id.to_lowercase(),
        display: s.user.label.clone(),
        id: Some(s.user.id.clone()),
    };
    let mut c = Change::new(
        object,
        Action::Update,
        format!(
            "legacy per-user MFA is `{}` for a user who signs in to the app; per-user MFA is per user, not per app: this user stops being asked for MFA by it in every app",
            s.state
        ),
    );
    c.fields = vec![FieldChange {
        path: "perUserMfaState".into(),
        before: json!(s.state),
        after: json!(graph::DISABLED),
    }];
    c.risks = vec![Risk::SecurityDowngrade];
    c.payload = graph::state_body(graph::DISABLED);
    c
}
