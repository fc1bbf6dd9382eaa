//! The exported spec's values from what export read: the app's own values here, its API
//! permissions and admin consent ([`super::api_permissions`]), its assignments
//! ([`super::assigned`]), then the MFA posture, the comments on values that look unintended and
//! the choice of the preset.

use std::collections::BTreeMap;

use entractl_graph::resource::application::{OptionalClaim as GraphClaim, Platform, TokenType};
use entractl_spec::{Audience, GroupsClaim, OptionalClaim};
use serde_json::Value;

use super::model::{CaExport, ExportModel, PresetValues};
use super::read::Facts;
use super::types::ExportOptions;
use crate::core::normalize;

fn claims(cs: &[GraphClaim]) -> Vec<OptionalClaim> {
    cs.iter()
        .map(|c| OptionalClaim {
            name: c.name.clone(),
            essential: c.essential,
            source: c.source.clone().filter(|s| !s.is_empty()),
            additional_properties: c.additional_properties.clone(),
        })
        .collect()
}

impl ExportModel {
    pub fn from_facts(f: &Facts, opts: &ExportOptions) -> ExportModel {
        let app = &f.app;
        // The key: keep the one entractl already tags the app with.
        let tagged_unique = app.unique_name.as_ref().is_some_and(|u| {
            app.tags
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&format!("entractl:{u}")))
        });
        let tagged_app_id = app
            .tags
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&format!("entractl:{}", app.app_id)));
        let unique_name = if tagged_app_id && !tagged_unique {
            None
        } else {
            app.unique_name.clone()
        };
        let mut m = ExportModel {
            tenant: opts.tenant.clone(),
            cloud: opts.cloud.clone(),
            preset: false,
            managed: tagged_unique || tagged_app_id,
            display_name: app.display_name.clone(),
            unique_name,
            app_id: app.app_id.to_ascii_lowercase(),
            audience: Audience::from_graph_value(
                app.sign_in_audience
                    .as_deref()
                    .unwrap_or(normalize::DEFAULT_SIGN_IN_AUDIENCE),
            )
            .unwrap_or(Audience::SingleTenant),
            public_client_flows: app.is_fallback_public_client.unwrap_or(false),
            web: app.redirect_uris(Platform::Web).to_vec(),
            public_client: app.redirect_uris(Platform::PublicClient).to_vec(),
            spa: app.redirect_uris(Platform::Spa).to_vec(),
            id_claims: claims(app.claims(TokenType::Id)),
            access_claims: claims(app.claims(TokenType::Access)),
            saml2_claims: claims(app.claims(TokenType::Saml2)),
            groups_claim: GroupsClaim::from_graph_value(app.group_membership_claims.as_deref())
                .unwrap_or(GroupsClaim::None),
            api_permissions: None,
            admin_consent: None,
            assignments: None,
            security_defaults: Some(f.security_defaults),
            per_user_mfa: false,
            conditional_access: CaExport::Unmanaged,
            comments: BTreeMap::new(),
        };
        if tagged_app_id && !tagged_unique && app.unique_name.is_some() {
            m.comment(
                "app.appId",
                "entractl manages this app by its appId (its `entractl:<appId>` tag); its uniqueName is left out so the key stays the same",
            );
        }
        m.permissions(f);
        m.assignments(f);
        m.mfa(f);
        m.unintended(f);
        m.choose_preset(opts.allow_preset);
        m
    }

    fn mfa(&mut self, f: &Facts) {
        let sd = f.security_defaults;
        if !self.public_client_flows {
            // Exclusions only serve password sign-in; the spec rejects them without it.
            self.per_user_mfa = false;
            self.conditional_access = CaExport::Unmanaged;
            return;
        }
        self.per_user_mfa = true;
        self.conditional_access = if sd {
            CaExport::Unmanaged
        } else {
            CaExport::FromPoliciesRequiringMfa
        };
        if sd {
            self.comment(
                "mfa.securityDefaults",
                "security defaults are on: they require MFA for everyone and allow no exclusions, so Kandji Passport's password sign-in fails for users who registered MFA",
            );
        }
    }

    /// Comments on values that look unintended for a Passport app.
    fn unintended(&mut self, f: &Facts) {
        let preset_web = PresetValues::kandji().map(|p| p.web()).unwrap_or_default();
        let web = self.web.clone();
        for (i, u) in web.iter().enumerate() {
            if !preset_web.iter().any(|p| p.eq_ignore_ascii_case(u.trim())) {
                self.comment(
                    &format!("app.redirectUris.web[{i}]"),
                    "not a redirect URI of the kandji-passport preset (only http://localhost): remove it unless another client signs in through this app",
                );
            }
        }
        for (platform, list) in [
            ("publicClient", self.public_client.clone()),
            ("spa", self.spa.clone()),
        ] {
            for (i, _) in list.iter().enumerate() {
                self.comment(
                    &format!("app.redirectUris.{platform}[{i}]"),
                    format!(
                        "the kandji-passport preset uses no {platform} redirect URI: remove it unless another client signs in through this app"
                    ),
                );
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
        if !self.public_client_flows {
            self.comment(
                "app.publicClientFlows",
                "off: Kandji Passport's password sign-in (ROPC) needs public client flows on",
            );
        }
        if self.audience != Audience::SingleTenant {
            self.comment(
                "app.audience",
                "Kandji Passport's procedure makes a single-tenant app; accounts outside this tenant can sign in to this one",
            );
        }
    }

    /// The preset is used when it is allowed, can express this app (nothing it manages is
    /// unmanaged here) and at least 6 of its 11 values match.
    fn choose_preset(&mut self, allowed: bool) {
        let Some(p) = PresetValues::kandji() else {
            return;
        };
        let expressible = self.api_permissions.is_some()
            && self.admin_consent.is_some()
            && self.assignments.is_some();
        let (hits, _) = self.preset_score(&p.spec);
        self.preset = allowed && expressible && hits >= 6;
    }
}
