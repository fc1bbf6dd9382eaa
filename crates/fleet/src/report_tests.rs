//! Tests of the fleet report: rendering, JSON round trip, merging shards.

use super::*;

fn tenant(name: &str, status: Status, changes: usize) -> TenantResult {
    let mut t = TenantResult::new(name, &format!("{name}.onmicrosoft.com"));
    t.status = status;
    t.changes = changes;
    if status == Status::Failed {
        t = t.fail(ErrorKind::Auth, "no token\n  hint: fix it");
    }
    t
}

fn shard_report(index: u32, count: u32, names: &[(&str, Status, usize)]) -> (String, FleetReport) {
    (
        format!("shard-{index}.json"),
        FleetReport::new(
            Operation::Plan,
            "fleet.yaml",
            "fnv1a64:0000000000000001",
            Some(Shard { index, count }),
            names.iter().map(|(n, s, c)| tenant(n, *s, *c)).collect(),
        ),
    )
}

#[test]
fn summary_and_exit_codes() {
    let r = FleetReport::new(
        Operation::Plan,
        "f.yaml",
        "x",
        None,
        vec![
            tenant("b", Status::Drifted, 3),
            tenant("a", Status::InSync, 0),
        ],
    );
    assert_eq!(r.tenants[0].name, "a", "sorted by name");
    assert_eq!(r.summary.drifted, 1);
    assert_eq!(r.summary.changes, 3);
    assert_eq!(r.exit_code(), 2);
    let mut with_failure = r.tenants.clone();
    with_failure.push(tenant("c", Status::Failed, 0));
    let r = FleetReport::new(Operation::Plan, "f.yaml", "x", None, with_failure);
    assert_eq!(r.exit_code(), 1, "a failure wins over drift");
    let ok = FleetReport::new(
        Operation::Plan,
        "f.yaml",
        "x",
        None,
        vec![tenant("a", Status::InSync, 0)],
    );
    assert_eq!(ok.exit_code(), 0);
}

#[test]
fn json_round_trip_and_renderings() {
    let (_, r) = shard_report(0, 1, &[("a", Status::InSync, 0), ("z", Status::Failed, 0)]);
    let back = FleetReport::from_json("r.json", &r.to_json()).unwrap();
    assert_eq!(back, r);
    let text = r.render(Format::Text, false);
    assert!(text.contains("1 in sync, 0 drifted, 1 failed"), "{text}");
    assert!(
        text.contains("z (z.onmicrosoft.com) [auth]:\n    no token\n      hint: fix it"),
        "{text}"
    );
    let md = r.render(Format::Markdown, false);
    assert!(
        md.contains("| z | `z.onmicrosoft.com` | failed | 0 | 0 | 0 | no token |"),
        "{md}"
    );
    assert!(FleetReport::from_json("x.json", "{\"kind\":\"other\"}").is_err());
    let v2 = r
        .to_json()
        .replace("\"format_version\": \"1\"", "\"format_version\": \"9\"");
    assert!(matches!(
        FleetReport::from_json("x.json", &v2),
        Err(MergeError::Version { .. })
    ));
}

/// A plan whose sign-in forecast fails for one user, for a policy's MFA.
fn failing_plan() -> Plan {
    use entractl_engine::desired::PassportMode;
    use entractl_engine::forecast::{Cause, SignInForecast, UserForecast, Verdict};
    let verdict = Verdict::NeedsMfa {
        because: vec![Cause::Policy {
            id: "p".into(),
            name: "Require MFA".into(),
            demand: "mfa".into(),
        }],
    };
    Plan {
        sign_in_forecast: Some(SignInForecast {
            mode: PassportMode::MacLogin,
            basis: Vec::new(),
            users: vec![UserForecast {
                id: "u".into(),
                user: "u@contoso.com".into(),
                verdict,
                evaluated_as: None,
            }],
            warnings: Vec::new(),
        }),
        ..Plan::default()
    }
}

/// A report embeds the JSON plan, whose forecast lists its options (computed from the verdicts):
/// the report reads back the same, and a report written before the plan listed them loads too.
#[test]
fn a_plans_forecast_options_round_trip_and_old_reports_load() {
    let mut t = tenant("a", Status::Drifted, 0);
    t.plan = Some(failing_plan());
    let r = FleetReport::new(Operation::Plan, "f.yaml", "x", None, vec![t]);
    let text = r.to_json();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let options = &v["tenants"][0]["plan"]["sign_in_forecast"]["options"];
    assert_eq!(options[0]["kind"], "web-login", "{options}");
    assert_eq!(FleetReport::from_json("r.json", &text).unwrap(), r);
    let mut old = v.clone();
    old["tenants"][0]["plan"]["sign_in_forecast"]
        .as_object_mut()
        .unwrap()
        .remove("options");
    assert_eq!(
        FleetReport::from_json("old.json", &old.to_string()).unwrap(),
        r
    );
}

#[test]
fn merge_checks_completeness_and_consistency() {
    let s0 = shard_report(0, 2, &[("b", Status::Drifted, 2)]);
    let s1 = shard_report(1, 2, &[("a", Status::InSync, 0), ("c", Status::Failed, 0)]);
    let merged = merge(vec![s1.clone(), s0.clone()]).unwrap();
    assert_eq!(merged.shard, None);
    let names: Vec<&str> = merged.tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(
        merged.summary,
        FleetSummary {
            tenants: 3,
            in_sync: 1,
            drifted: 1,
            applied: 0,
            failed: 1,
            changes: 2,
            security_downgrades: 0
        }
    );

    assert!(matches!(merge(vec![]), Err(MergeError::Empty)));
    let e = merge(vec![s0.clone()]).unwrap_err();
    assert_eq!(
        e,
        MergeError::MissingShards {
            missing: vec!["1/2".into()],
            count: 2
        }
    );
    assert!(e.to_string().contains("re-run those shards"));
    assert!(matches!(
        merge(vec![s0.clone(), s0.clone()]),
        Err(MergeError::DuplicateShard { .. })
    ));
    let mut other_run = s1.clone();
    other_run.1.fleet_fingerprint = "fnv1a64:0000000000000002".into();
    assert!(matches!(
        merge(vec![s0.clone(), other_run]),
        Err(MergeError::Mismatch {
            what: "fleet file (fingerprint)",
            ..
        })
    ));
    let three = shard_report(1, 3, &[]);
    assert!(matches!(
        merge(vec![s0.clone(), three]),
        Err(MergeError::Mismatch {
            what: "shard count",
            ..
        })
    ));
    let dup = shard_report(1, 2, &[("b", Status::InSync, 0)]);
    assert!(matches!(
        merge(vec![s0.clone(), dup]),
        Err(MergeError::DuplicateTenant { .. })
    ));
    let mut whole = s1.clone();
    whole.1.shard = None;
    assert!(matches!(
        merge(vec![s0, whole]),
        Err(MergeError::NotSharded { .. })
    ));
}
