//! The sign-in forecast: for everyone who signs in to Passport, whether its password sign-in (Mac
//! Login) will work once the plan is applied, or what will demand MFA or block it. Pure: it
//! combines what fetch read (the baseline-scope setting, Conditional Access What-If answers) with
//! the tenant as the plan leaves it ([`crate::core::simulate::simulate_apply`]): per-user MFA,
//! security defaults, and the exclusions the plan adds. An estimate, as Microsoft calls What-If:
//! `verify-signin` with a real password stays the test.

mod options;
mod refusal;
mod target;
mod verdict;

pub use options::SignInOption;
pub use refusal::{REFUSED_CODE, Unreachable, unreachable_password};
pub use target::{AppScope, BaselineRead, SignInTarget};
pub use verdict::{Cause, Verdict};

use std::collections::BTreeMap;

use entractl_graph::resource::conditional_access_policy::ConditionalAccessPolicy as Policy;
use serde::{Deserialize, Serialize};

use crate::core::desired::{Desired, PassportMode};
use crate::core::observed::{ForecastUser, Observed, Sampling};

/// The forecast for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct UserForecast {
    pub id: String,
    pub user: String,
    pub verdict: Verdict,
    /// The user whose What-If answer stood for this one, when it was another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated_as: Option<String>,
}

/// The plan's sign-in forecast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SignInForecast {
    pub mode: PassportMode,
    /// What the forecast rests on, in words (empty for Web Login).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub basis: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserForecast>,
    /// Things that do not fail the sign-in today but may (report-only policies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl SignInForecast {
    /// Whether a password sign-in is forecast to fail for anyone.
    pub fn fails(&self) -> bool {
        self.users.iter().any(|u| !u.verdict.works())
    }

    /// What can let the failing sign-ins through (Web Login first): only what helps the reasons
    /// they fail for; empty when nobody's sign-in fails.
    pub fn option_list(&self) -> Vec<SignInOption> {
        options::list(self.users.iter().map(|u| &u.verdict))
    }

    /// [`SignInForecast::option_list`] in words.
    pub fn options(&self) -> String {
        options::words(&self.option_list())
    }

    /// How many users are forecast to fail.
    pub fn failing(&self) -> usize {
        self.users.iter().filter(|u| !u.verdict.works()).count()
    }
}

/// The forecast for the tenant as it is now (no plan applied): what `entractl verify` reports.
pub fn forecast_now(desired: &Desired, observed: &Observed) -> Option<SignInForecast> {
    forecast_of(desired, observed, observed, "the exclusions in place")
}

/// The forecast for `desired`, from the tenant `before` the plan and as the plan leaves it
/// (`after`). `None` when there is nothing to forecast: the spec needs no password sign-in and
/// says no mode, or the forecast's reads were not made.
pub fn forecast(desired: &Desired, before: &Observed, after: &Observed) -> Option<SignInForecast> {
    forecast_of(desired, before, after, "the exclusions this plan makes")
}

/// `exclusions`: which exclusions the verdicts count, in words (for the basis).
fn forecast_of(
    desired: &Desired,
    before: &Observed,
    after: &Observed,
    exclusions: &str,
) -> Option<SignInForecast> {
    if desired.passport_mode == Some(PassportMode::WebLogin) {
        return Some(web_login());
    }
    if !desired.password_sign_in() {
        return None;
    }
    let read = before
        .forecast
        .as_ref()
        .filter(|r| r.sampling != Sampling::NotEvaluated)?;
    let target = SignInTarget::new(read.baseline.clone(), &desired.app.passport_scopes());
    let tenant = verdict::TenantAfter::of(after, &target);
    let mut users = Vec::new();
    let mut report_only: BTreeMap<String, (&Policy, usize)> = BTreeMap::new();
    let refused = refusal::refused(before, after);
    for u in &read.users {
        let outcomes = read.what_if.get(&u.evaluated_as).map(Vec::as_slice);
        let (verdict, hits) = tenant.verdict(u, outcomes);
        // The password is checked before conditional access: a refused one decides.
        let verdict = match refused.get(&u.id.to_lowercase()) {
            Some(reason) => Verdict::Refused {
                code: REFUSED_CODE.to_string(),
                reason: reason.clone(),
            },
            None => verdict,
        };
        for h in hits {
            report_only
                .entry(h.policy.id().to_string())
                .or_insert((h.policy, 0))
                .1 += 1;
        }
        users.push(user_forecast(u, verdict));
    }
    // By what they say, so the order does not depend on policy ids.
    let mut warnings: Vec<String> = report_only
        .values()
        .map(|(p, n)| report_only_warning(p, *n))
        .collect();
    warnings.sort();
    Some(SignInForecast {
        mode: PassportMode::MacLogin,
        basis: basis(&target, read.users.len(), &read.sampling, exclusions),
        users,
        warnings,
    })
}

/// A report-only policy that would stop `n` users once switched on.
fn report_only_warning(p: &Policy, n: usize) -> String {
    let name = p.display_name();
    if p.is_microsoft_managed() {
        let when = match verdict::managed_switch_on(p) {
            Some(date) => format!(
                "from about {date} (an estimate: at least {} days after it appeared)",
                verdict::MANAGED_POLICY_GRACE_DAYS
            ),
            None => format!(
                "at least {} days after it appeared (its creation date is unknown)",
                verdict::MANAGED_POLICY_GRACE_DAYS
            ),
        };
        format!(
            "Microsoft-managed policy \"{name}\" is report-only today, and Microsoft may switch it on {when}; then {n} user(s) will need MFA for Passport's password sign-in. Switch it off, exclude the users (mfa.conditionalAccess.excludeUsers), or use Web Login"
        )
    } else {
        format!(
            "report-only policy \"{name}\" does not stop Passport's sign-in today; switched on, it would for {n} user(s)"
        )
    }
}

fn user_forecast(u: &ForecastUser, mut verdict: Verdict) -> UserForecast {
    // By what they say, so the order does not depend on policy ids or What-If's answer.
    if let Verdict::NeedsMfa { because: causes } | Verdict::Blocked { by: causes } = &mut verdict {
        causes.sort_by_key(Cause::describe);
    }
    UserForecast {
        id: u.id.clone(),
        user: u.label.clone(),
        verdict,
        evaluated_as: (u.evaluated_as != u.id).then(|| u.evaluated_as.clone()),
    }
}

fn web_login() -> SignInForecast {
    SignInForecast {
        mode: PassportMode::WebLogin,
        basis: vec![
            "Web Login: Passport shows the Entra sign-in page, so MFA and conditional access stay in force and run at login; entractl weakens none of them".to_string(),
        ],
        users: Vec::new(),
        warnings: Vec::new(),
    }
}

fn basis(
    target: &SignInTarget,
    users: usize,
    sampling: &Sampling,
    exclusions: &str,
) -> Vec<String> {
    let how = match sampling {
        Sampling::Everyone => format!("each of the {users} user(s) who can sign in evaluated"),
        Sampling::NotEvaluated => "nobody evaluated".to_string(),
        Sampling::OnePerGroupCombination { combinations } => format!(
            "{users} users can sign in: one user evaluated per combination of the groups that matter ({combinations}); directory roles are not read, so a user holding a role a policy names may fare worse than the user evaluated for them"
        ),
    };
    if users == 0 {
        return vec![target.describe()];
    }
    vec![
        target.describe(),
        format!(
            "an estimate: Conditional Access What-If (macOS, desktop client, no compliant device; {how}) combined with per-user MFA, security defaults and {exclusions}; `entractl verify-signin` with a real password is the test"
        ),
    ]
}

#[cfg(test)]
pub(crate) mod tests;
