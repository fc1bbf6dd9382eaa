//! `entractl validate`: valid files, one snapshot per invalid fixture, hostile input.

use std::path::Path;

use crate::util::{TestCommand, relative, root, scratch, yaml_files};

#[test]
fn valid_fixtures_and_specs_validate() {
    let mut files = yaml_files("tests/fixtures/valid");
    files.extend(yaml_files("specs"));
    assert!(files.len() >= 8);
    let mut cmd = TestCommand::new(&["validate"]);
    for f in &files {
        cmd = cmd.arg(relative(f));
    }
    let out = cmd.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    for f in &files {
        assert!(
            out.stdout.contains(&format!("{}: valid\n", relative(f))),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn every_invalid_fixture_has_exactly_one_error() {
    let files = yaml_files("tests/fixtures/invalid");
    assert!(files.len() >= 25, "at least 25 invalid fixtures");
    for f in &files {
        let report = match entractl_spec::load_file(f) {
            Ok(_) => panic!("{} should not validate", f.display()),
            Err(report) => report,
        };
        assert_eq!(
            report.errors().len(),
            1,
            "{} should hold one mistake:\n{}",
            f.display(),
            report.render_plain()
        );
        let error = &report.errors()[0];
        assert!(error.location.is_some(), "{}: no location", f.display());
        assert!(error.help.is_some(), "{}: no help", f.display());
    }
}

#[test]
fn invalid_fixtures_snapshots() {
    for f in yaml_files("tests/fixtures/invalid") {
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        let out = TestCommand::new(&["validate"]).arg(relative(&f)).run();
        assert_eq!(out.code, 1, "{stem}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{stem}");
        insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, description => relative(&f) }, {
            insta::assert_snapshot!(format!("invalid-{stem}"), out.stderr);
        });
    }
}

#[test]
fn several_files_report_every_invalid_one() {
    let out = TestCommand::new(&[
        "validate",
        "specs/kandji-passport.yaml",
        "tests/fixtures/invalid/unknown-cloud.yaml",
        "tests/fixtures/invalid/user-not-a-upn.yaml",
    ])
    .run();
    crate::assert_transcript!("several-files", out);
}

#[test]
fn all_errors_of_a_file_at_once() {
    let dir = scratch("all-errors");
    let file = dir.join("many.yaml");
    std::fs::write(
        &file,
        "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayName: X\n  uniqueName: x\n  \
         redirectUris:\n    web: [http://example.com, foo]\nassignments:\n  users: [alice, bob, bob]\n",
    )
    .unwrap();
    let report = entractl_spec::load_file(&file).unwrap_err();
    let lines: Vec<(usize, usize)> = report
        .errors()
        .iter()
        .map(|e| e.location.map(|l| (l.line, l.column)).unwrap())
        .collect();
    // `bob` at 9:23 is both not a UPN and a duplicate.
    assert_eq!(
        lines,
        [(7, 11), (7, 31), (9, 11), (9, 18), (9, 23), (9, 23)]
    );
}

/// `validate --expanded FILE`, which must succeed.
fn expanded(file: &str) -> String {
    let out = TestCommand::new(&["validate", "--expanded", file]).run();
    assert_eq!(out.code, 0, "{file}: {}", out.stderr);
    out.stdout
}

#[test]
fn expanded_preset_equals_the_explicit_file() {
    let mac_login = expanded("specs/kandji-passport-mac-login.yaml");
    let explicit = expanded("specs/kandji-passport-explicit.yaml");
    let body = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&mac_login), body(&explicit));
    insta::assert_snapshot!("expanded-kandji-passport-mac-login", mac_login);
}

#[test]
fn the_expanded_output_is_a_valid_spec_with_the_same_meaning_in_each_mode() {
    let dir = scratch("expanded");
    for (name, spec) in [
        ("web-login", "specs/kandji-passport.yaml"),
        ("mac-login", "specs/kandji-passport-mac-login.yaml"),
    ] {
        let stdout = expanded(spec);
        if name == "web-login" {
            insta::assert_snapshot!("expanded-kandji-passport", stdout);
        }
        let file = dir.join(format!("expanded-{name}.yaml"));
        std::fs::write(&file, &stdout).unwrap();
        let again = entractl_spec::load_file(&file).expect("expanded output validates");
        let original = entractl_spec::load_file(&root().join(spec)).unwrap();
        let mut expected = original.spec.clone();
        expected.preset = None;
        assert_eq!(again.spec, expected, "{spec}");
    }
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let out = TestCommand::new(&["validate"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("FILE"), "{}", out.stderr);
    let out = TestCommand::new(&["frobnicate"]).run();
    assert_eq!(out.code, 1);
    let out = TestCommand::new(&["--help"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("validate") && out.stdout.contains("schema"));
}

/// `entractl validate PATH` fails; its output is the snapshot `hostile-NAME` (the temp path
/// filtered). `expect` says what the snapshot shows, for the reader.
fn hostile(name: &str, path: &Path, expect: &str) {
    let out = TestCommand::new(&["validate"]).arg(path).run();
    assert_eq!(out.code, 1, "{name} ({expect}): {}", out.stderr);
    crate::assert_transcript!(format!("hostile-{}", name.replace(' ', "-")), out);
}

#[test]
fn missing_file_and_directory() {
    let dir = scratch("hostile-paths");
    hostile("missing", &dir.join("nope.yaml"), "no such file");
    hostile("directory", &dir, "is a directory, not a spec file");
}

#[test]
fn empty_and_comment_only_files() {
    let dir = scratch("hostile-empty");
    for (name, text) in [
        ("empty", ""),
        ("blank", "\n  \n"),
        ("comments", "# nothing\n"),
    ] {
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, text).unwrap();
        hostile(name, &file, "the file is empty");
    }
}

#[test]
fn non_utf8_file() {
    let dir = scratch("hostile-utf8");
    let file = dir.join("latin1.yaml");
    std::fs::write(&file, b"version: 1\ntenant: caf\xe9.com\n").unwrap();
    hostile("non-utf8", &file, "is not UTF-8 text");
}

#[test]
fn not_yaml() {
    let dir = scratch("hostile-notyaml");
    let file = dir.join("binary.yaml");
    std::fs::write(&file, "{]: [}\n\t- :\n").unwrap();
    hostile("not yaml", &file, "not a valid YAML spec");
    let file = dir.join("json.yaml");
    std::fs::write(&file, "[1, 2, 3]\n").unwrap();
    hostile("a list", &file, "a spec file must be a mapping");
    let file = dir.join("scalar.yaml");
    std::fs::write(&file, "hello\n").unwrap();
    hostile("a scalar", &file, "a spec file must be a mapping");
    let file = dir.join("two-docs.yaml");
    std::fs::write(&file, "version: 1\n---\nversion: 1\n").unwrap();
    hostile("two documents", &file, "not a valid YAML spec");
}

#[test]
fn billion_laughs() {
    let dir = scratch("hostile-laughs");
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("version: *a9\n");
    let file = dir.join("laughs.yaml");
    std::fs::write(&file, text).unwrap();
    hostile("billion laughs", &file, "not a valid YAML spec");
}

#[test]
fn deep_nesting() {
    let dir = scratch("hostile-deep");
    let depth = 10_000;
    let flow = format!("app: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let file = dir.join("deep-flow.yaml");
    std::fs::write(&file, flow).unwrap();
    hostile("deep flow", &file, "not a valid YAML spec");
    let block = format!("app:\n  {}x\n", "- ".repeat(depth));
    let file = dir.join("deep-block.yaml");
    std::fs::write(&file, block).unwrap();
    hostile("deep block", &file, "not a valid YAML spec");
}

#[test]
fn huge_scalar() {
    let dir = scratch("hostile-huge");
    let mut text = String::from("version: 1\ntenant: ");
    text.push_str(&"x".repeat(50 * 1024 * 1024));
    text.push('\n');
    let file = dir.join("huge.yaml");
    std::fs::write(&file, text).unwrap();
    hostile("50 MB scalar", &file, "the file is too large");
    // Under the file limit, still far larger than any real value.
    let report = entractl_spec::parse_str(
        "big.yaml",
        &format!("version: 1\ntenant: {}\n", "x".repeat(900_000)),
    );
    assert!(report.is_err());
}
