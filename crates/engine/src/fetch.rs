//! Fetch: from the desired state, the Graph reads it needs, in dependency waves, every read of a
//! wave sent together (`$batch`es of v1.0 and of beta, and paced conditional access requests,
//! concurrently): three waves after the token on a tenant where everything exists (see
//! [`fetch`] for what goes in which wave, and [`crate::waves`] for how a wave is sent).
//!
//! This module holds the application's part (the app, its service principal, the APIs'
//! service principals and the grants) and the planner that collects the reads of every part: the
//! assignments ([`crate::assignments`]), the deleted items ([`crate::restore`]) and the MFA
//! posture ([`crate::mfa::posture`]).
//!
//! A failed read is never taken as absence: only an empty result of a successful query, or a 404
//! on a lookup by key, is.
use entractl_graph::{GraphClient, GraphError, GraphRequest};
use serde_json::Value;

use crate::desired::{Desired, ResourceRef};
use crate::diff::resources_named;
use crate::error::EngineError;
use crate::mfa::posture::{MfaInputs, MfaRead, MfaReads};
use crate::observed::{
    Application, Candidate, MatchedBy, OAuth2PermissionGrant, Observed, ResourceLookup,
    ServicePrincipal,
};
use crate::waves::{Done, Runner};

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

/// A filtered list read: `GET path?$filter=…&$select=…`, labelled for error messages.
pub(crate) fn list(
    path: &str,
    filter: String,
    select: &[&str],
    label: impl Into<String>,
) -> GraphRequest {
    GraphRequest::get(path)
        .query("$filter", filter)
        .select(select)
        .label(label.into())
}

/// The tenant-wide (`AllPrincipals`) delegated grants of the service principal `sp_id`.
pub(crate) fn grants_read(sp_id: &str) -> GraphRequest {
    list(
        "/oauth2PermissionGrants",
        format!(
            "clientId eq {} and consentType eq 'AllPrincipals'",
            odata_str(sp_id)
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
    )
}

/// `/applications(uniqueName='…')`, the alternate key an application is created with and found by.
pub fn by_unique_name(unique_name: &str) -> String {
    format!("/applications(uniqueName={})", odata_str(unique_name))
}

fn tag_filter(tag: &str) -> String {
    format!("tags/any(t:t eq {})", odata_str(tag))
}

/// What one read of a wave is for: the part of fetch it belongs to, and its place there.
enum Key {
    App(AppRead),
    Assignments(crate::assignments::Read),
    Deleted(MatchedBy),
    Mfa(MfaRead),
}

/// What one read of the application's part is for.
enum AppRead {
    App(MatchedBy),
    TaggedSp,
    Sp,
    Resource(ResourceRef),
    Grants,
}

/// The application's part of fetch: wave 1 finds the application (by `uniqueName`, by its
/// `entractl:` tag and, when adopting, by appId), its service principal by the same tag and
/// the service principal of every API named in the permissions; wave 2 reads the delegated
/// grants of the app's service principal (and, only when the service principal does not carry
/// the tag yet, finds it by appId, so the grants come a wave later).
#[derive(Default)]
struct AppReads {
    started: bool,
    /// First-wave reads not answered yet.
    first_left: usize,
    tagged_sps: Vec<ServicePrincipal>,
    /// Whether the app's service principal is known (`Some`, then whether it exists).
    sp_known: Option<bool>,
    sp_asked: bool,
    grants_asked: bool,
    deleted_asked: bool,
}

impl AppReads {
    fn next_reads(
        &mut self,
        desired: &Desired,
        observed: &mut Observed,
    ) -> Vec<(GraphRequest, Key)> {
        let mut reqs: Vec<(GraphRequest, AppRead)> = Vec::new();
        if !self.started {
            self.started = true;
            reqs = first_reads(desired);
            self.first_left = reqs.len();
        } else if self.first_left == 0 && self.sp_known.is_none() {
            if observed.candidates.len() != 1 {
                // No app (create, or restore from deleted items) or an ambiguity (the diff
                // reports it): no service principal to read by.
                self.sp_known = Some(false);
            } else {
                let app_id = observed.candidates[0].app.app_id.clone();
                observed.service_principal = std::mem::take(&mut self.tagged_sps)
                    .into_iter()
                    .find(|s| s.app_id.eq_ignore_ascii_case(&app_id));
                if observed.service_principal.is_some() {
                    self.sp_known = Some(true);
                } else if !self.sp_asked {
                    self.sp_asked = true;
                    reqs.push((
                        list(
                            "/servicePrincipals",
                            format!("appId eq {}", odata_str(&app_id)),
                            SP_SELECT,
                            "find the application's service principal by appId",
                        ),
                        AppRead::Sp,
                    ));
                }
            }
        }
        if let (Some(true), false, Some(sp)) = (
            self.sp_known,
            self.grants_asked,
            &observed.service_principal,
        ) {
            self.grants_asked = true;
            reqs.push((grants_read(&sp.id), AppRead::Grants));
        }
        reqs.into_iter().map(|(r, k)| (r, Key::App(k))).collect()
    }

    /// Takes in one answered read; any failure fails the fetch (never read as "absent"), but a
    /// 404 on the lookup by `uniqueName` (the documented alternate key).
    fn absorb(
        &mut self,
        observed: &mut Observed,
        read: AppRead,
        req: &GraphRequest,
        result: Result<Vec<Value>, GraphError>,
    ) -> Result<(), EngineError> {
        if matches!(
            read,
            AppRead::App(_) | AppRead::TaggedSp | AppRead::Resource(_)
        ) {
            self.first_left = self.first_left.saturating_sub(1);
        }
        let vals = match result {
            Ok(v) => v,
            // Only a lookup by key may answer "not found", and only that means absent.
            Err(e) if e.is_not_found() && matches!(read, AppRead::App(MatchedBy::UniqueName)) => {
                Vec::new()
            }
            Err(source) => {
                return Err(EngineError::Read {
                    what: req.label_text().unwrap_or("read").to_string(),
                    source,
                });
            }
        };
        match read {
            AppRead::App(how) => {
                for v in vals {
                    let Some(app) = Application::from_graph(&v) else {
                        continue;
                    };
                    match observed.candidates.iter_mut().find(|c| c.app.id == app.id) {
                        Some(c) => c.matched_by.push(how),
                        None => observed.candidates.push(Candidate {
                            app,
                            matched_by: vec![how],
                        }),
                    }
                }
            }
            AppRead::TaggedSp => {
                self.tagged_sps = vals
                    .iter()
                    .filter_map(ServicePrincipal::from_graph)
                    .collect();
            }
            AppRead::Resource(r) => observed.resources.push(ResourceLookup {
                query: r,
                found: vals
                    .iter()
                    .filter_map(ServicePrincipal::from_graph)
                    .collect(),
            }),
            AppRead::Sp => {
                observed.service_principal = vals.iter().find_map(ServicePrincipal::from_graph);
                self.sp_known = Some(observed.service_principal.is_some());
            }
            AppRead::Grants => {
                observed.grants = vals
                    .iter()
                    .filter_map(OAuth2PermissionGrant::from_graph)
                    .collect();
            }
        }
        Ok(())
    }

    /// The app's service principal, once known: `Some(its id)` or `Some(None)`.
    fn sp<'o>(&self, observed: &'o Observed) -> Option<Option<&'o str>> {
        self.sp_known
            .map(|_| observed.service_principal.as_ref().map(|s| s.id.as_str()))
    }
}

fn first_reads(desired: &Desired) -> Vec<(GraphRequest, AppRead)> {
    let id = &desired.app.identity;
    let tag = id.managed_tag();
    let mut reqs: Vec<(GraphRequest, AppRead)> = Vec::new();
    if let Some(u) = &id.unique_name {
        // The documented alternate key (`application-upsert.md`); 404 Request_ResourceNotFound = absent.
        reqs.push((
            GraphRequest::get(by_unique_name(u))
                .select(APP_SELECT)
                .label("find the application by uniqueName"),
            AppRead::App(MatchedBy::UniqueName),
        ));
    }
    reqs.push((
        list(
            "/applications",
            tag_filter(&tag),
            APP_SELECT,
            "find the application by its entractl tag",
        ),
        AppRead::App(MatchedBy::ManagedTag),
    ));
    if let Some(a) = &id.adopt_app_id {
        reqs.push((
            list(
                "/applications",
                format!("appId eq {}", odata_str(a)),
                APP_SELECT,
                "find the application to adopt by appId",
            ),
            AppRead::App(MatchedBy::AppId),
        ));
    }
    reqs.push((
        list(
            "/servicePrincipals",
            tag_filter(&tag),
            SP_SELECT,
            "find the service principal by its entractl tag",
        ),
        AppRead::TaggedSp,
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
                format!("find the API `{}` and its permissions", r.label()),
            ),
            AppRead::Resource(r),
        ));
    }
    reqs
}

/// Reads the observed state for `desired`, in dependency waves ([`crate::waves`]): each part
/// (the application, the deleted items, the assignments, the MFA posture) gives the reads it can
/// make from what is known so far, and all of them go out together.
///
/// On a tenant where everything exists (a converged plan) that is three waves after the token:
/// 1. the application, its service principal (by tag), the APIs' service principals, the spec's
///    users and groups, `subscribedSkus`, the security defaults, the conditional access policies
///    and the per-user MFA state of the spec's users;
/// 2. the grants and the assignments of the service principal, the direct members of the
///    spec's groups, the members of groups the policies name (and, when no live application
///    matched, the deleted applications: a create or restore plan takes no extra wave for them);
/// 3. the per-user MFA state of the groups' members.
///
/// More only for paged collections (999 members a page: one wave per further page) and for
/// a service principal that does not carry its tag yet.
pub async fn fetch(
    client: &GraphClient,
    desired: &Desired,
) -> Result<(Observed, FetchStats), EngineError> {
    let token = client.token().await.map_err(EngineError::read("sign in"))?;
    let mut observed = Observed {
        tenant_id: token.claims().tid.clone(),
        ..Observed::default()
    };
    let mut app = AppReads::default();
    let mut assignments = crate::assignments::AssignmentReads::default();
    let mut mfa = desired.mfa.as_ref().map(|m| (m, MfaReads::default()));
    let mut runner: Runner<Key> = Runner::new(client);
    loop {
        let mut reads = app.next_reads(desired, &mut observed);
        if app.sp_known == Some(false) && observed.candidates.is_empty() && !app.deleted_asked {
            app.deleted_asked = true;
            let deleted = crate::restore::deleted_reads(desired);
            if !deleted.is_empty() {
                observed.deleted.read_at = Some(chrono::Utc::now());
            }
            reads.extend(deleted.into_iter().map(|(r, k)| (r, Key::Deleted(k))));
        }
        let sp = app.sp(&observed).map(|s| s.map(str::to_string));
        reads.extend(
            assignments
                .next_reads(desired, &mut observed, sp.as_ref().map(Option::as_deref))
                .into_iter()
                .map(|(r, k)| (r, Key::Assignments(k))),
        );
        if observed.candidates.len() > 1 {
            // Ambiguous application: the plan stops with that error; the posture is not needed.
            mfa = None;
        }
        if let Some((m, part)) = mfa.as_mut() {
            let inputs = mfa_inputs(desired, &observed, &assignments);
            reads.extend(
                part.next_reads(m, &inputs)?
                    .into_iter()
                    .map(|(r, k)| (r, Key::Mfa(k))),
            );
        }
        if reads.is_empty() && runner.idle() {
            break;
        }
        for done in runner.wave(reads).await {
            let Done { key, req, result } = done;
            match key {
                Key::App(read) => app.absorb(&mut observed, read, &req, result)?,
                Key::Assignments(read) => assignments.absorb(
                    &mut observed,
                    Done {
                        key: read,
                        req,
                        result,
                    },
                )?,
                Key::Deleted(how) => crate::restore::absorb_deleted(
                    &mut observed.deleted,
                    Done {
                        key: how,
                        req,
                        result,
                    },
                )?,
                Key::Mfa(read) => {
                    if let Some((_, part)) = mfa.as_mut() {
                        part.absorb(Done {
                            key: read,
                            req,
                            result,
                        });
                    }
                }
            }
        }
    }
    observed.mfa = mfa.and_then(|(_, part)| part.take());
    Ok((observed, runner.stats))
}

/// What the MFA posture's reads go by, from what fetch knows so far: the spec's users (and the
/// ids they resolved to), the members of the groups read, the assigned users, and, once the
/// assignments are settled, who can sign in (`observed.principals`).
fn mfa_inputs<'a>(
    desired: &'a Desired,
    observed: &Observed,
    assignments: &'a crate::assignments::AssignmentReads,
) -> MfaInputs<'a> {
    let oa = &observed.assignments;
    let spec_users = desired
        .assignments
        .as_ref()
        .map(|a| {
            a.users
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let id = oa
                        .users
                        .get(i)
                        .and_then(Option::as_ref)
                        .map(|u| u.id.clone());
                    (e.value.as_str(), id)
                })
                .collect()
        })
        .unwrap_or_default();
    let known_users = oa
        .members
        .values()
        .flat_map(|m| m.users.iter().cloned())
        .chain(oa.assigned_users.values().flatten().map(|u| u.id.clone()))
        .collect();
    let known_groups = oa
        .groups
        .iter()
        .filter_map(|hits| match hits.as_slice() {
            [g] => Some(g.id.to_lowercase()),
            _ => None,
        })
        .chain(oa.members.keys().map(|g| g.to_lowercase()))
        .collect();
    let scope = assignments
        .settled()
        .then(|| crate::mfa::posture::sign_in_scope(&observed.principals));
    MfaInputs {
        spec_users,
        known_users,
        known_groups,
        scope,
        has_conditional_access: observed
            .tier
            .map(|t| t != crate::assignments::LicenseTier::Free),
        upns: &assignments.member_upns,
    }
}
