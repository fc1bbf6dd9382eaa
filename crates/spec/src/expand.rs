//! Presets and defaults: the raw file becomes the expanded [`Spec`]; and back, for
//! `validate --expanded`.

use crate::model::*;
use crate::raw::*;

/// The raw values a preset stands for, in a Passport mode. The user's values override them
/// field by field. Without a mode (a validation error with the preset), Mac Login's values, as
/// before modes existed, so that the missing mode is the only error reported.
pub(crate) fn preset_values(
    preset: Preset,
    mode: Option<PassportMode>,
) -> (RawApp, RawAssignments, Option<RawMfa>) {
    match preset {
        Preset::KandjiPassport => {
            let web_login = mode == Some(PassportMode::WebLogin);
            let uris = |u: &[&str]| Some(u.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            // Every platform's list is given, empty where unused: a redirect URI added by hand
            // on any platform is drift.
            let redirect_uris = if web_login {
                // Iru's "Configure Passport with Microsoft Entra ID (Web Login)": platform
                // "Mobile and desktop applications", redirect URI https://localhost.
                RawRedirectUris {
                    web: uris(&[]),
                    public_client: uris(&["https://localhost"]),
                    spa: uris(&[]),
                }
            } else {
                RawRedirectUris {
                    web: uris(&["http://localhost"]),
                    public_client: uris(&[]),
                    spa: uris(&[]),
                }
            };
            let app = RawApp {
                display_name: String::new(),
                unique_name: None,
                app_id: None,
                audience: Some(Audience::SingleTenant),
                // Web Login signs in with the authorization code flow in a web view: the
                // password grant stays off.
                public_client_flows: Some(!web_login),
                redirect_uris: Some(redirect_uris),
                tokens: Some(RawTokens {
                    id: Some(RawTokenClaims {
                        optional_claims: vec![RawClaim::Name("preferred_username".to_string())],
                    }),
                    access: None,
                    saml2: None,
                    groups_claim: Some(GroupsClaim::All),
                }),
                api_permissions: Some(OrderedMap(vec![(
                    "Microsoft Graph".to_string(),
                    RawPermissions {
                        delegated: Some(
                            ["openid", "email", "profile", "User.Read"]
                                .map(String::from)
                                .to_vec(),
                        ),
                        application: None,
                    },
                )])),
                admin_consent: Some(true),
            };
            let assignments = RawAssignments {
                required: Some(true),
                ..RawAssignments::default()
            };
            // Web Login weakens nothing: no `mfa` section at all.
            let mfa = (!web_login).then_some(RawMfa {
                security_defaults: Some(RawSecurityDefaults::Disabled),
                per_user_mfa: Some(RawPerUserMfa::DisabledForAppUsers),
                conditional_access: Some(RawConditionalAccess {
                    exclude_app: Some(RawExcludeApp::Keyword(
                        RawExcludeKeyword::FromPoliciesRequiringMfa,
                    )),
                    exclude_users: None,
                    placeholder: None,
                }),
            });
            (app, assignments, mfa)
        }
    }
}

fn or<T>(user: Option<T>, preset: Option<T>) -> Option<T> {
    user.or(preset)
}

/// Applies the preset (if any) and the defaults.
pub(crate) fn expand(raw: &RawSpec) -> Spec {
    let raw = raw.clone();
    let mode = raw.passport.map(|p| p.mode);
    let (p_app, p_assign, p_mfa) = match raw.preset {
        Some(p) => {
            let (a, s, m) = preset_values(p, mode);
            (Some(a), Some(s), m)
        }
        None => (None, None, None),
    };
    let app = merge_app(raw.app, p_app);
    let assignments = match (raw.assignments, p_assign) {
        (None, None) => None,
        (user, preset) => {
            let user = user.unwrap_or_default();
            let preset = preset.unwrap_or_default();
            Some(Assignments {
                required: or(user.required, preset.required),
                users: or(user.users, preset.users).unwrap_or_default(),
                groups: or(user.groups, preset.groups).unwrap_or_default(),
                role: or(user.role, preset.role),
                prune: or(user.prune, preset.prune).unwrap_or(false),
            })
        }
    };
    let mfa = match (raw.mfa, p_mfa) {
        (None, None) => None,
        (user, preset) => Some(merge_mfa(
            user.unwrap_or_default(),
            preset.unwrap_or_default(),
        )),
    };
    Spec {
        version: raw.version,
        tenant: raw.tenant,
        cloud: raw.cloud.unwrap_or_default(),
        preset: raw.preset,
        passport: raw.passport,
        app,
        assignments,
        mfa,
    }
}

/// The `mfa` section, the user's values over the preset's, field by field (conditional access
/// too: `excludeUsers` beside the preset's `excludeApp` keeps both).
fn merge_mfa(user: RawMfa, preset: RawMfa) -> Mfa {
    let u_ca = user.conditional_access.unwrap_or_default();
    let p_ca = preset.conditional_access.unwrap_or_default();
    Mfa {
        security_defaults: match or(user.security_defaults, preset.security_defaults) {
            Some(RawSecurityDefaults::Enabled) => Some(SecurityDefaults::Enabled),
            Some(RawSecurityDefaults::Disabled) => Some(SecurityDefaults::Disabled),
            Some(RawSecurityDefaults::Unmanaged) | None => None,
        },
        per_user_mfa: match or(user.per_user_mfa, preset.per_user_mfa) {
            Some(RawPerUserMfa::DisabledForAppUsers) => Some(PerUserMfa::DisabledForAppUsers),
            Some(RawPerUserMfa::Unmanaged) | None => None,
        },
        exclude_app: match or(u_ca.exclude_app, p_ca.exclude_app) {
            Some(RawExcludeApp::Keyword(RawExcludeKeyword::FromPoliciesRequiringMfa)) => {
                Some(PolicySelection::FromPoliciesRequiringMfa)
            }
            Some(RawExcludeApp::Policies(p)) => Some(PolicySelection::Named(p)),
            Some(RawExcludeApp::Keyword(RawExcludeKeyword::Unmanaged)) | None => None,
        },
        exclude_users: or(u_ca.exclude_users, p_ca.exclude_users).map(selection),
        placeholder: or(u_ca.placeholder, p_ca.placeholder).map(|p| Placeholder {
            display_name: p.display_name,
            unique_name: p.unique_name,
            exclude_from: p
                .exclude_from
                .map(selection)
                .unwrap_or(PolicySelection::FromPoliciesRequiringMfa),
        }),
    }
}

fn selection(s: RawPolicySelection) -> PolicySelection {
    match s {
        RawPolicySelection::Keyword(RawPolicyKeyword::FromPoliciesRequiringMfa) => {
            PolicySelection::FromPoliciesRequiringMfa
        }
        RawPolicySelection::Policies(p) => PolicySelection::Named(p),
    }
}

fn unselection(s: &PolicySelection) -> RawPolicySelection {
    match s {
        PolicySelection::FromPoliciesRequiringMfa => {
            RawPolicySelection::Keyword(RawPolicyKeyword::FromPoliciesRequiringMfa)
        }
        PolicySelection::Named(p) => RawPolicySelection::Policies(p.clone()),
    }
}

fn merge_app(user: RawApp, preset: Option<RawApp>) -> App {
    let preset = preset.unwrap_or(RawApp {
        display_name: String::new(),
        unique_name: None,
        app_id: None,
        audience: None,
        public_client_flows: None,
        redirect_uris: None,
        tokens: None,
        api_permissions: None,
        admin_consent: None,
    });
    let u_redirect = user.redirect_uris.unwrap_or_default();
    let p_redirect = preset.redirect_uris.unwrap_or_default();
    let u_tokens = user.tokens.unwrap_or_default();
    let p_tokens = preset.tokens.unwrap_or_default();
    let claims = |c: Option<RawTokenClaims>| {
        c.map(|c| c.optional_claims.into_iter().map(claim).collect::<Vec<_>>())
    };
    App {
        display_name: user.display_name,
        unique_name: or(user.unique_name, preset.unique_name),
        app_id: or(user.app_id, preset.app_id),
        audience: Some(or(user.audience, preset.audience).unwrap_or(Audience::SingleTenant)),
        public_client_flows: or(user.public_client_flows, preset.public_client_flows),
        redirect_uris: RedirectUris {
            web: or(u_redirect.web, p_redirect.web),
            public_client: or(u_redirect.public_client, p_redirect.public_client),
            spa: or(u_redirect.spa, p_redirect.spa),
        },
        tokens: Tokens {
            id: claims(or(u_tokens.id, p_tokens.id)),
            access: claims(or(u_tokens.access, p_tokens.access)),
            saml2: claims(or(u_tokens.saml2, p_tokens.saml2)),
            groups_claim: or(u_tokens.groups_claim, p_tokens.groups_claim),
        },
        api_permissions: or(user.api_permissions, preset.api_permissions).map(|m| {
            m.0.into_iter()
                .map(|(resource, p)| ApiPermission {
                    resource,
                    delegated: p.delegated.unwrap_or_default(),
                    application: p.application.unwrap_or_default(),
                })
                .collect()
        }),
        admin_consent: or(user.admin_consent, preset.admin_consent),
    }
}

fn claim(c: RawClaim) -> OptionalClaim {
    match c {
        RawClaim::Name(name) => OptionalClaim::named(name),
        RawClaim::Detailed(d) => OptionalClaim {
            name: d.name,
            essential: d.essential.unwrap_or(false),
            source: d.source,
            additional_properties: d.additional_properties.unwrap_or_default(),
        },
    }
}

fn unclaim(c: &OptionalClaim) -> RawClaim {
    if !c.essential && c.source.is_none() && c.additional_properties.is_empty() {
        RawClaim::Name(c.name.clone())
    } else {
        RawClaim::Detailed(RawClaimDetail {
            name: c.name.clone(),
            essential: c.essential.then_some(true),
            source: c.source.clone(),
            additional_properties: (!c.additional_properties.is_empty())
                .then(|| c.additional_properties.clone()),
        })
    }
}

/// The expanded spec written out as a file without a preset: every managed value explicit.
/// Parsing it gives the same [`Spec`] (with `preset: None`).
pub(crate) fn unexpand(spec: &Spec) -> RawSpec {
    let app = &spec.app;
    let tokens = &app.tokens;
    let token_claims = |c: &Option<Vec<OptionalClaim>>| {
        c.as_ref().map(|c| RawTokenClaims {
            optional_claims: c.iter().map(unclaim).collect(),
        })
    };
    let redirect = &app.redirect_uris;
    let raw_tokens = RawTokens {
        id: token_claims(&tokens.id),
        access: token_claims(&tokens.access),
        saml2: token_claims(&tokens.saml2),
        groups_claim: tokens.groups_claim,
    };
    let raw_redirect = RawRedirectUris {
        web: redirect.web.clone(),
        public_client: redirect.public_client.clone(),
        spa: redirect.spa.clone(),
    };
    RawSpec {
        version: spec.version,
        tenant: spec.tenant.clone(),
        cloud: Some(spec.cloud),
        preset: None,
        passport: spec.passport,
        app: RawApp {
            display_name: app.display_name.clone(),
            unique_name: app.unique_name.clone(),
            app_id: app.app_id.clone(),
            audience: app.audience,
            public_client_flows: app.public_client_flows,
            redirect_uris: (raw_redirect != RawRedirectUris::default()).then_some(raw_redirect),
            tokens: (raw_tokens != RawTokens::default()).then_some(raw_tokens),
            api_permissions: app.api_permissions.as_ref().map(|ps| {
                OrderedMap(
                    ps.iter()
                        .map(|p| {
                            (
                                p.resource.clone(),
                                RawPermissions {
                                    delegated: (!p.delegated.is_empty())
                                        .then(|| p.delegated.clone()),
                                    application: (!p.application.is_empty())
                                        .then(|| p.application.clone()),
                                },
                            )
                        })
                        .collect(),
                )
            }),
            admin_consent: app.admin_consent,
        },
        assignments: spec.assignments.as_ref().map(|a| RawAssignments {
            required: a.required,
            users: Some(a.users.clone()),
            groups: Some(a.groups.clone()),
            role: a.role.clone(),
            prune: Some(a.prune),
        }),
        mfa: spec.mfa.as_ref().map(unexpand_mfa),
    }
}

/// The `mfa` section of [`unexpand`]: every field written, `unmanaged` where it is.
fn unexpand_mfa(m: &Mfa) -> RawMfa {
    RawMfa {
        security_defaults: Some(match m.security_defaults {
            Some(SecurityDefaults::Enabled) => RawSecurityDefaults::Enabled,
            Some(SecurityDefaults::Disabled) => RawSecurityDefaults::Disabled,
            None => RawSecurityDefaults::Unmanaged,
        }),
        per_user_mfa: Some(match m.per_user_mfa {
            Some(PerUserMfa::DisabledForAppUsers) => RawPerUserMfa::DisabledForAppUsers,
            None => RawPerUserMfa::Unmanaged,
        }),
        conditional_access: Some(RawConditionalAccess {
            exclude_app: Some(match &m.exclude_app {
                Some(PolicySelection::FromPoliciesRequiringMfa) => {
                    RawExcludeApp::Keyword(RawExcludeKeyword::FromPoliciesRequiringMfa)
                }
                Some(PolicySelection::Named(p)) => RawExcludeApp::Policies(p.clone()),
                None => RawExcludeApp::Keyword(RawExcludeKeyword::Unmanaged),
            }),
            exclude_users: m.exclude_users.as_ref().map(unselection),
            placeholder: m.placeholder.as_ref().map(|p| RawPlaceholder {
                display_name: p.display_name.clone(),
                unique_name: p.unique_name.clone(),
                exclude_from: Some(unselection(&p.exclude_from)),
            }),
        }),
    }
}
