//! `subscribedSku`: the tenant's subscriptions, from which the Entra ID tier (Free, P1, P2)
//! follows; and `organization`.

use serde::Deserialize;
use serde_json::Value;

use super::common::Operation;
use crate::request::GraphRequest;

pub const PATH: &str = "/subscribedSkus";

pub const READ: &str = "Organization.Read.All";

pub const OPERATIONS: &[Operation] = &[
    Operation::new("GET", PATH, READ),
    Operation::new("GET", "/organization", READ),
];

/// The tenant's Entra ID licence tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseTier {
    Free,
    P1,
    P2,
}

impl LicenseTier {
    /// The tier from `subscribedSkus`: an `AAD_PREMIUM` (P1) or `AAD_PREMIUM_P2` service plan
    /// provisioned (`Success`) in a SKU that is `Enabled` or `Warning` (grace period), whether
    /// the SKU is Entra ID itself or a bundle (Microsoft 365 E3/E5, EMS, Business Premium) that
    /// contains it.
    pub fn from_subscribed_skus(skus: &[Value]) -> LicenseTier {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut tier = LicenseTier::Free;
        for sku in skus {
            let status = s(sku, "capabilityStatus");
            if !status.eq_ignore_ascii_case("Enabled") && !status.eq_ignore_ascii_case("Warning") {
                continue;
            }
            let plans = sku.get("servicePlans").and_then(Value::as_array);
            for p in plans.into_iter().flatten() {
                if !s(p, "provisioningStatus").eq_ignore_ascii_case("Success") {
                    continue;
                }
                let name = s(p, "servicePlanName");
                let t = if name.eq_ignore_ascii_case("AAD_PREMIUM_P2") {
                    LicenseTier::P2
                } else if name.eq_ignore_ascii_case("AAD_PREMIUM") {
                    LicenseTier::P1
                } else {
                    continue;
                };
                tier = tier.max(t);
            }
        }
        tier
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LicenseTier::Free => "Free",
            LicenseTier::P1 => "P1",
            LicenseTier::P2 => "P2",
        }
    }
}

/// Read the subscriptions.
pub fn list() -> GraphRequest {
    GraphRequest::get(PATH)
        .select(&["skuPartNumber", "capabilityStatus", "servicePlans"])
        .label("read the tenant's licenses (subscribedSkus)")
}
