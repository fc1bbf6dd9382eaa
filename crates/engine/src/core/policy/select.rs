//! Which conditional access policies the app must be excluded from, with a reason for every
//! policy (the ones left alone too).

use entractl_graph::resource::conditional_access_policy::{
    ConditionalAccessPolicy as Policy, WINDOWS_AZURE_ACTIVE_DIRECTORY as AZURE_AD_GRAPH,
};
use serde::Serialize;
use serde_json::Value;

use super::grant::{MfaRequirement, blocks, describe_grant, requires_mfa};
use super::target::{
    AppTargeting, Coverage, PolicyState, UserScope, app_targeting, authentication_flows,
    client_app_types_cover_ropc, covers_users, policy_state,
};
use crate::core::desired::CaSelection as Selection;

/// What entractl does with one policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Add the app to the policy's `excludeApplications` (a security downgrade).
    Exclude,
    /// The app is already excluded: nothing to do.
    AlreadyExcluded,
    /// The policy blocks the app's sign-ins (AADSTS53003). Reported, never excluded
    /// automatically: name it in `excludeApp` if that is really wanted.
    Blocks,
    /// Left alone.
    Skip,
}

/// Why a policy got its [`Verdict`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Reason {
    /// Requires MFA (or MFA among OR-ed controls), applies to the app, its client type and at
    /// least one of its users.
    RequiresMfa {
        requirement: MfaRequirement,
        coverage: Coverage,
    },
    /// Blocks access and applies to the app and at least one of its users.
    BlocksSignIn { coverage: Coverage },
    /// `excludeApplications` already lists the app.
    AlreadyExcluded,
    /// `state: disabled`: not evaluated by Entra, not touched.
    Disabled,
    /// The grant controls do not ask for MFA and do not block.
    NoMfa { grant: String },
    /// The policy does not target the app's sign-ins.
    AppNotTargeted { targeting: AppTargeting },
    /// `clientAppTypes` leaves out desktop apps (`mobileAppsAndDesktopClients`).
    ClientAppTypes { client_app_types: Vec<String> },
    /// Limited to device code or authentication transfer flows, never a password sign-in.
    AuthenticationFlows { transfer_methods: String },
    /// None of the app's users is covered.
    UsersNotCovered { coverage: Coverage },
    /// Named in the spec.
    Named,
    /// Not named in the spec (which names its policies).
    NotNamed,
    /// The spec names this display name, and more than one policy has it: entractl does not
    /// guess; name the policy by id.
    AmbiguousName { name: String },
}

/// The decision for one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDecision {
    /// The policy's id (empty when the object has none, e.g. a template).
    pub id: String,
    pub display_name: String,
    pub state: PolicyState,
    pub requirement: MfaRequirement,
    pub verdict: Verdict,
    pub reason: Reason,
    /// Plan notes: explicit decisions a reviewer should see (report-only, OR-ed controls, extra
    /// conditions, a named policy that does not require MFA, …).
    pub notes: Vec<String>,
}

impl PolicyDecision {
    /// The reason in words.
    pub fn reason_text(&self) -> String {
        match &self.reason {
            Reason::RequiresMfa {
                requirement,
                coverage,
            } => {
                let what = match requirement {
                    MfaRequirement::OneOfSeveral => "MFA is one of several OR-ed controls",
                    _ => "requires MFA",
                };
                format!("{what}; applies to the app; {}", coverage.describe())
            }
            Reason::BlocksSignIn { coverage } => format!(
                "blocks access (AADSTS53003) and applies to the app; {}; not excluded automatically (name it in mfa.conditionalAccess.excludeApp to exclude it)",
                coverage.describe()
            ),
            Reason::AlreadyExcluded => "the app is already excluded".to_string(),
            Reason::Disabled => "disabled: not evaluated by Entra, left alone".to_string(),
            Reason::NoMfa { grant } => {
                format!("does not require MFA (grant controls: {grant})")
            }
            Reason::AppNotTargeted { targeting } => targeting.describe(),
            Reason::ClientAppTypes { client_app_types } => format!(
                "client app types {} do not include desktop apps (the password sign-in Passport uses)",
                client_app_types.join(", ")
            ),
            Reason::AuthenticationFlows { transfer_methods } => format!(
                "applies only to the authentication flows {transfer_methods} (not the password sign-in Passport uses)"
            ),
            Reason::UsersNotCovered { coverage } => coverage.describe(),
            Reason::Named => "named in mfa.conditionalAccess.excludeApp".to_string(),
            Reason::NotNamed => "not named in mfa.conditionalAccess.excludeApp".to_string(),
            Reason::AmbiguousName { name } => format!(
                "several policies are named \"{name}\": name the one to change by its id in mfa.conditionalAccess.excludeApp"
            ),
        }
    }
}

/// A spec's policy names that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// A name or id matches no policy of the tenant.
    #[error(
        "mfa.conditionalAccess.{field} names \"{name}\", but no conditional access policy of the tenant has that display name or id; fix the name in the spec (policies: {known})"
    )]
    NotFound {
        field: &'static str,
        name: String,
        known: String,
    },
    /// A display name matches several policies.
    #[error(
        "mfa.conditionalAccess.{field} names \"{name}\", and {count} policies have that display name; name the one to change by its id instead ({ids})"
    )]
    Ambiguous {
        field: &'static str,
        name: String,
        count: usize,
        ids: String,
    },
}

fn id_of(policy: &Policy) -> &str {
    policy.id()
}

fn name_of(policy: &Policy) -> &str {
    policy.display_name()
}

fn same(a: &str, b: &str) -> bool {
    !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(b.trim())
}

/// The policies a name of the spec matches: the policy with that id, or else every policy with
/// that display name.
fn matches<'a>(policies: &'a [Policy], name: &str) -> Vec<&'a Policy> {
    let by_id: Vec<&Policy> = policies.iter().filter(|p| same(id_of(p), name)).collect();
    if !by_id.is_empty() {
        return by_id;
    }
    policies.iter().filter(|p| same(name_of(p), name)).collect()
}

/// Checks a named selection against the tenant's policies: every name must match exactly one
/// policy. `Auto` always passes. Returns every problem, in the spec's order.
pub fn check_selection(
    policies: &[Policy],
    selection: &Selection,
    field: &'static str,
) -> Vec<SelectionError> {
    let Selection::Named(names) = selection else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    for name in names {
        let found = matches(policies, name);
        match found.len() {
            0 => {
                let mut known: Vec<&str> = policies.iter().map(name_of).collect();
                known.sort_unstable();
                errors.push(SelectionError::NotFound {
                    field,
                    name: name.clone(),
                    known: if known.is_empty() {
                        "the tenant has none".to_string()
                    } else {
                        known.join(", ")
                    },
                });
            }
            1 => {}
            count => errors.push(SelectionError::Ambiguous {
                field,
                name: name.clone(),
                count,
                ids: found
                    .iter()
                    .map(|p| id_of(p))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
    errors
}

/// Decides, for every policy, whether the app `app_id` must be excluded from it, and why.
///
/// The result is sorted by display name (ignoring case), then id: the same tenant gives the same
/// plan whatever order Graph lists its policies in.
///
/// With [`Selection::FromPoliciesRequiringMfa`] a policy is excluded when it is not disabled, requires MFA
/// ([`MfaRequirement::Required`] or [`MfaRequirement::OneOfSeveral`]), applies to the app, to
/// desktop clients and to at least one of `scope`. Report-only policies are excluded too, so that
/// switching them on later does not break Passport; each gets a note. Block policies that apply
/// are reported as [`Verdict::Blocks`], never excluded.
///
/// With [`Selection::Named`] exactly the named policies are excluded (whatever their state and
/// controls, with a note when they look unnecessary); a display name that several policies share
/// excludes none of them ([`Reason::AmbiguousName`]); see [`check_selection`].
pub fn select_policies(
    policies: &[Policy],
    app_id: &str,
    scope: &UserScope,
    selection: &Selection,
) -> Vec<PolicyDecision> {
    let mut decisions: Vec<PolicyDecision> = policies
        .iter()
        .map(|p| decide(policies, p, app_id, scope, selection))
        .collect();
    decisions.sort_by(|a, b| {
        a.display_name
            .to_lowercase()
            .cmp(&b.display_name.to_lowercase())
            .then_with(|| a.display_name.cmp(&b.display_name))
            .then_with(|| a.id.cmp(&b.id))
    });
    decisions
}

/// The decision for one policy: first what the selection says, then the notes a reviewer
/// should see.
fn decide(
    all: &[Policy],
    policy: &Policy,
    app_id: &str,
    scope: &UserScope,
    selection: &Selection,
) -> PolicyDecision {
    let d = PolicyDecision {
        id: id_of(policy).to_string(),
        display_name: name_of(policy).to_string(),
        state: policy_state(policy),
        requirement: requires_mfa(policy),
        verdict: Verdict::Skip,
        reason: Reason::Disabled,
        notes: Vec::new(),
    };
    let targeting = app_targeting(policy, app_id);
    match selection {
        Selection::Named(names) => decide_named(d, all, policy, names, targeting),
        Selection::FromPoliciesRequiringMfa => decide_requiring_mfa(d, policy, scope, targeting),
    }
}

/// [`Selection::Named`]: exactly the policies the spec names (by id, or by a display name no
/// other policy has), with a note on each that looks unnecessary.
fn decide_named(
    mut d: PolicyDecision,
    all: &[Policy],
    policy: &Policy,
    names: &[String],
    targeting: AppTargeting,
) -> PolicyDecision {
    let named: Vec<&String> = names
        .iter()
        .filter(|n| matches(all, n).iter().any(|p| std::ptr::eq(*p, policy)))
        .collect();
    if named.is_empty() {
        d.reason = Reason::NotNamed;
        return d;
    }
    if let Some(name) = named
        .iter()
        .find(|n| !same(id_of(policy), n) && matches(all, n).len() > 1)
    {
        d.reason = Reason::AmbiguousName {
            name: name.to_string(),
        };
        return d;
    }
    if targeting == AppTargeting::AlreadyExcluded {
        d.verdict = Verdict::AlreadyExcluded;
        d.reason = Reason::AlreadyExcluded;
        return d;
    }
    d.verdict = Verdict::Exclude;
    d.reason = Reason::Named;
    if d.state == PolicyState::Disabled {
        d.notes.push(
            "the policy is disabled; it is excluded as the spec asks, so enabling it later does not affect Passport".to_string(),
        );
    }
    if !d.requirement.counts_for_exclusion() && !blocks(policy) {
        d.notes.push(format!(
            "the policy does not require MFA (grant controls: {}); excluded as the spec asks",
            describe_grant(policy)
        ));
    }
    if blocks(policy) {
        d.notes.push("the policy blocks access; excluding the app lets Passport's sign-ins through it, as the spec asks".to_string());
    }
    if !targeting.applies() {
        d.notes.push(format!(
            "the policy does not apply to the app's sign-ins today ({}); the exclusion changes nothing now",
            targeting.describe()
        ));
    }
    add_common_notes(&mut d, policy);
    d
}

/// [`Selection::FromPoliciesRequiringMfa`]: the first test the policy fails (enabled, requires
/// MFA or blocks, targets the app and does not exclude it yet, desktop clients, password
/// sign-in flows, the app's users) is its reason to be left alone; a block policy that passes
/// them all is reported, any other is excluded.
fn decide_requiring_mfa(
    mut d: PolicyDecision,
    policy: &Policy,
    scope: &UserScope,
    targeting: AppTargeting,
) -> PolicyDecision {
    if d.state == PolicyState::Disabled {
        d.reason = Reason::Disabled;
        return d;
    }
    let block = blocks(policy);
    if !block && !d.requirement.counts_for_exclusion() {
        d.reason = Reason::NoMfa {
            grant: describe_grant(policy),
        };
        return d;
    }
    match targeting {
        AppTargeting::AlreadyExcluded => {
            d.verdict = Verdict::AlreadyExcluded;
            d.reason = Reason::AlreadyExcluded;
            return d;
        }
        t if !t.applies() => {
            d.notes.extend(azure_ad_graph_note(&t));
            d.reason = Reason::AppNotTargeted { targeting: t };
            return d;
        }
        _ => {}
    }
    if !client_app_types_cover_ropc(policy) {
        d.reason = Reason::ClientAppTypes {
            client_app_types: policy
                .client_app_types()
                .into_iter()
                .map(str::to_string)
                .collect(),
        };
        return d;
    }
    if let Some(transfer_methods) = authentication_flows(policy) {
        d.reason = Reason::AuthenticationFlows { transfer_methods };
        return d;
    }
    let coverage = covers_users(policy, scope);
    if !coverage.covers_any() {
        d.reason = Reason::UsersNotCovered { coverage };
        return d;
    }
    if block {
        d.verdict = Verdict::Blocks;
        d.reason = Reason::BlocksSignIn { coverage };
        return d;
    }
    exclude_requiring_mfa(d, policy, coverage)
}

/// A policy that requires MFA of the app's password sign-in: excluded.
fn exclude_requiring_mfa(
    mut d: PolicyDecision,
    policy: &Policy,
    coverage: Coverage,
) -> PolicyDecision {
    d.verdict = Verdict::Exclude;
    d.reason = Reason::RequiresMfa {
        requirement: d.requirement,
        coverage,
    };
    if d.requirement == MfaRequirement::OneOfSeveral {
        d.notes.push(format!(
            "MFA is one of several OR-ed controls ({}); Passport's password sign-in from a Mac can satisfy none of them, so entractl treats it as requiring MFA",
            describe_grant(policy)
        ));
    }
    add_common_notes(&mut d, policy);
    d
}

/// The note for a policy that targets Windows Azure Active Directory but not the app: since
/// Microsoft's 2026 change it applies to Passport's sign-ins all the same.
fn azure_ad_graph_note(targeting: &AppTargeting) -> Option<String> {
    let AppTargeting::OtherApps { include } = targeting else {
        return None;
    };
    include
        .iter()
        .any(|a| a.trim().eq_ignore_ascii_case(AZURE_AD_GRAPH))
        .then(|| format!(
            "the policy targets Windows Azure Active Directory ({AZURE_AD_GRAPH}); since Microsoft's 2026 change, Passport's low-privilege scopes are evaluated against it, and excluding the app does not help: check with `entractl verify-signin` (see docs/mfa.md)"
        ))
}

/// Notes shared by both selections: report-only state and conditions that limit when the
/// policy applies.
fn add_common_notes(d: &mut PolicyDecision, policy: &Policy) {
    if d.state == PolicyState::ReportOnly {
        d.notes.push(
            "report-only: it does not block sign-ins today; entractl treats it as enabled, so that switching it on does not break Passport".to_string(),
        );
    }
    if let PolicyState::Other(s) = &d.state {
        d.notes.push(if s.is_empty() {
            "the policy has no state; treated as enabled".to_string()
        } else {
            format!("unknown state \"{s}\"; treated as enabled")
        });
    }
    let limited: Vec<&str> = [
        ("signInRiskLevels", "sign-in risk"),
        ("userRiskLevels", "user risk"),
        ("servicePrincipalRiskLevels", "service principal risk"),
        ("insiderRiskLevels", "insider risk"),
        ("locations", "locations"),
        ("platforms", "device platforms"),
        ("devices", "device filter"),
    ]
    .into_iter()
    .filter(|(key, _)| {
        policy.condition(key).is_some_and(|v| match v {
            Value::Array(a) => !a.is_empty(),
            Value::String(s) => !s.trim().is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        })
    })
    .map(|(_, words)| words)
    .collect();
    if !limited.is_empty() && d.verdict == Verdict::Exclude {
        d.notes.push(format!(
            "the policy applies only under some conditions ({}); the app is excluded because Passport cannot do MFA when they are met",
            limited.join(", ")
        ));
    }
}
