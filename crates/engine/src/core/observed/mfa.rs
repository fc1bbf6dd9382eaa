//! The MFA posture of the tenant, as far as the spec manages it.

use std::collections::BTreeSet;

use entractl_graph::resource::conditional_access_policy::ConditionalAccessPolicy;
use entractl_graph::resource::security_defaults::SecurityDefaults;
use serde::{Deserialize, Serialize};

use super::assignments::Principals;

/// One user who can sign in to the app.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScopeUser {
    /// Object id.
    pub id: String,
    /// What a person calls the user (UPN when known, else the id).
    pub label: String,
}

/// Who can sign in to the app: assigned users and the direct members of assigned groups, and
/// the assigned groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInScope {
    pub users: Vec<ScopeUser>,
    pub groups: Vec<String>,
}

impl SignInScope {
    /// From the principals the assignments part found: the assigned users (named by UPN) and
    /// the direct user members of the assigned groups (by id).
    pub fn of(p: &Principals) -> SignInScope {
        let mut users: Vec<ScopeUser> = p
            .users
            .iter()
            .map(|u| ScopeUser {
                id: u.id.to_lowercase(),
                label: if u.user_principal_name.is_empty() {
                    u.id.clone()
                } else {
                    u.user_principal_name.clone()
                },
            })
            .collect();
        let known: BTreeSet<String> = users.iter().map(|u| u.id.clone()).collect();
        for id in p.sign_in_user_ids() {
            if !known.contains(&id.to_lowercase()) {
                users.push(ScopeUser {
                    id: id.to_lowercase(),
                    label: id.clone(),
                });
            }
        }
        SignInScope {
            users,
            groups: p.groups.iter().map(|g| g.id.to_lowercase()).collect(),
        }
    }
}

/// The people who sign in to the app, by object id, as policies are checked against them: the
/// users assigned to it and the members of its assigned groups (`user_ids`), the assigned groups
/// and the policy groups they are in (`group_ids`), and the directory role template ids those
/// users hold, when known (`role_ids`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserScope {
    pub user_ids: Vec<String>,
    pub group_ids: Vec<String>,
    pub role_ids: Vec<String>,
}

/// A user's legacy per-user MFA state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMfaState {
    pub user: ScopeUser,
    /// `disabled`, `enabled` or `enforced`.
    pub state: String,
}

/// What was read of conditional access.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum CaObserved {
    /// Not managed by the spec: not read.
    #[default]
    NotRead,
    /// Not read, with the reason the plan shows (free tier).
    Skipped { reason: String },
    /// Every policy as Graph returned it.
    Read {
        policies: Vec<ConditionalAccessPolicy>,
    },
    /// Every policy as Graph returned it, on a tenant without Entra ID P1 or P2: they cannot be
    /// changed, and those left enabled (a lapsed licence) are still enforced.
    Unlicensed {
        policies: Vec<ConditionalAccessPolicy>,
    },
}

impl CaObserved {
    /// The policies read (none when not read).
    pub fn policies(&self) -> &[ConditionalAccessPolicy] {
        match self {
            CaObserved::Read { policies } | CaObserved::Unlicensed { policies } => policies,
            _ => &[],
        }
    }
}

/// The MFA posture of the tenant, as far as the spec manages it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObservedMfa {
    /// The security defaults policy (when read).
    pub security_defaults: Option<SecurityDefaults>,
    /// Who can sign in to the app (as used for per-user MFA and policy coverage).
    pub scope: SignInScope,
    /// `perUserMfaState` of every user of `scope` (when per-user MFA is managed).
    pub per_user: Vec<UserMfaState>,
    pub conditional_access: CaObserved,
    /// Groups named by a policy (`includeGroups`/`excludeGroups`) that have at least one user of
    /// `scope` among their transitive members.
    pub policy_groups_with_users: Vec<String>,
}

impl ObservedMfa {
    /// `isEnabled` of the security defaults, when read.
    pub fn security_defaults_enabled(&self) -> Option<bool> {
        self.security_defaults.as_ref().map(|s| s.is_enabled)
    }

    /// The users and groups policies are checked against.
    pub fn user_scope(&self) -> UserScope {
        let mut groups: BTreeSet<String> =
            self.scope.groups.iter().map(|g| g.to_lowercase()).collect();
        groups.extend(
            self.policy_groups_with_users
                .iter()
                .map(|g| g.to_lowercase()),
        );
        UserScope {
            user_ids: self.scope.users.iter().map(|u| u.id.clone()).collect(),
            group_ids: groups.into_iter().collect(),
            role_ids: Vec::new(),
        }
    }
}
