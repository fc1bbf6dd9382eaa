//! The placeholder app's reads ("Customize behavior", `mfa.conditionalAccess.placeholder`): the
//! application by its `uniqueName` and its `entractl:` tag, and its service principal by the same
//! tag — all in the first wave — else, a wave later, by the application's appId. Also in the
//! first wave, whatever the spec says: the placeholder apps entractl made for this app (their
//! `entractl-placeholder-for:<key>` tag), so that one the spec no longer names is taken out of
//! the policies' exclusions.

use entractl_graph::Loader;
use entractl_graph::resource::{application, service_principal};

use super::app::candidates_of;
use super::common::parsed;
use crate::core::desired::Desired;
use crate::core::observed::{Application, ObservedPlaceholder, ServicePrincipal};
use crate::error::ReadError;

/// The placeholder as the tenant has it; `None` when the spec has none.
pub async fn read(l: &Loader, d: &Desired) -> Result<Option<ObservedPlaceholder>, ReadError> {
    let Some(p) = d.placeholder() else {
        return Ok(None);
    };
    let id = p.identity();
    let label = "find the placeholder app's service principal by its entractl tag";
    let tagged = l.list(service_principal::find_by_tag(&id.managed_tag(), label));
    let (candidates, tagged) = tokio::join!(candidates_of(l, &id, "the placeholder app"), tagged);
    let candidates = candidates?;
    let tagged: Vec<ServicePrincipal> = parsed(tagged.map_err(ReadError::of(label))?);
    let [one] = candidates.as_slice() else {
        return Ok(Some(ObservedPlaceholder {
            candidates,
            service_principal: None,
        }));
    };
    let app_id = one.app.app_id.clone();
    let service_principal = match tagged
        .into_iter()
        .find(|s| s.app_id.eq_ignore_ascii_case(&app_id))
    {
        Some(sp) => Some(sp),
        None => {
            let label = "find the placeholder app's service principal by appId";
            let found = l
                .list(service_principal::find_by_app_id(&app_id, label))
                .await
                .map_err(ReadError::of(label))?;
            parsed::<ServicePrincipal>(found).into_iter().next()
        }
    };
    Ok(Some(ObservedPlaceholder {
        candidates,
        service_principal,
    }))
}

/// The placeholder apps entractl made for this app, found by their link tag (one request in the
/// first wave, for every spec).
pub async fn linked(l: &Loader, d: &Desired) -> Result<Vec<Application>, ReadError> {
    let label = "find the placeholder apps entractl made for this app, by their tag";
    let tag = d.app.identity.placeholder_link_tag();
    let found = l
        .list(application::find_by_tag(&tag, label))
        .await
        .map_err(ReadError::of(label))?;
    Ok(parsed(found))
}
