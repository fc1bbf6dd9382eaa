//! The sign-in forecast section, shared by the text and Markdown plans: users grouped by verdict
//! (failures first), a few named per group, then what to do when someone's sign-in will fail.

use crate::core::desired::PassportMode;
use serde::Serialize;

use crate::core::forecast::{SignInForecast, SignInOption, UserForecast};

/// Users named per verdict; the rest are counted.
pub const USERS_SHOWN: usize = 5;

/// One verdict and who gets it.
pub(super) struct Group<'a> {
    pub works: bool,
    pub verdict: String,
    pub users: Vec<&'a UserForecast>,
}

impl Group<'_> {
    /// The users named, and how many more.
    pub fn who(&self) -> String {
        let names: Vec<String> = self
            .users
            .iter()
            .take(USERS_SHOWN)
            .map(|u| match &u.evaluated_as {
                Some(_) => format!("{} (estimated from another user)", u.user),
                None => u.user.clone(),
            })
            .collect();
        let more = self.users.len().saturating_sub(USERS_SHOWN);
        if more > 0 {
            format!("{} and {more} more", names.join(", "))
        } else {
            names.join(", ")
        }
    }
}

/// The users grouped by verdict, failures first, then by size.
pub(super) fn groups(f: &SignInForecast) -> Vec<Group<'_>> {
    let mut out: Vec<Group<'_>> = Vec::new();
    for u in &f.users {
        let verdict = u.verdict.describe();
        match out.iter_mut().find(|g| g.verdict == verdict) {
            Some(g) => g.users.push(u),
            None => out.push(Group {
                works: u.verdict.works(),
                verdict,
                users: vec![u],
            }),
        }
    }
    out.sort_by(|a, b| {
        a.works
            .cmp(&b.works)
            .then_with(|| b.users.len().cmp(&a.users.len()))
            .then_with(|| a.verdict.cmp(&b.verdict))
    });
    out
}

/// One option in the JSON documents (`docs/plan-format.md`).
#[derive(Serialize)]
struct OptionJson {
    kind: SignInOption,
    #[serde(skip_serializing_if = "Option::is_none")]
    setting: Option<&'static str>,
    text: &'static str,
}

/// The forecast in the JSON documents (plan and verify): what the plan keeps, with what it
/// implies (`fails`, `options`: computed, so saved plans stay as they were).
pub(super) fn json(f: &SignInForecast) -> serde_json::Value {
    let options: Vec<OptionJson> = f
        .option_list()
        .into_iter()
        .map(|kind| OptionJson {
            kind,
            setting: kind.setting(),
            text: kind.text(),
        })
        .collect();
    serde_json::json!({
        "fails": f.fails(),
        "mode": f.mode,
        "basis": f.basis,
        "users": f.users,
        "warnings": f.warnings,
        "options": options,
    })
}

/// The section's title.
pub(super) fn title(f: &SignInForecast) -> &'static str {
    match f.mode {
        PassportMode::WebLogin => "Sign-in (Web Login)",
        PassportMode::MacLogin => "Sign-in forecast (Mac Login: password sign-in; an estimate)",
    }
}

/// The one-line outcome (Mac Login).
pub(super) fn outcome(f: &SignInForecast) -> Option<String> {
    if f.mode != PassportMode::MacLogin {
        return None;
    }
    let total = f.users.len();
    Some(match (total, f.failing()) {
        (0, _) => "nobody can sign in to the app yet (no assigned users, or no members in the assigned groups): nothing to forecast".to_string(),
        (_, 0) => format!("password sign-in forecast to work for all {total} user(s)"),
        (_, n) => format!(
            "password sign-in forecast to FAIL for {n} of {total} user(s). Options: {}; see docs/mfa.md",
            f.options()
        ),
    })
}
