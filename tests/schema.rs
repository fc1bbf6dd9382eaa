//! `entractl schema` and the committed schema file.

use crate::util::{TestCommand, root, yaml_files};

#[test]
fn committed_schema_is_current() {
    let out = TestCommand::new(&["schema"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let committed = std::fs::read_to_string(root().join("docs/entractl.schema.json"))
        .unwrap_or_default()
        .replace("\r\n", "\n");
    assert!(
        committed == out.stdout,
        "docs/entractl.schema.json is stale: run `entractl schema > docs/entractl.schema.json` \
         (e.g. `cargo run -q -- schema > docs/entractl.schema.json`) and commit it"
    );
}

#[test]
fn schema_is_json_schema_of_the_spec() {
    let out = TestCommand::new(&["schema"]).run();
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).expect("schema is JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(required, ["version", "tenant", "app"]);
    for key in [
        "version",
        "tenant",
        "cloud",
        "preset",
        "app",
        "assignments",
        "mfa",
    ] {
        assert!(schema["properties"][key].is_object(), "no property {key}");
    }
}

#[test]
fn spec_files_carry_the_schema_modeline() {
    let files = yaml_files("specs");
    assert!(files.len() >= 3, "specs/ needs at least three examples");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read spec");
        assert!(
            text.starts_with("# yaml-language-server: $schema=../docs/entractl.schema.json\n"),
            "{} must start with the yaml-language-server schema modeline",
            file.display()
        );
    }
}
