//! Apply: run a plan's changes in dependency order (application → service principal → grant),
//! journal the prior state of every object before changing it, then read back and plan again.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use entractl_graph::{GraphClient, GraphRequest, RetryRule};
use serde_json::{Value, json};

use crate::desired::Desired;
use crate::diff::diff;
use crate::error::{EngineError, PlanError};
use crate::fetch::{APP_SELECT, by_unique_name, fetch, odata_str};
use crate::journal::Journal;
use crate::observed::Observed;
use crate::plan::{Action, Change, ObjectKind, Plan, Risk};

/// Receives one line of progress ("creating application …").
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// How to apply.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Root of the journal (`.entractl/journal` by default); a directory per apply goes under it.
    pub journal_root: PathBuf,
    /// The time the journal directory is named after.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Make changes flagged `security-downgrade`.
    pub allow_security_downgrade: bool,
    /// Progress lines (the binary prints them on a terminal).
    pub progress: Option<Progress>,
    /// How long to keep reading back while Graph replicates the writes before declaring that a
    /// change did not take.
    pub verify_budget: Duration,
    /// First pause between read-backs (doubles, capped at 5 s).
    pub verify_interval: Duration,
}

impl ApplyOptions {
    /// Defaults: journal under `journal_root`, 60 s of read-back, no security downgrades.
    pub fn new(journal_root: PathBuf) -> ApplyOptions {
        ApplyOptions {
            journal_root,
            now: chrono::Utc::now(),
            allow_security_downgrade: false,
            progress: None,
            verify_budget: Duration::from_secs(60),
            verify_interval: Duration::from_millis(500),
        }
    }
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Write requests sent (creates, updates, deletes).
    pub writes: usize,
    /// The journal directory, when anything was written.
    pub journal_dir: Option<PathBuf>,
    /// The plan made from the tenant after applying (empty when converged).
    pub final_plan: Plan,
    /// True when the read-back shows the tenant matches the spec.
    pub converged: bool,
}

/// Messages Graph sends while a just-created object has not replicated yet.
fn reference_rules(req: GraphRequest) -> GraphRequest {
    req.retry_on(RetryRule::message_contains(
        400,
        "does not reference a valid application object",
    ))
    .retry_on(RetryRule::message_contains(
        400,
        "does not exist or one of its queried reference-property objects are not present",
    ))
    .retry_on(RetryRule::message_contains(
        404,
        "does not exist or one of its queried reference-property objects are not present",
    ))
    .retry_on(RetryRule::code(404, "Request_ResourceNotFound"))
}

struct State {
    app_object_id: Option<String>,
    app_id: Option<String>,
    sp_id: Option<String>,
}

fn say(opts: &ApplyOptions, line: &str) {
    if let Some(p) = &opts.progress {
        p(line);
    }
}

fn prior_state(observed: &Observed, c: &Change) -> Value {
    match c.object.kind {
        ObjectKind::Application => observed
            .candidates
            .first()
            .map(|a| a.app.raw.clone())
            .or_else(|| crate::restore::prior_state(observed, c))
            .unwrap_or(Value::Null),
        ObjectKind::ServicePrincipal => observed
            .service_principal
            .as_ref()
            .map(|s| s.raw.clone())
            .unwrap_or(Value::Null),
        ObjectKind::OAuth2PermissionGrant => observed
            .grants
            .iter()
            .find(|g| Some(&g.id) == c.object.id.as_ref())
            .map(|g| g.raw.clone())
            .unwrap_or(Value::Null),
        ObjectKind::AppRoleAssignment => crate::assignments::prior_state(observed, c),
        _ => observed
            .mfa
            .as_ref()
            .and_then(|m| crate::mfa::posture::prior_state(m, c))
            .unwrap_or(Value::Null),
    }
}

fn bad(c: &Change, detail: &str) -> EngineError {
    EngineError::Plan(PlanError::BadPayload {
        kind: c.object.kind,
        detail: detail.to_string(),
    })
}

/// Applies `plan` (made from `observed`) and reads back until the tenant matches `desired`.
pub async fn apply(
    client: &GraphClient,
    desired: &Desired,
    plan: &Plan,
    observed: &Observed,
    opts: &ApplyOptions,
) -> Result<ApplyReport, EngineError> {
    let downgrades: Vec<String> = plan
        .actionable()
        .filter(|c| c.risks.contains(&Risk::SecurityDowngrade))
        .map(|c| {
            format!(
                "{} {} \"{}\"",
                c.action.as_str(),
                c.object.kind,
                c.object.display
            )
        })
        .collect();
    if !downgrades.is_empty() && !opts.allow_security_downgrade {
        return Err(EngineError::SecurityDowngrade {
            changes: downgrades,
        });
    }
    if !plan.has_changes() {
        return Ok(ApplyReport {
            writes: 0,
            journal_dir: None,
            final_plan: plan.clone(),
            converged: true,
        });
    }
    let mut journal = Journal::new(&opts.journal_root, opts.now);
    let mut state = State {
        app_object_id: observed.candidates.first().map(|c| c.app.id.clone()),
        app_id: observed.candidates.first().map(|c| c.app.app_id.clone()),
        sp_id: observed.service_principal.as_ref().map(|s| s.id.clone()),
    };
    let mut writes = 0;
    let mut changes: Vec<&Change> = plan.actionable().collect();
    changes.sort_by_key(|c| c.object.kind.rank());
    let per_user: Vec<&Change> = changes
        .iter()
        .copied()
        .filter(|c| c.object.kind == ObjectKind::PerUserMfa)
        .collect();
    let assignments: Vec<&Change> = changes
        .iter()
        .copied()
        .filter(|c| c.object.kind == ObjectKind::AppRoleAssignment)
        .collect();
    for c in changes {
        if c.object.kind == ObjectKind::AppRoleAssignment {
            // All of them at once, in `$batch`es (5,000 users are not 5,000 round trips).
            if std::ptr::eq(c, assignments[0]) {
                say(
                    opts,
                    &format!(
                        "assigning and removing {} user(s) and group(s) …",
                        assignments.len()
                    ),
                );
                writes += crate::assignments::apply_assignments(
                    client,
                    &mut journal,
                    observed,
                    &assignments,
                    state.sp_id.as_deref(),
                )
                .await?;
            }
            continue;
        }
        if c.object.kind == ObjectKind::PerUserMfa {
            // All of them at once, in `$batch`es (10,000 users are not 10,000 round trips).
            if std::ptr::eq(c, per_user[0]) {
                say(
                    opts,
                    &format!("disabling per-user MFA for {} user(s) …", per_user.len()),
                );
                let empty = Default::default();
                writes += crate::mfa::posture::apply_per_user(
                    client,
                    &mut journal,
                    observed.mfa.as_ref().unwrap_or(&empty),
                    &per_user,
                )
                .await?;
            }
            continue;
        }
        let entry = journal.record(c, &prior_state(observed, c))?;
        say(
            opts,
            &format!(
                "{} {} \"{}\" …",
                verb(c.action),
                c.object.kind,
                c.object.display
            ),
        );
        let journal_dir = journal.dir().display().to_string();
        let what = format!(
            "{} {} \"{}\"",
            c.action.as_str(),
            c.object.kind,
            c.object.display
        );
        if c.action == Action::Restore {
            // Restore (same object id and client id), then the update, as one change.
            let id = c
                .object
                .id
                .as_deref()
                .ok_or_else(|| bad(c, "no deleted object id"))?;
            let done =
                crate::restore::apply_restore(client, c, id)
                    .await
                    .map_err(|(source, sent)| {
                        writes += sent;
                        EngineError::Write {
                            what: what.clone(),
                            journal: journal_dir.clone(),
                            source,
                        }
                    })?;
            writes += done.writes;
            state.app_object_id = Some(done.id);
            state.app_id = done.app_id.or_else(|| {
                crate::restore::prior_state(observed, c)
                    .and_then(|v| v.get("appId").and_then(Value::as_str).map(str::to_string))
            });
            continue;
        }
        let req = request_for(c, &state, desired)?;
        writes += 1;
        let resp = match client.send(req).await {
            Ok(r) => Some(r),
            // A duplicate assignment (made meanwhile) or one already removed: as planned.
            Err(e) if crate::assignments::already_done(c, &e) => None,
            Err(source) => {
                return Err(EngineError::Write {
                    what: what.clone(),
                    journal: journal_dir.clone(),
                    source,
                });
            }
        };
        if c.action == Action::Create
            && let Some(resp) = resp
        {
            let body = resp.json().clone();
            let id = body.get("id").and_then(Value::as_str).map(str::to_string);
            match c.object.kind {
                ObjectKind::Application => {
                    // Another apply may have won the race for the uniqueName: the create then
                    // answers with the application found by that key (graph client). It must be
                    // one entractl manages, never a stranger's that took the key meanwhile.
                    let tag = format!("{}{}", crate::desired::MANAGED_TAG_PREFIX, c.object.key);
                    let managed = body.get("tags").and_then(Value::as_array).is_some_and(|t| {
                        t.iter()
                            .filter_map(Value::as_str)
                            .any(|x| x.eq_ignore_ascii_case(&tag))
                    });
                    if !managed {
                        let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("?");
                        return Err(EngineError::Plan(PlanError::UnmanagedApplication {
                            key: c.object.key.clone(),
                            display_name: s("displayName").to_string(),
                            app_id: s("appId").to_string(),
                        }));
                    }
                    state.app_object_id = id;
                    state.app_id = body
                        .get("appId")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                }
                ObjectKind::ServicePrincipal => state.sp_id = id,
                _ => {}
            }
            journal.record_created(
                &entry,
                &json!({"id": body.get("id"), "appId": body.get("appId")}),
            )?;
        }
    }

    // Read back and plan again; Graph may take a moment to show what was written.
    let start = Instant::now();
    let mut pause = opts.verify_interval;
    loop {
        let (now_observed, _) = fetch(client, desired).await?;
        let again = diff(desired, &now_observed)?;
        if !again.has_changes() {
            return Ok(ApplyReport {
                writes,
                journal_dir: Some(journal.dir().to_path_buf()),
                final_plan: again,
                converged: true,
            });
        }
        if start.elapsed() + pause > opts.verify_budget {
            return Ok(ApplyReport {
                writes,
                journal_dir: Some(journal.dir().to_path_buf()),
                final_plan: again,
                converged: false,
            });
        }
        say(
            opts,
            &format!(
                "waiting {} ms for Graph to show the changes (replication) …",
                pause.as_millis()
            ),
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Delete => "deleting",
        Action::Adopt => "adopting",
        Action::Restore => "restoring",
        Action::NoOp => "checking",
    }
}

fn request_for(c: &Change, st: &State, desired: &Desired) -> Result<GraphRequest, EngineError> {
    let label = format!(
        "{} {} \"{}\"",
        c.action.as_str(),
        c.object.kind,
        c.object.display
    );
    let req =
        match (c.object.kind, c.action) {
            (ObjectKind::Application, Action::Create) => {
                let key =
                    desired.app.identity.unique_name.as_deref().ok_or_else(|| {
                        bad(c, "an application is only created with a uniqueName")
                    })?;
                GraphRequest::post("/applications")
                    .json(c.payload.clone())
                    .idempotency_probe(GraphRequest::get(by_unique_name(key)).select(APP_SELECT))
            }
            (ObjectKind::Application, Action::Update | Action::Adopt) => {
                let id = st
                    .app_object_id
                    .as_deref()
                    .ok_or_else(|| bad(c, "no application id"))?;
                reference_rules(GraphRequest::patch(format!("/applications/{id}")))
                    .json(c.payload.clone())
            }
            (ObjectKind::ServicePrincipal, Action::Create) => {
                let app_id = st
                    .app_id
                    .as_deref()
                    .ok_or_else(|| bad(c, "the application's appId is unknown"))?;
                let mut body = c.payload.clone();
                body["appId"] = json!(app_id);
                reference_rules(GraphRequest::post("/servicePrincipals"))
                    .json(body)
                    .idempotency_probe(
                        GraphRequest::get("/servicePrincipals")
                            .query("$filter", format!("appId eq {}", odata_str(app_id))),
                    )
            }
            (ObjectKind::ServicePrincipal, Action::Update) => {
                let id = st
                    .sp_id
                    .as_deref()
                    .ok_or_else(|| bad(c, "no service principal id"))?;
                reference_rules(GraphRequest::patch(format!("/servicePrincipals/{id}")))
                    .json(c.payload.clone())
            }
            (ObjectKind::OAuth2PermissionGrant, Action::Create) => {
                let sp = st
                    .sp_id
                    .as_deref()
                    .ok_or_else(|| bad(c, "no service principal id"))?;
                let mut body = c.payload.clone();
                body["clientId"] = json!(sp);
                let resource = body
                    .get("resourceId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(c, "no resourceId"))?
                    .to_string();
                reference_rules(GraphRequest::post("/oauth2PermissionGrants"))
                .json(body)
                .idempotency_probe(GraphRequest::get("/oauth2PermissionGrants").query(
                    "$filter",
                    format!(
                        "clientId eq {} and resourceId eq {} and consentType eq 'AllPrincipals'",
                        odata_str(sp),
                        odata_str(&resource)
                    ),
                ))
            }
            (ObjectKind::OAuth2PermissionGrant, Action::Update) => {
                let id = c
                    .object
                    .id
                    .as_deref()
                    .ok_or_else(|| bad(c, "no grant id"))?;
                GraphRequest::patch(format!("/oauth2PermissionGrants/{id}")).json(c.payload.clone())
            }
            (ObjectKind::OAuth2PermissionGrant, Action::Delete) => {
                let id = c
                    .object
                    .id
                    .as_deref()
                    .ok_or_else(|| bad(c, "no grant id"))?;
                GraphRequest::delete(format!("/oauth2PermissionGrants/{id}"))
            }
            (
                ObjectKind::SecurityDefaults
                | ObjectKind::PerUserMfa
                | ObjectKind::ConditionalAccessPolicy,
                Action::Update,
            ) => match crate::mfa::posture::request_for(c, st.app_id.as_deref()) {
                Some(Ok(r)) => r,
                Some(Err(detail)) => return Err(bad(c, &detail)),
                None => return Err(bad(c, "not an MFA change")),
            },
            // Retried while a service principal created just before replicates.
            (ObjectKind::AppRoleAssignment, Action::Create) => reference_rules(
                crate::assignments::request_for(c, st.sp_id.as_deref()).map_err(|d| bad(c, &d))?,
            ),
            (ObjectKind::AppRoleAssignment, _) => {
                crate::assignments::request_for(c, st.sp_id.as_deref()).map_err(|d| bad(c, &d))?
            }
            (kind, action) => {
                return Err(bad(
                    c,
                    &format!(
                        "{} of a {kind} is not supported by this version",
                        action.as_str()
                    ),
                ));
            }
        };
    Ok(req.label(label))
}
