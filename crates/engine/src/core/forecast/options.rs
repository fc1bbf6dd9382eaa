//! What can let the failing password sign-ins through, from why they fail: an exclusion from
//! conditional access only for a policy's demand, the per-user MFA or security defaults setting
//! for those, the fix of a refused password (never an exclusion: the password is refused before
//! conditional access is evaluated). Web Login helps everyone.

use serde::Serialize;

use super::refusal;
use super::verdict::{Cause, Verdict};

/// One thing that can let failing password sign-ins through (the JSON plan's
/// `sign_in_forecast.options[].kind`, `docs/plan-format.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignInOption {
    /// Web Login: MFA stays (always offered first).
    WebLogin,
    /// Exclude the users from the policies that demand MFA.
    ExcludeUsers,
    /// A placeholder app for "Customize behavior".
    Placeholder,
    /// Legacy per-user MFA off for the app's users.
    PerUserMfaOff,
    /// Security defaults off.
    SecurityDefaultsOff,
    /// A guest: assign the person's own account in this tenant.
    OwnAccount,
    /// A federated user: a home realm discovery policy that allows cloud password validation.
    CloudPasswordValidation,
    /// A password the password grant cannot check otherwise: only Web Login.
    WebLoginOnly,
}

impl SignInOption {
    /// The spec setting that makes it, when the spec has one.
    pub fn setting(self) -> Option<&'static str> {
        match self {
            Self::WebLogin | Self::WebLoginOnly => Some("passport.mode: web-login"),
            Self::ExcludeUsers => Some("mfa.conditionalAccess.excludeUsers"),
            Self::Placeholder => Some("mfa.conditionalAccess.placeholder"),
            Self::PerUserMfaOff => Some("mfa.perUserMfa: disabled-for-app-users"),
            Self::SecurityDefaultsOff => Some("mfa.securityDefaults: disabled"),
            Self::OwnAccount | Self::CloudPasswordValidation => None,
        }
    }

    /// In words, as the text and Markdown plans show it.
    pub fn text(self) -> &'static str {
        match self {
            Self::WebLogin => "Web Login (passport.mode: web-login, recommended: MFA stays)",
            Self::ExcludeUsers => {
                "exclude the users from the policies (mfa.conditionalAccess.excludeUsers)"
            }
            Self::Placeholder => {
                "a placeholder (mfa.conditionalAccess.placeholder, \"Customize behavior\")"
            }
            Self::PerUserMfaOff => {
                "per-user MFA off for the app's users (mfa.perUserMfa: disabled-for-app-users)"
            }
            Self::SecurityDefaultsOff => "security defaults off (mfa.securityDefaults: disabled)",
            Self::OwnAccount => {
                "for guests, assign the person's own account in this tenant instead"
            }
            Self::CloudPasswordValidation => {
                "for users of federated domains, a home realm discovery policy with \"AllowCloudPasswordValidation\": true assigned to the app or made the organization's default (it needs password hash sync)"
            }
            Self::WebLoginOnly => {
                "for accounts whose password the password grant cannot check, Web Login only"
            }
        }
    }

    /// Whether it fixes a refused password (no exclusion does).
    fn for_refused(self) -> bool {
        matches!(
            self,
            Self::OwnAccount | Self::CloudPasswordValidation | Self::WebLoginOnly
        )
    }
}

/// What can let a refused password through, for the reason [`refusal::refused`] gave: never an
/// exclusion (the password is refused before conditional access is evaluated).
fn refused_fix(reason: &str) -> SignInOption {
    if reason == refusal::GUEST {
        SignInOption::OwnAccount
    } else if reason.starts_with(refusal::FEDERATED) {
        SignInOption::CloudPasswordValidation
    } else {
        SignInOption::WebLoginOnly
    }
}

/// Web Login, then what helps the users with these verdicts whose sign-in fails, once each, in a
/// fixed order (the fixes of refused passwords last, by their words). Empty when nobody's
/// sign-in fails.
pub fn list<'a>(verdicts: impl Iterator<Item = &'a Verdict>) -> Vec<SignInOption> {
    let failing: Vec<&Verdict> = verdicts.filter(|v| !v.works()).collect();
    if failing.is_empty() {
        return Vec::new();
    }
    let causes: Vec<&Cause> = failing
        .iter()
        .flat_map(|v| match v {
            Verdict::NeedsMfa { because } => because.as_slice(),
            Verdict::Blocked { by } => by.as_slice(),
            _ => &[],
        })
        .collect();
    let any = |f: fn(&Cause) -> bool| causes.iter().any(|c| f(c));
    let mut out = vec![SignInOption::WebLogin];
    if any(|c| matches!(c, Cause::Policy { .. })) {
        out.extend([SignInOption::ExcludeUsers, SignInOption::Placeholder]);
    }
    if any(|c| matches!(c, Cause::PerUserMfa { .. })) {
        out.push(SignInOption::PerUserMfaOff);
    }
    if any(|c| matches!(c, Cause::SecurityDefaults)) {
        out.push(SignInOption::SecurityDefaultsOff);
    }
    let mut refused: Vec<SignInOption> = failing
        .iter()
        .filter_map(|v| match v {
            Verdict::Refused { reason, .. } => Some(refused_fix(reason)),
            _ => None,
        })
        .collect();
    refused.sort_unstable_by_key(|o| o.text());
    refused.dedup();
    out.extend(refused);
    out
}

/// The options in words, one sentence (Web Login first when nobody fails either).
pub fn words(options: &[SignInOption]) -> String {
    let texts: Vec<&str> = match options {
        [] => vec![SignInOption::WebLogin.text()],
        _ => options.iter().map(|o| o.text()).collect(),
    };
    let mut text = texts.join("; or ");
    if options.iter().any(|o| o.for_refused()) {
        text.push_str(". No exclusion helps a refused password: it is refused before conditional access is evaluated");
    }
    text
}
