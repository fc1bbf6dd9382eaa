//! What the sign-in forecast read: the tenant's baseline-scope setting, who signs in (with the
//! groups that matter to conditional access), and the What-If answer for each user evaluated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use entractl_graph::resource::conditional_access_settings::BaselineScopes;

/// One user who can sign in to the app, as the forecast sees them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForecastUser {
    /// Object id (lower case).
    pub id: String,
    /// UPN when known, else the id.
    pub label: String,
    /// Groups (lower-case ids) the user is in that policies name or that are assigned to the app.
    pub groups: Vec<String>,
    /// The user whose What-If answer stands for this one (itself when evaluated).
    pub evaluated_as: String,
}

/// One policy of a What-If answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyOutcome {
    pub policy_id: String,
    pub applies: bool,
    /// Graph's `analysisReasons` (why not).
    pub reasons: String,
}

/// How the users evaluated were chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Sampling {
    /// Every user was evaluated.
    Everyone,
    /// One user per combination of the groups that matter (policy groups and assigned groups,
    /// and being named by a policy); directory roles are not read, so a user holding a role a
    /// policy names may fare worse than the user evaluated for them.
    OnePerGroupCombination { combinations: usize },
    /// No What-If evaluation was made (apply's read-back checks convergence only): no verdicts.
    NotEvaluated,
}

/// What the forecast read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedForecast {
    pub baseline: BaselineRead,
    /// Everyone who can sign in after apply, by id.
    pub users: Vec<ForecastUser>,
    /// The What-If answer per evaluated user (by id).
    pub what_if: BTreeMap<String, Vec<PolicyOutcome>>,
    pub sampling: Sampling,
}

/// The tenant's baseline-scope setting as entractl knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum BaselineRead {
    /// Read from the beta settings' undocumented `advancedSettings.baselineScopes`.
    Read { setting: BaselineScopes },
    /// Not readable (the read failed: beta unavailable, not permitted): enforcement assumed.
    Unreadable { reason: String },
}

impl BaselineRead {
    /// The setting that counts: what was read, else enforcement (the default since the
    /// rollout; assuming it never claims that a weakened policy lets a sign-in through).
    pub fn effective(&self) -> BaselineScopes {
        match self {
            BaselineRead::Read { setting } => setting.clone(),
            BaselineRead::Unreadable { .. } => BaselineScopes::Enforced,
        }
    }

    /// In words, for plans.
    pub fn describe(&self) -> String {
        match self {
            BaselineRead::Read { setting } => format!(
                "the tenant's baseline-scope setting is {} (read from the conditional access settings' undocumented advancedSettings.baselineScopes)",
                setting.describe()
            ),
            BaselineRead::Unreadable { reason } => format!(
                "the tenant's baseline-scope setting could not be read ({reason}): enforcement is assumed"
            ),
        }
    }
}
