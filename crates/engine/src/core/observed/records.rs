//! The record of what entractl weakened, as read from the tenant: entractl's record groups for
//! the managed app and their members (docs/decisions.md), and the per-user MFA state of the
//! users they record.

use std::collections::BTreeMap;

use entractl_graph::resource::group::RECORD_PREFIX;
use serde::{Deserialize, Serialize};

/// What a record group records.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Purpose {
    /// Users whose legacy per-user MFA entractl turned off, and the state it was (`enabled`,
    /// `enforced`).
    PerUserMfa(String),
    /// Users and groups entractl added to the exclusions of a conditional access policy (id).
    CaExclusion(String),
    /// Security defaults entractl turned off for the app: the entry is the app's service
    /// principal.
    SecurityDefaults,
}

/// The code of [`Purpose::SecurityDefaults`] in a record group's mailNickname.
pub const SECURITY_DEFAULTS_CODE: &str = "securitydefaults";

impl Purpose {
    /// The part of the mailNickname that says what is recorded (`mfa-enforced`, `ca-<id>`).
    pub fn code(&self) -> String {
        match self {
            Purpose::PerUserMfa(state) => format!("mfa-{}", state.to_lowercase()),
            Purpose::CaExclusion(policy) => format!("ca-{}", policy.to_lowercase()),
            Purpose::SecurityDefaults => SECURITY_DEFAULTS_CODE.to_string(),
        }
    }

    /// The purpose a mailNickname's code names (`mfa-enforced`, `ca-<id>`, `securitydefaults`).
    pub fn parse(code: &str) -> Option<Purpose> {
        if code == SECURITY_DEFAULTS_CODE {
            return Some(Purpose::SecurityDefaults);
        }
        if let Some(state) = code.strip_prefix("mfa-") {
            return ["enabled", "enforced"]
                .contains(&state)
                .then(|| Purpose::PerUserMfa(state.to_string()));
        }
        code.strip_prefix("ca-")
            .filter(|p| !p.is_empty())
            .map(|p| Purpose::CaExclusion(p.to_string()))
    }

    /// The record group's mailNickname for the app with this key.
    pub fn mail_nickname(&self, app_key: &str) -> String {
        format!("{RECORD_PREFIX}{}-{}", self.code(), app_hash(app_key))
    }

    /// What a record group's mailNickname records for the app with this key (`None`: another
    /// app's, or not a record group).
    pub fn of_nickname(nickname: &str, app_key: &str) -> Option<Purpose> {
        let rest = nickname.to_lowercase();
        let rest = rest.strip_prefix(RECORD_PREFIX)?;
        let code = rest.strip_suffix(&format!("-{}", app_hash(app_key)))?;
        Purpose::parse(code)
    }

    /// Whether a mailNickname is another app's security defaults record group (not the one of
    /// the app with this key).
    pub fn is_others_security_defaults(nickname: &str, app_key: &str) -> bool {
        let n = nickname.to_lowercase();
        n.strip_prefix(RECORD_PREFIX)
            .and_then(|rest| rest.strip_prefix(SECURITY_DEFAULTS_CODE))
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|hash| hash != app_hash(app_key))
    }
}

/// 8 hex digits naming the app in record groups' mailNicknames (FNV-1a of its key, lower case;
/// the display name spells the key out).
pub fn app_hash(app_key: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in app_key.to_lowercase().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// One recorded user or group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMember {
    /// Object id (lower case).
    pub id: String,
    /// UPN for a user when read, else the id.
    pub label: String,
    pub is_group: bool,
}

/// One of the app's record groups and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordGroup {
    pub id: String,
    pub purpose: Purpose,
    pub members: Vec<RecordMember>,
}

/// Another app's security defaults record group: security defaults are tenant-wide, so while it
/// has members, entractl turned them off for that app too and does not turn them back on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherRecord {
    pub id: String,
    /// Its display name, which spells the other app's key out.
    pub display_name: String,
    pub members: usize,
}

/// The app's records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedRecords {
    pub groups: Vec<RecordGroup>,
    /// The per-user MFA state of the users recorded under [`Purpose::PerUserMfa`], by id.
    pub mfa_states: BTreeMap<String, String>,
    /// Other apps' security defaults record groups (read when the app's own has members).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_security_defaults: Vec<OtherRecord>,
}

impl ObservedRecords {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The record group for this purpose, when it exists.
    pub fn group(&self, purpose: &Purpose) -> Option<&RecordGroup> {
        self.groups.iter().find(|g| &g.purpose == purpose)
    }

    /// Every recorded member under a purpose matching `which`, with the purpose.
    pub fn entries<'a>(
        &'a self,
        which: impl Fn(&Purpose) -> bool + 'a,
    ) -> impl Iterator<Item = (&'a Purpose, &'a RecordMember)> + 'a {
        self.groups
            .iter()
            .filter(move |g| which(&g.purpose))
            .flat_map(|g| g.members.iter().map(move |m| (&g.purpose, m)))
    }

    /// Whether `id` is recorded under `purpose`.
    pub fn has(&self, purpose: &Purpose, id: &str) -> bool {
        self.group(purpose)
            .is_some_and(|g| g.members.iter().any(|m| m.id.eq_ignore_ascii_case(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purpose_round_trips_through_its_nickname_for_its_app_only() {
        for p in [
            Purpose::PerUserMfa("enforced".into()),
            Purpose::PerUserMfa("enabled".into()),
            Purpose::CaExclusion("0a1b2c3d-0000-4000-8000-000000000001".into()),
            Purpose::SecurityDefaults,
        ] {
            let n = p.mail_nickname("kandji-passport");
            assert!(n.len() <= 64, "{n}");
            assert_eq!(Purpose::of_nickname(&n, "kandji-passport"), Some(p.clone()));
            assert_eq!(Purpose::of_nickname(&n, "other-app"), None);
        }
        assert_eq!(
            Purpose::of_nickname("entractl-record-mfa-disabled-00000000", "x"),
            None
        );
        assert_eq!(app_hash("Kandji-Passport"), app_hash("kandji-passport"));
    }

    #[test]
    fn another_apps_security_defaults_record_is_told_apart_from_the_apps_own() {
        let mine = Purpose::SecurityDefaults.mail_nickname("kandji-passport");
        assert_eq!(
            mine,
            format!(
                "entractl-record-securitydefaults-{}",
                app_hash("kandji-passport")
            )
        );
        let other = Purpose::SecurityDefaults.mail_nickname("other-app");
        assert!(!Purpose::is_others_security_defaults(
            &mine,
            "kandji-passport"
        ));
        assert!(Purpose::is_others_security_defaults(
            &other,
            "kandji-passport"
        ));
        let mfa = Purpose::PerUserMfa("enforced".into()).mail_nickname("other-app");
        assert!(!Purpose::is_others_security_defaults(
            &mfa,
            "kandji-passport"
        ));
    }
}
