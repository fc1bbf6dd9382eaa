use super::*;

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn costs_follow_the_documented_table_and_modifiers() {
    let c = |m, t, query: &[(&str, &str)]| cost(m, t, &q(query));
    assert_eq!(c("GET", "/subscribedSkus", &[]).resource_units, 3);
    assert_eq!(
        c("GET", "/subscribedSkus", &[("$select", "skuId")]).resource_units,
        2
    );
    assert_eq!(
        c("GET", "/groups/{id}/members", &[("$top", "999")]).resource_units,
        3
    );
    assert_eq!(
        c("GET", "/groups/{id}/transitiveMembers", &[("$expand", "x")]).resource_units,
        6
    );
    assert_eq!(c("GET", "/users", &[("$top", "5")]).resource_units, 1);
    // Never below 1; unlisted reads cost 1 and no write.
    let read = c("GET", "/users/{id}", &[("$select", "id"), ("$top", "1")]);
    assert_eq!(
        read,
        Cost {
            resource_units: 1,
            writes: 0
        }
    );
    assert_eq!(
        c("POST", "/servicePrincipals", &[]),
        Cost {
            resource_units: 1,
            writes: 1
        }
    );
    assert_eq!(c("PATCH", "/applications/{id}", &[]).writes, 1);
    assert_eq!(
        c("POST", "/directoryObjects/getByIds", &[]),
        Cost {
            resource_units: 3,
            writes: 0
        }
    );
}

#[test]
fn tenant_sizes_and_their_quotas() {
    assert_eq!(TenantSize::of(0), TenantSize::Small);
    assert_eq!(TenantSize::of(49), TenantSize::Small);
    assert_eq!(TenantSize::of(50), TenantSize::Medium);
    assert_eq!(TenantSize::of(500), TenantSize::Medium);
    assert_eq!(TenantSize::of(501), TenantSize::Large);
    assert_eq!(Quota::resource_units(TenantSize::Small).per_second(), 350.0);
    assert_eq!(Quota::resource_units(TenantSize::Large).quota, 8_000.0);
    assert_eq!(APP_TENANT_WRITES.per_second(), 20.0);
}

fn req(cost: Cost) -> Request<'static> {
    Request {
        app: "app-1",
        tenant: "tenant-1",
        size: TenantSize::Small,
        cost,
    }
}

const READ: Cost = Cost {
    resource_units: 100,
    writes: 0,
};

#[test]
fn the_bucket_holds_one_window_refuses_without_charging_and_refills() {
    let mut l = Limits::default();
    let t0 = Instant::now();
    for _ in 0..35 {
        assert!(l.admit(req(READ), t0).is_ok());
    }
    let refused = l.admit(req(READ), t0).unwrap_err();
    // 100 units at 350 per second.
    assert_eq!(refused.retry_after, Duration::from_secs_f64(100.0 / 350.0));
    let h = |name: &str| {
        refused
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(h("Retry-After").as_deref(), Some("0.286"));
    assert_eq!(
        h("x-ms-throttle-scope").as_deref(),
        Some("Tenant_Application/ReadWrite/app-1/tenant-1")
    );
    assert_eq!(
        h("x-ms-throttle-information").as_deref(),
        Some("ResourceUnitLimitExceeded")
    );
    let u = l.usage("tenant-1");
    assert_eq!((u.resource_units, u.throttled), (3_500, 1));
    // A refused request took nothing: after the wait it fits exactly once.
    let later = t0 + refused.retry_after + Duration::from_millis(1);
    assert!(l.admit(req(READ), later).is_ok());
    assert!(l.admit(req(READ), later).is_err());
    // Other tenants and other applications have buckets of their own.
    let other = Request {
        tenant: "tenant-2",
        ..req(READ)
    };
    assert!(l.admit(other, later).is_ok());
    let other_app = Request {
        app: "app-2",
        ..req(READ)
    };
    assert!(l.admit(other_app, later).is_ok());
    l.reset();
    assert!(l.admit(req(READ), later).is_ok());
}

#[test]
fn a_spent_bucket_starts_empty_and_admits_at_the_refill_rate() {
    let mut l = Limits::default();
    l.start_spent();
    let t0 = Instant::now();
    let refused = l.admit(req(READ), t0).unwrap_err();
    assert_eq!(refused.retry_after, Duration::from_secs_f64(100.0 / 350.0));
    // One request of 100 units every 100/350 s, no burst.
    let later = t0 + refused.retry_after + Duration::from_millis(1);
    assert!(l.admit(req(READ), later).is_ok());
    assert!(l.admit(req(READ), later).is_err());
    // Writes keep their full quota.
    let write = Cost {
        resource_units: 0,
        writes: 1,
    };
    assert!(l.admit(req(write), later).is_ok());
    // Until the next reset.
    l.reset();
    assert!(l.admit(req(READ), later).is_ok());
}

#[test]
fn answers_report_the_units_and_the_share_used_above_eight_tenths() {
    let mut l = Limits::default();
    let t0 = Instant::now();
    let percentage = |h: &[(String, String)]| {
        h.iter()
            .find(|(k, _)| k == "x-ms-throttle-limit-percentage")
            .map(|(_, v)| v.clone())
    };
    let first = l.admit(req(READ), t0).unwrap();
    assert!(first.contains(&("x-ms-resource-unit".into(), "100".into())));
    assert_eq!(percentage(&first), None);
    for _ in 0..27 {
        l.admit(req(READ), t0).unwrap();
    }
    // 2,900 of 3,500 used: 0.83.
    let h = l.admit(req(READ), t0).unwrap();
    assert_eq!(percentage(&h).as_deref(), Some("0.83"));
}

#[test]
fn writes_have_their_own_quota_per_pair_and_per_tenant() {
    let mut l = Limits::default();
    let t0 = Instant::now();
    let write = Cost {
        resource_units: 1,
        writes: 1,
    };
    for _ in 0..3_000 {
        l.admit(req(write), t0).unwrap();
    }
    let refused = l.admit(req(write), t0).unwrap_err();
    assert!(refused.headers.contains(&(
        "x-ms-throttle-information".into(),
        "WriteLimitExceeded".into()
    )));
    assert!(refused.headers.contains(&(
        "x-ms-throttle-scope".into(),
        "Tenant_Application/Write/app-1/tenant-1".into()
    )));
    // Reads still pass: the write quota is apart.
    assert!(
        l.admit(
            req(Cost {
                resource_units: 1,
                writes: 0
            }),
            t0
        )
        .is_ok()
    );
    // The tenant's write quota counts every application: six of them use it up.
    let mut l = Limits::default();
    let apps = ["a1", "a2", "a3", "a4", "a5", "a6", "a7"];
    let mut admitted = 0;
    for app in apps {
        for _ in 0..3_000 {
            let r = Request { app, ..req(write) };
            if l.admit(r, t0).is_ok() {
                admitted += 1;
            }
        }
    }
    assert_eq!(admitted, 18_000);
}
