//! The application's reads: the application (by `uniqueName`, by its `entractl:` tag and, when
//! adopting, by appId), its service principal (by the same tag, else by appId), the APIs named
//! in the permissions, the app's tenant-wide grants and granted application permissions, and —
//! only when no live application matched — the deleted applications that match.

use chrono::Utc;
use entractl_graph::Loader;
use entractl_graph::resource::{
    app_role_assignment, application, deleted_item, eq, has_tag, oauth2_permission_grant, parse,
    service_principal,
};
use futures_util::future::join_all;
use serde_json::Value;

use super::{Promise, ok_or_absent, parsed};
use crate::core::desired::{AppIdentity, Desired, ResourceRef};
use crate::core::observed::{
    AppRoleAssignment, Application, Candidate, DeletedApplication, MatchedBy,
    OAuth2PermissionGrant, ObservedDeleted, ResourceLookup, ServicePrincipal,
};
use crate::error::ReadError;

/// Adds the applications `values` to `out`, recording how each was found.
fn take_candidates(out: &mut Vec<Candidate>, values: &[Value], how: MatchedBy) {
    for app in values.iter().filter_map(parse::<Application>) {
        match out.iter_mut().find(|c| c.app.id == app.id) {
            Some(c) => c.matched_by.push(how),
            None => out.push(Candidate {
                app,
                matched_by: vec![how],
            }),
        }
    }
}

/// The applications matching the spec's keys (0, 1, or — an error the plan reports — more).
pub async fn candidates(l: &Loader, d: &Desired) -> Result<Vec<Candidate>, ReadError> {
    candidates_of(l, &d.app.identity, "the application").await
}

/// The applications matching `id` (`what`: the application, in the reads' labels).
pub async fn candidates_of(
    l: &Loader,
    id: &AppIdentity,
    what: &str,
) -> Result<Vec<Candidate>, ReadError> {
    let by_unique_name = async {
        let Some(u) = &id.unique_name else {
            return Ok(Vec::new());
        };
        let label = format!("find {what} by uniqueName");
        // The documented alternate key (`application-upsert.md`): 404 means absent.
        let found = ok_or_absent(
            l.get(application::get_by_unique_name(u, label.clone()))
                .await,
            &label,
        )?;
        Ok(found.into_iter().filter(|v| !v.is_null()).collect())
    };
    let tag_label = format!("find {what} by its entractl tag");
    let by_tag = l.list(application::find_by_tag(
        &id.managed_tag(),
        tag_label.clone(),
    ));
    let by_app_id = async {
        let Some(a) = &id.adopt_app_id else {
            return Ok(Vec::new());
        };
        let label = format!("find {what} to adopt by appId");
        l.list(application::find(eq("appId", a), label.clone()))
            .await
            .map_err(ReadError::of(label))
    };
    let (u, t, a) = tokio::join!(by_unique_name, by_tag, by_app_id);
    let mut out = Vec::new();
    take_candidates(&mut out, &u?, MatchedBy::UniqueName);
    let t = t.map_err(ReadError::of(tag_label))?;
    take_candidates(&mut out, &t, MatchedBy::ManagedTag);
    take_candidates(&mut out, &a?, MatchedBy::AppId);
    Ok(out)
}

/// The application's service principal: the one carrying the tag (read together with the
/// application), else the one with its appId (a wave later). `None` when there is no single
/// application to read it by.
pub async fn service_principal(
    l: &Loader,
    d: &Desired,
    candidates: Promise<'_, Vec<Candidate>>,
) -> Result<Option<ServicePrincipal>, ReadError> {
    let label = "find the service principal by its entractl tag";
    let tagged = l.list(service_principal::find_by_tag(
        &d.app.identity.managed_tag(),
        label,
    ));
    let (tagged, candidates) = tokio::join!(tagged, candidates);
    let tagged: Vec<ServicePrincipal> = parsed(tagged.map_err(ReadError::of(label))?);
    let candidates = candidates?;
    let [one] = candidates.as_slice() else {
        return Ok(None);
    };
    let app_id = &one.app.app_id;
    if let Some(sp) = tagged
        .into_iter()
        .find(|s| s.app_id.eq_ignore_ascii_case(app_id))
    {
        return Ok(Some(sp));
    }
    let label = "find the application's service principal by appId";
    let found = l
        .list(service_principal::find_by_app_id(app_id, label))
        .await
        .map_err(ReadError::of(label))?;
    Ok(parsed::<ServicePrincipal>(found).into_iter().next())
}

/// The service principal of every API named in the spec's permissions.
pub async fn resources(l: &Loader, d: &Desired) -> Result<Vec<ResourceLookup>, ReadError> {
    let reads = d.app.resources_named().into_iter().map(|r| async move {
        let label = format!("find the API `{}` and its permissions", r.label());
        let filter = match &r {
            ResourceRef::AppId(a) => eq("appId", a),
            ResourceRef::Name(n) => eq("displayName", n),
        };
        let found = l
            .list(service_principal::find(filter, label.clone()))
            .await
            .map_err(ReadError::of(label))?;
        Ok(ResourceLookup {
            query: r,
            found: parsed(found),
        })
    });
    join_all(reads).await.into_iter().collect()
}

/// The tenant-wide delegated grants of the app's service principal.
pub async fn grants(
    l: &Loader,
    sp: Promise<'_, Option<ServicePrincipal>>,
) -> Result<Vec<OAuth2PermissionGrant>, ReadError> {
    let Some(sp) = sp.await?.as_ref().clone() else {
        return Ok(Vec::new());
    };
    let req = oauth2_permission_grant::list_tenant_wide(&sp.id);
    let label = req.label_text().unwrap_or("read grants").to_string();
    let found = l.list(req).await.map_err(ReadError::of(label))?;
    Ok(parsed(found))
}

/// The application permissions granted to the app's service principal (its app role
/// assignments, every API), read when the spec manages admin consent of its API permissions —
/// keyed by the service principal's id, so in the same wave as the grants.
pub async fn app_role_grants(
    l: &Loader,
    d: &Desired,
    sp: Promise<'_, Option<ServicePrincipal>>,
) -> Result<Vec<AppRoleAssignment>, ReadError> {
    if d.app.admin_consent.is_none() || d.app.api_permissions.is_none() {
        return Ok(Vec::new());
    }
    let Some(sp) = sp.await?.as_ref().clone() else {
        return Ok(Vec::new());
    };
    let label = "read the app's granted application permissions";
    let found = l
        .list(app_role_assignment::list_granted(&sp.id, label))
        .await
        .map_err(ReadError::of(label))?;
    Ok(parsed::<AppRoleAssignment>(found)
        .into_iter()
        .filter(|a| a.principal_id.eq_ignore_ascii_case(&sp.id))
        .collect())
}

/// The deleted applications that match the spec's keys (`uniqueName`, the `entractl:` tag, a
/// pinned appId), read only when no live application matched — in the same wave as the other
/// reads keyed by the first wave's answers, so a create or restore plan takes no wave for them.
pub async fn deleted(
    l: &Loader,
    d: &Desired,
    candidates: Promise<'_, Vec<Candidate>>,
) -> Result<ObservedDeleted, ReadError> {
    if !candidates.await?.is_empty() {
        return Ok(ObservedDeleted::default());
    }
    let id = &d.app.identity;
    let mut lookups: Vec<(String, MatchedBy, &str)> = Vec::new();
    if let Some(u) = &id.unique_name {
        lookups.push((
            eq("uniqueName", u),
            MatchedBy::UniqueName,
            "look for the application among deleted items by uniqueName",
        ));
    }
    if id.unique_name.is_some() || id.adopt_app_id.is_some() {
        lookups.push((
            has_tag(&id.managed_tag()),
            MatchedBy::ManagedTag,
            "look for the application among deleted items by its entractl tag",
        ));
    }
    if let Some(a) = &id.adopt_app_id {
        lookups.push((
            eq("appId", a),
            MatchedBy::AppId,
            "look for the application among deleted items by appId",
        ));
    }
    if lookups.is_empty() {
        return Ok(ObservedDeleted::default());
    }
    let read_at = Some(Utc::now());
    let reads = lookups.into_iter().map(|(filter, how, label)| async move {
        let found = l
            .list(deleted_item::find_deleted_applications(filter, label))
            .await
            .map_err(ReadError::of(label))?;
        Ok::<_, ReadError>((how, parsed::<deleted_item::DeletedApplication>(found)))
    });
    let mut applications: Vec<DeletedApplication> = Vec::new();
    for answer in join_all(reads).await {
        let (how, found) = answer?;
        for f in found {
            match applications.iter_mut().find(|x| x.app.id == f.app.id) {
                Some(x) if !x.matched_by.contains(&how) => x.matched_by.push(how),
                Some(_) => {}
                None => applications.push(DeletedApplication {
                    app: f.app,
                    deleted_date_time: f.deleted_date_time,
                    matched_by: vec![how],
                }),
            }
        }
    }
    Ok(ObservedDeleted {
        read_at,
        applications,
    })
}
