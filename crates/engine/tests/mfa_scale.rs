//! The MFA posture's reads at scale against graph-emulator: per-user MFA of 10,000 users is read
//! in `$batch`es of 20 (no per-user round trips), and the plan lists exactly the users whose
//! per-user MFA is on.

mod common;

use entractl_engine::fetch::FetchStats;
use entractl_engine::mfa::posture::{DesiredMfa, ScopeUser, SignInScope, fetch_mfa, plan_mfa};
use entractl_engine::plan::ObjectKind;
use graph_emulator::EmulatorConfig;
use graph_emulator::scenarios::LARGE_TENANT_ID;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_users_are_read_in_batches_of_twenty() {
    let emu = graph_emulator::start(EmulatorConfig::scenario("large")).unwrap();
    let client = common::client_for(&emu, LARGE_TENANT_ID, None);

    // The 10,000 members of `Mac Users`; three of them get per-user MFA.
    let ids: Vec<String> = emu.with_tenant(|t| {
        let g = t
            .groups
            .iter()
            .find(|g| g.str("displayName") == Some("Mac Users"))
            .map(|g| g.id().to_string())
            .expect("Mac Users");
        t.transitive_members_of(&g)
    });
    assert_eq!(ids.len(), 10_000);
    let on = [&ids[0], &ids[4_321], &ids[9_999]];
    emu.with_tenant(|t| {
        for (i, id) in on.iter().enumerate() {
            let u = t.user_mut(id).expect("user");
            u.internal.per_user_mfa_state =
                Some(if i == 0 { "enabled" } else { "enforced" }.to_string());
        }
    });
    emu.clear_log();

    let desired = DesiredMfa {
        security_defaults: None,
        per_user_mfa_disabled: true,
        conditional_access: None,
    };
    let scope = SignInScope {
        users: ids
            .iter()
            .map(|id| ScopeUser {
                id: id.clone(),
                label: id.clone(),
            })
            .collect(),
        groups: vec![],
    };
    let mut stats = FetchStats::default();
    let observed = fetch_mfa(&client, &desired, scope, Some(true), &mut stats)
        .await
        .unwrap();
    assert_eq!(observed.per_user.len(), 10_000);

    let log = emu.request_log();
    let direct_per_user = log
        .iter()
        .filter(|e| e.template.ends_with("/authentication/requirements") && e.batch_id.is_none())
        .count();
    assert_eq!(direct_per_user, 0, "no per-user round trips");
    let in_batches = log
        .iter()
        .filter(|e| e.template.ends_with("/authentication/requirements") && e.batch_id.is_some())
        .count();
    assert_eq!(in_batches, 10_000);
    let batches = log
        .iter()
        .filter(|e| e.method == "POST" && e.path.starts_with("/beta/$batch"))
        .count();
    assert_eq!(batches, 500, "10,000 reads in $batch envelopes of 20");

    let (changes, _) = plan_mfa(&desired, &observed, Some("app")).unwrap();
    let users: Vec<&str> = changes
        .iter()
        .filter(|c| c.object.kind == ObjectKind::PerUserMfa)
        .map(|c| c.object.id.as_deref().unwrap())
        .collect();
    assert_eq!(users.len(), 3);
    for id in on {
        assert!(users.contains(&id.as_str()));
    }
    // The three were named by UPN for the plan (one more small batched round).
    assert!(
        changes.iter().all(|c| c.object.display.contains('@')),
        "{changes:#?}"
    );
    emu.shutdown();
}
