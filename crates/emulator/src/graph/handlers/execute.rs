//! Dispatch of a routed, authorised request to its handler.

use std::time::Instant;

use super::assignments::Side;
use super::common::{Coll, Ctx, delete_record, get_one, list_top};
use super::{
    applications, assignments, ca_settings, deleted, directory, grants, home_realm, organization,
    policies, service_principals, what_if,
};
use crate::app::SharedState;
use crate::graph::odata::GraphError;
use crate::graph::request::{Caller, GraphRequest, GraphResponse};
use crate::graph::routes::Route;

/// Run a routed, authorised request.
pub fn execute(
    state: &SharedState,
    caller: &Caller,
    req: &GraphRequest,
    route: &Route,
) -> Result<GraphResponse, GraphError> {
    let resolved;
    let route = if route.sp_by_app_id {
        let app_id = route.params.first().cloned().unwrap_or_default();
        let id = {
            let emu = state.read();
            emu.tenants
                .get(&caller.tenant)
                .and_then(|t| t.service_principal_by_app_id(&app_id))
                .filter(|r| r.is_visible(Instant::now()))
                .map(|r| r.id().to_string())
        }
        .ok_or_else(|| GraphError::not_found(&format!("appId={app_id}")))?;
        let mut r = route.clone();
        r.params[0] = id;
        r.sp_by_app_id = false;
        resolved = r;
        &resolved
    } else {
        route
    };
    let c = Ctx {
        state,
        caller,
        req,
        route,
        now: Instant::now(),
    };
    let m = req.method.as_str();
    if let Some(answer) = home_realm::execute(&c, m, route.template) {
        return answer;
    }
    match (m, route.template) {
        ("GET", "/applications") => list_top(&c, Coll::Applications),
        ("POST", "/applications") => applications::create_application(&c, None),
        (
            "GET",
            "/applications/{id}"
            | "/applications(appId='{appId}')"
            | "/applications(uniqueName='{uniqueName}')",
        ) => get_one(&c, Coll::Applications),
        (
            "PATCH",
            "/applications/{id}"
            | "/applications(appId='{appId}')"
            | "/applications(uniqueName='{uniqueName}')",
        ) => applications::patch_application(&c),
        (
            "DELETE",
            "/applications/{id}"
            | "/applications(appId='{appId}')"
            | "/applications(uniqueName='{uniqueName}')",
        ) => applications::delete_directory_object(&c, Coll::Applications),
        ("GET", "/servicePrincipals") => list_top(&c, Coll::ServicePrincipals),
        ("POST", "/servicePrincipals") => service_principals::create_service_principal(&c),
        ("GET", "/servicePrincipals/{id}" | "/servicePrincipals(appId='{appId}')") => {
            get_one(&c, Coll::ServicePrincipals)
        }
        ("PATCH", "/servicePrincipals/{id}" | "/servicePrincipals(appId='{appId}')") => {
            service_principals::patch_service_principal(&c)
        }
        ("DELETE", "/servicePrincipals/{id}" | "/servicePrincipals(appId='{appId}')") => {
            applications::delete_directory_object(&c, Coll::ServicePrincipals)
        }
        ("GET", "/servicePrincipals/{id}/appRoleAssignedTo") => {
            assignments::list_assignments(&c, "resourceId")
        }
        ("GET", "/servicePrincipals/{id}/appRoleAssignments") => {
            assignments::list_assignments(&c, "principalId")
        }
        ("POST", "/servicePrincipals/{id}/appRoleAssignedTo") => {
            assignments::create_assignment(&c, Side::Resource)
        }
        ("DELETE", "/servicePrincipals/{id}/appRoleAssignedTo/{id}") => {
            assignments::delete_assignment(&c, Side::Resource)
        }
        ("POST", "/servicePrincipals/{id}/appRoleAssignments") => {
            assignments::create_assignment(&c, Side::Principal)
        }
        ("DELETE", "/servicePrincipals/{id}/appRoleAssignments/{id}") => {
            assignments::delete_assignment(&c, Side::Principal)
        }
        ("GET", "/servicePrincipals/{id}/oauth2PermissionGrants") => grants::list_grants_of_sp(&c),
        ("GET", "/oauth2PermissionGrants") => list_top(&c, Coll::Grants),
        ("POST", "/oauth2PermissionGrants") => grants::create_grant(&c),
        ("GET", "/oauth2PermissionGrants/{id}") => get_one(&c, Coll::Grants),
        ("PATCH", "/oauth2PermissionGrants/{id}") => grants::patch_grant(&c),
        ("DELETE", "/oauth2PermissionGrants/{id}") => delete_record(&c, Coll::Grants),
        ("GET", "/users") => list_top(&c, Coll::Users),
        ("POST", "/users") => directory::create_user(&c),
        ("GET", "/users/{id}") => get_one(&c, Coll::Users),
        ("GET", "/users/{id}/authentication/requirements") => policies::get_auth_requirements(&c),
        ("PATCH", "/users/{id}/authentication/requirements") => {
            policies::patch_auth_requirements(&c)
        }
        ("GET", "/groups") => list_top(&c, Coll::Groups),
        ("POST", "/groups") => directory::create_group(&c),
        ("GET", "/groups/{id}") => get_one(&c, Coll::Groups),
        ("DELETE", "/groups/{id}") => directory::delete_group(&c),
        ("GET", "/groups/{id}/members") => directory::list_members(&c, false),
        ("GET", "/groups/{id}/transitiveMembers") => directory::list_members(&c, true),
        ("POST", "/groups/{id}/members/$ref") => directory::add_member(&c),
        ("DELETE", "/groups/{id}/members/{id}/$ref") => directory::remove_member(&c),
        ("GET", "/subscribedSkus") => organization::subscribed_skus(&c),
        ("GET", "/organization") => organization::organization(&c, false),
        ("GET", "/organization/{id}") => organization::organization(&c, true),
        ("GET", "/identity/conditionalAccess/policies") => list_top(&c, Coll::Policies),
        ("POST", "/identity/conditionalAccess/policies") => policies::create_policy(&c),
        ("GET", "/identity/conditionalAccess/policies/{id}") => get_one(&c, Coll::Policies),
        ("PATCH", "/identity/conditionalAccess/policies/{id}") => policies::patch_policy(&c),
        ("DELETE", "/identity/conditionalAccess/policies/{id}") => policies::delete_policy(&c),
        ("POST", "/identity/conditionalAccess/evaluate") => what_if::evaluate(&c),
        ("GET", "/identity/conditionalAccess/settings") => ca_settings::get_settings(&c),
        ("PATCH", "/identity/conditionalAccess/settings") => ca_settings::patch_settings(&c),
        ("GET", "/policies/identitySecurityDefaultsEnforcementPolicy") => {
            policies::get_security_defaults(&c)
        }
        ("PATCH", "/policies/identitySecurityDefaultsEnforcementPolicy") => {
            policies::patch_security_defaults(&c)
        }
        ("GET", "/directory/deletedItems/microsoft.graph.application") => {
            deleted::list_deleted(&c, "applications")
        }
        ("GET", "/directory/deletedItems/microsoft.graph.servicePrincipal") => {
            deleted::list_deleted(&c, "servicePrincipals")
        }
        ("GET", "/directory/deletedItems/{id}") => deleted::get_deleted(&c),
        ("POST", "/directory/deletedItems/{id}/restore") => deleted::restore_deleted(&c),
        ("DELETE", "/directory/deletedItems/{id}") => deleted::purge_deleted(&c),
        _ => Err(GraphError::new(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )),
    }
}
