//! Conditional Access What-If (`POST /identity/conditionalAccess/evaluate`): Graph's request and
//! response shape, and agreement with the password sign-in on every scenario and on 150 real
//! policies (testdata/ca-policies).
//!
//! The agreement oracle is stated here from the docs, not taken from the emulator: a password
//! sign-in is evaluated against Microsoft Graph when it asks for a scope beyond the baseline scopes;
//! against Windows Azure Active Directory (enforced) or the placeholder app (customized) when it asks
//! only for baseline scopes; and under the legacy behaviour (legacy, disabled) only "All resources"
//! policies without exclusions apply to baseline scopes. ROPC must then fail with 53003 when an enabled
//! applying policy blocks, else with 50076 listing exactly the enabled applying MFA policies, else pass.

use std::collections::BTreeMap;
use std::path::PathBuf;

use graph_emulator::baseline_scopes::BaselineScopes;
use graph_emulator::scenarios::{
    GRAPH_APP_ID, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET, SANDBOX_PASSWORD,
};
use graph_emulator::{EmulatorConfig, Record, RunningEmulator, Tenant, start};
use serde_json::{Value, json};

const AAD_GRAPH: &str = "00000002-0000-0000-c000-000000000000";
const PASSPORT: &str = "5a5a5a5a-0000-4000-8000-00000000a001";
const PLACEHOLDER: &str = "5a5a5a5a-0000-4000-8000-00000000a0ff";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const BASELINE: &str = "openid profile email User.Read";
const BEYOND: &str = "openid Group.Read.All";

fn obj(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().expect("object")
}

/// A public client consented for the baseline scopes and Group.Read.All; no per-user MFA, no
/// security defaults (What-If covers conditional access only); the second user an admin.
fn prepare(t: &mut Tenant) -> Vec<String> {
    let graph = t
        .service_principal_by_app_id(GRAPH_APP_ID)
        .expect("Graph service principal")
        .id()
        .to_string();
    t.applications.insert(Record::new(obj(json!({
        "id": "5a5a5a5a-0000-4000-8000-00000000b001", "appId": PASSPORT,
        "displayName": "What-If client", "isFallbackPublicClient": true
    }))));
    t.service_principals.insert(Record::new(obj(json!({
        "id": "5a5a5a5a-0000-4000-8000-00000000c001", "appId": PASSPORT,
        "displayName": "What-If client", "appRoleAssignmentRequired": false
    }))));
    t.oauth2_permission_grants.insert(Record::new(obj(json!({
        "id": "what-if-grant", "clientId": "5a5a5a5a-0000-4000-8000-00000000c001",
        "consentType": "AllPrincipals", "principalId": null, "resourceId": graph,
        "scope": "openid profile email User.Read Group.Read.All"
    }))));
    t.security_defaults.insert("isEnabled".into(), json!(false));
    let mut upns = Vec::new();
    for u in t.users.iter_mut() {
        u.internal.per_user_mfa_state = Some("disabled".into());
        if u.bool("accountEnabled") != Some(false) && upns.len() < 6 {
            upns.push(u.str("userPrincipalName").unwrap_or("").to_string());
        }
    }
    if let Some(admin) = upns.get(1).and_then(|upn| t.user_mut(upn)) {
        admin
            .obj
            .insert("directoryRoleTemplateIds".into(), json!([GLOBAL_ADMIN]));
    }
    upns
}

struct Client {
    http: reqwest::Client,
    base: String,
    tenant: String,
    token: String,
}

impl Client {
    async fn new(emu: &RunningEmulator) -> Client {
        let http = reqwest::Client::new();
        let base = emu.base_url();
        let tenant = emu.tenant_id();
        let body: Value = http
            .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", READONLY_CLIENT_ID),
                ("client_secret", READONLY_CLIENT_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = body["access_token"].as_str().expect("token").to_string();
        Client {
            http,
            base,
            tenant,
            token,
        }
    }

    async fn what_if(&self, version: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!(
                "{}/{version}/identity/conditionalAccess/evaluate",
                self.base
            ))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn ropc(&self, upn: &str, scope: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/{}/oauth2/v2.0/token", self.base, self.tenant))
            .form(&[
                ("grant_type", "password"),
                ("client_id", PASSPORT),
                ("scope", scope),
                ("username", upn),
                ("password", SANDBOX_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

fn user_id(emu: &RunningEmulator, upn: &str) -> String {
    emu.with_tenant(|t| t.user(upn).expect("user").id().to_string())
}

fn request(user: &str, apps: &[&str]) -> Value {
    json!({
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                          "includeApplications": apps},
        "signInConditions": {"clientAppType": "mobileAppsAndDesktopClients"},
        "appliedPoliciesOnly": false
    })
}

fn grant(policy: &Value) -> (bool, bool) {
    let g = policy.get("grantControls").filter(|g| !g.is_null());
    let builtins: Vec<&str> = g
        .and_then(|g| g.get("builtInControls"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let strength = g
        .and_then(|g| g.get("authenticationStrength"))
        .is_some_and(|s| !s.is_null());
    (
        builtins.contains(&"block"),
        builtins.contains(&"mfa") || strength,
    )
}

fn all_without_exclusions(policy: &Value) -> bool {
    let apps = &policy["conditions"]["applications"];
    let list = |k: &str| -> Vec<String> {
        apps.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    list("includeApplications").iter().any(|a| a == "All") && list("excludeApplications").is_empty()
}

/// What ROPC must answer, derived from What-If: (status, AADSTS code, MFA policy ids).
fn expected(results: &[Value], legacy_baseline: bool) -> (u16, u64, Vec<String>) {
    let applying: Vec<&Value> = results
        .iter()
        .filter(|r| r["policyApplies"] == true && r["state"] == "enabled")
        .filter(|r| !legacy_baseline || all_without_exclusions(r))
        .collect();
    if applying.iter().any(|p| grant(p).0) {
        return (400, 53003, Vec::new());
    }
    let mut mfa: Vec<String> = applying
        .iter()
        .filter(|p| grant(p).1)
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    mfa.sort();
    if mfa.is_empty() {
        (200, 0, mfa)
    } else {
        (400, 50076, mfa)
    }
}

fn actual(status: u16, body: &Value) -> (u16, u64, Vec<String>) {
    if status == 200 {
        return (200, 0, Vec::new());
    }
    let code = body["error_codes"][0].as_u64().unwrap_or(0);
    let mut ids: Vec<String> = body["claims"]
        .as_str()
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .and_then(|c| serde_json::from_value(c["access_token"]["capolids"]["values"].clone()).ok())
        .unwrap_or_default();
    ids.sort();
    (status, code, ids)
}

/// ROPC agrees with What-If for every user, both scope sets and every baseline-scope setting.
/// Returns the outcomes seen (AADSTS code, 0 for success), so callers can check the run was not
/// vacuous.
async fn check_agreement(
    emu: &RunningEmulator,
    c: &Client,
    upns: &[String],
    label: &str,
) -> std::collections::BTreeSet<u64> {
    let mut seen = std::collections::BTreeSet::new();
    let tid = emu.tenant_id();
    for mode in [
        BaselineScopes::Enforced,
        BaselineScopes::Legacy,
        BaselineScopes::Disabled,
        BaselineScopes::Custom(PLACEHOLDER.into()),
    ] {
        emu.set_baseline_scopes(&tid, mode.clone()).unwrap();
        for upn in upns {
            let user = user_id(emu, upn);
            for scope in [BASELINE, BEYOND] {
                let legacy = matches!(mode, BaselineScopes::Legacy | BaselineScopes::Disabled);
                let audience = match (&mode, scope) {
                    (_, BEYOND) => GRAPH_APP_ID,
                    (BaselineScopes::Custom(p), _) => p.as_str(),
                    _ => AAD_GRAPH,
                };
                let (s, w) = c.what_if("v1.0", &request(&user, &[audience])).await;
                assert_eq!(s, 200, "{w}");
                let results = w["value"].as_array().unwrap().clone();
                let want = expected(&results, legacy && scope == BASELINE);
                let (s, b) = c.ropc(upn, scope).await;
                let got = actual(s, &b);
                seen.insert(got.1);
                assert_eq!(got, want, "{label}: {upn}, {scope}, {mode:?}: ROPC {b}");
            }
        }
    }
    seen
}

#[tokio::test]
async fn what_if_and_the_password_sign_in_agree_on_every_scenario() {
    let mut seen = std::collections::BTreeSet::new();
    for scenario in graph_emulator::scenarios::NAMES {
        let emu = start(EmulatorConfig::scenario(scenario)).unwrap();
        let upns = emu.with_tenant(prepare);
        let c = Client::new(&emu).await;
        seen.extend(check_agreement(&emu, &c, &upns, scenario).await);
    }
    assert!(seen.contains(&0) && seen.contains(&50076), "{seen:?}");
}

fn real_policies() -> BTreeMap<String, Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/ca-policies");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("testdata/ca-policies") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            out.insert(path.file_stem().unwrap().to_string_lossy().into_owned(), v);
        }
    }
    out
}

#[tokio::test]
async fn what_if_and_the_password_sign_in_agree_on_150_real_policies() {
    let policies = real_policies();
    assert_eq!(policies.len(), 150);
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let upns = emu.with_tenant(prepare);
    let upns = &upns[..2];
    let c = Client::new(&emu).await;
    let mut seen = std::collections::BTreeSet::new();
    for (name, policy) in &policies {
        // Each policy alone in the tenant, enforced.
        let mut p = policy.as_object().cloned().unwrap();
        p.insert("id".into(), json!(format!("real-{name}")));
        p.insert("state".into(), json!("enabled"));
        emu.with_tenant(|t| {
            let ids: Vec<String> = t
                .conditional_access_policies
                .iter()
                .map(|r| r.id().to_string())
                .collect();
            for id in ids {
                t.conditional_access_policies.remove(&id);
            }
            t.conditional_access_policies.insert(Record::new(p));
        });
        seen.extend(check_agreement(&emu, &c, upns, name).await);
    }
    // Passed, blocked and asked for MFA all occur.
    assert_eq!(seen, [0, 50076, 53003].into_iter().collect(), "{seen:?}");
}

#[tokio::test]
async fn what_if_answers_graphs_shape_with_reasons() {
    let emu = start(EmulatorConfig::scenario("p1")).unwrap();
    let c = Client::new(&emu).await;
    let alice = user_id(&emu, "alice@contoso.com");
    let names: BTreeMap<String, String> = emu.with_tenant(|t| {
        t.conditional_access_policies
            .iter()
            .map(|p| {
                let n = p.str("displayName").unwrap();
                (p.id().to_string(), n.split(':').next().unwrap().to_string())
            })
            .collect()
    });
    for version in ["v1.0", "beta"] {
        let (s, w) = c.what_if(version, &request(&alice, &[AAD_GRAPH])).await;
        assert_eq!(s, 200, "{w}");
        assert_eq!(
            w["@odata.context"],
            format!(
                "{}/{version}/$metadata#Collection(microsoft.graph.whatIfAnalysisResult)",
                emu.base_url()
            )
        );
        let got: BTreeMap<String, (bool, String)> = w["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
                let at = keys.iter().position(|k| *k == "state").unwrap();
                assert_eq!(keys[at + 1], "policyApplies");
                assert_eq!(keys[at + 2], "analysisReasons");
                (
                    names[r["id"].as_str().unwrap()].clone(),
                    (
                        r["policyApplies"].as_bool().unwrap(),
                        r["analysisReasons"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect();
        let want = |a: bool, r: &str| (a, r.to_string());
        assert_eq!(got["CA001"], want(true, "notSet"));
        assert_eq!(got["CA002"], want(false, "users"));
        assert_eq!(
            got["CA003"],
            want(true, "notSet"),
            "report-only is evaluated"
        );
        assert_eq!(got["CA004"], want(false, "clientApps"));
        assert_eq!(got["CA006"], want(true, "notSet"));
        assert_eq!(got["CA007"], want(false, "policyNotEnabled"));
        assert_eq!(got.len(), 8, "CA001-CA007 and `Microsoft-managed`: {got:?}");
    }
    // appliedPoliciesOnly; a device-code sign-in; an excluded application.
    let mut body = request(&alice, &[AAD_GRAPH]);
    body["appliedPoliciesOnly"] = json!(true);
    body["signInConditions"]["authenticationFlow"] = json!({"transferMethod": "deviceCodeFlow"});
    let (_, w) = c.what_if("v1.0", &body).await;
    let applied: Vec<&Value> = w["value"].as_array().unwrap().iter().collect();
    assert!(applied.iter().all(|r| r["policyApplies"] == true));
    assert!(
        applied
            .iter()
            .any(|r| { r["displayName"] == "Microsoft-managed: Block device code flow" })
    );
    let (_, w) = c
        .what_if(
            "v1.0",
            &request(&alice, &["0000000a-0000-0000-c000-000000000000"]),
        )
        .await;
    let ca006 = w["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["displayName"].as_str().unwrap().starts_with("CA006"))
        .unwrap();
    assert_eq!(ca006["analysisReasons"], "application");

    // Errors: no user, a service principal sign-in, an unknown user, an unknown condition.
    let mut bad = request(&alice, &[AAD_GRAPH]);
    bad["signInIdentity"] = json!({"@odata.type": "#microsoft.graph.servicePrincipalSignIn",
                                   "servicePrincipalId": "x"});
    assert_eq!(c.what_if("v1.0", &bad).await.0, 400);
    let unknown = request("00000000-0000-4000-8000-000000000000", &[AAD_GRAPH]);
    assert_eq!(c.what_if("v1.0", &unknown).await.0, 404);
    let mut odd = request(&alice, &[AAD_GRAPH]);
    odd["signInConditions"]["weather"] = json!("rainy");
    assert_eq!(c.what_if("v1.0", &odd).await.0, 400);
}
