//! Restore instead of recreate.
//!
//! When the managed application is gone but Entra still holds it in
//! `directory/deletedItems` (soft-deleted applications stay there for 30 days), the plan restores
//! it (`POST /directory/deletedItems/{id}/restore`) instead of creating a new one: a restored
//! application keeps its object id and, above all, its **client id**, which every Mac signing in
//! through Kandji Passport is configured with. Any property that differs from the spec is then
//! updated by the same change; the service principal (deleted with the application) is created
//! again by the usual service principal change, and the grants and assignments after it.
//!
//! Reads (only when no live application matched, so a converged plan pays nothing): the deleted
//! applications by `uniqueName`, by the `entractl:<key>` tag and, when the spec pins one, by
//! `appId`, in fetch's second wave together with the other reads keyed by the first wave's
//! results (no wave of their own) — the filters Graph supports on `application` apply to the
//! OData cast (`directory-deleteditems-list.md`).

use chrono::{DateTime, Utc};
use entractl_graph::{GraphClient, GraphRequest, RetryRule};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::desired::Desired;
use crate::error::{EngineError, PlanError};
use crate::fetch::{APP_SELECT, odata_str};
use crate::normalize;
use crate::observed::{Application, Candidate, MatchedBy, Observed};
use crate::plan::{Action, Change, FieldChange, ObjectKind, ObjectRef, Risk};
use crate::waves::Done;

/// How long Entra keeps a deleted application restorable.
pub const RESTORE_WINDOW_DAYS: i64 = 30;

/// Graph path of the deleted applications (the OData cast is required).
pub const DELETED_APPLICATIONS_PATH: &str = "/directory/deletedItems/microsoft.graph.application";

/// A deleted application that matches the spec's app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedApplication {
    pub app: Application,
    /// `deletedDateTime` as Graph returned it.
    pub deleted_date_time: Option<String>,
    /// Every lookup that found it.
    pub matched_by: Vec<MatchedBy>,
}

impl DeletedApplication {
    /// When it was deleted, when Graph said so in a form that parses.
    pub fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.deleted_date_time
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
    }

    /// Whole days between the deletion and `now` (`None` when the deletion time is unknown).
    pub fn age_days(&self, now: DateTime<Utc>) -> Option<i64> {
        self.deleted_at().map(|d| (now - d).num_days())
    }

    fn describe(&self, now: Option<DateTime<Utc>>) -> String {
        let when = match (
            self.deleted_date_time.as_deref(),
            now.and_then(|n| self.age_days(n)),
        ) {
            (Some(d), Some(age)) => format!("deleted {d}, {age} day(s) ago"),
            (Some(d), None) => format!("deleted {d}"),
            (None, _) => "deletion time unknown".to_string(),
        };
        format!(
            "\"{}\" (appId {}, object id {}, {when}, found by {})",
            self.app.display_name,
            self.app.app_id,
            self.app.id,
            self.matched_by
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join(" and ")
        )
    }
}

/// What was read of `directory/deletedItems`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObservedDeleted {
    /// When the deleted items were read (the age of each deletion is counted from it, so the
    /// diff stays a pure function). `None`: not read (a live application matched).
    pub read_at: Option<DateTime<Utc>>,
    /// Deleted applications matching the spec's keys.
    pub applications: Vec<DeletedApplication>,
}

impl ObservedDeleted {
    /// Nothing read (serialised plans and fingerprints stay as they were without it).
    pub fn is_empty(&self) -> bool {
        self.read_at.is_none() && self.applications.is_empty()
    }
}

/// Why the plan cannot restore.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(
        "the managed application `{key}` does not exist, and more than one deleted application matches it: {}\n  hint: entractl never guesses; pin the one to restore with `appId:` in the spec, or permanently delete the other (Entra admin center → App registrations → Deleted applications → Delete permanently)",
        candidates.join("; ")
    )]
    Ambiguous {
        key: String,
        candidates: Vec<String>,
    },
}

/// The reads of the deleted applications that match the spec's keys (by `uniqueName`, by the
/// `entractl:` tag and by a pinned `appId`): one wave, which fetch sends only when no live
/// application matched, together with the other reads of its second wave.
pub(crate) fn deleted_reads(desired: &Desired) -> Vec<(GraphRequest, MatchedBy)> {
    let id = &desired.app.identity;
    let mut reqs: Vec<(GraphRequest, MatchedBy)> = Vec::new();
    let list = |filter: String, label: &str| {
        GraphRequest::get(DELETED_APPLICATIONS_PATH)
            .query("$filter", filter)
            .select(&deleted_select())
            .label(label.to_string())
    };
    if let Some(u) = &id.unique_name {
        reqs.push((
            list(
                format!("uniqueName eq {}", odata_str(u)),
                "look for the application among deleted items by uniqueName",
            ),
            MatchedBy::UniqueName,
        ));
    }
    if id.unique_name.is_some() || id.adopt_app_id.is_some() {
        reqs.push((
            list(
                format!("tags/any(t:t eq {})", odata_str(&id.managed_tag())),
                "look for the application among deleted items by its entractl tag",
            ),
            MatchedBy::ManagedTag,
        ));
    }
    if let Some(a) = &id.adopt_app_id {
        reqs.push((
            list(
                format!("appId eq {}", odata_str(a)),
                "look for the application among deleted items by appId",
            ),
            MatchedBy::AppId,
        ));
    }
    reqs
}

/// Takes one answered deleted-items read into `deleted` (every page of it). A failed read fails
/// the fetch: it is never taken as "nothing was deleted".
pub(crate) fn absorb_deleted(
    deleted: &mut ObservedDeleted,
    done: Done<MatchedBy>,
) -> Result<(), EngineError> {
    let Done {
        key: how,
        req,
        result,
    } = done;
    let values = result.map_err(|source| EngineError::Read {
        what: req.label_text().unwrap_or("read deleted items").to_string(),
        source,
    })?;
    let found = &mut deleted.applications;
    for v in values {
        let Some(app) = Application::from_graph(&v) else {
            continue;
        };
        match found.iter_mut().find(|d| d.app.id == app.id) {
            Some(d) => {
                if !d.matched_by.contains(&how) {
                    d.matched_by.push(how);
                }
            }
            None => found.push(DeletedApplication {
                deleted_date_time: v
                    .get("deletedDateTime")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                app,
                matched_by: vec![how],
            }),
        }
    }
    Ok(())
}

fn deleted_select() -> Vec<&'static str> {
    let mut s: Vec<&'static str> = APP_SELECT.to_vec();
    s.push("deletedDateTime");
    s
}

/// The deleted application to restore, when the managed application does not exist and exactly
/// one deleted application (deleted less than [`RESTORE_WINDOW_DAYS`] days ago) matches. Two or
/// more: an error naming each. Pure.
pub fn restorable<'a>(
    desired: &Desired,
    observed: &'a Observed,
) -> Result<Option<&'a DeletedApplication>, PlanError> {
    if !observed.candidates.is_empty() {
        return Ok(None);
    }
    let pinned = desired.app.identity.adopt_app_id.as_deref();
    let now = observed.deleted.read_at;
    let within: Vec<&DeletedApplication> = observed
        .deleted
        .applications
        .iter()
        .filter(|d| match (now, d.age_days(now.unwrap_or_else(Utc::now))) {
            (Some(_), Some(age)) => age < RESTORE_WINDOW_DAYS,
            _ => true,
        })
        // A pinned appId names exactly one app: others found by the other keys are not it.
        .filter(|d| pinned.is_none_or(|p| normalize::guid(p) == normalize::guid(&d.app.app_id)))
        .collect();
    match within.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(PlanError::Restore(RestoreError::Ambiguous {
            key: desired.app.identity.key(),
            candidates: many.iter().map(|d| d.describe(now)).collect(),
        })),
    }
}

/// The application change that restores `d`: same object id and client id, then the
/// properties that differ from the spec (`fields`, `payload` as the diff computed them against
/// the deleted object).
pub fn restore_change(
    desired: &Desired,
    d: &DeletedApplication,
    fields: Vec<FieldChange>,
    payload: Map<String, Value>,
    read_at: Option<DateTime<Utc>>,
) -> Change {
    let tag = desired.app.identity.managed_tag();
    let managed = d.app.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag));
    let age = read_at
        .and_then(|n| d.age_days(n))
        .map(|a| format!(", {a} day(s) ago"))
        .unwrap_or_default();
    let when = d
        .deleted_date_time
        .as_deref()
        .map(|w| format!(" on {w}{age}"))
        .unwrap_or_default();
    let mut risks = Vec::new();
    if !managed {
        risks.push(Risk::Adoption);
    }
    Change {
        object: ObjectRef {
            kind: ObjectKind::Application,
            key: desired.app.identity.key(),
            display: desired.app.display_name.clone(),
            id: Some(d.app.id.clone()),
        },
        action: Action::Restore,
        fields,
        reason: format!(
            "the application was deleted{when} and is still in deleted items (found by {}): restoring it keeps its client id {} instead of creating a new app",
            d.matched_by
                .iter()
                .map(|m| m.describe())
                .collect::<Vec<_>>()
                .join(" and "),
            d.app.app_id
        ),
        risks,
        payload: Value::Object(payload),
    }
}

/// The prior state the journal keeps for a restore: the deleted object as Graph returned it.
pub fn prior_state(observed: &Observed, c: &Change) -> Option<Value> {
    if c.action != Action::Restore {
        return None;
    }
    observed
        .deleted
        .applications
        .iter()
        .find(|d| Some(&d.app.id) == c.object.id.as_ref())
        .map(|d| d.app.raw.clone())
}

/// What a restore did in the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Write requests sent (the restore, and the update when properties differed).
    pub writes: usize,
    /// Object id of the restored application.
    pub id: String,
    /// Its client id (unchanged by the restore).
    pub app_id: Option<String>,
}

/// Restores the deleted application `id` of a `Restore` change, then sends the change's update
/// (when it has one). `Err`: the failed request's Graph error and the writes sent so far.
pub async fn apply_restore(
    client: &GraphClient,
    c: &Change,
    id: &str,
) -> Result<Restored, (entractl_graph::GraphError, usize)> {
    let id = id.to_string();
    let resp = client
        .send(
            GraphRequest::post(format!("/directory/deletedItems/{id}/restore"))
                .label(format!("restore application \"{}\"", c.object.display)),
        )
        .await
        .map_err(|e| (e, 1))?;
    let app_id = resp
        .json()
        .get("appId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut writes = 1;
    if c.payload.as_object().is_some_and(|m| !m.is_empty()) {
        writes += 1;
        client
            .send(
                GraphRequest::patch(format!("/applications/{id}"))
                    .json(c.payload.clone())
                    // Just restored: Graph may not show it to the update for a moment.
                    .retry_on(RetryRule::code(404, "Request_ResourceNotFound"))
                    .label(format!(
                        "update restored application \"{}\"",
                        c.object.display
                    )),
            )
            .await
            .map_err(|e| (e, writes))?;
    }
    Ok(Restored { writes, id, app_id })
}

/// `simulate_apply` for a restore: the deleted application is live again, with the update
/// merged (Graph PATCH semantics).
pub fn simulate(o: &mut Observed, c: &Change) -> Result<(), String> {
    let d = o
        .deleted
        .applications
        .iter()
        .find(|d| Some(&d.app.id) == c.object.id.as_ref())
        .cloned()
        .ok_or("restore of an application that is not among the deleted items")?;
    let mut raw = crate::simulate::merge_patch(&d.app.raw, &c.payload);
    if let Some(obj) = raw.as_object_mut() {
        obj.insert("deletedDateTime".into(), Value::Null);
    }
    let app = Application::from_graph(&raw).ok_or("cannot parse the restored application")?;
    o.deleted.applications.retain(|x| x.app.id != d.app.id);
    o.candidates = vec![Candidate {
        app,
        matched_by: vec![MatchedBy::UniqueName, MatchedBy::ManagedTag],
    }];
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::diff::diff;
    use crate::simulate::simulate_apply;
    use crate::tests::{TENANT_ID, graph_lookup, kandji};

    fn deleted(id: &str, app_id: &str, days_ago: i64, tags: &[&str]) -> DeletedApplication {
        let when = now() - chrono::Duration::days(days_ago);
        let raw = json!({
            "id": id, "appId": app_id, "displayName": "Kandji Passport",
            "uniqueName": "kandji-passport", "tags": tags,
            "signInAudience": "AzureADMyOrg", "isFallbackPublicClient": false,
            "web": {"redirectUris": ["http://localhost"]},
            "deletedDateTime": when.to_rfc3339(),
        });
        DeletedApplication {
            app: Application::from_graph(&raw).unwrap(),
            deleted_date_time: Some(when.to_rfc3339()),
            matched_by: vec![MatchedBy::UniqueName, MatchedBy::ManagedTag],
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    fn tenant_with(apps: Vec<DeletedApplication>) -> Observed {
        Observed {
            tenant_id: Some(TENANT_ID.into()),
            resources: vec![graph_lookup()],
            deleted: ObservedDeleted {
                read_at: Some(now()),
                applications: apps,
            },
            ..Observed::default()
        }
    }

    const APP_ID: &str = "9b1f0000-2222-4333-8444-000000000002";

    #[test]
    fn a_recently_deleted_app_is_restored_not_created_and_keeps_its_client_id() {
        let o = tenant_with(vec![deleted(
            "app-1",
            APP_ID,
            3,
            &["entractl:kandji-passport"],
        )]);
        let plan = diff(&kandji(), &o).unwrap();
        let app = &plan.changes[0];
        assert_eq!(app.action, Action::Restore);
        assert_eq!(app.object.id.as_deref(), Some("app-1"));
        assert!(app.reason.contains(APP_ID), "{}", app.reason);
        assert!(app.reason.contains("3 day(s) ago"), "{}", app.reason);
        assert!(app.risks.is_empty(), "a managed app is not an adoption");
        // The update after the restore: only what differs from the spec.
        let paths: Vec<&str> = app.fields.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"isFallbackPublicClient"), "{paths:?}");
        assert!(!paths.contains(&"uniqueName"), "{paths:?}");
        assert!(!paths.contains(&"web.redirectUris"), "{paths:?}");
        assert!(
            !plan
                .changes
                .iter()
                .any(|c| c.action == Action::Create && c.object.kind == ObjectKind::Application)
        );
        // The service principal is created for the same client id.
        let sp = &plan.changes[1];
        assert_eq!(
            (sp.object.kind, sp.action),
            (ObjectKind::ServicePrincipal, Action::Create)
        );
        assert_eq!(sp.payload["appId"], json!(APP_ID));
        assert_eq!(plan.outputs.client_id.as_deref(), Some(APP_ID));
        assert_eq!(plan.summary().restore, 1);
        let text = crate::render::render(&plan, crate::render::Format::Text, false);
        assert!(
            text.contains("<+ application \"Kandji Passport\""),
            "{text}"
        );
        assert!(text.contains("1 to restore"), "{text}");

        // After the restore (simulated), a fresh plan has nothing left for the application.
        let after = simulate_apply(&o, &plan).unwrap();
        let again = diff(&kandji(), &after).unwrap();
        assert!(!again.has_changes(), "{:#?}", again.changes);
        assert_eq!(again.outputs.client_id.as_deref(), Some(APP_ID));
    }

    #[test]
    fn two_deleted_candidates_is_an_error_naming_both() {
        let o = tenant_with(vec![
            deleted("app-1", APP_ID, 3, &["entractl:kandji-passport"]),
            deleted("app-2", "9b1f0000-2222-4333-8444-000000000099", 5, &[]),
        ]);
        let e = diff(&kandji(), &o).unwrap_err().to_string();
        assert!(e.contains("app-1") && e.contains("app-2"), "{e}");
        assert!(e.contains("9b1f0000-2222-4333-8444-000000000099"), "{e}");
        assert!(e.contains("appId:"), "the hint says how to choose: {e}");
    }

    #[test]
    fn a_pinned_app_id_chooses_among_deleted_candidates() {
        let mut d = kandji();
        d.app.identity.adopt_app_id = Some(APP_ID.into());
        let o = tenant_with(vec![
            deleted("app-1", APP_ID, 3, &[]),
            deleted("app-2", "9b1f0000-2222-4333-8444-000000000099", 5, &[]),
        ]);
        let plan = diff(&d, &o).unwrap();
        assert_eq!(plan.changes[0].action, Action::Restore);
        assert_eq!(plan.changes[0].object.id.as_deref(), Some("app-1"));
        // Not tagged: restoring it also takes it under management.
        assert_eq!(plan.changes[0].risks, vec![Risk::Adoption]);
        assert!(plan.changes[0].fields.iter().any(|f| f.path == "tags"));
    }

    #[test]
    fn an_app_deleted_30_days_ago_or_more_is_not_restored() {
        let o = tenant_with(vec![deleted(
            "app-1",
            APP_ID,
            30,
            &["entractl:kandji-passport"],
        )]);
        let plan = diff(&kandji(), &o).unwrap();
        assert_eq!(plan.changes[0].action, Action::Create);
    }

    #[test]
    fn a_live_app_is_never_restored_over() {
        let mut o = tenant_with(vec![deleted(
            "app-1",
            APP_ID,
            1,
            &["entractl:kandji-passport"],
        )]);
        let live = deleted(
            "app-live",
            "9b1f0000-2222-4333-8444-000000000077",
            0,
            &["entractl:kandji-passport"],
        );
        o.candidates = vec![Candidate {
            app: live.app,
            matched_by: vec![MatchedBy::ManagedTag],
        }];
        let plan = diff(&kandji(), &o).unwrap();
        assert_ne!(plan.changes[0].action, Action::Restore);
        assert_eq!(plan.changes[0].object.id.as_deref(), Some("app-live"));
    }
}
