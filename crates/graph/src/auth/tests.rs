use super::*;
use crate::config::Cloud;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn no_credential_lists_every_source_and_what_it_needs() {
    let cfg = GraphConfig::for_cloud(Cloud::Public, "");
    let err = credential_from_env(
        &env(&[("PATH", "/nonexistent")]),
        None,
        &cfg,
        &AuthOptions::default(),
    )
    .err()
    .expect("no credential");
    let text = err.to_string();
    for m in AuthMethod::ALL {
        assert!(text.contains(m.name()), "{m} missing in: {text}");
    }
    assert!(text.contains("AZURE_CLIENT_SECRET"));
    assert!(text.contains("ACTIONS_ID_TOKEN_REQUEST_URL"));
    assert!(text.contains("`az` not found on PATH"));
}

#[test]
fn first_configured_source_wins_and_choice_is_honoured() {
    let cfg = GraphConfig::for_cloud(Cloud::Public, "");
    let e = env(&[
        ("AZURE_TENANT_ID", "t1"),
        ("AZURE_CLIENT_ID", "c1"),
        ("AZURE_CLIENT_SECRET", "canary-secret"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/tmp/x"),
    ]);
    let s = credential_from_env(&e, None, &cfg, &AuthOptions::default()).unwrap();
    assert_eq!(s.describe(), "client secret credential (client c1)");
    let s = credential_from_env(
        &e,
        Some(AuthMethod::WorkloadIdentity),
        &cfg,
        &AuthOptions::default(),
    )
    .unwrap();
    assert!(s.describe().starts_with("workload identity credential"));
    let err = credential_from_env(
        &e,
        Some(AuthMethod::GithubActions),
        &cfg,
        &AuthOptions::default(),
    )
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN not set"),
        "{err}"
    );
    let err = credential_from_env(
        &e,
        Some(AuthMethod::DeviceCode),
        &cfg,
        &AuthOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("no terminal"), "{err}");
    assert!(!format!("{err:?}{err}").contains("canary-secret"));
    assert_eq!(
        "Azure-CLI".parse::<AuthMethod>().unwrap(),
        AuthMethod::AzureCli
    );
    assert!("kerberos".parse::<AuthMethod>().is_err());
}

#[test]
fn github_request_url_must_be_https_or_loopback() {
    let cfg = GraphConfig::for_cloud(Cloud::Public, "t");
    let e = env(&[
        ("AZURE_CLIENT_ID", "c1"),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "http://token.example.com/x?a=1",
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "rt"),
    ]);
    let err = credential_from_env(&e, None, &cfg, &AuthOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("https"), "{err}");
}
