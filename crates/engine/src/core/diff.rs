//! `diff(desired, observed) -> Plan`: the pure heart of entractl. Every kind adds its part
//! ([`crate::core::kinds::KINDS`]), then the checks add their notes ([`crate::core::checks`]); the
//! changes are then put in apply order.

use super::checks::password_sign_in;
use super::desired::Desired;
use super::error::PlanError;
use super::forecast::{SignInForecast, forecast};
use super::kinds::{KINDS, PlanContext, PlanOut};
use super::normalize;
use super::observed::Observed;
use super::plan::{Outputs, Plan};
use super::simulate::simulate_on;

/// Builds the plan. Pure: no I/O, deterministic.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<Plan, PlanError> {
    let cx = PlanContext::new(desired, observed)?;
    let mut out = PlanOut::default();
    for kind in KINDS {
        kind.plan(&cx, &mut out)?;
    }
    out.notes.extend(password_sign_in::notes(desired, observed));
    out.changes.sort_by_key(|c| c.rank());
    let outputs = outputs(&cx, std::mem::take(&mut out.assigned_groups));
    let mut plan = Plan {
        tenant: desired.tenant.clone(),
        cloud: desired.cloud.clone(),
        changes: out.changes,
        notes: out.notes,
        unmanaged: out.unmanaged,
        outputs,
        sign_in_forecast: None,
    };
    plan.sign_in_forecast = sign_in_forecast(desired, observed, &plan)?;
    Ok(plan)
}

/// The sign-in forecast, against the tenant as the plan leaves it.
fn sign_in_forecast(
    desired: &Desired,
    observed: &Observed,
    plan: &Plan,
) -> Result<Option<SignInForecast>, PlanError> {
    if desired.passport_mode.is_none() && !desired.password_sign_in() {
        return Ok(None);
    }
    if observed.forecast.is_none() {
        return Ok(forecast(desired, observed, observed));
    }
    // The forecast takes everything but the MFA posture from the tenant before the plan: the
    // writes are simulated on a copy without the other reads (most of the model with thousands
    // of users, and the plan's peak memory when copied whole).
    let after = simulate_on(observed.for_writes(), plan)?;
    Ok(forecast(desired, observed, &after))
}

/// The values Kandji and CI copy: known now, or after apply.
fn outputs(cx: &PlanContext<'_>, assigned_groups: Vec<super::plan::AssignedGroup>) -> Outputs {
    let desired = cx.desired;
    let tenant_id = cx.observed.tenant_id.clone().or_else(|| {
        normalize::is_guid(&desired.tenant).then(|| desired.tenant.to_ascii_lowercase())
    });
    Outputs {
        oidc_metadata_url: Some(format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            desired.authority_url.trim_end_matches('/'),
            tenant_id.as_deref().unwrap_or(&desired.tenant)
        )),
        tenant_id,
        client_id: cx.app().map(|a| a.app_id.clone()),
        application_object_id: cx.app().map(|a| a.id.clone()),
        service_principal_object_id: cx.sp().map(|s| s.id.clone()),
        assigned_groups,
    }
}
