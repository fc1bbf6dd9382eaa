//! What can let the failing password sign-ins through, from why they fail: an exclusion from
//! conditional access only for a policy's demand, the per-user MFA or security defaults setting
//! for those, the fix of a refused password (never an exclusion: the password is refused before
//! conditional access is evaluated). Web Login helps everyone.

use super::refusal;
use super::verdict::{Cause, Verdict};

/// Web Login, then what helps the users with these verdicts whose sign-in fails, once each, in a
/// fixed order, in words.
pub fn options<'a>(verdicts: impl Iterator<Item = &'a Verdict>) -> String {
    let mut out = vec!["Web Login (passport.mode: web-login, recommended: MFA stays)".to_string()];
    let failing: Vec<&Verdict> = verdicts.filter(|v| !v.works()).collect();
    let causes: Vec<&Cause> = failing
        .iter()
        .flat_map(|v| match v {
            Verdict::NeedsMfa { because } => because.as_slice(),
            Verdict::Blocked { by } => by.as_slice(),
            _ => &[],
        })
        .collect();
    if causes.iter().any(|c| matches!(c, Cause::Policy { .. })) {
        out.push("exclude the users from the policies (mfa.conditionalAccess.excludeUsers)".into());
        out.push(
            "a placeholder (mfa.conditionalAccess.placeholder, \"Customize behavior\")".into(),
        );
    }
    if causes.iter().any(|c| matches!(c, Cause::PerUserMfa { .. })) {
        out.push(
            "per-user MFA off for the app's users (mfa.perUserMfa: disabled-for-app-users)".into(),
        );
    }
    if causes.iter().any(|c| matches!(c, Cause::SecurityDefaults)) {
        out.push("security defaults off (mfa.securityDefaults: disabled)".into());
    }
    let mut refused: Vec<&str> = failing
        .iter()
        .filter_map(|v| match v {
            Verdict::Refused { reason, .. } => Some(refusal::fix(reason)),
            _ => None,
        })
        .collect();
    refused.sort_unstable();
    refused.dedup();
    out.extend(refused.iter().map(|s| s.to_string()));
    let mut text = out.join("; or ");
    if !refused.is_empty() {
        text.push_str(". No exclusion helps a refused password: it is refused before conditional access is evaluated");
    }
    text
}
