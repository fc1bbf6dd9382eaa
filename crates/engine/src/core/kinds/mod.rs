//! The kinds of Entra object entractl manages, each behind the one [`Kind`] trait, and the
//! registry `apply`, `simulate_apply`, the journal and `entractl permissions` go through.

mod app_permission;
mod application;
mod application_fields;
mod assignment;
mod assignment_plan;
mod ca_app_deselect;
mod ca_app_restore;
mod ca_exclusion;
mod ca_exclusion_plan;
mod ca_remedy;
mod ca_restore;
mod context;
mod grant;
mod kind;
mod per_user_mfa;
mod placeholder;
mod placeholder_former;
mod placeholder_sp;
mod placeholder_step;
mod record;
mod security_defaults;
mod security_defaults_restore;
mod service_principal;
mod teardown;

pub use ca_exclusion_plan::APP_ID_AFTER_APPLY;
pub use context::{
    AppState, PlanContext, RESTORE_WINDOW_DAYS, ResolvedResource, identify_app,
    resolve_permissions, restorable,
};
pub use kind::{Kind, Needed, PlanOut, RequiredPermissions, Sending};
pub use security_defaults::KEY as SECURITY_DEFAULTS_KEY;

use crate::core::plan::ObjectKind;

/// Every kind, in the order their parts of a plan are made (the order of the plan's notes);
/// changes are applied by [`ObjectKind::rank`].
pub const KINDS: [&dyn Kind; 12] = [
    &application::ApplicationKind,
    &service_principal::ServicePrincipalKind,
    &grant::GrantKind,
    &app_permission::AppPermissionKind,
    &security_defaults::SecurityDefaultsKind,
    &per_user_mfa::PerUserMfaKind,
    &placeholder::PlaceholderApplicationKind,
    &placeholder_sp::PlaceholderServicePrincipalKind,
    &ca_exclusion::CaExclusionKind,
    &assignment::AssignmentKind,
    &record::RecordGroupKind,
    &record::RecordKind,
];

/// The implementation of `kind`.
pub fn of(kind: ObjectKind) -> &'static dyn Kind {
    match kind {
        ObjectKind::Application => &application::ApplicationKind,
        ObjectKind::ServicePrincipal => &service_principal::ServicePrincipalKind,
        ObjectKind::OAuth2PermissionGrant => &grant::GrantKind,
        ObjectKind::ApplicationPermissionGrant => &app_permission::AppPermissionKind,
        ObjectKind::AppRoleAssignment => &assignment::AssignmentKind,
        ObjectKind::SecurityDefaults => &security_defaults::SecurityDefaultsKind,
        ObjectKind::PerUserMfa => &per_user_mfa::PerUserMfaKind,
        ObjectKind::ConditionalAccessPolicy => &ca_exclusion::CaExclusionKind,
        ObjectKind::PlaceholderApplication => &placeholder::PlaceholderApplicationKind,
        ObjectKind::PlaceholderServicePrincipal => &placeholder_sp::PlaceholderServicePrincipalKind,
        ObjectKind::RecordGroup => &record::RecordGroupKind,
        ObjectKind::Record => &record::RecordKind,
    }
}

#[cfg(test)]
mod app_permission_tests;
#[cfg(test)]
mod assignment_tests;
#[cfg(test)]
mod placeholder_former_tests;
#[cfg(test)]
mod placeholder_tests;
#[cfg(test)]
mod restore_tests;
#[cfg(test)]
mod security_defaults_tests;
#[cfg(test)]
mod teardown_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_registered_once_and_found_by_its_name() {
        for k in KINDS {
            assert_eq!(of(k.kind()).kind(), k.kind());
            assert_eq!(KINDS.iter().filter(|x| x.kind() == k.kind()).count(), 1);
        }
    }
}
