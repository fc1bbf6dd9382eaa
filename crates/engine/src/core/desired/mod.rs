//! The desired state: what the (expanded) spec asks for, in Graph's terms, before any lookup.
//! `None` everywhere means *unmanaged*: the engine never touches that property.

mod app;
mod assignments;
mod mfa;
mod teardown;

pub use app::{
    ApiPermission, AppIdentity, DesiredApp, MANAGED_TAG_PREFIX, MICROSOFT_GRAPH_APP_ID,
    OptionalClaim, OptionalClaims, PASSPORT_SCOPES, PLACEHOLDER_LINK_PREFIX, ResourceRef,
};
pub use assignments::{DesiredAssignments, SpecEntry};
pub use mfa::{CaSelection, DesiredMfa, DesiredPlaceholder};
pub use teardown::Teardown;

use serde::{Deserialize, Serialize};

/// How Kandji Passport signs Mac users in (the spec's `passport.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PassportMode {
    /// Passport shows the Entra sign-in page: MFA and conditional access run at login.
    WebLogin,
    /// Passport signs in with the user's password (ROPC), which cannot do MFA.
    MacLogin,
}

impl PassportMode {
    /// The spec's mode.
    pub fn from_spec(mode: entractl_spec::PassportMode) -> PassportMode {
        match mode {
            entractl_spec::PassportMode::WebLogin => PassportMode::WebLogin,
            entractl_spec::PassportMode::MacLogin => PassportMode::MacLogin,
        }
    }
}

/// Everything the engine is asked to make true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    /// The tenant as the spec names it (id or verified domain).
    pub tenant: String,
    /// Cloud name (`public`, `usgov`, `usgov-dod`, `china`).
    pub cloud: String,
    /// Base URL of the identity platform (`https://login.microsoftonline.com`), for the OIDC
    /// metadata URL output.
    pub authority_url: String,
    pub app: DesiredApp,
    /// The MFA posture (`mfa` of the spec); `None`: unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<DesiredMfa>,
    /// Users and groups assigned to the app (`assignments` of the spec); `None`: unmanaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignments: Option<DesiredAssignments>,
    /// How Passport signs users in; `None`: the spec does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passport_mode: Option<PassportMode>,
    /// `entractl destroy`: decommission what the spec manages ([`Desired::for_destroy`]);
    /// `None` for every other command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown: Option<Teardown>,
}

impl Desired {
    /// The desired state of an expanded spec. `authority_url` overrides the cloud's identity
    /// platform host (`--authority-url`), for the OIDC metadata URL output.
    pub fn from_spec(spec: &entractl_spec::Spec, authority_url: Option<&str>) -> Desired {
        Desired {
            tenant: spec.tenant.clone(),
            cloud: spec.cloud.name().to_string(),
            authority_url: authority_url
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| spec.cloud.login_url().to_string()),
            app: DesiredApp::from_spec(&spec.app),
            mfa: spec
                .mfa
                .as_ref()
                .map(DesiredMfa::from_spec)
                .filter(|m| *m != DesiredMfa::default()),
            assignments: spec.assignments.as_ref().map(DesiredAssignments::from_spec),
            passport_mode: spec.passport.map(|p| PassportMode::from_spec(p.mode)),
            teardown: None,
        }
    }

    /// Whether Passport signs users in with their password (ROPC), so that MFA would stop it:
    /// Mac Login, or — when the spec names no mode — a spec that weakens MFA for it.
    pub fn password_sign_in(&self) -> bool {
        match self.passport_mode {
            Some(mode) => mode == PassportMode::MacLogin,
            None => self
                .mfa
                .as_ref()
                .is_some_and(|m| m.needs_password_sign_in()),
        }
    }

    /// Adds the file, line and column of spec entries (users and groups under `assignments`)
    /// so that errors found against the tenant point at the spec.
    pub fn locate(mut self, loaded: &entractl_spec::LoadedSpec) -> Desired {
        if let Some(a) = self.assignments.as_mut() {
            a.locate(loaded);
        }
        self
    }
}

impl Desired {
    /// The desired state of `entractl destroy` for this spec: no MFA posture (so every
    /// downgrade entractl recorded is restored), nothing of the app present. An app the spec
    /// adopts by `app.appId` is deleted only with `delete_adopted` (entractl did not create
    /// it); the restores and the record's removal are planned either way.
    pub fn for_destroy(&self, delete_adopted: bool) -> Desired {
        let adopted = self.app.identity.adopt_app_id.is_some();
        let delete_app = !adopted || delete_adopted;
        let mfa = self.mfa.as_ref();
        let teardown = Teardown {
            delete_app,
            adopted,
            placeholder: mfa.and_then(|m| m.placeholder.clone()),
            security_defaults_off: mfa.is_some_and(|m| m.security_defaults == Some(false)),
        };
        Desired {
            tenant: self.tenant.clone(),
            cloud: self.cloud.clone(),
            authority_url: self.authority_url.clone(),
            app: gone_app(&self.app, delete_app),
            mfa: None,
            // Every assignment of the app goes (prune with nothing listed).
            assignments: delete_app.then(|| DesiredAssignments {
                prune: true,
                ..DesiredAssignments::default()
            }),
            passport_mode: None,
            teardown: Some(teardown),
        }
    }

    /// Whether this is `destroy`'s desired state.
    pub fn destroying(&self) -> bool {
        self.teardown.is_some()
    }

    /// Whether `destroy` deletes the app (and its service principal, grants and assignments).
    pub fn deletes_app(&self) -> bool {
        self.teardown.as_ref().is_some_and(|t| t.delete_app)
    }

    /// The placeholder app the plan manages: the spec's, or the one `destroy` deletes.
    pub fn placeholder(&self) -> Option<&DesiredPlaceholder> {
        match &self.teardown {
            Some(t) => t.placeholder.as_ref(),
            None => self.mfa.as_ref()?.placeholder.as_ref(),
        }
    }
}

/// The app as `destroy` wants it: found by the same keys, its properties unmanaged; its API
/// permissions kept (to name the grants), with admin consent off when the app is deleted (every
/// grant revoked).
fn gone_app(app: &DesiredApp, delete_app: bool) -> DesiredApp {
    DesiredApp {
        display_name: app.display_name.clone(),
        identity: app.identity.clone(),
        sign_in_audience: None,
        is_fallback_public_client: None,
        web_redirect_uris: None,
        public_client_redirect_uris: None,
        spa_redirect_uris: None,
        optional_claims: Default::default(),
        group_membership_claims: None,
        api_permissions: delete_app.then(|| app.api_permissions.clone().unwrap_or_default()),
        admin_consent: delete_app.then_some(false),
    }
}

#[cfg(test)]
mod spec_tests {
    use super::*;

    fn desired(text: &str) -> Desired {
        let loaded = entractl_spec::parse_str("spec.yaml", text).expect("valid spec");
        Desired::from_spec(&loaded.spec, None)
    }

    const HEAD: &str = "version: 1\ntenant: contoso.onmicrosoft.com\npreset: kandji-passport\n";
    const APP: &str = "app:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n";

    #[test]
    fn web_login_asks_for_no_mfa_change_and_no_password_sign_in() {
        let d = desired(&format!("{HEAD}passport: {{mode: web-login}}\n{APP}"));
        assert_eq!(d.passport_mode, Some(PassportMode::WebLogin));
        assert_eq!(d.mfa, None);
        assert!(!d.password_sign_in());
    }

    #[test]
    fn mac_login_remedies_reach_the_desired_mfa() {
        let d = desired(&format!(
            "{HEAD}passport: {{mode: mac-login}}\n{APP}mfa:\n  conditionalAccess:\n    excludeApp: []\n    excludeUsers: [CA001, CA005]\n    placeholder:\n      displayName: Kandji Passport baseline scopes\n      uniqueName: kandji-passport-baseline-scopes\n"
        ));
        assert_eq!(d.passport_mode, Some(PassportMode::MacLogin));
        assert!(d.password_sign_in());
        let m = d.mfa.expect("mfa");
        assert_eq!(m.conditional_access, Some(CaSelection::Named(vec![])));
        assert_eq!(
            m.exclude_identities,
            Some(CaSelection::Named(vec!["CA001".into(), "CA005".into()]))
        );
        assert_eq!(
            m.placeholder,
            Some(DesiredPlaceholder {
                display_name: "Kandji Passport baseline scopes".into(),
                unique_name: "kandji-passport-baseline-scopes".into(),
                exclude_from: CaSelection::FromPoliciesRequiringMfa,
            })
        );
        // The preset's own posture stays beside the remedies.
        assert_eq!(m.security_defaults, Some(false));
        assert!(m.per_user_mfa_disabled);
    }
}
