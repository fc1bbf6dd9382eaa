//! Loosening the exported spec where a plan of it would still change the tenant: each part
//! that cannot be expressed exactly is left unmanaged (or narrowed), with a comment saying why.

use std::collections::BTreeSet;

use super::model::{CaExport, ExportModel};
use super::types::same_guid;
use crate::core::observed::{CaObserved, ConditionalAccessPolicy, Observed};
use crate::core::plan::{Action, Change, ObjectKind};

impl ExportModel {
    /// Loosens what a plan would still change (`left`); `false` when nothing more can be done.
    pub fn relax(&mut self, left: &[&Change], observed: &Observed) -> bool {
        let mut changed = false;
        let kinds: BTreeSet<ObjectKind> = left.iter().map(|c| c.object.kind).collect();
        if kinds.contains(&ObjectKind::PerUserMfa) && self.per_user_mfa {
            self.leave_per_user_mfa(left);
            changed = true;
        }
        if kinds.contains(&ObjectKind::ConditionalAccessPolicy)
            && self.conditional_access != CaExport::Unmanaged
        {
            self.narrow_conditional_access(left, observed);
            changed = true;
        }
        if kinds.contains(&ObjectKind::SecurityDefaults) && self.security_defaults.is_some() {
            self.security_defaults = None;
            changed = true;
        }
        if kinds.contains(&ObjectKind::ApplicationPermissionGrant) && self.admin_consent.is_some() {
            self.admin_consent = None;
            self.preset = false;
            self.comment(
                "app.adminConsent",
                "left unmanaged: the application permissions granted to the app are not the ones it declares (admin consent was granted before its permissions changed, or not at all); grant admin consent again in the portal, then export again",
            );
            changed = true;
        }
        if kinds.contains(&ObjectKind::OAuth2PermissionGrant) && self.admin_consent.is_some() {
            self.admin_consent = None;
            self.preset = false;
            self.comment(
                "app.adminConsent",
                "left unmanaged: the tenant-wide grants could not be expressed exactly",
            );
            changed = true;
        }
        let sp_update = left
            .iter()
            .any(|c| c.object.kind == ObjectKind::ServicePrincipal && c.action == Action::Update);
        if (kinds.contains(&ObjectKind::AppRoleAssignment) || sp_update)
            && self.assignments.is_some()
        {
            self.assignments = None;
            self.preset = false;
            self.comment(
                "header",
                "`assignments` is left out (unmanaged): the current assignments could not be expressed exactly",
            );
            changed = true;
        }
        changed
    }

    /// Per-user MFA is on for some of the app's users: leave it unmanaged, naming them.
    fn leave_per_user_mfa(&mut self, left: &[&Change]) {
        let users: Vec<String> = left
            .iter()
            .filter(|c| c.object.kind == ObjectKind::PerUserMfa)
            .map(|c| c.object.display.clone())
            .collect();
        self.per_user_mfa = false;
        self.comment(
            "mfa.perUserMfa",
            format!(
                "left unmanaged: legacy per-user MFA is on for {} of the app's users ({}), which makes Kandji Passport's password sign-in fail for them; `disabled-for-app-users` turns it off",
                users.len(),
                users.join(", ")
            ),
        );
    }

    /// Policies requiring MFA do not exclude the app: name the policies that do exclude it
    /// (unmanaged when none does), and say which would change.
    fn narrow_conditional_access(&mut self, left: &[&Change], observed: &Observed) {
        let would: Vec<String> = left
            .iter()
            .filter(|c| c.object.kind == ObjectKind::ConditionalAccessPolicy)
            .map(|c| format!("\"{}\"", c.object.display))
            .collect();
        let policies = match observed.mfa.as_ref().map(|m| &m.conditional_access) {
            Some(CaObserved::Read { policies }) => policies.as_slice(),
            _ => &[],
        };
        let names = self.excluding_policies(policies);
        self.conditional_access = if names.is_empty() {
            CaExport::Unmanaged
        } else {
            CaExport::Policies(names)
        };
        self.comment(
            "mfa.conditionalAccess",
            format!(
                "not `from-policies-requiring-mfa`: these policies require MFA for the app's users and do not exclude it: {}; Kandji Passport's password sign-in fails under them",
                would.join(", ")
            ),
        );
    }

    /// The policies that exclude the app, by name when unique, else by id.
    fn excluding_policies(&self, policies: &[ConditionalAccessPolicy]) -> Vec<String> {
        policies
            .iter()
            .filter(|p| {
                p.applications("excludeApplications")
                    .iter()
                    .any(|a| same_guid(a, &self.app_id))
            })
            .map(|p| {
                let name = p.display_name();
                let unique = policies.iter().filter(|q| q.display_name() == name).count() == 1;
                if unique && !name.is_empty() {
                    name.to_string()
                } else {
                    p.id().to_string()
                }
            })
            .collect()
    }
}
