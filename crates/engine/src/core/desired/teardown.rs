//! `entractl destroy SPEC`: the spec's desired state with nothing present
//! (`Desired::for_destroy`). The same kinds plan it and the same apply makes it: every downgrade
//! restored (the spec then needs none), the app's assignments, grants, service principal and
//! application removed, the placeholder app removed, and entractl's record groups deleted last
//! (docs/decisions.md, "Destroy is a desired state with nothing present").

use serde::{Deserialize, Serialize};

use super::mfa::DesiredPlaceholder;

/// What `destroy` decommissions (the spec's `Desired::teardown`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Teardown {
    /// Delete the application, its service principal, grants and assignments: the app was
    /// created by entractl, or the spec adopts it and `--delete-adopted-app` says so.
    pub delete_app: bool,
    /// The spec adopts the app by `app.appId` (entractl did not create it).
    pub adopted: bool,
    /// The placeholder app of "Customize behavior" the spec manages, deleted too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<DesiredPlaceholder>,
    /// The spec turns security defaults off: destroy turns them back on where entractl's record
    /// says it did, and says so in a note where no record does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub security_defaults_off: bool,
}

#[cfg(test)]
mod tests {
    use crate::core::desired::{CaSelection, DesiredMfa, DesiredPlaceholder};

    #[test]
    fn destroy_wants_no_posture_and_nothing_of_a_created_app() {
        let mut d = crate::core::tests::kandji();
        d.mfa = Some(DesiredMfa {
            security_defaults: Some(false),
            per_user_mfa_disabled: true,
            placeholder: Some(DesiredPlaceholder {
                display_name: "Placeholder".into(),
                unique_name: "kandji-placeholder".into(),
                exclude_from: CaSelection::FromPoliciesRequiringMfa,
            }),
            ..DesiredMfa::default()
        });
        let t = d.for_destroy(false);
        assert!(t.destroying() && t.deletes_app());
        assert_eq!(t.mfa, None);
        assert!(!t.password_sign_in());
        assert_eq!(t.app.admin_consent, Some(false));
        assert_eq!(t.app.web_redirect_uris, None);
        assert_eq!(t.app.identity, d.app.identity);
        assert!(
            t.assignments
                .as_ref()
                .is_some_and(|a| a.prune && a.users.is_empty())
        );
        assert_eq!(t.placeholder(), d.placeholder());
        let td = t.teardown.expect("teardown");
        assert!(td.security_defaults_off && !td.adopted);
    }

    #[test]
    fn an_adopted_app_is_kept_unless_asked() {
        let mut d = crate::core::tests::kandji();
        d.app.identity.adopt_app_id = Some("9b1f0000-2222-4333-8444-000000000002".into());
        let kept = d.for_destroy(false);
        assert!(kept.destroying() && !kept.deletes_app());
        assert_eq!(kept.assignments, None);
        assert_eq!(kept.app.admin_consent, None);
        assert!(d.for_destroy(true).deletes_app());
    }
}
