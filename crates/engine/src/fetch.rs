//! Fetch: from the desired state, the Graph reads it needs, sent together (`$batch`), in at most
//! two sequential waves on a tenant where everything exists.
//!
//! Wave 1: the application by its `uniqueName`, by its `entractl:` tag and (when adopting) by its
//! appId; the service principal by the same tag; the service principal of every API named in the
//! permissions. Wave 2: the delegated grants of the app's service principal (and, only when the
//! service principal does not carry the tag yet, the service principal by appId — a third wave
//! then reads the grants).
//!
//! A failed read is never taken as absence: only an empty result of a successful query is.

use entractl_graph::{GraphClient, GraphError, GraphRequest};
use serde_json::Value;

use crate::desired::{Desired, ResourceRef};
use crate::diff::resources_named;
use crate::error::EngineError;
use crate::observed::{
    Application, Candidate, MatchedBy, OAuth2PermissionGrant, Observed, ResourceLookup,
    ServicePrincipal,
};

/// The application properties the diff needs (and the journal keeps).
pub const APP_SELECT: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "uniqueName",
    "tags",
    "notes",
    "signInAudience",
    "isFallbackPublicClient",
    "web",
    "publicClient",
    "spa",
    "optionalClaims",
    "groupMembershipClaims",
    "requiredResourceAccess",
];

const SP_SELECT: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "tags",
    "appRoleAssignmentRequired",
    "appRoles",
];
const RESOURCE_SELECT: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "oauth2PermissionScopes",
    "appRoles",
];

/// How much reading a fetch took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Sequential rounds of requests (each round goes out together).
    pub waves: usize,
    /// Graph requests (inner `$batch` requests counted one by one).
    pub requests: usize,
}

/// OData string literal: single quotes doubled.
pub fn odata_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn list(path: &str, filter: String, select: &[&str], label: &str) -> GraphRequest {
    GraphRequest::get(path)
        .query("$filter", filter)
        .select(select)
        .label(label.to_string())
}

/// Reads the rest of a collection when Graph paged it.
async fn values(
    client: &GraphClient,
    req: &GraphRequest,
    resp: entractl_graph::GraphResponse,
    stats: &mut FetchStats,
) -> Result<Vec<Value>, GraphError> {
    if resp.json().get("@odata.nextLink").is_some() {
        stats.requests += 1;
        return client.list_all(req.clone()).await;
    }
    Ok(resp.values())
}

/// `/applications(uniqueName='…')`, the alternate key an application is created with and found by.
pub fn by_unique_name(unique_name: &str) -> String {
    format!("/applications(uniqueName={})", odata_str(unique_name))
}

fn tag_filter(tag: &str) -> String {
    format!("tags/any(t:t eq {})", odata_str(tag))
}

/// Reads the observed state for `desired`.
pub async fn fetch(
    client: &GraphClient,
    desired: &Desired,
) -> Result<(Observed, FetchStats), EngineError> {
    let mut stats = FetchStats::default();
    let token = client.token().await.map_err(EngineError::read("sign in"))?;
    let mut observed = Observed {
        tenant_id: token.claims().tid.clone(),
        ..Observed::default()
    };
    let id = &desired.app.identity;
    let tag = id.managed_tag();

    // Wave 1.
    let mut reqs: Vec<(GraphRequest, Slot)> = Vec::new();
    if let Some(u) = &id.unique_name {
        // The documented alternate key (`application-upsert.md`); 404 Request_ResourceNotFound = absent.
        reqs.push((
            GraphRequest::get(by_unique_name(u))
                .select(APP_SELECT)
                .label("find the application by uniqueName"),
            Slot::App(MatchedBy::UniqueName),
        ));
    }
    reqs.push((
        list(
            "/applications",
            tag_filter(&tag),
            APP_SELECT,
            "find the application by its entractl tag",
        ),
        Slot::App(MatchedBy::ManagedTag),
    ));
    if let Some(a) = &id.adopt_app_id {
        reqs.push((
            list(
                "/applications",
                format!("appId eq {}", odata_str(a)),
                APP_SELECT,
                "find the application to adopt by appId",
            ),
            Slot::App(MatchedBy::AppId),
        ));
    }
    reqs.push((
        list(
            "/servicePrincipals",
            tag_filter(&tag),
            SP_SELECT,
            "find the service principal by its entractl tag",
        ),
        Slot::TaggedSp,
    ));
    for r in resources_named(desired) {
        let filter = match &r {
            ResourceRef::AppId(a) => format!("appId eq {}", odata_str(a)),
            ResourceRef::Name(n) => format!("displayName eq {}", odata_str(n)),
        };
        reqs.push((
            list(
                "/servicePrincipals",
                filter,
                RESOURCE_SELECT,
                &format!("find the API `{}` and its permissions", r.label()),
            ),
            Slot::Resource(r),
        ));
    }
    let mut tagged_sps: Vec<ServicePrincipal> = Vec::new();
    let results = run_wave(client, &reqs, &mut stats).await?;
    for ((_, slot), vals) in reqs.iter().zip(results) {
        match slot {
            Slot::App(how) => {
                for v in vals {
                    let Some(app) = Application::from_graph(&v) else {
                        continue;
                    };
                    match observed.candidates.iter_mut().find(|c| c.app.id == app.id) {
                        Some(c) => c.matched_by.push(*how),
                        None => observed.candidates.push(Candidate {
                            app,
                            matched_by: vec![*how],
                        }),
                    }
                }
            }
            Slot::TaggedSp => {
                tagged_sps = vals
                    .iter()
                    .filter_map(ServicePrincipal::from_graph)
                    .collect();
            }
            Slot::Resource(r) => observed.resources.push(ResourceLookup {
                query: r.clone(),
                found: vals
                    .iter()
                    .filter_map(ServicePrincipal::from_graph)
                    .collect(),
            }),
            Slot::Sp | Slot::Grants => {}
        }
    }
    if observed.candidates.len() != 1 {
        // Nothing to read further: no app (create, or restore from deleted items) or an
        // ambiguity (the diff reports it).
        if observed.candidates.is_empty() {
            crate::restore::fetch_deleted(client, desired, &mut observed, &mut stats).await?;
        }
        crate::assignments::fetch_assignments(client, desired, &mut observed, &mut stats).await?;
        crate::mfa::posture::fetch_into(client, desired, &mut observed, &mut stats).await?;
        return Ok((observed, stats));
    }
    let app_id = observed.candidates[0].app.app_id.clone();
    observed.service_principal = tagged_sps
        .into_iter()
        .find(|s| s.app_id.eq_ignore_ascii_case(&app_id));

    // Wave 2 (and 3 only when the service principal was not found by its tag).
    if observed.service_principal.is_none() {
        let reqs = vec![(
            list(
                "/servicePrincipals",
                format!("appId eq {}", odata_str(&app_id)),
                SP_SELECT,
                "find the application's service principal by appId",
            ),
            Slot::Sp,
        )];
        let mut results = run_wave(client, &reqs, &mut stats).await?;
        observed.service_principal = results
            .pop()
            .unwrap_or_default()
            .iter()
            .find_map(ServicePrincipal::from_graph);
    }
    if let Some(sp) = &observed.service_principal {
        let reqs = vec![(
            list(
                "/oauth2PermissionGrants",
                format!(
                    "clientId eq {} and consentType eq 'AllPrincipals'",
                    odata_str(&sp.id)
                ),
                &[
                    "id",
                    "clientId",
                    "consentType",
                    "principalId",
                    "resourceId",
                    "scope",
                ],
                "read the app's tenant-wide delegated grants",
            ),
            Slot::Grants,
        )];
        let mut results = run_wave(client, &reqs, &mut stats).await?;
        observed.grants = results
            .pop()
            .unwrap_or_default()
            .iter()
            .filter_map(OAuth2PermissionGrant::from_graph)
            .collect();
    }
    crate::assignments::fetch_assignments(client, desired, &mut observed, &mut stats).await?;
    crate::mfa::posture::fetch_into(client, desired, &mut observed, &mut stats).await?;
    Ok((observed, stats))
}

enum Slot {
    App(MatchedBy),
    TaggedSp,
    Sp,
    Resource(ResourceRef),
    Grants,
}

/// Sends one wave together; any failure fails the fetch (never read as "absent").
async fn run_wave(
    client: &GraphClient,
    reqs: &[(GraphRequest, Slot)],
    stats: &mut FetchStats,
) -> Result<Vec<Vec<Value>>, EngineError> {
    stats.waves += 1;
    stats.requests += reqs.len();
    let sent: Vec<GraphRequest> = reqs.iter().map(|(r, _)| r.clone()).collect();
    let results = if sent.len() == 1 {
        vec![client.send(sent[0].clone()).await]
    } else {
        client.send_all(sent).await
    };
    let mut out = Vec::new();
    for ((req, slot), res) in reqs.iter().zip(results) {
        let what = req.label_text().unwrap_or("read").to_string();
        let resp = match res {
            Ok(r) => r,
            // Only a lookup by key may answer "not found", and only that means absent.
            Err(e) if e.is_not_found() && matches!(slot, Slot::App(MatchedBy::UniqueName)) => {
                out.push(Vec::new());
                continue;
            }
            Err(e) => return Err(EngineError::Read { what, source: e }),
        };
        if resp.json().get("value").is_none() && resp.json().get("id").is_some() {
            out.push(vec![resp.json().clone()]);
            continue;
        }
        out.push(
            values(client, req, resp, stats)
                .await
                .map_err(|e| EngineError::Read { what, source: e })?,
        );
    }
    Ok(out)
}
