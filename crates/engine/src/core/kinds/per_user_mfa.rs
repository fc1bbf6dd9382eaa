//! Legacy per-user MFA (`strongAuthenticationRequirements`, beta): turned off for every user who
//! signs in to the app. Per user, not per app: it stops applying to that user everywhere.

use entractl_graph::GraphRequest;
use entractl_graph::resource::authentication_requirements as graph;
use serde_json::{Value, json};

use super::context::PlanContext;
use super::kind::{Kind, PlanOut, RequiredPermissions, Sending};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{Observed, UserMfaState};
use crate::core::plan::{Action, Change, FieldChange, Note, NoteKind, ObjectKind, ObjectRef, Risk};

/// See the module documentation.
pub struct PerUserMfaKind;

const KIND: ObjectKind = ObjectKind::PerUserMfa;

impl Kind for PerUserMfaKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        if !cx
            .desired
            .mfa
            .as_ref()
            .is_some_and(|m| m.per_user_mfa_disabled)
        {
            return Ok(());
        }
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
            if !s.state.eq_ignore_ascii_case(graph::DISABLED) {
                out.changes.push(disable(s));
            }
        }
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
                Ok(vec![graph::update(id, c.payload.clone()).label(format!(
                    "disable per-user MFA for {}",
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
        o.mfa
            .as_ref()
            .and_then(|m| {
                m.per_user
                    .iter()
                    .find(|s| Some(&s.user.id) == c.object.id.as_ref())
            })
            .map(|s| {
                json!({"id": s.user.id, "userPrincipalName": s.user.label, "perUserMfaState": s.state})
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
        let s = o
            .mfa
            .as_mut()
            .and_then(|m| {
                m.per_user
                    .iter_mut()
                    .find(|s| Some(&s.user.id) == c.object.id.as_ref())
            })
            .ok_or_else(|| {
                BadChange::new(KIND, "per-user MFA change of a user that was not read")
            })?;
        s.state = state.to_string();
        Ok(Value::Null)
    }

    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        if !desired
            .mfa
            .as_ref()
            .is_some_and(|m| m.per_user_mfa_disabled)
        {
            return;
        }
        needed.to_plan(
            graph::READ,
            "read the per-user MFA state of the app's users (GET beta /users/{id}/authentication/requirements)",
        );
        needed.to_apply(
            graph::WRITE,
            "set the per-user MFA state of the app's users (PATCH beta /users/{id}/authentication/requirements)",
        );
    }

    /// All together, in `$batch`es (10,000 users are not 10,000 round trips).
    fn sending(&self) -> Sending {
        Sending::Together { first_alone: false }
    }
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
