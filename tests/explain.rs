//! `entractl explain`: one code (both spellings, text and JSON), the list, unknown and malformed
//! codes.

use crate::util::TestCommand;

#[test]
fn explain_50076() {
    let out = TestCommand::new(&["explain", "AADSTS50076"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    insta::assert_snapshot!("explain-50076", out.stdout);
}

#[test]
fn prefix_and_case_do_not_matter() {
    let reference = TestCommand::new(&["explain", "50076"]).run();
    assert_eq!(reference.code, 0, "{}", reference.stderr);
    for spelling in ["AADSTS50076", "aadsts50076", "AadSts50076"] {
        let out = TestCommand::new(&["explain", spelling]).run();
        assert_eq!(out.code, 0, "{spelling}: {}", out.stderr);
        assert_eq!(out.stdout, reference.stdout, "{spelling}");
    }
}

#[test]
fn explain_list() {
    let out = TestCommand::new(&["explain", "--list"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("explain-list", out.stdout);
    for code in [
        50076, 50079, 53003, 530035, 50126, 50105, 65001, 700016, 7000218, 7000215, 700025, 90002,
        70011, 50057, 50053, 50034,
    ] {
        assert!(
            out.stdout.contains(&format!("AADSTS{code} ")),
            "{code} missing from the list"
        );
    }
}

#[test]
fn explain_json() {
    let out = TestCommand::new(&["explain", "7000218", "--format", "json"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["code"], 7000218);
    assert_eq!(v["label"], "AADSTS7000218");
    assert_eq!(
        v["url"],
        "https://login.microsoftonline.com/error?code=7000218"
    );
    assert!(
        v["fix_entractl"]
            .as_str()
            .unwrap()
            .contains("app.publicClientFlows: true")
    );
    for key in ["name", "message", "meaning", "fix_portal"] {
        assert!(!v[key].as_str().unwrap().is_empty(), "{key}");
    }

    let list = TestCommand::new(&["explain", "--list", "--format", "json"]).run();
    assert_eq!(list.code, 0, "{}", list.stderr);
    let v: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    let items = v.as_array().expect("an array");
    assert!(items.len() >= 16);
    assert!(items.iter().any(|i| i["code"] == 530035));
}

#[test]
fn unknown_code() {
    let out = TestCommand::new(&["explain", "AADSTS50077"]).run();
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!("explain-unknown", out.stderr);
}

#[test]
fn malformed_code_and_missing_argument() {
    let out = TestCommand::new(&["explain", "hello"]).run();
    assert_eq!(out.code, 1);
    crate::assert_transcript!("malformed_code", out);

    let out = TestCommand::new(&["explain"]).run();
    assert_eq!(out.code, 1, "a code or --list is required");
    let out = TestCommand::new(&["explain", "50076", "--list"]).run();
    assert_eq!(out.code, 1, "a code and --list conflict");
}
