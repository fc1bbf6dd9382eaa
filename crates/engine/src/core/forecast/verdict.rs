//! One user's verdict: the What-If answer of the user evaluated for them, read against the
//! tenant as the plan leaves it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use entractl_graph::resource::authentication_requirements as requirements;
use entractl_graph::resource::conditional_access_policy::{
    ConditionalAccessPolicy as Policy, list_contains as contains,
};
use serde::{Deserialize, Serialize};

use super::target::SignInTarget;
use crate::core::observed::{ForecastUser, Observed, PolicyOutcome};
use crate::core::policy::{MfaRequirement, PolicyState, blocks, policy_state, requires_mfa};

/// Days after a Microsoft-managed policy appears in report-only before Microsoft may switch it
/// on (entra-docs `managed-policies.md`: "no less than" — 30 days in the current text, 45 in an
/// earlier one; the earlier date is the safe estimate).
pub const MANAGED_POLICY_GRACE_DAYS: i64 = 30;

/// What stops a password sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Cause {
    /// A conditional access policy (`demand`: `mfa`, `block`, or the controls a password sign-in
    /// cannot satisfy).
    #[serde(rename_all = "camelCase")]
    Policy {
        id: String,
        name: String,
        demand: String,
    },
    /// The user's per-user MFA state (`enabled` or `enforced`).
    PerUserMfa { state: String },
    /// Security defaults are on.
    SecurityDefaults,
}

impl Cause {
    /// In words.
    pub fn describe(&self) -> String {
        match self {
            Cause::Policy { name, demand, .. } => match demand.as_str() {
                "block" => format!("conditional access policy \"{name}\" blocks it"),
                "mfa" => format!("conditional access policy \"{name}\" requires MFA"),
                other => format!(
                    "conditional access policy \"{name}\" requires {other}, which a password sign-in cannot present"
                ),
            },
            Cause::PerUserMfa { state } => format!("per-user MFA is {state}"),
            Cause::SecurityDefaults => "security defaults are on".to_string(),
        }
    }
}

/// Whether a user's password sign-in works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Verdict {
    /// Nothing the forecast sees stops it.
    Works,
    /// MFA (or a control a password cannot satisfy) will be demanded: AADSTS50076.
    NeedsMfa { because: Vec<Cause> },
    /// Blocked (AADSTS53003).
    Blocked { by: Vec<Cause> },
    /// The password itself is refused before conditional access runs (`code`, e.g. AADSTS50126).
    Refused { code: String, reason: String },
    /// No What-If answer for the user (it was not evaluated).
    Unknown { reason: String },
}

impl Verdict {
    pub fn works(&self) -> bool {
        matches!(self, Verdict::Works)
    }

    /// In words.
    pub fn describe(&self) -> String {
        let list = |c: &[Cause]| c.iter().map(Cause::describe).collect::<Vec<_>>().join("; ");
        match self {
            Verdict::Works => "password sign-in will work".to_string(),
            Verdict::NeedsMfa { because } => {
                format!("will need MFA (AADSTS50076): {}", list(because))
            }
            Verdict::Blocked { by } => format!("will be blocked (AADSTS53003): {}", list(by)),
            Verdict::Refused { code, reason } => {
                format!(
                    "will be refused ({code}): the password grant cannot check the password: {reason}"
                )
            }
            Verdict::Unknown { reason } => format!("unknown: {reason}"),
        }
    }
}

/// The tenant as the plan leaves it, as far as the sign-in goes.
pub(super) struct TenantAfter<'a> {
    target: &'a SignInTarget,
    policies: Vec<&'a Policy>,
    security_defaults: bool,
    per_user: BTreeMap<String, String>,
}

/// A report-only policy that would stop a user's sign-in once switched on.
pub(super) struct ReportOnlyHit<'a> {
    pub policy: &'a Policy,
}

impl<'a> TenantAfter<'a> {
    pub fn of(after: &'a Observed, target: &'a SignInTarget) -> TenantAfter<'a> {
        let mfa = after.mfa.as_ref();
        let policies = mfa
            .map(|m| m.conditional_access.policies().iter().collect())
            .unwrap_or_default();
        TenantAfter {
            target,
            policies,
            security_defaults: mfa.and_then(|m| m.security_defaults_enabled()) == Some(true),
            per_user: mfa
                .map(|m| {
                    m.per_user
                        .iter()
                        .map(|s| (s.user.id.to_lowercase(), s.state.to_lowercase()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The verdict for `user`, whose evaluated user's What-If answer is `outcomes`, and the
    /// report-only policies that would stop them once switched on.
    pub fn verdict(
        &self,
        user: &ForecastUser,
        outcomes: Option<&[PolicyOutcome]>,
    ) -> (Verdict, Vec<ReportOnlyHit<'a>>) {
        let Some(outcomes) = outcomes else {
            return (
                Verdict::Unknown {
                    reason: "no What-If answer for this user".to_string(),
                },
                Vec::new(),
            );
        };
        let (mut blocked, mut mfa, mut hits) = (Vec::new(), Vec::new(), Vec::new());
        for p in self.applying(user, outcomes) {
            let Some(demand) = demand(p) else { continue };
            if policy_state(p) == PolicyState::ReportOnly {
                hits.push(ReportOnlyHit { policy: p });
                continue;
            }
            let cause = Cause::Policy {
                id: p.id().to_string(),
                name: p.display_name().to_string(),
                demand: demand.clone(),
            };
            if demand == "block" {
                blocked.push(cause);
            } else {
                mfa.push(cause);
            }
        }
        if !blocked.is_empty() {
            return (Verdict::Blocked { by: blocked }, hits);
        }
        let mut because = Vec::new();
        if self.security_defaults {
            because.push(Cause::SecurityDefaults);
        }
        if let Some(s) = self.per_user.get(&user.id)
            && s != requirements::DISABLED
        {
            because.push(Cause::PerUserMfa { state: s.clone() });
        }
        because.extend(mfa);
        let verdict = if because.is_empty() {
            Verdict::Works
        } else {
            Verdict::NeedsMfa { because }
        };
        (verdict, hits)
    }

    /// The policies (not disabled) that apply to `user`'s sign-in once the plan is applied: the
    /// What-If answer says so, and neither an application nor an identity exclusion (as the
    /// plan leaves them) takes the sign-in out.
    fn applying<'s>(
        &'s self,
        user: &'s ForecastUser,
        outcomes: &'s [PolicyOutcome],
    ) -> impl Iterator<Item = &'a Policy> + 's {
        self.policies.iter().copied().filter(move |p| {
            policy_state(p) != PolicyState::Disabled
                && outcomes
                    .iter()
                    .any(|o| o.applies && o.policy_id.eq_ignore_ascii_case(p.id()))
                && self.target.app_scope(p).applies()
                && !identity_excluded(p, user)
        })
    }
}

/// Whether `user` is in the policy's `excludeUsers`, or in a group of its `excludeGroups`.
pub(super) fn identity_excluded(p: &Policy, user: &ForecastUser) -> bool {
    contains(&p.users("excludeUsers"), &user.id)
        || user
            .groups
            .iter()
            .any(|g| contains(&p.users("excludeGroups"), g))
}

/// What the policy demands of a password sign-in it applies to: `block`, `mfa`, other grant
/// controls (which a password sign-in cannot satisfy either), or nothing (session controls only).
fn demand(p: &Policy) -> Option<String> {
    if blocks(p) {
        return Some("block".to_string());
    }
    if requires_mfa(p) != MfaRequirement::No {
        return Some("mfa".to_string());
    }
    let g = p.grant_controls()?;
    let controls: Vec<&str> = g
        .built_in
        .iter()
        .copied()
        .filter(|c| !c.trim().is_empty())
        .collect();
    (!controls.is_empty()).then(|| controls.join(" and "))
}

/// The earliest date Microsoft may switch a report-only managed policy on (an estimate).
pub(super) fn managed_switch_on(p: &Policy) -> Option<String> {
    let created: DateTime<Utc> = p.created_date_time()?.parse().ok()?;
    Some(
        (created + Duration::days(MANAGED_POLICY_GRACE_DAYS))
            .format("%Y-%m-%d")
            .to_string(),
    )
}
