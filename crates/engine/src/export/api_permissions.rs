//! `app.apiPermissions` and `app.adminConsent` of the export: the permissions the app declares,
//! by name, and whether the tenant-wide grants say that admin consent was given for them.

use std::collections::{BTreeMap, BTreeSet};

use entractl_graph::resource::application::SCOPE;

use super::model::{ApiExport, ExportModel, set_ci};
use super::read::{Facts, Resource};
use super::types::same_guid;
use crate::core::desired::MICROSOFT_GRAPH_APP_ID;
use crate::core::normalize;

/// The declared delegated permissions (lower case) per API, by its service principal's id.
type Declared = BTreeMap<String, BTreeSet<String>>;

impl ExportModel {
    /// Sets both, or leaves both unmanaged (`None`, with a comment) when a declared permission
    /// cannot be named.
    pub(super) fn permissions(&mut self, f: &Facts) {
        let Some(declared) = self.name_api_permissions(f) else {
            return;
        };
        self.note_undeclared_grants(f, &declared);
        self.admin_consent = self.admin_consent_of(f, &declared);
        if self.admin_consent == Some(false) && !declared.is_empty() {
            self.comment(
                "app.adminConsent",
                "no tenant-wide admin consent: each user is asked to consent at first sign-in (Kandji Passport's password sign-in cannot show a consent prompt)",
            );
        }
    }

    /// Sets `api_permissions` from the app's `requiredResourceAccess`; `None` (with a comment)
    /// when an API or one of its permissions cannot be named.
    fn name_api_permissions(&mut self, f: &Facts) -> Option<Declared> {
        let mut out: Vec<ApiExport> = Vec::new();
        let mut declared = Declared::new();
        for rra in &f.app.required_resource_access {
            let key = rra.resource_app_id.to_ascii_lowercase();
            let Some(Some(res)) = f.resources.get(&key) else {
                self.comment(
                    "app.apiPermissions",
                    format!(
                        "left unmanaged: the app asks permissions of the API {key}, which has no service principal in this tenant"
                    ),
                );
                return None;
            };
            let label = api_label(&key, res);
            let mut api = out
                .iter()
                .position(|a| a.label == label)
                .map(|i| out.remove(i))
                .unwrap_or(ApiExport {
                    label,
                    delegated: Vec::new(),
                    application: Vec::new(),
                });
            for ra in &rra.resource_access {
                let delegated = ra.kind.eq_ignore_ascii_case(SCOPE);
                let value = self.offered_value(res, &ra.id, &ra.kind)?;
                let list = if delegated {
                    &mut api.delegated
                } else {
                    &mut api.application
                };
                if !list.iter().any(|v| v.eq_ignore_ascii_case(&value)) {
                    list.push(value.clone());
                }
                if delegated {
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
        Some(declared)
    }

    /// The value of permission `id` of type `ty` (`Scope` or `Role`) as the API offers it;
    /// `None` (with a comment) when it offers it no more.
    fn offered_value(&mut self, res: &Resource, id: &str, ty: &str) -> Option<String> {
        let offered = if ty.eq_ignore_ascii_case(SCOPE) {
            &res.sp.oauth2_permission_scopes
        } else {
            &res.sp.app_roles
        };
        let value = offered
            .iter()
            .find(|p| same_guid(&p.id, id))
            .map(|p| p.value.clone());
        if value.is_none() {
            self.comment(
                "app.apiPermissions",
                format!(
                    "left unmanaged: the permission id {id} ({ty}) is not offered by `{}` any more",
                    res.sp.display_name
                ),
            );
        }
        value
    }

    /// Comments on each tenant-wide grant of delegated permissions the app does not declare.
    fn note_undeclared_grants(&mut self, f: &Facts, declared: &Declared) {
        for g in &f.grants {
            let sp_id = normalize::guid(&g.resource_id);
            let want = declared.get(&sp_id).cloned().unwrap_or_default();
            let extra: Vec<String> = g
                .scopes()
                .into_iter()
                .filter(|s| !want.contains(&s.to_lowercase()))
                .collect();
            if extra.is_empty() {
                continue;
            }
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

    /// Admin consent: a tenant-wide grant of exactly the declared delegated permissions, per
    /// API; no grant at all is `false`; anything else cannot be said and stays unmanaged.
    fn admin_consent_of(&mut self, f: &Facts, declared: &Declared) -> Option<bool> {
        let mut all_match = true;
        let mut any_grant = false;
        for (sp_id, want) in declared {
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
        if declared.is_empty() {
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
        }
    }
}

/// How the spec names an API: `Microsoft Graph`, its display name when unique, else its appId.
fn api_label(key: &str, res: &Resource) -> String {
    if key == MICROSOFT_GRAPH_APP_ID {
        "Microsoft Graph".to_string()
    } else if res.name_unique && !res.sp.display_name.is_empty() {
        res.sp.display_name.clone()
    } else {
        key.to_string()
    }
}
