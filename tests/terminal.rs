//! Terminal conventions: shell completions and man pages made from the command line itself, and
//! `-q/--quiet`.

use graph_emulator::scenarios::P1_TENANT_ID;

use crate::util::{Sandbox, TestCommand, scratch, snapshot_settings_with};

/// The subcommands `entractl --help` lists (the oracle the completions and man pages are
/// checked against), without `help`.
fn subcommands() -> Vec<String> {
    let out = TestCommand::new(&["--help"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let commands = out
        .stdout
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section");
    commands
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn completions_offer_every_subcommand_in_every_shell() {
    let names = subcommands();
    assert!(names.len() >= 12, "{names:?}");
    let mut report = format!("subcommands: {}\n", names.join(" "));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = TestCommand::new(&["completions", shell]).run();
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{shell}");
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !out.stdout.contains(n.as_str()))
            .collect();
        let flags = [
            "--format",
            "--auto-approve",
            "--detailed-exitcode",
            "--quiet",
        ]
        .into_iter()
        .filter(|f| out.stdout.contains(f.trim_start_matches('-')))
        .collect::<Vec<_>>()
        .join(" ");
        report.push_str(&format!(
            "{shell}: missing subcommands: {missing:?}; flags seen: {flags}\n"
        ));
    }
    insta::assert_snapshot!("completions", report);
}

#[test]
fn the_bash_completion_script_parses() {
    let out = TestCommand::new(&["completions", "bash"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = scratch("completions-bash");
    let script = dir.join("entractl.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // `bash -n`: parse without running.
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("run bash");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourced, it registers the completion function for `entractl`.
    let registered = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(". '{}' && complete -p entractl", script.display()))
        .output()
        .expect("run bash");
    assert!(registered.status.success());
    assert!(String::from_utf8_lossy(&registered.stdout).contains("entractl"));
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = TestCommand::new(&["completions", "tcsh"]).run();
    assert_eq!(out.code, 1);
    crate::assert_transcript!("completions_unknown_shell", out);
}

#[test]
fn man_writes_one_page_per_subcommand() {
    let dir = scratch("man-pages").join("man1");
    let out = TestCommand::new(&["man"]).arg(&dir).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    snapshot_settings_with(&[(&dir, "[MAN]")]).bind(|| {
        insta::assert_snapshot!("man_transcript", out.transcript());
    });
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for name in subcommands() {
        let page = format!("entractl-{name}.1");
        assert!(files.contains(&page), "{page} missing: {files:?}");
    }
    let top = std::fs::read_to_string(dir.join("entractl.1")).unwrap();
    assert!(top.starts_with(".ie \\n(.g .ds Aq"), "{}", &top[..80]);
    assert!(top.contains(".TH entractl 1"), "{top}");
    let plan = std::fs::read_to_string(dir.join("entractl-plan.1")).unwrap();
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
    insta::assert_snapshot!("man_pages", files.join("\n"));
}

#[test]
fn quiet_leaves_out_notes_but_not_the_result() {
    let emu = Sandbox::scenario("p1", P1_TENANT_ID);
    let dir = scratch("quiet");
    let saved = dir.join("plan.json");
    let spec = "tests/fixtures/kandji-passport-core.yaml";
    let loud = emu.entractl(&["plan", spec, "--out", &saved.display().to_string()]);
    assert_eq!(loud.code, 0, "{}", loud.stderr);
    let quiet = emu.entractl(&["-q", "plan", spec, "--out", &saved.display().to_string()]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(quiet.stdout, loud.stdout);
    assert_eq!(quiet.stderr, "");
    snapshot_settings_with(&[(&dir, "[DIR]")]).bind(|| {
        insta::assert_snapshot!("quiet_plan_loud_stderr", loud.stderr);
    });
    let both = TestCommand::new(&["--quiet", "-v", "schema"]).run();
    assert_eq!(both.code, 1, "--quiet and --verbose conflict");
    emu.shutdown();
}

/// The Graph and sign-in options are on the commands that talk to Graph, under their own
/// heading, and nowhere else (checked on every subcommand's `--help`).
#[test]
fn graph_options_are_shown_only_on_the_commands_that_use_them() {
    let talks_to_graph = [
        "plan",
        "apply",
        "destroy",
        "verify",
        "verify-signin",
        "export",
    ];
    let mut report = String::new();
    for name in subcommands() {
        let out = TestCommand::new(&[name.as_str(), "--help"]).run();
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let shown: Vec<&str> = ["--auth", "--graph-url", "--authority-url", "--timeout"]
            .into_iter()
            .filter(|flag| out.stdout.contains(&format!(" {flag} <")))
            .collect();
        let heading = out.stdout.contains("Microsoft Graph and sign-in:");
        report.push_str(&format!("{name}: {shown:?} heading: {heading}\n"));
        let expected = talks_to_graph.contains(&name.as_str());
        assert_eq!(
            shown.len() == 4 && heading,
            expected,
            "{name}:\n{}",
            out.stdout
        );
        assert!(expected || shown.is_empty(), "{name}:\n{}", out.stdout);
    }
    insta::assert_snapshot!("graph_options", report);
    // A command that does not talk to Graph refuses them, rather than ignoring them.
    let out = TestCommand::new(&["explain", "50076", "--graph-url", "https://graph.example"]).run();
    assert_eq!(out.code, 1, "{}", out.stdout);
    // -v stays global.
    let out = TestCommand::new(&["-v", "explain", "50076"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
}
