//! The exported spec's values from what export read: the app's own values here, its API
//! permissions and admin consent ([`super::api_permissions`]), its assignments
//! ([`super::assigned`]), the Passport mode, then the MFA posture in that mode; the comments on
//! values that look unintended and the choice of the preset are [`super::preset`]'s.

use std::collections::BTreeMap;

use entractl_graph::resource::application::{OptionalClaim as GraphClaim, Platform, TokenType};
use entractl_spec::{Audience, GroupsClaim, OptionalClaim, PassportMode};

use super::model::{CaExport, ExportModel, mode_of};
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
            mode: PassportMode::WebLogin,
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
        m.mode = mode_of(m.public_client_flows, &m.web);
        m.permissions(f);
        m.assignments(f);
        m.mfa(f);
        m.unintended(f);
        m.choose_preset(opts.allow_preset);
        m
    }

    fn mfa(&mut self, f: &Facts) {
        let sd = f.security_defaults;
        if self.mode == PassportMode::WebLogin {
            // Web Login weakens nothing (and the spec refuses it): no exclusions; security
            // defaults kept on where they are on, else left alone.
            self.per_user_mfa = false;
            self.conditional_access = CaExport::Unmanaged;
            self.security_defaults = sd.then_some(true);
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
}
