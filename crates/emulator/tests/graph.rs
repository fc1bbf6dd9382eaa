//! The emulator's Graph surface over HTTP: every endpoint, errors, permissions, paging, `$batch`,
//! realism knobs (replayable by seed), control API, state file, scenarios.

use graph_emulator::scenarios::*;
use graph_emulator::{EmulatorConfig, Knobs, RunningEmulator, Throttle, start};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn emu_with(name: &str, seed: u64, knobs: Knobs) -> RunningEmulator {
    let mut cfg = EmulatorConfig::scenario(name);
    cfg.seed = seed;
    cfg.knobs = knobs;
    start(cfg).expect("emulator starts")
}

async fn token_for(emu: &RunningEmulator, client: &str, secret: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            emu.base_url(),
            emu.tenant_id()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("token: {body}"))
        .to_string()
}

struct G {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl G {
    async fn new(emu: &RunningEmulator) -> G {
        G {
            base: emu.base_url(),
            token: token_for(emu, CI_CLIENT_ID, CI_CLIENT_SECRET).await,
            http: reqwest::Client::new(),
        }
    }
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        };
        let mut rb = self
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(&self.token);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let h = r.headers().clone();
        let text = r.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, v, h)
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, v, _) = self.send("GET", path, None, &[]).await;
        (s, v)
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self.send("POST", path, Some(body), &[]).await;
        (s, v)
    }
    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self.send("PATCH", path, Some(body), &[]).await;
        (s, v)
    }
    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let (s, v, _) = self.send("DELETE", path, None, &[]).await;
        (s, v)
    }
}

fn assert_graph_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let inner = &body["error"]["innerError"];
    assert!(
        inner["date"].is_string()
            && inner["request-id"].is_string()
            && inner["client-request-id"].is_string(),
        "{body}"
    );
}

async fn graph_sp_id(g: &G) -> String {
    let (s, sp) = g.get(&format!("/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appRoles,oauth2PermissionScopes")).await;
    assert_eq!(s, 200, "{sp}");
    sp["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn application_service_principal_grant_and_assignment_lifecycle() {
    let emu = emu_with("p1", 1, Knobs::default());
    let g = G::new(&emu).await;
    // create
    let (s, app) = g.post("/v1.0/applications", json!({"displayName": "Kandji Passport", "signInAudience": "AzureADMyOrg", "tags": ["kandji-passport"]})).await;
    assert_eq!(s, 201, "{app}");
    assert!(
        app["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#applications/$entity")
    );
    assert_eq!(app["isFallbackPublicClient"], Value::Null);
    assert_eq!(
        app["web"]["implicitGrantSettings"]["enableIdTokenIssuance"],
        false
    );
    let (id, app_id) = (
        app["id"].as_str().unwrap().to_string(),
        app["appId"].as_str().unwrap().to_string(),
    );
    // get by key + filters
    let (s, got) = g
        .get(&format!("/v1.0/applications(appId='{app_id}')"))
        .await;
    assert_eq!((s.as_u16(), got["id"].as_str()), (200, Some(id.as_str())));
    let (_, list) = g
        .get("/v1.0/applications?$filter=tags/any(t:t eq 'kandji-passport')&$select=id,displayName")
        .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert_eq!(list["value"][0].as_object().unwrap().len(), 2, "{list}");
    assert!(
        list["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#applications(id,displayName)")
    );
    let (_, list) = g
        .get("/v1.0/applications?$filter=displayName eq 'Kandji Passport'")
        .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    // patch replaces collections, merges objects
    let (s, _) = g.patch(&format!("/v1.0/applications/{id}"), json!({"isFallbackPublicClient": true, "web": {"redirectUris": ["https://a.example/cb"]}, "tags": []})).await;
    assert_eq!(s, 204);
    let (_, got) = g.get(&format!("/v1.0/applications/{id}")).await;
    assert_eq!(got["tags"], json!([]));
    assert_eq!(got["isFallbackPublicClient"], true);
    assert_eq!(got["web"]["redirectUris"], json!(["https://a.example/cb"]));
    // unknown and read-only properties are rejected
    let (s, e) = g
        .patch(&format!("/v1.0/applications/{id}"), json!({"bogus": 1}))
        .await;
    assert_eq!(s, 400);
    assert_graph_error(&e, "Request_BadRequest");
    let (s, _) = g
        .patch(&format!("/v1.0/applications/{id}"), json!({"appId": "x"}))
        .await;
    assert_eq!(s, 400);
    // service principal
    let (s, sp) = g
        .post("/v1.0/servicePrincipals", json!({"appId": app_id}))
        .await;
    assert_eq!(s, 201, "{sp}");
    let sp_id = sp["id"].as_str().unwrap().to_string();
    assert_eq!(sp["appDisplayName"], "Kandji Passport");
    let (s, e) = g
        .post("/v1.0/servicePrincipals", json!({"appId": app_id}))
        .await;
    assert_eq!(s, 409);
    assert_graph_error(&e, "Request_MultipleObjectsWithSameKeyValue");
    let (s, e) = g
        .post(
            "/v1.0/servicePrincipals",
            json!({"appId": "00000000-1111-4111-8111-000000000000"}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not reference a valid application object")
    );
    let (s, _) = g
        .patch(
            &format!("/v1.0/servicePrincipals(appId='{app_id}')"),
            json!({"appRoleAssignmentRequired": true}),
        )
        .await;
    assert_eq!(s, 204);
    // grants
    let graph = graph_sp_id(&g).await;
    let grant = json!({"clientId": sp_id, "consentType": "AllPrincipals", "resourceId": graph, "scope": "openid profile"});
    let (s, gr) = g.post("/v1.0/oauth2PermissionGrants", grant.clone()).await;
    assert_eq!(s, 201, "{gr}");
    assert!(
        !gr["id"].as_str().unwrap().contains('-'),
        "grant ids are opaque base64url"
    );
    let (s, e) = g.post("/v1.0/oauth2PermissionGrants", grant).await;
    assert_eq!(s, 409);
    assert_graph_error(&e, "Request_MultipleObjectsWithSameKeyValue");
    let gid = gr["id"].as_str().unwrap();
    let (s, _) = g
        .patch(
            &format!("/v1.0/oauth2PermissionGrants/{gid}"),
            json!({"scope": "openid profile email User.Read"}),
        )
        .await;
    assert_eq!(s, 204);
    let (_, list) = g
        .get(&format!(
            "/v1.0/oauth2PermissionGrants?$filter=clientId eq '{sp_id}'"
        ))
        .await;
    assert_eq!(list["value"][0]["scope"], "openid profile email User.Read");
    // appRoleAssignedTo
    let alice = emu.with_tenant(|t| t.user("alice@contoso.com").unwrap().id().to_string());
    let a = json!({"principalId": alice, "resourceId": sp_id, "appRoleId": "00000000-0000-0000-0000-000000000000"});
    let (s, ara) = g
        .post(
            &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo"),
            a.clone(),
        )
        .await;
    assert_eq!(s, 201, "{ara}");
    assert_eq!(ara["principalType"], "User");
    let (s, e) = g
        .post(
            &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo"),
            a,
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    let (_, list) = g
        .get(&format!(
            "/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo"
        ))
        .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let (s, _) = g
        .delete(&format!(
            "/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo/{}",
            ara["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 204);
    let by_app_id = format!("/v1.0/servicePrincipals(appId='{app_id}')/appRoleAssignedTo");
    let (s, ara2) = g
        .post(&by_app_id, json!({"principalId": alice, "resourceId": sp_id, "appRoleId": "00000000-0000-0000-0000-000000000000"}))
        .await;
    assert_eq!(s, 201, "appRoleAssignedTo by appId: {ara2}");
    let (_, list) = g.get(&by_app_id).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let (s, _) = g
        .delete(&format!("/v1.0/oauth2PermissionGrants/{gid}"))
        .await;
    assert_eq!(s, 204);
    // delete → deletedItems → restore
    let (s, _) = g.delete(&format!("/v1.0/applications/{id}")).await;
    assert_eq!(s, 204);
    let (s, e) = g.get(&format!("/v1.0/applications/{id}")).await;
    assert_eq!(s, 404);
    assert_graph_error(&e, "Request_ResourceNotFound");
    let (_, del) = g
        .get("/v1.0/directory/deletedItems/microsoft.graph.application")
        .await;
    assert!(
        del["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id.as_str() && a["deletedDateTime"].is_string())
    );
    let (s, r) = g
        .post(
            &format!("/v1.0/directory/deletedItems/{id}/restore"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, _) = g.get(&format!("/v1.0/applications/{id}")).await;
    assert_eq!(s, 200);
    // Its service principal went to deleted items with it and is not restored with it
    // (`directory-deleteditems-restore.md`); a new one can be created for the appId, after which
    // the old one can no longer be restored (its servicePrincipalNames are in use).
    let (s, _) = g
        .get(&format!("/v1.0/servicePrincipals(appId='{app_id}')"))
        .await;
    assert_eq!(s, 404, "not restored with its application");
    let (_, del) = g
        .get(&format!(
            "/v1.0/directory/deletedItems/microsoft.graph.servicePrincipal?$filter=appId eq '{app_id}'"
        ))
        .await;
    assert_eq!(del["value"].as_array().map(Vec::len), Some(1), "{del}");
    let old_sp = del["value"][0]["id"].as_str().unwrap().to_string();
    let (s, new_sp) = g
        .post("/v1.0/servicePrincipals", json!({"appId": app_id}))
        .await;
    assert_eq!(s, 201, "{new_sp}");
    assert_ne!(new_sp["id"].as_str(), Some(old_sp.as_str()));
    let (s, e) = g
        .post(
            &format!("/v1.0/directory/deletedItems/{old_sp}/restore"),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert_graph_error(&e, "Request_MultipleObjectsWithSameKeyValue");
}

/// An application permission is an app role of the API assigned to the client's service
/// principal, made through either end (graph-docs `serviceprincipal-post-approleassignedto.md`,
/// `serviceprincipal-post-approleassignments.md`, `serviceprincipal-delete-approleassignments.md`),
/// read from the client's side, and carried in the client's app-only tokens.
#[tokio::test]
async fn application_permissions_are_app_role_assignments_made_through_either_end() {
    let emu = emu_with("p1", 1, Knobs::default());
    let g = G::new(&emu).await;
    let (_, app) = g
        .post(
            "/v1.0/applications",
            json!({"displayName": "Contoso Portal"}),
        )
        .await;
    let app_id = app["appId"].as_str().unwrap().to_string();
    let (_, sp) = g
        .post("/v1.0/servicePrincipals", json!({"appId": app_id}))
        .await;
    let client = sp["id"].as_str().unwrap().to_string();
    let graph = graph_sp_id(&g).await;
    let user_read_all = "df021288-bdef-4463-88db-98f22de89214";
    let body = json!({"principalId": client, "resourceId": graph, "appRoleId": user_read_all});
    // From the client's end: the path names the principal.
    let granted = format!("/v1.0/servicePrincipals/{client}/appRoleAssignments");
    let (s, a) = g.post(&granted, body.clone()).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["principalType"], "ServicePrincipal");
    assert_eq!(a["resourceDisplayName"], "Microsoft Graph");
    assert!(
        a["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/appRoleAssignments/$entity"),
        "{a}"
    );
    // The same grant through the API's end is a duplicate.
    let assigned_to = format!("/v1.0/servicePrincipals/{graph}/appRoleAssignedTo");
    let (s, e) = g.post(&assigned_to, body.clone()).await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    // The path must be the end it stands for.
    let (s, e) = g
        .post(
            &format!("/v1.0/servicePrincipals/{graph}/appRoleAssignments"),
            body,
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{e}"
    );
    // An app role the API does not define.
    let (s, e) = g
        .post(&granted, json!({"principalId": client, "resourceId": graph, "appRoleId": "0b000000-0000-4000-8000-000000000000"}))
        .await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was not found on application")
    );
    // Read from both ends; the client's tokens carry the role.
    let (_, list) = g
        .get(&format!(
            "{granted}?$select=id,appRoleId,resourceId,resourceDisplayName"
        ))
        .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["value"][0]["resourceId"], graph.as_str());
    let (_, list) = g
        .get(&format!("{assigned_to}?$filter=principalId eq '{client}'"))
        .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    let roles = emu.with_tenant(|t| t.granted_app_roles(&app_id, GRAPH_APP_ID));
    assert_eq!(roles, ["User.Read.All"]);
    // Deleted through the client's end only when the path is the principal.
    let aid = a["id"].as_str().unwrap();
    let (s, _) = g
        .delete(&format!(
            "/v1.0/servicePrincipals/{graph}/appRoleAssignments/{aid}"
        ))
        .await;
    assert_eq!(s, 404);
    let (s, _) = g
        .delete(&format!(
            "/v1.0/servicePrincipals/{client}/appRoleAssignments/{aid}"
        ))
        .await;
    assert_eq!(s, 204);
    assert!(
        emu.with_tenant(|t| t.granted_app_roles(&app_id, GRAPH_APP_ID))
            .is_empty()
    );
    // Needs AppRoleAssignment.ReadWrite.All (and Application.Read.All), like the API's end.
    let ro = G {
        token: token_for(&emu, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET).await,
        ..G::new(&emu).await
    };
    let (s, _) = ro
        .post(
            &granted,
            json!({"principalId": client, "resourceId": graph, "appRoleId": user_read_all}),
        )
        .await;
    assert_eq!(s, 403);
    emu.shutdown();
}

#[tokio::test]
async fn upsert_by_unique_name_creates_then_updates_and_404s_without_prefer() {
    let emu = emu_with("empty", 2, Knobs::default());
    let g = G::new(&emu).await;
    let path = "/v1.0/applications(uniqueName='kandji-passport')";
    let (s, _, _) = g
        .send("PATCH", path, Some(json!({"displayName": "Passport"})), &[])
        .await;
    assert_eq!(s, 404);
    let prefer = [("Prefer", "create-if-missing")];
    let (s, created, _) = g
        .send(
            "PATCH",
            path,
            Some(json!({"displayName": "Passport"})),
            &prefer,
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["uniqueName"], "kandji-passport");
    let (s, _, _) = g
        .send("PATCH", path, Some(json!({"notes": "managed"})), &prefer)
        .await;
    assert_eq!(s, 204);
    let (_, got) = g.get(path).await;
    assert_eq!(got["notes"], "managed");
    let (s, e) = g
        .post(
            "/v1.0/applications",
            json!({"displayName": "x", "uniqueName": "kandji-passport"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_graph_error(&e, "Request_MultipleObjectsWithSameKeyValue");
}

#[tokio::test]
async fn tokens_and_permissions_are_enforced() {
    let emu = emu_with("p1", 3, Knobs::default());
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/v1.0/users", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_graph_error(&r.json().await.unwrap(), "InvalidAuthenticationToken");
    let r = http
        .get(format!("{}/v1.0/users", emu.base_url()))
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let ro = G {
        token: token_for(&emu, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET).await,
        ..G::new(&emu).await
    };
    let (s, _) = ro.get("/v1.0/applications").await;
    assert_eq!(s, 200);
    let (s, e) = ro
        .post("/v1.0/applications", json!({"displayName": "x"}))
        .await;
    assert_eq!(s, 403);
    assert_graph_error(&e, "Authorization_RequestDenied");
    let (s, _) = ro
        .patch(
            "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
            json!({"isEnabled": true}),
        )
        .await;
    assert_eq!(s, 403);
    // OwnedBy-only callers may not change apps they do not own
    let ci = G::new(&emu).await;
    let (_, app) = ci
        .post("/v1.0/applications", json!({"displayName": "owned"}))
        .await;
    emu.with_tenant(|t| {
        let sp = t
            .service_principal_by_app_id(CI_CLIENT_ID)
            .unwrap()
            .id()
            .to_string();
        let ids: Vec<String> = t
            .app_role_assignments
            .iter()
            .filter(|a| a.str("principalId") == Some(sp.as_str()))
            .map(|a| a.id().to_string())
            .collect();
        let graph = t.service_principal_by_app_id(GRAPH_APP_ID).unwrap().clone();
        for id in ids {
            let role = t
                .app_role_assignments
                .get(&id)
                .unwrap()
                .str("appRoleId")
                .unwrap()
                .to_string();
            let value = graph.obj["appRoles"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == role.as_str())
                .unwrap()["value"]
                .clone();
            if value == "Application.ReadWrite.All" {
                t.app_role_assignments.remove(&id);
            }
        }
    });
    let owned = G::new(&emu).await;
    let (s, _) = owned
        .patch(
            &format!("/v1.0/applications/{}", app["id"].as_str().unwrap()),
            json!({"notes": "mine"}),
        )
        .await;
    assert_eq!(s, 204, "the creator owns the app");
    let other = emu.with_tenant(|t| {
        t.application_by_app_id(READONLY_CLIENT_ID)
            .unwrap()
            .id()
            .to_string()
    });
    let (s, _) = owned
        .patch(
            &format!("/v1.0/applications/{other}"),
            json!({"notes": "not mine"}),
        )
        .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn users_groups_paging_and_query_errors() {
    let emu = emu_with("p1", 4, Knobs::default());
    let g = G::new(&emu).await;
    let total = emu.with_tenant(|t| t.users.len());
    assert_eq!(total, 305);
    let mut url = "/v1.0/users?$top=120&$select=id,userPrincipalName".to_string();
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let (s, page) = g.get(&url).await;
        assert_eq!(s, 200, "{page}");
        seen += page["value"].as_array().unwrap().len();
        pages += 1;
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!((seen, pages), (305, 3));
    let (_, page) = g.get("/v1.0/users").await;
    assert_eq!(
        page["value"].as_array().unwrap().len(),
        100,
        "default page size"
    );
    assert!(
        page["value"][0].get("accountEnabled").is_none(),
        "users return the default property set"
    );
    let (s, counted, _) = g
        .send(
            "GET",
            "/v1.0/users?$count=true&$top=5",
            None,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!((s.as_u16(), &counted["@odata.count"]), (200, &json!(305)));
    let (s, e) = g.get("/v1.0/users?$count=true").await;
    assert_eq!(s, 400, "$count needs ConsistencyLevel: eventual: {e}");
    let (s, e) = g.get("/v1.0/users?$top=1000").await;
    assert_eq!(s, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("999"));
    let (s, e) = g.get("/v1.0/users?$filter=jobTitle eq 'x'").await;
    assert_eq!(s, 400);
    assert_graph_error(&e, "Request_UnsupportedQuery");
    let (s, e) = g.get("/v1.0/users?$select=nope").await;
    assert_eq!(s, 400);
    assert_graph_error(&e, "Request_BadRequest");
    let (s, alice) = g
        .get("/v1.0/users/alice@contoso.com?$select=id,accountEnabled")
        .await;
    assert_eq!((s.as_u16(), &alice["accountEnabled"]), (200, &json!(true)));
    let (_, dave) = g
        .get("/v1.0/users('dave@contoso.com')?$select=accountEnabled")
        .await;
    assert_eq!(dave["accountEnabled"], false);
    let (s, _) = g.get("/v1.0/users/nobody@contoso.com").await;
    assert_eq!(s, 404);
    let (s, e) = g.post("/v1.0/users", json!({"accountEnabled": true, "displayName": "Zed", "mailNickname": "zed", "userPrincipalName": "zed@contoso.com", "passwordProfile": {"password": "x-Passw0rd!"}})).await;
    assert_eq!(s, 403, "entractl-ci has no User.ReadWrite.All: {e}");
    let admin = G {
        token: emu.app_token(
            CI_CLIENT_ID,
            &[
                "User.ReadWrite.All",
                "Group.ReadWrite.All",
                "Group.Read.All",
            ],
        ),
        ..G::new(&emu).await
    };
    let (s, u) = admin.post("/v1.0/users", json!({"accountEnabled": true, "displayName": "Zed", "mailNickname": "zed", "userPrincipalName": "zed@contoso.com", "passwordProfile": {"password": "x-Passw0rd!"}})).await;
    assert_eq!(s, 201, "{u}");
    let (s, _) = admin.post("/v1.0/users", json!({"accountEnabled": true, "displayName": "Zed", "mailNickname": "zed", "userPrincipalName": "zed@contoso.com", "passwordProfile": {"password": "x"}})).await;
    assert_eq!(s, 400);
    let (s, _) = admin.post("/v1.0/users", json!({"accountEnabled": true, "displayName": "Y", "mailNickname": "y", "userPrincipalName": "y@elsewhere.example", "passwordProfile": {"password": "x"}})).await;
    assert_eq!(s, 400, "UPN domain must be verified");
    // groups
    let (_, eng) = g.get("/v1.0/groups?$filter=displayName eq 'Engineering'&$select=id,displayName,securityEnabled").await;
    assert_eq!(
        eng["value"].as_array().unwrap().len(),
        2,
        "ambiguous names exist"
    );
    let (_, creatives) = g
        .get("/v1.0/groups?$filter=displayName eq 'All Creatives'")
        .await;
    let cid = creatives["value"][0]["id"].as_str().unwrap().to_string();
    let (_, direct) = g.get(&format!("/v1.0/groups/{cid}/members")).await;
    assert_eq!(direct["value"].as_array().unwrap().len(), 1);
    assert_eq!(direct["value"][0]["@odata.type"], "#microsoft.graph.group");
    let (_, trans) = g
        .get(&format!("/v1.0/groups/{cid}/transitiveMembers"))
        .await;
    assert!(
        trans["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["userPrincipalName"] == "alice@contoso.com")
    );
    let (s, grp) = admin.post("/v1.0/groups", json!({"displayName": "Passport Users", "mailEnabled": false, "mailNickname": "passport", "securityEnabled": true})).await;
    assert_eq!(s, 201);
    let ref_body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", u["id"].as_str().unwrap())});
    let path = format!("/v1.0/groups/{}/members/$ref", grp["id"].as_str().unwrap());
    assert_eq!(admin.post(&path, ref_body.clone()).await.0, 204);
    assert_eq!(admin.post(&path, ref_body).await.0, 400);
    let (s, _) = admin
        .delete(&format!(
            "/v1.0/groups/{}/members/{}/$ref",
            grp["id"].as_str().unwrap(),
            u["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 204);
    // organization, subscribedSkus
    let (_, skus) = g.get("/v1.0/subscribedSkus").await;
    assert!(
        skus["value"][0]["servicePlans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["servicePlanName"] == "AAD_PREMIUM")
    );
    let (_, org) = g.get("/v1.0/organization").await;
    assert_eq!(org["value"][0]["id"], P1_TENANT_ID);
    let (s, _) = g.get("/v1.0/nonsense").await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn conditional_access_security_defaults_and_per_user_mfa() {
    let emu = emu_with("p1", 5, Knobs::default());
    let g = G::new(&emu).await;
    let (_, pols) = g.get("/v1.0/identity/conditionalAccess/policies").await;
    let pols = pols["value"].as_array().unwrap().clone();
    // CA001 … CA007 and the four Microsoft-managed policies (report-only).
    assert_eq!(pols.len(), 11);
    let managed: Vec<&Value> = pols
        .iter()
        .filter(|p| {
            p["displayName"]
                .as_str()
                .unwrap()
                .starts_with("Microsoft-managed: ")
        })
        .collect();
    assert_eq!(managed.len(), 4);
    assert!(
        managed
            .iter()
            .all(|p| p["state"] == "enabledForReportingButNotEnforced")
    );
    let states: Vec<&str> = pols.iter().map(|p| p["state"].as_str().unwrap()).collect();
    for s in ["enabled", "disabled", "enabledForReportingButNotEnforced"] {
        assert!(states.contains(&s));
    }
    let p = pols
        .iter()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA001"))
        .unwrap();
    assert!(
        p["grantControls"]
            .get("authenticationStrength@odata.context")
            .is_some()
    );
    let pid = p["id"].as_str().unwrap();
    let (s, _) = g
        .patch(
            &format!("/v1.0/identity/conditionalAccess/policies/{pid}"),
            json!({"conditions": {"applications": {"excludeApplications": ["app-1"]}}}),
        )
        .await;
    assert_eq!(s, 204);
    let (_, got) = g
        .get(&format!("/v1.0/identity/conditionalAccess/policies/{pid}"))
        .await;
    assert_eq!(
        got["conditions"]["applications"]["excludeApplications"],
        json!(["app-1"])
    );
    assert_eq!(
        got["conditions"]["applications"]["includeApplications"],
        json!(["All"]),
        "partial PATCH keeps siblings"
    );
    assert_eq!(got["conditions"]["users"]["includeUsers"], json!(["All"]));
    let (s, _) = g
        .patch(
            &format!("/v1.0/identity/conditionalAccess/policies/{pid}"),
            json!({"id": "x"}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, created) = g.post("/v1.0/identity/conditionalAccess/policies", json!({"displayName": "new", "state": "disabled", "conditions": {"applications": {"includeApplications": ["All"]}, "users": {"includeUsers": ["All"]}, "clientAppTypes": ["all"]}, "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(
        g.delete(&format!(
            "/v1.0/identity/conditionalAccess/policies/{}",
            created["id"].as_str().unwrap()
        ))
        .await
        .0,
        204
    );
    // security defaults
    let (_, sd) = g
        .get("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy")
        .await;
    assert_eq!(
        (sd["id"].as_str(), &sd["isEnabled"]),
        (Some("00000000-0000-0000-0000-000000000005"), &json!(false))
    );
    // p1 has enabled conditional access policies: security defaults cannot be turned on
    // (tests/tenant_policies.rs has the allowed case).
    assert_eq!(
        g.patch(
            "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
            json!({"isEnabled": true})
        )
        .await
        .0,
        400
    );
    assert!(!emu.with_tenant(|t| t.security_defaults_enabled()));
    // per-user MFA (beta only)
    let (s, r) = g
        .get("/beta/users/carol@contoso.com/authentication/requirements")
        .await;
    assert_eq!(
        (s.as_u16(), r["perUserMfaState"].as_str()),
        (200, Some("enforced"))
    );
    assert_eq!(
        g.patch(
            "/beta/users/carol@contoso.com/authentication/requirements",
            json!({"perUserMfaState": "disabled"})
        )
        .await
        .0,
        204
    );
    let (_, r) = g
        .get("/beta/users/carol@contoso.com/authentication/requirements")
        .await;
    assert_eq!(r["perUserMfaState"], "disabled");
    assert_eq!(
        g.patch(
            "/beta/users/carol@contoso.com/authentication/requirements",
            json!({"perUserMfaState": "on"})
        )
        .await
        .0,
        400
    );
    assert_eq!(
        g.get("/v1.0/users/carol@contoso.com/authentication/requirements")
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn batch_dependencies_limits_and_counting() {
    let emu = emu_with("p1", 6, Knobs::default());
    let g = G::new(&emu).await;
    emu.clear_log();
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users/alice@contoso.com"},
        {"id": "2", "method": "GET", "url": "/users/nobody@contoso.com"},
        {"id": "3", "method": "GET", "url": "/organization", "dependsOn": ["2"]},
        {"id": "4", "method": "POST", "url": "/applications", "body": {"displayName": "b"}, "headers": {"Content-Type": "application/json"}},
        {"id": "5", "method": "POST", "url": "/applications", "body": {"displayName": "b"}}
    ]});
    let (s, r) = g.post("/v1.0/$batch", body).await;
    assert_eq!(s, 200, "{r}");
    let status = |id: &str| {
        r["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()["status"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        (
            status("1"),
            status("2"),
            status("3"),
            status("4"),
            status("5")
        ),
        (200, 404, 424, 201, 400)
    );
    let counters = emu.counters();
    assert_eq!(counters["GET /v1.0/users/{id}"].count, 2);
    assert_eq!(counters["POST /v1.0/$batch"].count, 1);
    assert!(
        emu.request_log()
            .iter()
            .any(|e| e.batch_id.as_deref() == Some("1"))
    );
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/organization"}))
        .collect();
    assert_eq!(
        g.post("/v1.0/$batch", json!({"requests": many})).await.0,
        400
    );
    let dup = json!({"requests": [{"id": "1", "method": "GET", "url": "/organization"}, {"id": "1", "method": "GET", "url": "/organization"}]});
    assert_eq!(g.post("/v1.0/$batch", dup).await.0, 400);
}

#[tokio::test]
async fn replication_delay_hides_new_objects_and_fails_references() {
    let emu = emu_with(
        "empty",
        7,
        Knobs {
            replication_delay_ms: 60_000,
            ..Knobs::default()
        },
    );
    let g = G::new(&emu).await;
    let (s, app) = g
        .post("/v1.0/applications", json!({"displayName": "fresh"}))
        .await;
    assert_eq!(s, 201);
    let app_id = app["appId"].as_str().unwrap();
    assert_eq!(
        g.get(&format!(
            "/v1.0/applications/{}",
            app["id"].as_str().unwrap()
        ))
        .await
        .0,
        404
    );
    let (s, e) = g
        .post("/v1.0/servicePrincipals", json!({"appId": app_id}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        e["error"]["message"],
        format!(
            "The appId '{app_id}' of the service principal does not reference a valid application object."
        )
    );
    emu.set_knobs(Knobs::default());
    emu.with_tenant(|t| t.applications.iter_mut().for_each(|r| r.visible_at = None));
    let (s, sp) = g
        .post("/v1.0/servicePrincipals", json!({"appId": app_id}))
        .await;
    assert_eq!(s, 201);
    let sp_id = sp["id"].as_str().unwrap().to_string();
    emu.with_tenant(|t| {
        t.service_principals.get_mut(&sp_id).unwrap().visible_at =
            Some(std::time::Instant::now() + std::time::Duration::from_secs(60));
    });
    let (s, e) = g.post("/v1.0/oauth2PermissionGrants", json!({"clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp_id(&g).await, "scope": "openid"})).await;
    assert_eq!(s, 400, "the SP was created with a replication delay");
    assert!(e["error"]["message"].as_str().unwrap().ends_with(
        "does not exist or one of its queried reference-property objects are not present."
    ));
    // a changed object shows its previous version to readers until the delay is over
    emu.set_knobs(Knobs::default());
    let (_, app2) = g
        .post("/v1.0/applications", json!({"displayName": "before"}))
        .await;
    let path = format!("/v1.0/applications/{}", app2["id"].as_str().unwrap());
    emu.set_knobs(Knobs {
        replication_delay_ms: 60_000,
        ..Knobs::default()
    });
    assert_eq!(g.patch(&path, json!({"displayName": "after"})).await.0, 204);
    let (_, seen) = g.get(&path).await;
    assert_eq!(seen["displayName"], "before");
    emu.with_tenant(|t| t.applications.iter_mut().for_each(|r| r.visible_at = None));
    let (_, seen) = g.get(&path).await;
    assert_eq!(seen["displayName"], "after");
}

#[tokio::test]
async fn throttling_and_conditional_access_limits() {
    let emu = emu_with(
        "empty",
        8,
        Knobs {
            throttle: Some(Throttle {
                capacity: 2.0,
                refill_per_second: 0.01,
            }),
            ..Knobs::default()
        },
    );
    let g = G::new(&emu).await;
    assert_eq!(g.get("/v1.0/organization").await.0, 200);
    assert_eq!(g.get("/v1.0/organization").await.0, 200);
    let (s, e, h) = g.send("GET", "/v1.0/organization", None, &[]).await;
    assert_eq!(s, 429);
    assert_graph_error(&e, "TooManyRequests");
    assert!(h.get("retry-after").is_some());
    emu.set_knobs(Knobs {
        ca_throttle: true,
        ..Knobs::default()
    });
    assert_eq!(
        g.get("/v1.0/identity/conditionalAccess/policies").await.0,
        200
    );
    let (s, _, h) = g
        .send(
            "GET",
            "/v1.0/identity/conditionalAccess/policies",
            None,
            &[],
        )
        .await;
    assert_eq!(s, 429);
    assert!(
        h.get("retry-after").is_none(),
        "CA throttling has no Retry-After"
    );
    // Within the same second: What-If and the settings are not resources of that limit.
    let (s, _, _) = g
        .send(
            "POST",
            "/v1.0/identity/conditionalAccess/evaluate",
            Some(json!({})),
            &[],
        )
        .await;
    assert_ne!(s, 429, "What-If is not under the conditional access limit");
    let (s, _, _) = g
        .send(
            "GET",
            "/beta/identity/conditionalAccess/settings",
            None,
            &[],
        )
        .await;
    assert_ne!(
        s, 429,
        "the settings are not under the conditional access limit"
    );
}

async fn fault_run(seed: u64) -> Vec<String> {
    let emu = emu_with("empty", seed, Knobs::default());
    let g = G::new(&emu).await;
    emu.set_knobs(Knobs {
        fault_rate: 0.5,
        ..Knobs::default()
    });
    let mut out = Vec::new();
    for _ in 0..16 {
        let r = g
            .http
            .get(format!("{}/v1.0/organization", g.base))
            .bearer_auth(&g.token)
            .send()
            .await;
        out.push(match r {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.text().await {
                    Ok(_) => format!("client:{status}"),
                    Err(_) => "client:dropped".to_string(),
                }
            }
            Err(_) => "client:dropped".to_string(),
        });
    }
    let statuses: Vec<String> = emu
        .request_log()
        .iter()
        .map(|e| e.status.to_string())
        .collect();
    out.extend(statuses);
    out
}

#[tokio::test]
async fn faults_are_replayable_by_seed() {
    let a = fault_run(42).await;
    let b = fault_run(42).await;
    assert_eq!(a, b);
    assert!(
        a.iter().any(|s| s == "client:503" || s == "client:504"),
        "{a:?}"
    );
    assert!(
        a.iter().any(|s| s == "client:dropped"),
        "a dropped connection is seen by the client: {a:?}"
    );
    assert!(a.iter().any(|s| s == "client:200"), "{a:?}");
    assert_ne!(a, fault_run(43).await, "another seed gives another run");
    assert!(a.iter().any(|s| s == "200"));
}

#[tokio::test]
async fn control_api_state_file_and_reset() {
    let dir = std::env::temp_dir().join(format!("graph-emulator-state-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let mut cfg = EmulatorConfig::scenario("empty");
    cfg.state_file = Some(dir.clone());
    let emu = start(cfg.clone()).unwrap();
    let g = G::new(&emu).await;
    let (_, app) = g
        .post("/v1.0/applications", json!({"displayName": "persisted"}))
        .await;
    let http = reqwest::Client::new();
    let counters: Value = http
        .get(format!("{}/_emulator/counters", emu.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["POST /v1.0/applications"]["count"], 1);
    let log: Value = http
        .get(format!("{}/_emulator/requests", emu.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["template"] == "/v1.0/applications")
    );
    let r = http
        .put(format!("{}/_emulator/knobs", emu.base_url()))
        .json(&json!({"latencyMs": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .put(format!("{}/_emulator/knobs", emu.base_url()))
        .json(&json!({"latency": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    emu.shutdown();
    let emu = start(cfg).unwrap();
    let g = G::new(&emu).await;
    assert_eq!(
        g.get(&format!(
            "/v1.0/applications/{}",
            app["id"].as_str().unwrap()
        ))
        .await
        .0,
        200,
        "state survived the restart"
    );
    let r = http
        .post(format!("{}/_emulator/reset", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let _ = std::fs::remove_file(&dir);
}

#[test]
fn scenarios_have_the_fixed_facts() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    assert_eq!(emu.tenant_id(), P1_TENANT_ID);
    emu.with_tenant(|t| {
        assert!(t.has_domain("contoso.com") && t.has_domain("contoso.onmicrosoft.com"));
        assert!(!t.security_defaults_enabled());
        assert_eq!(
            t.user("carol@contoso.com")
                .unwrap()
                .internal
                .per_user_mfa_state
                .as_deref(),
            Some("enforced")
        );
        assert_eq!(
            t.user("dave@contoso.com").unwrap().bool("accountEnabled"),
            Some(false)
        );
        assert_eq!(
            t.user("alice@contoso.com")
                .unwrap()
                .internal
                .password
                .as_deref(),
            Some(SANDBOX_PASSWORD)
        );
        let roles = t.granted_app_roles(CI_CLIENT_ID, GRAPH_APP_ID);
        assert!(
            roles.contains(&"Policy.ReadWrite.ConditionalAccess".to_string())
                && roles.contains(&"Domain.Read.All".to_string())
                && roles.contains(&"Group.Create".to_string())
                && roles.contains(&"Group.ReadWrite.All".to_string())
                && roles.len() == 17,
            "{roles:?}"
        );
        let app = t.application_by_app_id(CI_CLIENT_ID).unwrap();
        assert_eq!(app.internal.certificates.len(), 1);
        assert_eq!(app.internal.federated_credentials[0].issuer, emu.base_url());
        assert_eq!(
            t.granted_app_roles(READONLY_CLIENT_ID, GRAPH_APP_ID).len(),
            7
        );
    });
    let free = start(EmulatorConfig::scenario("free")).unwrap();
    assert_eq!(free.tenant_id(), FREE_TENANT_ID);
    free.with_tenant(|t| {
        assert!(t.security_defaults_enabled());
        assert!(
            !t.subscribed_skus[0]["servicePlans"]
                .to_string()
                .contains("\"AAD_PREMIUM\"")
        );
    });
    let empty = start(EmulatorConfig::scenario("empty")).unwrap();
    empty.with_tenant(|t| {
        assert_eq!(
            (
                t.users.len(),
                t.applications.len(),
                t.service_principals.len()
            ),
            (0, 2, 3)
        );
    });
    assert!(start(EmulatorConfig::scenario("nope")).is_err());
}

#[test]
fn large_scenario_has_100k_users_and_10k_member_groups() {
    let emu = start(EmulatorConfig::scenario("large")).unwrap();
    assert_eq!(emu.tenant_id(), LARGE_TENANT_ID);
    emu.with_tenant(|t| {
        assert_eq!(t.users.len(), 100_001);
        let g = t.groups.find_by("displayName", "Mac Users").unwrap();
        assert_eq!(g.internal.members.len(), 10_000);
    });
}

/// Paging a 10,000-member group: every member exactly once, in pages of `$top`, the last
/// without a next link (each page copies only its own members out of the tenant).
#[tokio::test]
async fn a_large_groups_members_page_through_every_member_once() {
    let emu = start(EmulatorConfig::scenario("large")).unwrap();
    let g = G::new(&emu).await;
    let (gid, expected) = emu.with_tenant(|t| {
        let g = t.groups.find_by("displayName", "Mac Users").unwrap();
        let mut m = g.internal.members.clone();
        m.sort();
        (g.id().to_string(), m)
    });
    let mut url = format!("/v1.0/groups/{gid}/members?$select=id,userType&$top=999");
    let (mut seen, mut sizes) = (Vec::new(), Vec::new());
    loop {
        let (s, page) = g.get(&url).await;
        assert_eq!(s, 200, "{page}");
        let items = page["value"].as_array().unwrap();
        sizes.push(items.len());
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(sizes.len(), 11);
    assert!(sizes[..10].iter().all(|n| *n == 999), "{sizes:?}");
    assert_eq!(sizes[10], 10);
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn graph_service_principal_offers_the_app_roles_entractl_asks_admins_to_grant() {
    let emu = emu_with("p1", 1, Knobs::default());
    let g = G::new(&emu).await;
    let (s, sp) = g
        .get(&format!(
            "/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appRoles"
        ))
        .await;
    assert_eq!(s, 200, "{sp}");
    let role_id = |value: &str| {
        sp["appRoles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["value"] == value)
            .map(|r| r["id"].as_str().unwrap().to_string())
    };
    // Ids as Microsoft publishes them (the same in every public-cloud tenant).
    assert_eq!(
        role_id("GroupMember.Read.All").as_deref(),
        Some("98830695-27a2-44f7-8c18-0c3ebc9698f6")
    );
    assert_eq!(
        role_id("Group.Read.All").as_deref(),
        Some("5b567255-7703-4780-807c-7be8301ae99b")
    );
}

/// `DELETE /groups/{id}` (graph-docs `group-delete.md`): Group.ReadWrite.All; a security group is
/// gone at once (and no longer anyone's member), a Microsoft 365 group goes to deleted items.
#[tokio::test]
async fn deleting_groups_security_at_once_microsoft_365_to_deleted_items() {
    let emu = emu_with("p1", 9, Knobs::default());
    let g = G::new(&emu).await;
    let group = |name: &str, unified: bool| {
        json!({
            "displayName": name, "mailNickname": name, "mailEnabled": unified,
            "securityEnabled": !unified, "groupTypes": if unified { json!(["Unified"]) } else { json!([]) },
        })
    };
    let (s, outer) = g.post("/v1.0/groups", group("outer", false)).await;
    assert_eq!(s, 201, "{outer}");
    let (s, inner) = g.post("/v1.0/groups", group("inner", false)).await;
    assert_eq!(s, 201, "{inner}");
    let (s, m365) = g.post("/v1.0/groups", group("m365", true)).await;
    assert_eq!(s, 201, "{m365}");
    let (outer, inner, m365) = (
        outer["id"].as_str().unwrap().to_string(),
        inner["id"].as_str().unwrap().to_string(),
        m365["id"].as_str().unwrap().to_string(),
    );
    let member =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{inner}")});
    let (s, body) = g
        .post(&format!("/v1.0/groups/{outer}/members/$ref"), member)
        .await;
    assert_eq!(s, 204, "{body}");

    // Group.ReadWrite.All is needed (the read-only client is refused).
    let ro = G {
        token: token_for(&emu, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET).await,
        ..G::new(&emu).await
    };
    let (s, _) = ro.delete(&format!("/v1.0/groups/{inner}")).await;
    assert_eq!(s, 403);

    let (s, body) = g.delete(&format!("/v1.0/groups/{inner}")).await;
    assert_eq!(s, 204, "{body}");
    let (s, _) = g.get(&format!("/v1.0/groups/{inner}")).await;
    assert_eq!(s, 404);
    let (s, members) = g.get(&format!("/v1.0/groups/{outer}/members")).await;
    assert_eq!(s, 200);
    assert_eq!(members["value"], json!([]));
    let (s, _) = g.delete(&format!("/v1.0/groups/{inner}")).await;
    assert_eq!(s, 404, "deleted once");
    let (s, _) = g.delete(&format!("/v1.0/groups/{m365}")).await;
    assert_eq!(s, 204);
    emu.with_tenant(|t| {
        assert!(
            !t.deleted_items.contains_key(&inner),
            "a security group is not kept"
        );
        assert_eq!(t.deleted_items[&m365].kind, "groups");
    });
}
