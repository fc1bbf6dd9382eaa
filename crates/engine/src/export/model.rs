//! The exported spec as values (before it is written as YAML), built from what was read, and
//! relaxed where a plan of it would still change the tenant.

use std::collections::{BTreeMap, BTreeSet};

use entractl_spec::{Audience, GroupsClaim, OptionalClaim, PassportMode};

use super::read::Facts;
use super::types::{ExportOptions, same_guid};
use entractl_graph::resource::application::{
    OptionalClaim as GraphClaim, Platform, SCOPE, TokenType,
};

use crate::core::desired::MICROSOFT_GRAPH_APP_ID;
use crate::core::normalize;

/// `mfa.conditionalAccess.excludeApp` of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaExport {
    Unmanaged,
    FromPoliciesRequiringMfa,
    Policies(Vec<String>),
}

/// One resource API's permissions, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiExport {
    /// `Microsoft Graph`, the API's display name when unique, else its appId.
    pub label: String,
    pub delegated: Vec<String>,
    pub application: Vec<String>,
}

/// The spec to write. Comments are keyed by the dotted path of the value they explain
/// (`app.redirectUris.web[1]`, `mfa.perUserMfa`, `header`).
#[derive(Debug, Clone)]
pub struct ExportModel {
    pub tenant: String,
    pub cloud: String,
    pub preset: bool,
    /// The Passport mode the app's settings tell: Mac Login when public client flows are on and
    /// `http://localhost` is a web redirect URI (the Mac Login procedure), else Web Login.
    pub mode: PassportMode,
    /// entractl manages the app already (it carries the `entractl:<key>` tag).
    pub managed: bool,
    pub display_name: String,
    pub unique_name: Option<String>,
    pub app_id: String,
    pub audience: Audience,
    pub public_client_flows: bool,
    pub web: Vec<String>,
    pub public_client: Vec<String>,
    pub spa: Vec<String>,
    pub id_claims: Vec<OptionalClaim>,
    pub access_claims: Vec<OptionalClaim>,
    pub saml2_claims: Vec<OptionalClaim>,
    pub groups_claim: GroupsClaim,
    /// `None`: unmanaged (a permission the API does not offer, or an API not in the tenant).
    pub api_permissions: Option<Vec<ApiExport>>,
    /// `None`: unmanaged.
    pub admin_consent: Option<bool>,
    /// `None`: unmanaged.
    pub assignments: Option<AssignmentsExport>,
    pub security_defaults: Option<bool>,
    pub per_user_mfa: bool,
    pub conditional_access: CaExport,
    pub comments: BTreeMap<String, Vec<String>>,
}

/// `assignments` of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentsExport {
    pub required: bool,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub role: Option<String>,
}

/// Mac Login's web redirect URI (Kandji's procedure: Add a platform → Web → `http://localhost`).
const MAC_LOGIN_WEB: &str = "http://localhost";

/// The Passport mode an app's settings tell: Mac Login when public client flows are on and
/// `http://localhost` is a web redirect URI (the Mac Login procedure), else Web Login.
pub fn mode_of(public_client_flows: bool, web: &[String]) -> PassportMode {
    let localhost = web
        .iter()
        .any(|u| u.trim().trim_end_matches('/').eq_ignore_ascii_case(MAC_LOGIN_WEB));
    if public_client_flows && localhost {
        PassportMode::MacLogin
    } else {
        PassportMode::WebLogin
    }
}

pub(crate) fn set_ci(v: &[String]) -> BTreeSet<String> {
    v.iter().map(|s| s.trim().to_lowercase()).collect()
}

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
    pub fn comment(&mut self, path: &str, text: impl Into<String>) {
        self.comments
            .entry(path.to_string())
            .or_default()
            .push(text.into());
    }

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

    fn permissions(&mut self, f: &Facts) {
        let mut out = Vec::new();
        let mut declared: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for rra in &f.app.required_resource_access {
            let key = rra.resource_app_id.to_ascii_lowercase();
            let Some(Some(res)) = f.resources.get(&key) else {
                self.comment(
                    "app.apiPermissions",
                    format!(
                        "left unmanaged: the app asks permissions of the API {key}, which has no service principal in this tenant"
                    ),
                );
                return;
            };
            let label = if key == MICROSOFT_GRAPH_APP_ID {
                "Microsoft Graph".to_string()
            } else if res.name_unique && !res.sp.display_name.is_empty() {
                res.sp.display_name.clone()
            } else {
                key.clone()
            };
            let mut api = out
                .iter()
                .position(|a: &ApiExport| a.label == label)
                .map(|i| out.remove(i))
                .unwrap_or(ApiExport {
                    label,
                    delegated: Vec::new(),
                    application: Vec::new(),
                });
            for ra in &rra.resource_access {
                let (id, ty) = (&ra.id, &ra.kind);
                let (offered, list) = if ty.eq_ignore_ascii_case(SCOPE) {
                    (&res.sp.oauth2_permission_scopes, &mut api.delegated)
                } else {
                    (&res.sp.app_roles, &mut api.application)
                };
                let Some(value) = offered
                    .iter()
                    .find(|p| same_guid(&p.id, id))
                    .map(|p| &p.value)
                else {
                    self.comment(
                        "app.apiPermissions",
                        format!(
                            "left unmanaged: the permission id {id} ({ty}) is not offered by `{}` any more",
                            res.sp.display_name
                        ),
                    );
                    return;
                };
                if !list.iter().any(|v| v.eq_ignore_ascii_case(value)) {
                    list.push(value.clone());
                }
                if ty.eq_ignore_ascii_case(SCOPE) {
                    declared
                        .entry(normalize::guid(&res.sp.id))
                        .or_default()
                        .insert(value.to_lowercase());
                }
            }
            if api.delegated.is_empty() && api.application.is_empty() {
                continue;
            }
            out.push(api);
        }
        self.api_permissions = Some(out);

        // Admin consent: a tenant-wide grant of exactly the declared delegated permissions, per
        // API; no grant at all is `false`; anything else cannot be said and stays unmanaged.
        let mut all_match = true;
        let mut any_grant = false;
        for (sp_id, want) in &declared {
            let g = f
                .grants
                .iter()
                .find(|g| normalize::guid(&g.resource_id) == *sp_id);
            match g {
                Some(g) => {
                    any_grant = true;
                    if set_ci(&g.scopes()) != *want {
                        all_match = false;
                    }
                }
                None => all_match = false,
            }
        }
        for g in &f.grants {
            let sp_id = normalize::guid(&g.resource_id);
            let want = declared.get(&sp_id).cloned().unwrap_or_default();
            let extra: Vec<String> = g
                .scopes()
                .into_iter()
                .filter(|s| !want.contains(&s.to_lowercase()))
                .collect();
            if !extra.is_empty() {
                let api = f
                    .resource_by_sp_id(&g.resource_id)
                    .map(|r| r.sp.display_name.clone())
                    .unwrap_or_else(|| g.resource_id.clone());
                self.comment(
                    "app.adminConsent",
                    format!(
                        "the tenant-wide grant to `{api}` includes {} which the app does not declare under API permissions: consented but never asked for; remove them in the portal unless intended",
                        extra.join(", ")
                    ),
                );
            }
        }
        self.admin_consent = if declared.is_empty() {
            Some(false)
        } else if all_match {
            Some(true)
        } else if !any_grant
            && f.grants
                .iter()
                .all(|g| !declared.contains_key(&normalize::guid(&g.resource_id)))
        {
            Some(false)
        } else {
            self.comment(
                "app.adminConsent",
                "left unmanaged: the tenant-wide grants do not match the declared delegated permissions (admin consent was granted before permissions changed); grant admin consent again in the portal, then export again",
            );
            None
        };
        if self.admin_consent == Some(false) && !declared.is_empty() {
            self.comment(
                "app.adminConsent",
                "no tenant-wide admin consent: each user is asked to consent at first sign-in (Kandji Passport's password sign-in cannot show a consent prompt)",
            );
        }
    }

    fn assignments(&mut self, f: &Facts) {
        let Some(sp) = &f.sp else {
            self.comment(
                "assignments",
                "the app has no service principal (enterprise application) yet: nobody is assigned",
            );
            self.assignments = Some(AssignmentsExport {
                required: false,
                users: vec![],
                groups: vec![],
                role: None,
            });
            return;
        };
        let people: Vec<_> = f
            .assigned
            .iter()
            .filter(|a| {
                a.principal_type.eq_ignore_ascii_case("User")
                    || a.principal_type.eq_ignore_ascii_case("Group")
            })
            .collect();
        // The role most assignments have; the others stay assigned (prune is off).
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &people {
            *counts.entry(a.app_role_id.as_str()).or_default() += 1;
        }
        let role_id = counts
            .iter()
            .max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id)))
            .map(|(id, _)| id.to_string())
            .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
        let role = if role_id == "00000000-0000-0000-0000-000000000000" {
            None
        } else {
            Some(
                sp.app_roles
                    .iter()
                    .find(|r| same_guid(&r.id, &role_id))
                    .map(|r| r.value.clone())
                    .unwrap_or_else(|| role_id.clone()),
            )
        };
        let mut users = Vec::new();
        let mut groups = Vec::new();
        let mut other_role = Vec::new();
        for a in &people {
            if a.app_role_id != role_id {
                other_role.push(a.principal_display_name.clone());
                continue;
            }
            if a.principal_type.eq_ignore_ascii_case("User") {
                match f.upns.get(&a.principal_id).cloned().flatten() {
                    Some(upn) => users.push(upn),
                    None => self.comment(
                        "assignments.users",
                        format!(
                            "user {} ({}) is assigned but could not be read (deleted?): not listed",
                            a.principal_id, a.principal_display_name
                        ),
                    ),
                }
            } else if f
                .group_name_unique
                .get(&a.principal_id)
                .copied()
                .unwrap_or(false)
            {
                groups.push(a.principal_display_name.clone());
            } else {
                self.comment(
                    "assignments.groups",
                    format!(
                        "{} is group \"{}\", named by id because that name is not unique",
                        a.principal_id, a.principal_display_name
                    ),
                );
                groups.push(a.principal_id.clone());
            }
        }
        if !other_role.is_empty() {
            self.comment(
                "assignments",
                format!(
                    "assigned with another app role, kept as they are and not listed: {}",
                    other_role.join(", ")
                ),
            );
        }
        let apps = f
            .assigned
            .iter()
            .filter(|a| a.principal_type.eq_ignore_ascii_case("ServicePrincipal"))
            .count();
        if apps > 0 {
            self.comment(
                "assignments",
                format!(
                    "{apps} other application(s) are assigned too; entractl never touches those"
                ),
            );
        }
        users.sort_by_key(|u| u.to_lowercase());
        groups.sort_by_key(|g| g.to_lowercase());
        self.assignments = Some(AssignmentsExport {
            required: sp.app_role_assignment_required.unwrap_or(false),
            users,
            groups,
            role,
        });
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
