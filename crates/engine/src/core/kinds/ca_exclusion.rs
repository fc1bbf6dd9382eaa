//! Conditional access exclusions: the app's appId added to `excludeApplications` of the
//! policies that would ask Passport's password sign-in for MFA (or the policies the spec names).
//! Nothing else of a policy is ever written.

use entractl_graph::GraphRequest;
use entractl_graph::resource::conditional_access_policy::{self as graph, ConditionalAccessPolicy};
use serde_json::{Value, json};

use super::context::PlanContext;
use super::kind::{Kind, PlanOut, RequiredPermissions};
use crate::core::desired::{CaSelection, Desired};
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{CaObserved, Observed, ObservedMfa};
use crate::core::plan::{
    Action, Change, ChangeId, CreatedRef, FieldChange, Note, NoteKind, ObjectKind, ObjectRef, Risk,
};
use crate::core::policy::{PolicyDecision, Reason, Verdict, check_selection, select_policies};

/// See the module documentation.
pub struct CaExclusionKind;

const KIND: ObjectKind = ObjectKind::ConditionalAccessPolicy;

/// What the plan shows in place of the appId of an app created by the same apply.
pub const APP_ID_AFTER_APPLY: &str = "(the app's appId, known after apply)";

impl Kind for CaExclusionKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        let Some(sel) = cx
            .desired
            .mfa
            .as_ref()
            .and_then(|m| m.conditional_access.as_ref())
        else {
            return Ok(());
        };
        let empty = ObservedMfa::default();
        let observed = cx.observed.mfa.as_ref().unwrap_or(&empty);
        let policies = match &observed.conditional_access {
            CaObserved::NotRead => return Ok(()),
            CaObserved::Skipped { reason } => {
                out.notes
                    .push(unmanaged(format!("conditional access skipped: {reason}")));
                return Ok(());
            }
            CaObserved::Unlicensed { .. } => {
                out.notes.push(unmanaged("conditional access skipped: the tenant has no Entra ID P1 or P2 licence, so it has no conditional access: nothing to exclude the app from".to_string()));
                return Ok(());
            }
            CaObserved::Read { policies } if policies.is_empty() => {
                out.notes.push(unmanaged(
                    "conditional access: the tenant has no policies; nothing to exclude the app from"
                        .to_string(),
                ));
                return Ok(());
            }
            CaObserved::Read { policies } => policies,
        };
        plan_policies(cx, sel, policies, observed, out)
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        if c.action != Action::Update {
            return Err(BadChange::new(
                KIND,
                format!("{} of a conditional access policy", c.action.as_str()),
            ));
        }
        let list = c
            .payload
            .pointer("/conditions/applications/excludeApplications");
        if !list.is_some_and(|l| l.as_array().is_some_and(|a| a.iter().all(Value::is_string))) {
            return Err(BadChange::new(
                KIND,
                "no complete conditions.applications.excludeApplications list",
            ));
        }
        let id = c.object.id.as_deref().unwrap_or(&c.object.key);
        Ok(vec![graph::update(id, c.payload.clone())])
    }

    fn prior_state(&self, o: &Observed, c: &Change) -> Value {
        policies(o)
            .iter()
            .find(|p| Some(p.id()) == c.object.id.as_deref())
            .map(|p| p.0.clone())
            .unwrap_or(Value::Null)
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        _new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        let Some(CaObserved::Read { policies }) = o.mfa.as_mut().map(|m| &mut m.conditional_access)
        else {
            return Err(BadChange::new(KIND, "policy change without policies read"));
        };
        let p = policies
            .iter_mut()
            .find(|p| Some(p.id()) == c.object.id.as_deref())
            .ok_or_else(|| BadChange::new(KIND, "policy not found"))?;
        *p = p.patched(&c.payload);
        Ok(Value::Null)
    }

    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        let managed = desired
            .mfa
            .as_ref()
            .is_some_and(|m| m.conditional_access.is_some());
        if !managed {
            return;
        }
        needed.to_plan(
            graph::READ,
            "read the conditional access policies (GET /identity/conditionalAccess/policies)",
        );
        needed.to_plan(
            entractl_graph::resource::group::READ,
            "read the members of groups named by conditional access policies (GET /groups/{id}/transitiveMembers)",
        );
        needed.to_apply(
            graph::WRITE,
            "add the app to excludeApplications of conditional access policies (PATCH /identity/conditionalAccess/policies/{id}; with Policy.Read.All)",
        );
    }
}

fn policies(o: &Observed) -> &[ConditionalAccessPolicy] {
    match o.mfa.as_ref().map(|m| &m.conditional_access) {
        Some(CaObserved::Read { policies }) => policies,
        _ => &[],
    }
}

fn unmanaged(message: String) -> Note {
    Note {
        kind: NoteKind::Unmanaged,
        message,
    }
}

fn plan_policies(
    cx: &PlanContext<'_>,
    sel: &CaSelection,
    policies: &[ConditionalAccessPolicy],
    observed: &ObservedMfa,
    out: &mut PlanOut,
) -> Result<(), PlanError> {
    let errors = check_selection(policies, sel);
    if !errors.is_empty() {
        return Err(PlanError::PolicySelection(
            errors.iter().map(ToString::to_string).collect(),
        ));
    }
    let app_id = cx.app_id();
    let scope = observed.user_scope();
    let mut all_resources = Vec::new();
    for d in select_policies(policies, app_id.unwrap_or(""), &scope, sel) {
        let policy = policies.iter().find(|p| p.id() == d.id);
        let targets_all = policy.is_some_and(|p| {
            p.applications("includeApplications")
                .iter()
                .any(|a| a.trim().eq_ignore_ascii_case("All"))
        });
        if d.verdict == Verdict::Exclude && targets_all {
            all_resources.push(format!("\"{}\"", d.display_name));
        }
        policy_change(cx, &d, policy, out);
    }
    if !all_resources.is_empty() {
        out.notes.push(Note {
            kind: NoteKind::Warning,
            message: format!(
                "{} target(s) All resources: once Microsoft's baseline-scope enforcement reaches the tenant (rollout from June 15, 2026, unless disabled or customized in the Baseline scopes settings), excluding the app no longer lets Passport's sign-in through such a policy; check with `entractl verify-signin` (docs/mfa.md)",
                all_resources.join(", ")
            ),
        });
    }
    Ok(())
}

fn policy_change(
    cx: &PlanContext<'_>,
    d: &PolicyDecision,
    policy: Option<&ConditionalAccessPolicy>,
    out: &mut PlanOut,
) {
    let label = format!(
        "conditional access policy \"{}\" ({})",
        d.display_name, d.id
    );
    for n in &d.notes {
        out.notes.push(Note {
            kind: NoteKind::Warning,
            message: format!("{label}: {n}"),
        });
    }
    let object = ObjectRef {
        kind: KIND,
        key: d.id.clone(),
        display: d.display_name.clone(),
        id: Some(d.id.clone()),
    };
    match d.verdict {
        Verdict::Exclude => {
            if let Some(c) = policy.and_then(|p| exclusion(cx, d, p, object)) {
                out.changes.push(c);
            }
        }
        Verdict::AlreadyExcluded => {
            out.changes
                .push(Change::new(object, Action::NoOp, d.reason_text()));
        }
        Verdict::Blocks => out.notes.push(Note {
            kind: NoteKind::Warning,
            message: format!("{label}: {}", d.reason_text()),
        }),
        Verdict::Skip => {
            let mut message = format!("{label}: left alone: {}", d.reason_text());
            if let (Reason::UsersNotCovered { .. }, Some(p)) = (&d.reason, policy)
                && !p.users("includeRoles").is_empty()
            {
                message.push_str(
                    "; it targets directory roles, and entractl does not read which roles the app's users hold: if one of them holds such a role, name the policy in mfa.conditionalAccess.excludeApp",
                );
            }
            out.notes.push(unmanaged(message));
        }
    }
}

/// The change adding the app to the policy's `excludeApplications`; the appId of an app the
/// same apply creates is `null` in the payload and named in `refs`. `None`: already excluded.
fn exclusion(
    cx: &PlanContext<'_>,
    d: &PolicyDecision,
    policy: &ConditionalAccessPolicy,
    object: ObjectRef,
) -> Option<Change> {
    // A sentinel that no policy lists stands for an app that does not exist yet.
    const PENDING: &str = "\u{0}entractl-pending-app";
    let app_id = cx.app_id();
    let mut payload = policy.exclusion_patch(app_id.unwrap_or(PENDING))?;
    let list = payload
        .pointer_mut("/conditions/applications/excludeApplications")?
        .as_array_mut()?;
    let last = list.len() - 1;
    let before = list[..last].to_vec();
    let mut refs = Vec::new();
    if app_id.is_none() {
        list[last] = Value::Null;
        refs.push(CreatedRef {
            at: format!("/conditions/applications/excludeApplications/{last}"),
            created_by: ChangeId {
                kind: ObjectKind::Application,
                key: cx.key(),
            },
            property: "appId".into(),
        });
    }
    let mut after = before.clone();
    after.push(json!(app_id.unwrap_or(APP_ID_AFTER_APPLY)));
    let mut c = Change::new(
        object,
        Action::Update,
        format!(
            "{}: exclude the app so Passport's password sign-in (which cannot do MFA) gets through; the policy keeps applying to every other app, and only excludeApplications changes",
            d.reason_text()
        ),
    );
    c.fields = vec![FieldChange {
        path: "conditions.applications.excludeApplications".into(),
        before: json!(before),
        after: json!(after),
    }];
    c.risks = vec![Risk::SecurityDowngrade];
    c.payload = payload;
    c.refs = refs;
    Some(c)
}
