//! What apply did, change by change, from the engine's [`ApplyEvent`]s: one line per change on
//! stderr as it happens (`application "Kandji Passport": created in 0.4 s [id=…]`; on a terminal
//! also a `[n/N]` line while a change is under way), and the record of every change — made,
//! failed or skipped — for `apply --format json`.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use entractl_engine::apply::Progress;
use entractl_engine::{Action, ApplyEvent, Change, EngineError, ObjectKind, Plan};
use serde_json::{Value, json};

/// How one change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Made,
    Failed,
}

#[derive(Debug, Clone)]
struct Record {
    kind: ObjectKind,
    key: String,
    status: Status,
    id: Option<String>,
    elapsed: Duration,
    error: Option<String>,
}

/// The changes of one apply as they happen.
pub struct ApplyLog {
    records: Mutex<Vec<Record>>,
    started: Mutex<usize>,
    total: usize,
    /// Lines on stderr (not with `--quiet`).
    lines: bool,
    /// The `[n/N]` line while a change is under way (stderr is a terminal).
    terminal: bool,
}

impl ApplyLog {
    /// A log for `total` changes.
    pub fn new(total: usize, lines: bool, terminal: bool) -> Arc<ApplyLog> {
        Arc::new(ApplyLog {
            records: Mutex::new(Vec::new()),
            started: Mutex::new(0),
            total,
            lines,
            terminal: lines && terminal,
        })
    }

    /// The engine's progress hook, feeding this log.
    pub fn progress(self: &Arc<Self>) -> Progress {
        let me = Arc::clone(self);
        Arc::new(move |event: &ApplyEvent<'_>| me.on(event))
    }

    fn on(&self, event: &ApplyEvent<'_>) {
        match *event {
            ApplyEvent::Started { change } => {
                let mut n = self.started.lock().unwrap_or_else(PoisonError::into_inner);
                *n += 1;
                if self.terminal {
                    self.print(
                        &format!(
                            "[{n}/{}] {} {} \"{}\" …",
                            self.total,
                            change.action.doing(),
                            change.object.kind,
                            change.object.display
                        ),
                        false,
                    );
                }
            }
            ApplyEvent::Made {
                change,
                id,
                elapsed,
            } => self.record(change, Status::Made, id.map(str::to_string), elapsed, None),
            ApplyEvent::Failed {
                change,
                error,
                elapsed,
            } => self.record(
                change,
                Status::Failed,
                change.object.id.clone(),
                elapsed,
                Some(cause(error)),
            ),
            ApplyEvent::Waiting { pause } => {
                if self.terminal {
                    self.print(
                        &format!(
                            "… waiting {} ms for Graph to show the changes (replication)",
                            pause.as_millis()
                        ),
                        true,
                    );
                }
            }
        }
    }

    fn record(
        &self,
        change: &Change,
        status: Status,
        id: Option<String>,
        elapsed: Duration,
        error: Option<String>,
    ) {
        let r = Record {
            kind: change.object.kind,
            key: change.object.key.clone(),
            status,
            id,
            elapsed,
            error,
        };
        if self.lines {
            self.print(&line(change, &r), true);
        }
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(r);
    }

    /// A line on stderr; on a terminal it replaces the `[n/N]` line.
    fn print(&self, text: &str, newline: bool) {
        let mut err = std::io::stderr().lock();
        let clear = if self.terminal { "\r\x1b[K" } else { "" };
        let end = if newline { "\n" } else { "" };
        let _ = write!(err, "{clear}{text}{end}").and_then(|()| err.flush());
    }

    /// Every actionable change of `plan` in apply order: `{object, action, status, id,
    /// elapsed_ms, error}`; `status` is `made`, `failed` or `skipped` (not attempted: apply
    /// stopped before it).
    pub fn changes_json(&self, plan: &Plan) -> Value {
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let list = plan
            .actionable()
            .map(|c| {
                let found = records
                    .iter()
                    .find(|r| r.kind == c.object.kind && r.key == c.object.key);
                let mut v = json!({
                    "object": c.object,
                    "action": c.action.as_str(),
                    "status": match found.map(|r| r.status) {
                        Some(Status::Made) => "made",
                        Some(Status::Failed) => "failed",
                        None => "skipped",
                    },
                    "id": found.and_then(|r| r.id.clone()).or_else(|| c.object.id.clone()),
                });
                if let Some(r) = found {
                    v["elapsed_ms"] = json!(r.elapsed.as_millis());
                    if let Some(e) = &r.error {
                        v["error"] = json!(e);
                    }
                }
                v
            })
            .collect();
        Value::Array(list)
    }
}

/// `application "Kandji Passport": created in 0.4 s [id=…]`, or `…: failed after 0.4 s: why`.
fn line(change: &Change, r: &Record) -> String {
    let what = format!("{} \"{}\"", change.object.kind, change.object.display);
    let secs = r.elapsed.as_secs_f64();
    match (r.status, &r.error) {
        (Status::Failed, e) => format!(
            "{what}: failed after {secs:.1} s: {}",
            e.as_deref().unwrap_or("")
        ),
        (Status::Made, _) => {
            let id =
                r.id.as_deref()
                    .map(|id| format!(" [id={id}]"))
                    .unwrap_or_default();
            format!("{what}: {} in {secs:.1} s{id}", done(change.action))
        }
    }
}

/// The past tense of an action.
fn done(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete => "deleted",
        Action::Adopt => "adopted",
        Action::Restore => "restored",
        Action::NoOp => "checked",
    }
}

/// Why a change failed: Graph's answer for a write, the error otherwise.
fn cause(error: &EngineError) -> String {
    match error {
        EngineError::Write { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entractl_engine::{ObjectRef, Outputs};

    fn change(kind: ObjectKind, key: &str, id: Option<&str>) -> Change {
        let object = ObjectRef {
            kind,
            key: key.into(),
            display: key.into(),
            id: id.map(str::to_string),
        };
        Change::new(object, Action::Create, "test")
    }

    #[test]
    fn each_change_is_made_failed_or_skipped_in_plan_order() {
        let app = change(ObjectKind::Application, "app", None);
        let sp = change(ObjectKind::ServicePrincipal, "sp", None);
        let grant = change(ObjectKind::OAuth2PermissionGrant, "grant", None);
        let plan = Plan {
            tenant: "t".into(),
            cloud: "public".into(),
            changes: vec![app.clone(), sp.clone(), grant.clone()],
            notes: Vec::new(),
            unmanaged: Vec::new(),
            outputs: Outputs::default(),
            sign_in_forecast: None,
        };
        let log = ApplyLog::new(3, false, false);
        let progress = log.progress();
        progress(&ApplyEvent::Started { change: &app });
        progress(&ApplyEvent::Made {
            change: &app,
            id: Some("id-1"),
            elapsed: Duration::from_millis(400),
        });
        let error = EngineError::Journal {
            path: "j".into(),
            source: std::io::Error::other("disk full"),
        };
        progress(&ApplyEvent::Failed {
            change: &sp,
            error: &error,
            elapsed: Duration::ZERO,
        });
        let v = log.changes_json(&plan);
        let status: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["status"].as_str().unwrap())
            .collect();
        assert_eq!(status, ["made", "failed", "skipped"]);
        assert_eq!(v[0]["id"], "id-1");
        assert_eq!(v[0]["elapsed_ms"], 400);
        assert_eq!(v[1]["error"], error.to_string());
        assert!(v[2].get("elapsed_ms").is_none());
        let made = Record {
            kind: app.object.kind,
            key: "app".into(),
            status: Status::Made,
            id: Some("id-1".into()),
            elapsed: Duration::from_millis(400),
            error: None,
        };
        assert_eq!(
            line(&app, &made),
            "application \"app\": created in 0.4 s [id=id-1]"
        );
    }
}
