//! Conditional access exclusions for Mac Login: per policy that would ask Passport's password
//! sign-in for MFA, the exclusion the spec allows that works on this tenant ([`super::ca_remedy`]:
//! Passport's app, the placeholder app, or the app's users and groups). Only the exclusion lists
//! (`excludeApplications`, `excludeUsers`, `excludeGroups`) of a policy are ever written.

use entractl_graph::GraphRequest;
use entractl_graph::resource::conditional_access_policy::{self as graph, ConditionalAccessPolicy};
use serde_json::Value;

use super::ca_app_deselect::Planning;
use super::ca_exclusion_plan::{plan_policies, unmanaged};
use super::ca_remedy::Remedies;
use super::context::PlanContext;
use super::kind::{Kind, PlanOut, RequiredPermissions};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{CaObserved, Observed, ObservedMfa};
use crate::core::plan::{Action, Change, ObjectKind};

/// See the module documentation.
pub struct CaExclusionKind;

const KIND: ObjectKind = ObjectKind::ConditionalAccessPolicy;

/// The exclusion lists a change may write.
const LISTS: [&str; 3] = [
    "/conditions/applications/excludeApplications",
    "/conditions/users/excludeUsers",
    "/conditions/users/excludeGroups",
];

impl Kind for CaExclusionKind {
    fn kind(&self) -> ObjectKind {
        KIND
    }

    /// The record of the users and groups excluded (written first), and the app's appId (a
    /// `refs` when the app is created by the same apply).
    fn after(&self) -> &'static [ObjectKind] {
        &[ObjectKind::Record]
    }

    /// The record only when a change adds users or groups to an exclusion: the app's exclusion
    /// (and a restore) records nothing, so it goes as soon as the appId is known.
    fn waits_for(&self, changes: &[&Change], kind: ObjectKind) -> bool {
        kind != ObjectKind::Record || changes.iter().any(|c| adds_identities(c))
    }

    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        let Some(mfa) = cx
            .desired
            .mfa
            .as_ref()
            .filter(|m| m.manages_conditional_access())
        else {
            restore_only(cx, out);
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
            CaObserved::Read { policies } if policies.is_empty() => {
                out.notes.push(unmanaged(
                    "conditional access: the tenant has no policies; nothing to exclude the app from"
                        .to_string(),
                ));
                return Ok(());
            }
            CaObserved::Unlicensed { policies } => {
                super::ca_exclusion_plan::unlicensed(cx, policies, observed, out);
                return Ok(());
            }
            CaObserved::Read { policies } => policies,
        };
        plan_policies(cx, mfa, policies, observed, out)
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        if c.action != Action::Update {
            return Err(BadChange::new(
                KIND,
                format!("{} of a conditional access policy", c.action.as_str()),
            ));
        }
        let complete = |l: &Value| l.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        let lists: Vec<&Value> = LISTS.iter().filter_map(|p| c.payload.pointer(p)).collect();
        if lists.is_empty() || !lists.iter().all(|l| complete(l)) {
            return Err(BadChange::new(
                KIND,
                "no complete exclusion list (conditions.applications.excludeApplications, conditions.users.excludeUsers or excludeGroups)",
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

    /// Every plan reads the policies: for the spec, or (when the spec does not) to take out what
    /// entractl's record says it excluded (the write of a plan's restore:
    /// crate::permissions::for_plan).
    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        let managed = desired
            .mfa
            .as_ref()
            .is_some_and(|m| m.manages_conditional_access());
        if !managed && !desired.password_sign_in() {
            needed.to_plan(
                graph::READ,
                "read the conditional access policies, to take out the exclusions entractl added (GET /identity/conditionalAccess/policies)",
            );
        }
        if desired.destroying() {
            needed.to_apply(
                graph::WRITE,
                "take out of conditional access policies the app, the placeholder app and the users and groups entractl excluded (PATCH /identity/conditionalAccess/policies/{id}; with Policy.Read.All)",
            );
            return;
        }
        if !managed && !desired.password_sign_in() {
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
        if managed {
            needed.to_apply(
                graph::WRITE,
                "add the app, the placeholder app or the app's users and groups to the exclusions of conditional access policies (PATCH /identity/conditionalAccess/policies/{id}; with Policy.Read.All)",
            );
        }
    }
}

/// Conditional access not managed by the spec (any more): the identities entractl added to
/// exclusions come out, and the app's exclusion when nothing needs password sign-in, or, for a
/// spec that still signs in with a password, from the policies that demand MFA of that sign-in
/// (the spec selects none of them), when the policies were read.
fn restore_only(cx: &PlanContext<'_>, out: &mut PlanOut) {
    let Some(mfa) = cx.observed.mfa.as_ref() else {
        return;
    };
    let CaObserved::Read { policies } = &mfa.conditional_access else {
        return;
    };
    let removals = super::ca_restore::unwanted(&cx.observed.records, |_, _| false);
    let every = super::ca_app_restore::unwanted_apps(cx);
    let stripped =
        super::ca_app_restore::without(&super::ca_restore::without(policies, &removals), &every);
    let target = super::ca_exclusion_plan::sign_in_target(cx);
    let how = Planning {
        target: &target,
        scope: &mfa.user_scope(),
        remedies: &Remedies {
            passport: cx.app_id().unwrap_or_default(),
            app: None,
            placeholder: None,
            identities: None,
        },
    };
    let apps = super::ca_app_deselect::app_restores(cx, every, (policies, &stripped), &how, out);
    // By name, so the plan's order does not depend on policy ids.
    let mut policies: Vec<&ConditionalAccessPolicy> = policies.iter().collect();
    policies.sort_by(|a, b| (a.display_name(), a.id()).cmp(&(b.display_name(), b.id())));
    super::ca_app_restore::adopted_notes(cx, &policies, out);
    for p in policies {
        let recorded = super::ca_restore::of(&removals, p);
        let destroying = cx.desired.destroying();
        if let Some(c) = super::ca_app_restore::restore(p, recorded, &apps.of(p), destroying) {
            out.changes.push(c);
        }
    }
    super::ca_restore::release_all(out, &removals);
}

fn policies(o: &Observed) -> &[ConditionalAccessPolicy] {
    o.mfa
        .as_ref()
        .map(|m| m.conditional_access.policies())
        .unwrap_or(&[])
}

/// Whether `c` adds an entry to a policy's `excludeUsers` or `excludeGroups` (what the record
/// keeps). Compared as the plan shows them, so an entry shown otherwise counts as added: on
/// doubt, the change waits for the record.
fn adds_identities(c: &Change) -> bool {
    c.fields
        .iter()
        .filter(|f| f.path.ends_with(".excludeUsers") || f.path.ends_with(".excludeGroups"))
        .any(|f| {
            let before = f.before.as_array().map(Vec::as_slice).unwrap_or_default();
            f.after
                .as_array()
                .is_some_and(|after| after.iter().any(|v| !before.contains(v)))
        })
}
