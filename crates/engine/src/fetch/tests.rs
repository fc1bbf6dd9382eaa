//! Which failed reads fail a fetch, and which are not needed, against a loopback Graph stub
//! (graph-emulator cannot fail one read on purpose): a read is never taken as absence, unless it
//! is a 404 on a lookup by key, or its answer turns out not to be needed.

use std::collections::BTreeMap;
use std::sync::Arc;

use entractl_graph::testutil::{Seen, batch_server, serve};
use entractl_graph::{AccessToken, Cloud, GraphClient, GraphConfig, StaticToken};
use serde_json::{Value, json};

use super::fetch;
use crate::core::desired::{CaSelection, Desired, DesiredAssignments, DesiredMfa};
use crate::core::diff::diff;
use crate::core::error::PlanError;
use crate::core::observed::CaObserved;

const ALICE: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const BOB: &str = "b0b0b0b0-0000-4000-8000-000000000002";

/// Graph as the tests need it: `overrides` answer a path (query left out) first.
fn stub(
    overrides: BTreeMap<&'static str, (u16, Value)>,
) -> impl Fn(&Value, usize) -> (u16, Value, Option<&'static str>) {
    move |r, _| {
        let url = r["url"].as_str().unwrap_or("");
        let path = url
            .trim_start_matches("/beta")
            .split('?')
            .next()
            .unwrap_or("");
        if let Some((status, body)) = overrides.get(path) {
            return (*status, body.clone(), None);
        }
        let not_found = (
            404,
            json!({"error": {"code": "Request_ResourceNotFound", "message": "not found"}}),
            None,
        );
        let user = |id: &str, upn: &str| json!({"id": id, "userPrincipalName": upn, "displayName": upn, "accountEnabled": true});
        match path {
            "/users/alice@contoso.com" => (200, user(ALICE, "alice@contoso.com"), None),
            "/users/bob@contoso.com" => (200, user(BOB, "bob@contoso.com"), None),
            "/policies/identitySecurityDefaultsEnforcementPolicy" => {
                (200, json!({"id": "sd", "isEnabled": false}), None)
            }
            "/subscribedSkus" => (
                200,
                json!({"value": [{"capabilityStatus": "Enabled", "servicePlans": [
                {"servicePlanName": "AAD_PREMIUM", "provisioningStatus": "Success"}]}]}),
                None,
            ),
            p if p.starts_with("/applications(") => not_found,
            p if p.ends_with("/authentication/requirements") => {
                (200, json!({"perUserMfaState": "enforced"}), None)
            }
            p if p.starts_with("/users/") => not_found,
            _ => (200, json!({"value": []}), None),
        }
    }
}

fn desired(users: &[&str], mfa: DesiredMfa) -> Desired {
    let mut d = crate::core::tests::kandji();
    d.app.api_permissions = None;
    d.app.admin_consent = None;
    d.assignments = Some(DesiredAssignments::from_spec(&entractl_spec::Assignments {
        users: users.iter().map(|u| u.to_string()).collect(),
        ..Default::default()
    }));
    d.mfa = Some(mfa);
    d
}

fn per_user() -> DesiredMfa {
    DesiredMfa {
        per_user_mfa_disabled: true,
        ..DesiredMfa::default()
    }
}

async fn client(
    handler: impl Fn(&Seen, usize) -> entractl_graph::testutil::Reply + Send + Sync + 'static,
) -> (GraphClient, entractl_graph::testutil::MiniServer) {
    let srv = serve(handler).await;
    let mut cfg = GraphConfig::for_cloud(Cloud::Public, "contoso.onmicrosoft.com")
        .with_graph_url(&srv.base)
        .unwrap();
    cfg.conditional_access_interval = std::time::Duration::from_millis(1);
    cfg.backoff_base = std::time::Duration::from_millis(1);
    cfg.backoff_cap = std::time::Duration::from_millis(5);
    let token = StaticToken(AccessToken::new("not-a-jwt", None));
    (GraphClient::new(cfg, Arc::new(token)).unwrap(), srv)
}

#[tokio::test]
async fn spec_users_are_read_as_written_and_a_missing_one_is_left_to_the_assignments() {
    let (c, srv) = client(batch_server(stub(BTreeMap::new()))).await;
    let d = desired(&["alice@contoso.com", "nobody@contoso.com"], per_user());
    let (o, _) = fetch(&c, &d)
        .await
        .expect("nobody's failed per-user read is not needed");
    let mfa = o.mfa.as_ref().unwrap();
    let got: Vec<(&str, &str)> = mfa
        .per_user
        .iter()
        .map(|s| (s.user.label.as_str(), s.state.as_str()))
        .collect();
    assert_eq!(got, [("alice@contoso.com", "enforced")]);
    // alice's state was read by her UPN, once, and not again by her object id.
    let seen: Vec<String> = srv.seen().iter().map(|s| s.body.clone()).collect();
    assert!(
        !seen
            .iter()
            .any(|b| b.contains(&format!("/users/{ALICE}/authentication")))
    );
    assert!(matches!(diff(&d, &o), Err(PlanError::Assignments(_))));
}

#[tokio::test]
async fn a_failed_per_user_read_of_a_user_who_can_sign_in_fails_the_fetch() {
    let denied = (
        403,
        json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}}),
    );
    let overrides =
        BTreeMap::from([("/users/bob@contoso.com/authentication/requirements", denied)]);
    let (c, _srv) = client(batch_server(stub(overrides))).await;
    let e = fetch(&c, &desired(&["bob@contoso.com"], per_user()))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("could not read the per-user MFA state of bob@contoso.com"),
        "{e}"
    );
}

#[tokio::test]
async fn on_the_free_tier_a_failed_policy_read_is_not_needed() {
    let ca = DesiredMfa {
        conditional_access: Some(CaSelection::FromPoliciesRequiringMfa),
        ..DesiredMfa::default()
    };
    let denied = (
        403,
        json!({"error": {"code": "AccessDenied", "message": "no"}}),
    );
    let free = (200, json!({"value": []}));
    let overrides = BTreeMap::from([
        ("/identity/conditionalAccess/policies", denied.clone()),
        ("/subscribedSkus", free),
    ]);
    let (c, _srv) = client(batch_server(stub(overrides))).await;
    let (o, _) = fetch(&c, &desired(&[], ca.clone()))
        .await
        .expect("not needed on Free");
    assert!(matches!(
        o.mfa.unwrap().conditional_access,
        CaObserved::Skipped { .. }
    ));

    // With conditional access (P1), the same failure fails the fetch.
    let overrides = BTreeMap::from([("/identity/conditionalAccess/policies", denied)]);
    let (c, _srv) = client(batch_server(stub(overrides))).await;
    let e = fetch(&c, &desired(&[], ca)).await.unwrap_err();
    assert!(
        e.to_string()
            .starts_with("could not read the conditional access policies"),
        "{e}"
    );
}
