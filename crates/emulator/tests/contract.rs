//! Contract tests: verbatim request/response examples from Microsoft's Graph docs (see
//! `tests/contract/SOURCES.md`). The emulator must accept each documented request and answer with the
//! documented status, and every documented response property must be present with the same JSON type.

use graph_emulator::scenarios::{CI_CLIENT_ID, CI_CLIENT_SECRET};
use graph_emulator::{EmulatorConfig, RunningEmulator, start};
use serde_json::{Value, json};

const EXAMPLES: &[(&str, &str)] = &[
    (
        "application-post-applications",
        include_str!("contract/application-post-applications.json"),
    ),
    (
        "serviceprincipal-post-serviceprincipals",
        include_str!("contract/serviceprincipal-post-serviceprincipals.json"),
    ),
    (
        "serviceprincipal-post-approleassignedto",
        include_str!("contract/serviceprincipal-post-approleassignedto.json"),
    ),
    (
        "conditionalaccessroot-post-policies",
        include_str!("contract/conditionalaccessroot-post-policies.json"),
    ),
    (
        "identitysecuritydefaultsenforcementpolicy-get",
        include_str!("contract/identitysecuritydefaultsenforcementpolicy-get.json"),
    ),
    (
        "authentication-get-requirements",
        include_str!("contract/authentication-get-requirements.json"),
    ),
    (
        "subscribedsku-list",
        include_str!("contract/subscribedsku-list.json"),
    ),
    ("json-batching", include_str!("contract/json-batching.json")),
];

/// Every property of `doc` must exist in `ours` with the same JSON type (documented nulls accept
/// anything). Returns the paths that differ.
fn shape_diff(path: &str, doc: &Value, ours: &Value, out: &mut Vec<String>) {
    match (doc, ours) {
        (Value::Null, _) => {}
        (Value::Object(d), Value::Object(o)) => {
            for (k, dv) in d {
                match o.get(k) {
                    Some(ov) => shape_diff(&format!("{path}.{k}"), dv, ov, out),
                    None => out.push(format!("{path}.{k} missing")),
                }
            }
        }
        (Value::Array(d), Value::Array(o)) => {
            if let (Some(df), Some(of)) = (d.first(), o.first()) {
                shape_diff(&format!("{path}[0]"), df, of, out);
            }
        }
        (Value::Bool(_), Value::Bool(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_)) => {}
        // a documented value where the emulator has null (e.g. requestedAccessTokenVersion: 2 vs unset)
        (_, Value::Null) => {}
        (d, o) => out.push(format!("{path}: documented {d}, emulator {o}")),
    }
}

async fn token(emu: &RunningEmulator) -> String {
    let r: Value = reqwest::Client::new()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            emu.base_url(),
            emu.tenant_id()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CI_CLIENT_ID),
            ("client_secret", CI_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().unwrap().to_string()
}

async fn send(
    emu: &RunningEmulator,
    token: &str,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut rb = reqwest::Client::new()
        .request(
            method.parse().unwrap(),
            format!("{}{}", emu.base_url(), url),
        )
        .bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

fn substitute(v: &Value, vars: &[(String, String)]) -> Value {
    let mut s = v.to_string();
    for (k, val) in vars {
        s = s.replace(&format!("{{{k}}}"), val);
    }
    serde_json::from_str(&s).unwrap()
}

#[tokio::test]
async fn documented_examples_are_accepted_with_documented_shapes() {
    let mut failures = Vec::new();
    for (name, text) in EXAMPLES {
        let ex: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let emu = start(EmulatorConfig::scenario("p1")).unwrap();
        let tok = token(&emu).await;
        let mut vars: Vec<(String, String)> = Vec::new();
        for step in ex["setup"].as_array().unwrap() {
            match step.as_str().unwrap() {
                "app" => {
                    let (s, app) = send(&emu, &tok, "POST", "/v1.0/applications", Some(&json!({
                        "displayName": "Fabrikam App",
                        "appRoles": [{"allowedMemberTypes": ["User"], "description": "Readers", "displayName": "Reader",
                                      "id": "ef7437e6-4f94-4a0a-a110-a439eb2aa8f7", "isEnabled": true, "value": "Reader"}]
                    }))).await;
                    assert_eq!(s, 201, "{app}");
                    vars.push(("appId".into(), app["appId"].as_str().unwrap().into()));
                }
                "sp" => {
                    let app_id = vars.iter().find(|(k, _)| k == "appId").unwrap().1.clone();
                    let (s, sp) = send(
                        &emu,
                        &tok,
                        "POST",
                        "/v1.0/servicePrincipals",
                        Some(&json!({"appId": app_id})),
                    )
                    .await;
                    assert_eq!(s, 201, "{sp}");
                    vars.push(("spId".into(), sp["id"].as_str().unwrap().into()));
                }
                "group" => {
                    let id = emu.with_tenant(|t| {
                        t.groups
                            .find_by("displayName", "Mac Users")
                            .unwrap()
                            .id()
                            .to_string()
                    });
                    vars.push(("groupId".into(), id));
                }
                "carol" => {
                    let id =
                        emu.with_tenant(|t| t.user("carol@contoso.com").unwrap().id().to_string());
                    vars.push(("userId".into(), id));
                }
                other => panic!("{name}: unknown setup step {other}"),
            }
        }
        let req = &ex["request"];
        let url = substitute(&req["url"], &vars);
        let body = req.get("body").map(|b| substitute(b, &vars));
        let (status, got) = send(
            &emu,
            &tok,
            req["method"].as_str().unwrap(),
            url.as_str().unwrap(),
            body.as_ref(),
        )
        .await;
        let want = ex["response"]["status"].as_u64().unwrap() as u16;
        if status != want {
            failures.push(format!("{name}: status {status}, documented {want}: {got}"));
            continue;
        }
        let mut diffs = Vec::new();
        shape_diff("$", &ex["response"]["body"], &got, &mut diffs);
        // @odata.context must point at the emulator's own metadata, of the same entity set
        if let (Some(d), Some(o)) = (
            ex["response"]["body"]["@odata.context"].as_str(),
            got["@odata.context"].as_str(),
        ) {
            let doc_tail = d.split("$metadata#").nth(1).unwrap_or("");
            let set = doc_tail.split(['/', '(']).next().unwrap_or("");
            if !o.starts_with(&emu.base_url()) || !o.contains(set) {
                diffs.push(format!("@odata.context {o} (documented {d})"));
            }
        }
        if !diffs.is_empty() {
            failures.push(format!("{name}: {}", diffs.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "contract failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn shape_diff_catches_missing_and_mistyped_properties() {
    let mut out = Vec::new();
    shape_diff(
        "$",
        &json!({"a": 1, "b": {"c": "x"}, "d": [{"e": true}], "n": null}),
        &json!({"a": "1", "b": {}, "d": [{"e": 1}]}),
        &mut out,
    );
    assert_eq!(
        out.len(),
        4,
        "a documented null must be present too: {out:?}"
    );
}
