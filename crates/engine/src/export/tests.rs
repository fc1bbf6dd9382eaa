//! Tests of the pure parts of `export`: YAML scalars and the adoption filter. The round trip
//! against a tenant is tested end to end (`tests/export.rs`).

use proptest::prelude::*;
use serde_json::Value;

use super::yaml::scalar;
use super::*;
use crate::core::plan::{FieldChange, ObjectRef};

fn reads_back(s: &str) -> String {
    let text = format!(
        "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayName: {}\n  uniqueName: x\n",
        scalar(s)
    );
    entractl_spec::parse_str("t.yaml", &text)
        .unwrap_or_else(|e| panic!("{text:?}: {}", e.render_plain()))
        .spec
        .app
        .display_name
}

#[test]
fn scalars_read_back_as_written() {
    for s in [
        "http://localhost",
        "Microsoft Graph",
        "true",
        "No",
        "1.5",
        "a: b",
        "#x",
        "x #y",
        "msauth.com.contoso.app://auth",
        "it's",
        "\"quoted\"",
        "ends:",
        "ümlaut",
        "Mac Users",
    ] {
        assert_eq!(reads_back(s), s);
    }
    assert_eq!(scalar("http://localhost"), "http://localhost");
    assert_eq!(scalar("true"), "\"true\"");
}

proptest! {
    #[test]
    fn any_string_reads_back(s in "\\PC{1,40}") {
        // The spec rejects display names with spaces around them (not a quoting matter).
        prop_assume!(s.trim() == s);
        prop_assert_eq!(reads_back(&s), s);
    }
}

fn change(kind: ObjectKind, action: Action, paths: &[&str]) -> Change {
    Change {
        object: ObjectRef {
            kind,
            key: "k".into(),
            display: "d".into(),
            id: None,
        },
        action,
        fields: paths
            .iter()
            .map(|p| FieldChange {
                path: (*p).into(),
                before: Value::Null,
                after: Value::Null,
            })
            .collect(),
        reason: String::new(),
        risks: vec![],
        payload: Value::Null,
        refs: vec![],
    }
}

#[test]
fn only_the_managed_tag_counts_as_adoption() {
    assert!(is_adoption(&change(
        ObjectKind::Application,
        Action::Adopt,
        &["tags"]
    )));
    assert!(is_adoption(&change(
        ObjectKind::ServicePrincipal,
        Action::Update,
        &["tags"]
    )));
    assert!(!is_adoption(&change(
        ObjectKind::Application,
        Action::Adopt,
        &["tags", "isFallbackPublicClient"]
    )));
    assert!(!is_adoption(&change(
        ObjectKind::Application,
        Action::Update,
        &["tags"]
    )));
    assert!(!is_adoption(&change(
        ObjectKind::ServicePrincipal,
        Action::Create,
        &[]
    )));
}
