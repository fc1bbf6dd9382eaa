//! The MFA posture's reads at scale against graph-emulator: per-user MFA of the 10,000 members
//! of an assigned group is read in `$batch`es of 20 (no per-user round trips), and the plan lists
//! exactly the users whose per-user MFA is on, named by UPN.

mod common;

use entractl_engine::plan::ObjectKind;
use entractl_engine::{Desired, diff, fetch};
use graph_emulator::scenarios::LARGE_TENANT_ID;
use graph_emulator::{EmulatorConfig, Knobs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_users_are_read_in_batches_of_twenty() {
    // Graph's limits (on in `large`) off: this test counts envelopes, not the pacing.
    let mut cfg = EmulatorConfig::scenario("large");
    cfg.knobs = Knobs::default();
    let emu = graph_emulator::start(cfg).unwrap();
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

    let text = format!(
        "version: 1\ntenant: {LARGE_TENANT_ID}\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n  publicClientFlows: true\nassignments:\n  groups: [Mac Users]\nmfa:\n  perUserMfa: disabled-for-app-users\n"
    );
    let spec = entractl_spec::parse_str("scale.yaml", &text).expect("spec");
    let desired = Desired::from_spec(&spec.spec, None);
    let (observed, _) = fetch(&client, &desired).await.unwrap();
    assert_eq!(observed.mfa.as_ref().unwrap().per_user.len(), 10_000);

    let log = emu.request_log();
    let per_user = |batched: bool| {
        log.iter()
            .filter(|e| {
                e.template.ends_with("/authentication/requirements")
                    && e.batch_id.is_some() == batched
            })
            .count()
    };
    assert_eq!(per_user(false), 0, "no per-user round trips");
    // The reads start as the member pages arrive: before the group's last page is read.
    let first_read = log
        .iter()
        .position(|e| e.template.ends_with("/authentication/requirements"));
    let last_page = log
        .iter()
        .rposition(|e| e.template.ends_with("/groups/{id}/members"));
    assert!(first_read < last_page, "{first_read:?} {last_page:?}");
    assert_eq!(per_user(true), 10_000);
    let batches = log
        .iter()
        .filter(|e| e.method == "POST" && e.path.starts_with("/beta/$batch"))
        .count();
    // 10,000 reads in envelopes of 20, page by page (one partly filled envelope per page of 999
    // members: the reads of a page go out as it arrives).
    assert!((500..=511).contains(&batches), "{batches} envelopes");

    let plan = diff(&desired, &observed).unwrap();
    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.object.kind == ObjectKind::PerUserMfa)
        .collect();
    let users: Vec<&str> = changes
        .iter()
        .map(|c| c.object.id.as_deref().unwrap())
        .collect();
    assert_eq!(users.len(), 3);
    for id in on {
        assert!(users.contains(&id.as_str()));
    }
    // Named by UPN for the plan (the members' reads gave the UPNs).
    assert!(
        changes.iter().all(|c| c.object.display.contains('@')),
        "{changes:#?}"
    );
    emu.shutdown();
}
