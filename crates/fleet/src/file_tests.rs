//! Tests of the fleet file: parsing, every check, the schema.

use super::*;

const GOOD: &str = "\
version: 1
defaults:
  spec: kandji.yaml
  auth:
    method: client-secret
    clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5
    secretEnv: FLEET_SECRET
tenants:
  - name: contoso
    tenant: 3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f
    values:
      assignments:
        users: [alice@contoso.com]
  - name: fabrikam
    tenant: fabrikam.onmicrosoft.com
    spec: other.yaml
    auth:
      method: certificate
      clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5
      certificatePath: certs/fabrikam.pem
  - name: cli
    tenant: 8d2b7e4a-1c3f-4e5d-a6b7-c8d9e0f1a2b3
    auth: {method: azure-cli}
";

fn parse(text: &str) -> Result<Fleet, FleetFileError> {
    parse_str("fleet.yaml", text, Path::new("conf"))
}

#[test]
fn parses_defaults_and_overrides() {
    let f = parse(GOOD).unwrap();
    assert_eq!(f.tenants.len(), 3);
    let c = &f.tenants[0];
    assert_eq!(c.name, "contoso");
    assert_eq!(c.spec, Path::new("conf/kandji.yaml"));
    assert_eq!(
        c.auth,
        Auth::ClientSecret {
            client_id: "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5".into(),
            secret: SecretRef::Env("FLEET_SECRET".into())
        }
    );
    assert_eq!(c.values["assignments"]["users"][0], "alice@contoso.com");
    assert_eq!(c.line, 9);
    let fab = &f.tenants[1];
    assert_eq!(fab.spec, Path::new("conf/other.yaml"));
    assert!(
        matches!(&fab.auth, Auth::Certificate { path, .. } if path == Path::new("conf/certs/fabrikam.pem"))
    );
    assert_eq!(f.tenants[2].auth, Auth::AzureCli);
    assert!(f.fingerprint.starts_with("fnv1a64:"));
    assert_eq!(f.fingerprint, parse(GOOD).unwrap().fingerprint);
}

#[test]
fn literal_secret_is_refused_at_its_place() {
    let text = GOOD.replace("secretEnv: FLEET_SECRET", "clientSecret: s3cr3t-value");
    let e = parse(&text).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("fleet.yaml:7:19"), "{msg}");
    assert!(msg.contains("a secret may not be written"), "{msg}");
    assert!(!msg.contains("s3cr3t-value"), "the secret is echoed: {msg}");
    assert!(msg.contains("secretEnv"), "{msg}");
}

#[test]
fn every_error_is_reported_with_location() {
    let text = "\
version: 2
tenants:
  - name: contoso
    tenant: common
  - name: Contoso
    tenant: 3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f
    auth: {method: client-secrte, clientId: x}
  - name: bad/name
    tenant: a.example.com
    spec: s.yaml
    values: [1]
    auth: {method: azure-cli, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5}
";
    let e = parse(text).unwrap_err();
    let msg = e.to_string();
    for want in [
        "fleet.yaml:1:10: unsupported fleet file version 2",
        "fleet.yaml:4:13: `common` is not a tenant id",
        "tenant `contoso` has no spec",
        "tenant `contoso` has no `auth`",
        "fleet.yaml:5:11: the tenant name `Contoso` is used twice (first on line 3)",
        "unknown auth method `client-secrte`",
        "did you mean `client-secret`?",
        "`bad/name` is not a valid tenant name",
        "`values` must be a mapping",
        "`clientId` does not apply to the auth method `azure-cli`",
    ] {
        assert!(msg.contains(want), "missing {want:?} in:\n{msg}");
    }
    // Sorted by place.
    let lines: Vec<usize> = e.issues.iter().filter_map(|i| i.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
}

#[test]
fn unknown_key_and_syntax_errors_have_a_place() {
    let e =
        parse("version: 1\ntenants:\n  - name: a\n    tenant: a.example.com\n    tenantId: x\n")
            .unwrap_err();
    let i = &e.issues[0];
    assert_eq!(i.line, Some(5), "{e}");
    assert!(i.message.contains("unknown field `tenantId`"), "{e}");
    let e = parse("version: 1\ntenants: [\n").unwrap_err();
    assert!(e.issues[0].line.is_some(), "{e}");
}

#[test]
fn auth_requirements_per_method() {
    let base = "version: 1\ndefaults: {spec: s.yaml}\ntenants:\n  - name: a\n    tenant: a.example.com\n    auth: ";
    let cases = [
        (
            "{method: client-secret, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5}",
            "needs `secretEnv` or `secretFile`",
        ),
        ("{method: client-secret, secretEnv: X}", "needs `clientId`"),
        (
            "{method: client-secret, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5, secretEnv: X, secretFile: f}",
            "both `secretEnv` and `secretFile`",
        ),
        (
            "{method: client-secret, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5, secretEnv: 'abc def!'}",
            "is not an environment variable name",
        ),
        (
            "{method: certificate, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5}",
            "needs `certificatePath`",
        ),
        (
            "{method: federated, clientId: nope}",
            "is not an Application (client) ID",
        ),
        (
            "{method: github-actions, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5, secretEnv: X}",
            "`secretEnv` does not apply",
        ),
        (
            "{method: azure-cli, password: hunter2}",
            "a secret may not be written",
        ),
    ];
    for (auth, want) in cases {
        let e = parse(&format!("{base}{auth}\n")).unwrap_err().to_string();
        assert!(e.contains(want), "{auth}: missing {want:?} in {e}");
        assert!(e.contains("fleet.yaml:6:"), "{auth}: no place in {e}");
    }
    let ok = parse(&format!(
        "{base}{{method: federated, clientId: 0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5}}\n"
    ))
    .unwrap();
    assert_eq!(
        ok.tenants[0].auth,
        Auth::Federated {
            client_id: "0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5".into(),
            token_file: None
        }
    );
}

#[test]
fn values_may_not_set_the_tenant() {
    let text = GOOD.replace(
        "      assignments:\n",
        "      tenant: other.example.com\n      assignments:\n",
    );
    let e = parse(&text).unwrap_err().to_string();
    assert!(e.contains("`values` may not set `tenant`"), "{e}");
}
