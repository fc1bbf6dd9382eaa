//! The export against `preset: kandji-passport`: the Passport mode the app's settings tell, the
//! preset's values in that mode, whether the preset fits, and comments on values the preset would
//! not set.

use std::collections::BTreeSet;

use entractl_spec::{App, Audience, OptionalClaim, PassportMode, Spec};
use serde_json::Value;

use super::model::{CaExport, ExportModel, set_ci};
use super::read::Facts;
use crate::core::desired::MICROSOFT_GRAPH_APP_ID;

/// The mode's name in prose.
pub fn title(mode: PassportMode) -> &'static str {
    match mode {
        PassportMode::WebLogin => "Web Login",
        PassportMode::MacLogin => "Mac Login",
    }
}

/// Why the export chose `mode` (a comment above `passport.mode`).
pub fn mode_reason(mode: PassportMode) -> &'static str {
    match mode {
        PassportMode::MacLogin => {
            "told from the app: public client flows are on and http://localhost is a web redirect URI (Mac Login: password sign-in, which cannot do MFA)"
        }
        PassportMode::WebLogin => {
            "told from the app: not Mac Login's settings (public client flows on with the web redirect URI http://localhost), so Web Login, which weakens no MFA"
        }
    }
}

/// The preset's values in a mode (read from the spec crate, so they never drift from it).
pub struct PresetValues {
    pub spec: Spec,
}

impl PresetValues {
    pub fn kandji(mode: PassportMode) -> Option<PresetValues> {
        let text = format!(
            "version: 1\ntenant: t.onmicrosoft.com\npreset: kandji-passport\npassport: {{mode: {}}}\napp:\n  displayName: x\n  uniqueName: x\n",
            mode.name()
        );
        entractl_spec::parse_str("preset", &text)
            .ok()
            .map(|l| PresetValues { spec: l.spec })
    }

    /// The redirect URIs of the preset on a platform (`web`, `publicClient`, `spa`).
    pub fn redirect_uris(&self, platform: &str) -> Vec<String> {
        redirect_uris(&self.spec.app, platform)
    }

    /// `mfa.securityDefaults`, `mfa.perUserMfa` and `mfa.conditionalAccess.excludeApp` of the
    /// preset, in the export's terms.
    pub fn mfa(&self) -> (Option<bool>, bool, CaExport) {
        mfa(&self.spec)
    }
}

/// The redirect URIs of a preset's app on a platform (`web`, `publicClient`, `spa`).
pub fn redirect_uris(a: &App, platform: &str) -> Vec<String> {
    let r = &a.redirect_uris;
    let list = match platform {
        "web" => &r.web,
        "publicClient" => &r.public_client,
        _ => &r.spa,
    };
    list.clone().unwrap_or_default()
}

/// `mfa.securityDefaults`, `mfa.perUserMfa` and `mfa.conditionalAccess.excludeApp` of a
/// preset's spec, in the export's terms.
pub fn mfa(p: &Spec) -> (Option<bool>, bool, CaExport) {
    let Some(m) = &p.mfa else {
        return (None, false, CaExport::Unmanaged);
    };
    let ca = match &m.exclude_app {
        Some(entractl_spec::PolicySelection::FromPoliciesRequiringMfa) => {
            CaExport::FromPoliciesRequiringMfa
        }
        Some(entractl_spec::PolicySelection::Named(n)) => CaExport::Policies(n.clone()),
        None => CaExport::Unmanaged,
    };
    (
        m.security_defaults.map(|s| s.is_enabled()),
        m.per_user_mfa.is_some(),
        ca,
    )
}

impl ExportModel {
    /// The redirect URIs of the model on a platform (`web`, `publicClient`, `spa`).
    pub fn redirect_uris(&self, platform: &str) -> &[String] {
        match platform {
            "web" => &self.web,
            "publicClient" => &self.public_client,
            _ => &self.spa,
        }
    }

    /// Comments on values that look unintended for a Passport app in its mode.
    pub(super) fn unintended(&mut self, f: &Facts) {
        let mode = self.mode;
        if let Some(p) = PresetValues::kandji(mode) {
            for platform in ["web", "publicClient", "spa"] {
                let preset = p.redirect_uris(platform);
                let uris = self.redirect_uris(platform).to_vec();
                for (i, u) in uris.iter().enumerate() {
                    if preset.iter().any(|p| p.eq_ignore_ascii_case(u.trim())) {
                        continue;
                    }
                    let text = if preset.is_empty() {
                        format!(
                            "the kandji-passport preset ({}) uses no {platform} redirect URI: remove it unless another client signs in through this app",
                            title(mode)
                        )
                    } else {
                        format!(
                            "not a redirect URI of the kandji-passport preset ({}; only {}): remove it unless another client signs in through this app",
                            title(mode),
                            preset.join(", ")
                        )
                    };
                    self.comment(&format!("app.redirectUris.{platform}[{i}]"), text);
                }
            }
        }
        let implicit = f
            .app
            .web
            .as_ref()
            .and_then(|w| w.other.get("implicitGrantSettings"));
        let on = |k: &str| {
            implicit
                .and_then(|i| i.get(k))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        if on("enableIdTokenIssuance") {
            self.comment(
                "app.redirectUris",
                "implicit grant of ID tokens is on (Authentication → Implicit grant and hybrid flows): Kandji Passport does not use it; entractl does not manage it, turn it off in the portal",
            );
        }
        if on("enableAccessTokenIssuance") {
            self.comment(
                "app.redirectUris",
                "implicit grant of access tokens is on: Kandji Passport does not use it; entractl does not manage it, turn it off in the portal",
            );
        }
        if mode == PassportMode::WebLogin && self.public_client_flows {
            self.comment(
                "app.publicClientFlows",
                "on: Web Login signs in with the authorization code flow in a web view and does not need public client flows (the password grant); the preset turns them off",
            );
        }
        if self.audience != Audience::SingleTenant {
            self.comment(
                "app.audience",
                "Kandji Passport's procedure makes a single-tenant app; accounts outside this tenant can sign in to this one",
            );
        }
    }

    /// The preset's values this model matches, out of the values it sets.
    pub fn preset_score(&self, p: &PresetValues) -> (usize, usize) {
        let a = &p.spec.app;
        let claim_names = |c: &[OptionalClaim]| -> BTreeSet<String> {
            c.iter().map(|c| c.name.to_lowercase()).collect()
        };
        let redirect_uris = ["web", "publicClient", "spa"]
            .into_iter()
            .all(|pl| set_ci(&p.redirect_uris(pl)) == set_ci(self.redirect_uris(pl)));
        let mut checks = vec![
            a.audience == Some(self.audience),
            a.public_client_flows == Some(self.public_client_flows),
            redirect_uris,
            a.tokens.id.as_deref().map(claim_names) == Some(claim_names(&self.id_claims)),
            a.tokens.groups_claim == Some(self.groups_claim),
            self.perms_equal(a.api_permissions.as_deref().unwrap_or_default()),
            a.admin_consent == self.admin_consent,
            p.spec.assignments.as_ref().and_then(|x| x.required)
                == self.assignments.as_ref().map(|x| x.required),
        ];
        // The MFA values count where the preset sets them (Mac Login).
        if p.spec.mfa.is_some() {
            let (sd, per_user, ca) = p.mfa();
            checks.extend([
                self.security_defaults == sd,
                self.per_user_mfa == per_user,
                self.conditional_access == ca,
            ]);
        }
        (checks.iter().filter(|c| **c).count(), checks.len())
    }

    pub fn perms_equal(&self, preset: &[entractl_spec::ApiPermission]) -> bool {
        let Some(mine) = &self.api_permissions else {
            return false;
        };
        let norm = |label: &str| {
            if label.eq_ignore_ascii_case("Microsoft Graph") {
                MICROSOFT_GRAPH_APP_ID.to_string()
            } else {
                label.to_lowercase()
            }
        };
        let a: BTreeSet<(String, BTreeSet<String>, BTreeSet<String>)> = mine
            .iter()
            .map(|p| (norm(&p.label), set_ci(&p.delegated), set_ci(&p.application)))
            .collect();
        let b: BTreeSet<(String, BTreeSet<String>, BTreeSet<String>)> = preset
            .iter()
            .map(|p| {
                (
                    norm(&p.resource),
                    set_ci(&p.delegated),
                    set_ci(&p.application),
                )
            })
            .collect();
        a == b
    }

    /// The preset (in the app's mode) is used when it is allowed, can express this app (nothing
    /// it manages is unmanaged here) and at least 6 of its values match.
    pub(super) fn choose_preset(&mut self, allowed: bool) {
        let Some(p) = PresetValues::kandji(self.mode) else {
            return;
        };
        let expressible = self.api_permissions.is_some()
            && self.admin_consent.is_some()
            && self.assignments.is_some();
        let (hits, _) = self.preset_score(&p);
        self.preset = allowed && expressible && hits >= 6;
    }
}
