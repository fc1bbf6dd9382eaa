//! Scenario 3: assignments and the per-user MFA scan at scale.

use graph_emulator::scenarios::EMPTY_TENANT_ID;
use graph_emulator::{Knobs, TenantSource};

use super::common::{Measured, Options, Results, TABLE_HEAD, Target, latency, path_str, start};
use crate::BenchError;
use crate::analyze::{self, Traffic};
use crate::stats::{fmt_kib, ratio};

/// Sizes of scenario 3.
struct Sizes {
    users: usize,
    groups: usize,
    members: usize,
}

impl Sizes {
    /// The sizes of a run (smoke: tiny).
    fn of(smoke: bool) -> Sizes {
        if smoke {
            Sizes {
                users: 50,
                groups: 5,
                members: 100,
            }
        } else {
            Sizes {
                users: 5000,
                groups: 200,
                members: 10000,
            }
        }
    }
}

fn assignment_fixture(s: &Sizes) -> String {
    let base = graph_emulator::scenarios::text("empty").unwrap_or_default();
    let mut y = format!(
        "{base}\ngenerate:\n  users: {{count: {}, domain: empty.onmicrosoft.com, perUserMfaEvery: 10}}\n  groups:\n    - {{displayName: Mac Users, memberCount: {}}}\n",
        s.members.max(s.users),
        s.members
    );
    for g in 1..s.groups {
        y.push_str(&format!(
            "    - {{displayName: Bench Group {g:03}, memberCount: 10}}\n"
        ));
    }
    y
}

fn assignment_spec(upns: &[String], s: &Sizes) -> String {
    let mut y = String::from(
        "version: 1\ntenant: empty.onmicrosoft.com\ncloud: public\npreset: kandji-passport\npassport:\n  mode: mac-login\n\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n\nassignments:\n  users:\n",
    );
    for u in upns {
        y.push_str(&format!("    - {u}\n"));
    }
    y.push_str("  groups:\n    - Mac Users\n");
    for g in 1..s.groups {
        y.push_str(&format!("    - Bench Group {g:03}\n"));
    }
    y.push_str("  prune: false\n");
    y
}

/// Scenario 3: assignments of many users and groups, per-user MFA scan of the group members.
pub(super) fn assignments(
    opts: &Options,
    results: &mut Results,
) -> Result<(String, String), BenchError> {
    let sizes = Sizes::of(opts.smoke);
    let title = format!(
        "3. Assignments of {} users and {} groups, per-user MFA scan of {} group members",
        sizes.users, sizes.groups, sizes.members
    );
    let emu = start(
        TenantSource::FixtureText {
            name: "bench assignments".into(),
            text: assignment_fixture(&sizes),
        },
        Knobs::default(),
    )?;
    let upns: Vec<String> = emu.with_tenant(|t| {
        let mut v: Vec<String> = t
            .users
            .iter()
            .filter_map(|r| r.str("userPrincipalName").map(str::to_string))
            .collect();
        v.sort();
        v.truncate(sizes.users);
        v
    });
    let spec = opts.scratch.join("s3-spec.yaml");
    std::fs::write(&spec, assignment_spec(&upns, &sizes))
        .map_err(|e| BenchError::io("write", &spec, e))?;
    let spec_s = path_str(&spec);
    let target = Target {
        opts,
        base_url: emu.base_url(),
        tenant_id: EMPTY_TENANT_ID,
    };
    // Lower bound: one request per 20 objects looked up (users, groups) or scanned (members).
    let bound = sizes.users.div_ceil(20) + sizes.groups.div_ceil(20) + sizes.members.div_ceil(20);
    let mut rows = Vec::new();
    let configs: Vec<(u64, bool, usize)> = if opts.smoke {
        vec![(0, false, 1), (0, true, 1)]
    } else {
        vec![(0, false, 3), (0, true, 1), (50, false, 3)]
    };
    for (lat, naive, runs) in configs {
        emu.set_knobs(latency(lat));
        let mut m = Measured::new(lat, naive);
        for i in 0..runs {
            emu.clear_log();
            let r = target.run(
                naive,
                &["plan", &spec_s, "--detailed-exitcode"],
                &format!("s3-plan-{lat}-{naive}-{i}"),
            )?;
            if r.code == 1 {
                let reason = format!(
                    "`entractl plan` failed on the spec: {}",
                    r.stderr_head().lines().next().unwrap_or("no message")
                );
                results.assignments_skipped = Some(reason.clone());
                return Ok((title, format!("Skipped: {reason}\n")));
            }
            m.add(&r, &emu.request_log());
        }
        rows.push(m);
    }
    let first = &rows[0].traffic;
    let looked_up = analyze::operations_matching(first, "/users")
        - analyze::operations_matching(first, "/authentication/requirements");
    let scanned = analyze::operations_matching(first, "/authentication/requirements");
    if let Some(reason) = not_measured(&sizes, first, looked_up, scanned) {
        results.assignments_skipped = Some(reason.clone());
        return Ok((title, skipped_body(&reason, &sizes)));
    }
    let body = assignments_body(&sizes, bound, &rows, (looked_up, scanned));
    results.assignments = rows;
    Ok((title, body))
}

/// Why scenario 3 measured nothing: entractl sent no lookup or per-user MFA read.
fn not_measured(s: &Sizes, first: &Traffic, looked_up: usize, scanned: usize) -> Option<String> {
    let mut missing = Vec::new();
    if looked_up + analyze::operations_matching(first, "/groups") == 0 {
        missing.push(format!(
            "entractl sent no user or group request for the {} assigned users and {} groups \
             (assignments, issue 6, not in this build)",
            s.users, s.groups
        ));
    }
    if scanned == 0 {
        missing.push(format!(
            "entractl read no per-user MFA state of the {} group members (per-user MFA scan, \
             issue 7, not in this build)",
            s.members
        ));
    }
    (!missing.is_empty()).then(|| missing.join("; "))
}

/// Scenario 3's report section when it measured nothing.
fn skipped_body(reason: &str, sizes: &Sizes) -> String {
    format!(
        "Skipped: {reason}. The harness runs this scenario (a tenant of {} users with \
         `Mac Users` of {} members and {} more groups, a spec assigning {} users and {} \
         groups) and reports figures once entractl reads them.\n",
        sizes.members.max(sizes.users),
        sizes.members,
        sizes.groups - 1,
        sizes.users,
        sizes.groups
    )
}

/// Scenario 3's report section: the table, the lower bound, peak memory and the operations.
fn assignments_body(
    sizes: &Sizes,
    bound: usize,
    rows: &[Measured],
    (looked_up, scanned): (usize, usize),
) -> String {
    let mut body = format!(
        "`entractl plan` of a spec assigning {} users and {} groups (`Mac Users` with {} members, \
         {} groups of 10) with per-user MFA `disabledForAppUsers` (the preset), on a P1 tenant \
         where nothing is assigned yet and every 10th user has per-user MFA enforced.\n\n{TABLE_HEAD}\n",
        sizes.users,
        sizes.groups,
        sizes.members,
        sizes.groups - 1
    );
    for m in rows {
        body.push_str(&m.row());
        body.push('\n');
    }
    let b = &rows[0];
    body.push_str(&format!(
        "\n- Lower bound (one request per 20 users, groups and members): {bound} HTTP requests; \
         batched sent {} = {} of it — target within 10%: **{}**.\n",
        b.traffic.http_requests,
        ratio(b.traffic.http_requests as f64, bound as f64),
        if (b.traffic.http_requests as f64) <= bound as f64 * 1.1 {
            "met"
        } else {
            "not met"
        }
    ));
    let peak = rows
        .iter()
        .filter(|m| !m.naive)
        .flat_map(|m| m.rss.iter().copied())
        .max();
    if let Some(k) = peak {
        body.push_str(&format!(
            "- Target: peak RSS under 64 MB — **{}** ({}).\n",
            if k < 64 * 1024 { "met" } else { "not met" },
            fmt_kib(k)
        ));
    }
    body.push_str(&format!(
        "- Operations: {looked_up} on users, {scanned} per-user MFA reads.\n"
    ));
    body
}
