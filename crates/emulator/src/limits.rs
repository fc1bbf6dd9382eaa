//! Microsoft Graph's identity and access service limits (knob `graphLimits`), as documented in
//! microsoft-graph-docs `concepts/throttling-limits.md`, section "Identity and access service
//! limits":
//!
//! - every request has a cost in resource units (the table of base costs; `$select` −1,
//!   `$expand` +1, `$top` under 20 −1, never below 1) and writes also a write cost of 1;
//! - token buckets: per application+tenant pair 3,500 / 5,000 / 8,000 resource units per 10 s
//!   by tenant size (S under 50 users, M 50–500, L above 500) and 3,000 writes per 150 s; per
//!   application (across tenants) 150,000 resource units per 20 s and 70,000 writes per 5 min;
//!   per tenant (all applications) 18,000 writes per 5 min;
//! - a request that exceeds a limit is answered 429 and costs nothing; a request inside a
//!   `$batch` is evaluated on its own;
//! - headers: `x-ms-resource-unit` on every answer, `x-ms-throttle-limit-percentage` once more
//!   than 0.8 of a limit is used, and on a 429 `Retry-After`, `x-ms-throttle-scope` and
//!   `x-ms-throttle-information`.
//!
//! The page says the limits are token buckets without giving their burst: a bucket here holds
//! one window's quota and refills it over the window (3,500 per 10 s = 350 per second). What the
//! page leaves out is not modelled: throttling under load or by data volume, the
//! `x-ms-throttle-priority` request header, and the `signInAudience`-dependent cost of
//! application writes (counted as any write).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Share of a limit above which answers carry `x-ms-throttle-limit-percentage`.
pub const REPORT_ABOVE: f64 = 0.8;

/// Tenant size, by number of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSize {
    /// Under 50 users.
    Small,
    /// 50 to 500 users.
    Medium,
    /// Above 500 users.
    Large,
}

impl TenantSize {
    /// The size of a tenant with `users` users.
    pub fn of(users: usize) -> TenantSize {
        match users {
            0..50 => TenantSize::Small,
            50..=500 => TenantSize::Medium,
            _ => TenantSize::Large,
        }
    }

    /// Resource units per 10 seconds for one application in a tenant of this size.
    pub fn resource_units_per_window(self) -> f64 {
        match self {
            TenantSize::Small => 3_500.0,
            TenantSize::Medium => 5_000.0,
            TenantSize::Large => 8_000.0,
        }
    }
}

/// One documented limit: `quota` per `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub quota: f64,
    pub window: Duration,
}

impl Quota {
    const fn new(quota: f64, secs: u64) -> Quota {
        Quota {
            quota,
            window: Duration::from_secs(secs),
        }
    }

    /// Units refilled per second.
    pub fn per_second(&self) -> f64 {
        self.quota / self.window.as_secs_f64()
    }

    /// The application+tenant resource-unit quota of a tenant of this size.
    pub fn resource_units(size: TenantSize) -> Quota {
        Quota::new(size.resource_units_per_window(), 10)
    }
}

/// Writes per application+tenant pair: 3,000 per 2 minutes and 30 seconds.
pub const APP_TENANT_WRITES: Quota = Quota::new(3_000.0, 150);
/// Resource units per application across tenants: 150,000 per 20 seconds.
pub const APP_RESOURCE_UNITS: Quota = Quota::new(150_000.0, 20);
/// Writes per application across tenants: 70,000 per 5 minutes.
pub const APP_WRITES: Quota = Quota::new(70_000.0, 300);
/// Writes per tenant, all applications: 18,000 per 5 minutes.
pub const TENANT_WRITES: Quota = Quota::new(18_000.0, 300);

/// What one request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub resource_units: u32,
    pub writes: u32,
}

/// Base resource-unit costs of the documented table (method, route template); any other
/// identity request costs 1.
const BASE_COSTS: &[(&str, &str, u32)] = &[
    ("GET", "/applications", 2),
    ("GET", "/applications/{id}/extensionProperties", 2),
    ("GET", "/contracts", 3),
    ("POST", "/directoryObjects/getByIds", 3),
    ("GET", "/domains/{id}/domainNameReferences", 4),
    ("POST", "/getObjectsById", 3),
    ("GET", "/groups/{id}/members", 3),
    ("GET", "/groups/{id}/transitiveMembers", 5),
    ("POST", "/isMemberOf", 4),
    ("GET", "/oauth2PermissionGrants", 2),
    ("GET", "/oauth2PermissionGrants/{id}", 2),
    ("GET", "/servicePrincipals/{id}/appRoleAssignments", 2),
    ("GET", "/subscribedSkus", 3),
    ("GET", "/users", 2),
];

/// Documented POST actions that read: no write cost.
const READING_POSTS: &[&str] = &[
    "/directoryObjects/getByIds",
    "/getObjectsById",
    "/isMemberOf",
];

/// The cost of a request: `template` is the route template (`/groups/{id}/members`), `query`
/// the decoded query parameters.
pub fn cost(method: &str, template: &str, query: &[(String, String)]) -> Cost {
    let base = BASE_COSTS
        .iter()
        .find(|(m, t, _)| *m == method && *t == template)
        .map_or(1, |(_, _, c)| *c) as i64;
    let has = |name: &str| query.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let mut units = base;
    if has("$select") {
        units -= 1;
    }
    if has("$expand") {
        units += 1;
    }
    let small_top = query.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("$top") && v.trim().parse::<u32>().is_ok_and(|n| n < 20)
    });
    if small_top {
        units -= 1;
    }
    let writes = u32::from(method != "GET" && !READING_POSTS.contains(&template));
    Cost {
        resource_units: units.max(1) as u32,
        writes,
    }
}

/// A token bucket holding one window's quota, refilled continuously.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, q: &Quota, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * q.per_second()).min(q.quota);
        self.at = now;
    }
}

/// Which limit a bucket enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    /// `Tenant_Application`: one application in one tenant.
    TenantApplication,
    /// `Application`: one application, every tenant.
    Application,
    /// `Tenant`: one tenant, every application.
    Tenant,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::TenantApplication => "Tenant_Application",
            Scope::Application => "Application",
            Scope::Tenant => "Tenant",
        }
    }
}

/// A 429: how long until the request would fit, and the documented headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Throttled {
    pub retry_after: Duration,
    pub headers: Vec<(String, String)>,
}

/// Running totals of one tenant (for benchmarks and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Resource units of the requests admitted.
    pub resource_units: u64,
    /// Write units of the requests admitted.
    pub writes: u64,
    /// Requests answered 429.
    pub throttled: u64,
}

/// The buckets and totals.
#[derive(Debug, Default)]
pub struct Limits {
    buckets: HashMap<(Scope, bool, String), Bucket>,
    usage: HashMap<String, Usage>,
    /// New application+tenant resource-unit buckets start empty (see [`Limits::start_spent`]).
    spent: bool,
}

/// One request to admit.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The calling application's client id.
    pub app: &'a str,
    /// The tenant id.
    pub tenant: &'a str,
    pub size: TenantSize,
    pub cost: Cost,
}

impl Limits {
    /// Forget every bucket and total.
    pub fn reset(&mut self) {
        self.buckets.clear();
        self.usage.clear();
        self.spent = false;
    }

    /// Until the next reset, an application's resource-unit bucket in a tenant starts empty
    /// instead of full, as if the application had just spent its quota there (a run right after
    /// another): every resource unit then waits for the refill, which makes the floor of a run
    /// its resource units divided by the refill rate.
    pub fn start_spent(&mut self) {
        self.spent = true;
    }

    /// The totals of `tenant` since the last reset.
    pub fn usage(&self, tenant: &str) -> Usage {
        self.usage.get(tenant).copied().unwrap_or_default()
    }

    /// Admits `r` at `now` (its costs taken from every bucket) and returns the headers of the
    /// answer, or refuses it without taking anything.
    pub fn admit(
        &mut self,
        r: Request<'_>,
        now: Instant,
    ) -> Result<Vec<(String, String)>, Throttled> {
        let checks = [
            (
                Scope::TenantApplication,
                false,
                r.tenant,
                Quota::resource_units(r.size),
                r.cost.resource_units,
            ),
            (
                Scope::Application,
                false,
                "",
                APP_RESOURCE_UNITS,
                r.cost.resource_units,
            ),
            (
                Scope::TenantApplication,
                true,
                r.tenant,
                APP_TENANT_WRITES,
                r.cost.writes,
            ),
            (Scope::Application, true, "", APP_WRITES, r.cost.writes),
            (Scope::Tenant, true, r.tenant, TENANT_WRITES, r.cost.writes),
        ];
        let mut used = 0.0f64;
        let mut refusal: Option<(Duration, Scope, bool, &str)> = None;
        for (scope, write, key, quota, units) in checks {
            if units == 0 {
                continue;
            }
            let b = self.bucket(scope, write, r.app, key, &quota, now);
            let units = f64::from(units);
            if b.tokens < units {
                let wait = Duration::from_secs_f64((units - b.tokens) / quota.per_second());
                if refusal.is_none_or(|(w, ..)| wait > w) {
                    refusal = Some((wait, scope, write, key));
                }
            }
            used = used.max(1.0 - (b.tokens - units).max(0.0) / quota.quota);
        }
        if let Some((wait, scope, write, key)) = refusal {
            self.usage
                .entry(r.tenant.to_string())
                .or_default()
                .throttled += 1;
            return Err(throttled(r, wait, scope, write, key));
        }
        for (scope, write, key, quota, units) in checks {
            if units > 0 {
                self.bucket(scope, write, r.app, key, &quota, now).tokens -= f64::from(units);
            }
        }
        let u = self.usage.entry(r.tenant.to_string()).or_default();
        u.resource_units += u64::from(r.cost.resource_units);
        u.writes += u64::from(r.cost.writes);
        let mut headers = vec![(
            "x-ms-resource-unit".to_string(),
            r.cost.resource_units.to_string(),
        )];
        if used > REPORT_ABOVE {
            headers.push((
                "x-ms-throttle-limit-percentage".to_string(),
                format!("{:.2}", used.min(1.8)),
            ));
        }
        Ok(headers)
    }

    fn bucket(
        &mut self,
        scope: Scope,
        write: bool,
        app: &str,
        key: &str,
        quota: &Quota,
        now: Instant,
    ) -> &mut Bucket {
        let spent = self.spent && scope == Scope::TenantApplication && !write;
        let id = match scope {
            Scope::TenantApplication => format!("{app}/{key}"),
            Scope::Application => app.to_string(),
            Scope::Tenant => key.to_string(),
        };
        let b = self
            .buckets
            .entry((scope, write, id))
            .or_insert_with(|| Bucket {
                tokens: if spent { 0.0 } else { quota.quota },
                at: now,
            });
        b.refill(quota, now);
        b
    }
}

/// The 429's headers: `Retry-After` in seconds (fractional), the scope
/// (`<Scope>/<Limit>/<ApplicationId>/<TenantId>`) and the reason.
fn throttled(r: Request<'_>, wait: Duration, scope: Scope, write: bool, key: &str) -> Throttled {
    let retry_after = wait.max(Duration::from_millis(1));
    let target = if key.is_empty() { r.tenant } else { key };
    Throttled {
        retry_after,
        headers: vec![
            (
                "Retry-After".to_string(),
                format!("{:.3}", retry_after.as_secs_f64()),
            ),
            (
                "x-ms-throttle-scope".to_string(),
                format!(
                    "{}/{}/{}/{target}",
                    scope.name(),
                    if write { "Write" } else { "ReadWrite" },
                    r.app
                ),
            ),
            (
                "x-ms-throttle-information".to_string(),
                if write {
                    "WriteLimitExceeded"
                } else {
                    "ResourceUnitLimitExceeded"
                }
                .to_string(),
            ),
        ],
    }
}

#[cfg(test)]
mod tests;
