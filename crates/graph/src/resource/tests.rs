use serde_json::json;

use super::application::{Application, Platform, TokenType};
use super::service_principal::ServicePrincipal;
use super::*;
use crate::permissions::permission_for;

#[test]
fn an_application_parses_leniently_and_keeps_what_it_does_not_model() {
    let v = json!({
        "id": "o1", "appId": "a1", "displayName": "Kandji Passport", "uniqueName": null,
        "tags": "not-a-list", "isFallbackPublicClient": "yes",
        "web": {"redirectUris": ["http://localhost"], "homePageUrl": "https://x",
                "redirectUriSettings": [{"uri": "http://localhost", "index": null}]},
        "spa": null,
        "optionalClaims": {"idToken": [{"name": "upn", "essential": true}, {"essential": false}],
                           "accessToken": null},
        "requiredResourceAccess": [{"resourceAppId": "g", "resourceAccess": [{"id": "s", "type": "Scope"}]}, 7],
        "notes": "kept",
    });
    let app: Application = parse(&v).expect("parses");
    assert_eq!(app.unique_name, None);
    assert!(app.tags.is_empty());
    assert_eq!(app.is_fallback_public_client, None);
    assert_eq!(app.redirect_uris(Platform::Web), ["http://localhost"]);
    assert!(app.redirect_uris(Platform::Spa).is_empty());
    let claims = app.claims(TokenType::Id);
    assert_eq!(claims.len(), 1, "a claim without a name is skipped");
    assert!(claims[0].essential);
    assert!(app.claims(TokenType::Access).is_empty());
    assert_eq!(app.required_resource_access.len(), 1);
    assert_eq!(app.other["notes"], "kept");
    // Round trip: what entractl does not model is written back.
    let back = app.to_json();
    assert_eq!(back["web"]["homePageUrl"], "https://x");
    assert_eq!(back["notes"], "kept");
    assert!(
        parse::<Application>(&json!({"id": "o1"})).is_none(),
        "appId is required"
    );
}

#[test]
fn platform_and_claims_values_replace_only_what_is_managed() {
    let app: Application = parse(&json!({"id": "o", "appId": "a",
        "web": {"redirectUris": ["x"], "logoutUrl": "https://out", "redirectUriSettings": []},
        "optionalClaims": {"idToken": [], "saml2Token": [{"name": "upn"}], "future": 1}}))
    .unwrap();
    let web = application::redirect_uris_value(app.web.as_ref(), &["y".to_string()]);
    assert_eq!(
        web,
        json!({"redirectUris": ["y"], "logoutUrl": "https://out"})
    );
    let claims = application::optional_claims_value(
        app.optional_claims.as_ref(),
        &[(TokenType::Id, vec![json!({"name": "email"})])],
    );
    assert_eq!(claims["idToken"], json!([{"name": "email"}]));
    assert_eq!(claims["accessToken"], json!([]));
    assert_eq!(claims["saml2Token"][0]["name"], "upn");
    assert_eq!(claims["future"], 1);
}

#[test]
fn a_service_principal_lists_its_permissions() {
    let sp: ServicePrincipal = parse(
        &json!({"id": "s", "appId": "a", "displayName": "Microsoft Graph",
        "oauth2PermissionScopes": [{"id": "1", "value": "User.Read", "isEnabled": true}],
        "appRoles": [{"id": "2", "value": "User.Read.All"}, {"id": "3"}]}),
    )
    .unwrap();
    assert_eq!(sp.oauth2_permission_scopes[0].value, "User.Read");
    assert_eq!(sp.app_roles.len(), 1, "a role without a value is skipped");
    assert!(
        sp.app_roles[0].is_application_permission(),
        "not known: allowed"
    );
}

#[test]
fn an_app_role_says_whether_client_applications_can_be_granted_it() {
    let sp: ServicePrincipal = parse(&json!({"id": "s", "appId": "a", "appRoles": [
        {"id": "1", "value": "User.Read.All", "allowedMemberTypes": ["Application"],
         "description": "Allows the app to read user profiles without a signed in user."},
        {"id": "2", "value": "Approver", "allowedMemberTypes": ["User"]},
        {"id": "3", "value": "Both", "allowedMemberTypes": ["User", "Application"]},
    ]}))
    .unwrap();
    let can: Vec<bool> = sp
        .app_roles
        .iter()
        .map(|r| r.is_application_permission())
        .collect();
    assert_eq!(can, [true, false, true]);
    assert!(sp.app_roles[0].description.starts_with("Allows the app"));
}

#[test]
fn application_permissions_are_read_from_the_client_and_granted_through_the_api() {
    let req = app_role_assignment::list_granted("client", "read");
    assert_eq!(req.path(), "/servicePrincipals/client/appRoleAssignments");
    assert_eq!(
        permission_for("GET", req.path()),
        Some("Application.Read.All")
    );
    let body = app_role_assignment::application_permission_body(None, "graph", "role");
    assert_eq!(
        body,
        json!({"principalId": null, "resourceId": "graph", "appRoleId": "role"})
    );
    let a: app_role_assignment::AppRoleAssignment = parse(&json!({"id": "x",
        "appRoleId": "ROLE", "principalId": "c", "principalType": "ServicePrincipal",
        "resourceId": "G", "resourceDisplayName": "Microsoft Graph"}))
    .unwrap();
    assert!(a.is_service_principal());
    assert_eq!(
        (a.app_role_id.as_str(), a.resource_id.as_str()),
        ("role", "g")
    );
    let req = app_role_assignment::create(
        json!({"principalId": "c", "resourceId": "g", "appRoleId": "r"}),
    );
    assert_eq!(req.path(), "/servicePrincipals/g/appRoleAssignedTo");
}

#[test]
fn paths_and_keys() {
    assert_eq!(odata_str("O'Brien"), "'O''Brien'");
    assert_eq!(
        application::by_unique_name("kandji"),
        "/applications(uniqueName='kandji')"
    );
    assert_eq!(
        user::path("$admin#1@contoso.com"),
        "/users('$admin%231@contoso.com')"
    );
    assert_eq!(
        user::path(" alice@contoso.com "),
        "/users/alice@contoso.com"
    );
    assert_eq!(
        authentication_requirements::path("alice@contoso.com"),
        "/users/alice@contoso.com/authentication/requirements"
    );
    assert_eq!(group::path("ABC"), "/groups/abc");
}

#[test]
fn every_operation_is_found_by_its_own_path() {
    for op in operations() {
        let concrete = op.path.replace("{}", "x");
        assert_eq!(
            permission_for(op.method, &concrete),
            Some(op.permission),
            "{} {}",
            op.method,
            op.path
        );
    }
}

#[test]
fn creates_carry_a_probe_by_their_key_and_writes_wait_for_replication() {
    let req = service_principal::create(service_principal::create_body(Some("app-1"), &["t"]));
    let probe = req.probe.as_ref().expect("probe");
    assert_eq!(
        probe.relative_url(),
        "/servicePrincipals?$filter=appId%20eq%20'app-1'"
    );
    assert!(!req.retry_rules.is_empty());
    let req = app_role_assignment::create(app_role_assignment::body("u", Some("sp"), "r"));
    assert_eq!(req.path(), "/servicePrincipals/sp/appRoleAssignedTo");
    let req = application::create(json!({}), "k");
    assert_eq!(
        req.probe.as_ref().unwrap().path(),
        "/applications(uniqueName='k')"
    );
}

#[test]
fn group_membership_claims_follow_graph_comma_lists() {
    use super::application::{GroupClaim, GroupMembershipClaims};
    let p = |v: Option<&str>| GroupMembershipClaims::parse(v).unwrap();
    assert_eq!(p(None), GroupMembershipClaims::default());
    assert_eq!(p(Some("None")), GroupMembershipClaims::default());
    assert_eq!(
        p(Some("all")),
        GroupMembershipClaims::of(Some(GroupClaim::All))
    );
    assert_eq!(
        p(Some("DirectoryRole, SecurityGroup")),
        p(Some("securitygroup,directoryrole"))
    );
    assert_eq!(
        p(Some("DirectoryRole, SecurityGroup")).graph_value(),
        "SecurityGroup, DirectoryRole"
    );
    assert_eq!(GroupMembershipClaims::parse(Some("Everything")), None);
}

mod subscribed_skus {
    use serde_json::{Value, json};

    use super::subscribed_sku::LicenseTier;

    fn sku(status: &str, plans: &[(&str, &str)]) -> Value {
        json!({
            "skuPartNumber": "X",
            "capabilityStatus": status,
            "servicePlans": plans.iter().map(|(n, s)| json!({"servicePlanName": n, "provisioningStatus": s})).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn license_tier_from_skus_directly_or_in_bundles() {
        assert_eq!(LicenseTier::from_subscribed_skus(&[]), LicenseTier::Free);
        // Microsoft 365 Business Basic: no Entra ID premium plan.
        let basic = sku("Enabled", &[("EXCHANGE_S_STANDARD", "Success")]);
        assert_eq!(
            LicenseTier::from_subscribed_skus(std::slice::from_ref(&basic)),
            LicenseTier::Free
        );
        // A bundle (Business Premium) containing AAD_PREMIUM.
        let bundle = sku(
            "Enabled",
            &[
                ("EXCHANGE_S_STANDARD", "Success"),
                ("AAD_PREMIUM", "Success"),
            ],
        );
        assert_eq!(
            LicenseTier::from_subscribed_skus(&[basic.clone(), bundle]),
            LicenseTier::P1
        );
        // In grace period (Warning) still counts; suspended or not provisioned does not.
        let p2 = sku(
            "Warning",
            &[("AAD_PREMIUM", "Success"), ("AAD_PREMIUM_P2", "Success")],
        );
        assert_eq!(LicenseTier::from_subscribed_skus(&[p2]), LicenseTier::P2);
        let suspended = sku("Suspended", &[("AAD_PREMIUM", "Success")]);
        let pending = sku("Enabled", &[("AAD_PREMIUM", "PendingProvisioning")]);
        assert_eq!(
            LicenseTier::from_subscribed_skus(&[suspended, pending]),
            LicenseTier::Free
        );
    }
}

#[test]
fn user_paths_escape_dollar_and_hash() {
    assert_eq!(user::path("alice@contoso.com"), "/users/alice@contoso.com");
    assert_eq!(user::path("$svc@contoso.com"), "/users('$svc@contoso.com')");
    assert_eq!(
        user::path("o'neil#1@contoso.com"),
        "/users/o'neil%231@contoso.com"
    );
    assert_eq!(
        user::path("$o'n@contoso.com"),
        "/users('$o''n@contoso.com')"
    );
}

#[test]
fn a_users_domain_is_the_upn_suffix_and_federation_is_authentication_type() {
    use super::domain::{self, Domain};
    let domains: Vec<Domain> = [
        json!({"id": "Contoso.com", "authenticationType": "Managed"}),
        json!({"id": "corp.contoso.com", "authenticationType": "Federated"}),
        json!({"id": "odd.example", "authenticationType": null}),
    ]
    .iter()
    .filter_map(parse)
    .collect();
    assert_eq!(
        domains[0].id, "contoso.com",
        "domain names compare lower case"
    );
    let d = |upn: &str| domain::for_upn(&domains, upn).map(|d| d.is_federated());
    assert_eq!(d("alice@CONTOSO.com"), Some(false));
    assert_eq!(d("dana@corp.contoso.com"), Some(true));
    assert_eq!(d("x@odd.example"), Some(false));
    assert_eq!(d("x@elsewhere.example"), None);
    assert_eq!(d("no-at-sign"), None);
    assert_eq!(
        permission_for("GET", "/domains?$select=id"),
        Some("Domain.Read.All")
    );
}

#[test]
fn a_policy_assigned_to_the_app_wins_over_the_organization_default() {
    use super::home_realm_discovery_policy::{self as hrd, Effective, HomeRealmDiscoveryPolicy};
    let policy = |id: &str, definition: &str, default: bool| -> HomeRealmDiscoveryPolicy {
        parse(
            &json!({"id": id, "displayName": id, "definition": [definition],
                      "isOrganizationDefault": default}),
        )
        .unwrap()
    };
    let allow = r#"{"HomeRealmDiscoveryPolicy":{"AllowCloudPasswordValidation":true}}"#;
    let accelerate = r#"{"HomeRealmDiscoveryPolicy":{"AccelerateToFederatedDomain":true,"PreferredDomain":"corp.contoso.com"}}"#;
    assert!(policy("a", allow, false).allows_cloud_password_validation());
    assert!(!policy("b", accelerate, false).allows_cloud_password_validation());
    assert!(!policy("c", "not json", false).allows_cloud_password_validation());
    let as_string = r#"{"HomeRealmDiscoveryPolicy":{"AllowCloudPasswordValidation":"true"}}"#;
    assert!(!policy("d", as_string, false).allows_cloud_password_validation());

    let all = [
        (policy("org", allow, true), vec![]),
        (policy("app", accelerate, false), vec!["sp-1".to_string()]),
    ];
    let pairs = || all.iter().map(|(p, t)| (p, t.as_slice()));
    assert!(matches!(
        hrd::effective(pairs(), Some("SP-1")),
        Effective::AssignedToApp(p) if p.id == "app"
    ));
    assert!(matches!(
        hrd::effective(pairs(), Some("sp-2")),
        Effective::OrganizationDefault(p) if p.id == "org"
    ));
    assert!(matches!(
        hrd::effective(pairs(), None),
        Effective::OrganizationDefault(_)
    ));
    assert_eq!(
        hrd::effective(pairs().skip(1), Some("sp-2")),
        Effective::None
    );
    assert_eq!(
        permission_for("GET", "/policies/homeRealmDiscoveryPolicies/p1/appliesTo"),
        Some("Policy.Read.All and Application.Read.All")
    );
}
