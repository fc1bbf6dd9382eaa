//! Saved plans: `plan --out FILE` writes the plan with fingerprints of the spec and of the tenant
//! objects it was made from; `apply FILE` applies exactly that plan and refuses when either changed.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::desired::Desired;
use crate::core::observed::Observed;
use crate::core::plan::{FORMAT_VERSION, Plan};
use crate::error::EngineError;

/// The `kind` field of a saved plan file.
pub const SAVED_PLAN_KIND: &str = "entractl-saved-plan";

/// A plan saved to a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: String,
    pub kind: String,
    pub created_at: String,
    /// The spec file the plan was made from (as given on the command line).
    pub spec_path: String,
    /// `sha256:` of the spec file's bytes.
    pub spec_fingerprint: String,
    /// `sha256:` of the affected tenant objects as they were read.
    pub tenant_fingerprint: String,
    pub desired: Desired,
    pub plan: Plan,
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut s = String::from("sha256:");
    for b in d.as_ref() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Fingerprint of the observed objects (independent of JSON property order).
pub fn fingerprint_observed(o: &Observed) -> String {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    // When the deleted items were read is not part of the tenant (it made every saved plan of a
    // tenant without the app stale).
    if let Some(deleted) = v.get_mut("deleted").and_then(Value::as_object_mut) {
        deleted.remove("read_at");
    }
    sha256(canonical(&v).to_string().as_bytes())
}

impl SavedPlan {
    pub fn new(
        spec_path: &str,
        spec_bytes: &[u8],
        desired: &Desired,
        observed: &Observed,
        plan: &Plan,
        now: chrono::DateTime<chrono::Utc>,
    ) -> SavedPlan {
        SavedPlan {
            format_version: FORMAT_VERSION.to_string(),
            kind: SAVED_PLAN_KIND.to_string(),
            created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            spec_path: spec_path.to_string(),
            spec_fingerprint: sha256(spec_bytes),
            tenant_fingerprint: fingerprint_observed(observed),
            desired: desired.clone(),
            plan: plan.clone(),
        }
    }

    /// [`SavedPlan::new`] stamped with the current time.
    pub fn new_now(
        spec_path: &str,
        spec_bytes: &[u8],
        desired: &Desired,
        observed: &Observed,
        plan: &Plan,
    ) -> SavedPlan {
        SavedPlan::new(
            spec_path,
            spec_bytes,
            desired,
            observed,
            plan,
            chrono::Utc::now(),
        )
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// True when `text` looks like a saved plan (rather than a spec).
    pub fn looks_like(text: &str) -> bool {
        serde_json::from_str::<Value>(text)
            .ok()
            .is_some_and(|v| v.get("kind").and_then(Value::as_str) == Some(SAVED_PLAN_KIND))
    }

    /// Parses a saved plan file.
    pub fn from_json(path: &Path, text: &str) -> Result<SavedPlan, EngineError> {
        let err = |reason: String| EngineError::SavedPlan {
            path: path.to_path_buf(),
            reason,
        };
        let v: Value = serde_json::from_str(text).map_err(|e| err(format!("not JSON: {e}")))?;
        if v.get("kind").and_then(Value::as_str) != Some(SAVED_PLAN_KIND) {
            return Err(err(format!("its `kind` is not `{SAVED_PLAN_KIND}`")));
        }
        let version = v
            .get("format_version")
            .and_then(Value::as_str)
            .unwrap_or("");
        if version != FORMAT_VERSION {
            return Err(err(format!(
                "it has format_version `{version}`, this entractl reads `{FORMAT_VERSION}`"
            )));
        }
        serde_json::from_value(v).map_err(|e| err(e.to_string()))
    }

    /// Refuses when the spec or the affected tenant objects changed since the plan was made.
    pub fn check_fresh(
        &self,
        path: &Path,
        spec_bytes: Option<&[u8]>,
        observed: &Observed,
    ) -> Result<(), EngineError> {
        let mut reasons = Vec::new();
        match spec_bytes {
            None => reasons.push(format!(
                "the spec {} cannot be read any more",
                self.spec_path
            )),
            Some(b) if sha256(b) != self.spec_fingerprint => reasons.push(format!(
                "the spec {} changed since the plan was made",
                self.spec_path
            )),
            Some(_) => {}
        }
        if fingerprint_observed(observed) != self.tenant_fingerprint {
            reasons.push(
                "the tenant objects the plan changes were modified since the plan was made".into(),
            );
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(EngineError::StalePlan {
                path: path.to_path_buf(),
                reasons,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::forecast::tests::failing;
    use crate::core::forecast::{Cause, Verdict};
    use crate::core::render::{Format, render};

    /// A plan whose forecast fails for one user, for a policy's MFA.
    fn failing_plan() -> Plan {
        let verdict = Verdict::NeedsMfa {
            because: vec![Cause::Policy {
                id: "p".into(),
                name: "Require MFA".into(),
                demand: "mfa".into(),
            }],
        };
        Plan {
            sign_in_forecast: Some(failing(vec![verdict])),
            ..Plan::default()
        }
    }

    /// The forecast's options are computed when a plan is rendered, never saved: a saved plan
    /// made before the JSON plan listed them (no `options` anywhere) loads, and its JSON
    /// rendering lists them.
    #[test]
    fn saved_plans_keep_no_options_and_load_as_before() {
        let saved = SavedPlan::new(
            "spec.yaml",
            b"spec",
            &crate::core::tests::kandji(),
            &Observed::default(),
            &failing_plan(),
            chrono::DateTime::UNIX_EPOCH,
        );
        let text = saved.to_json();
        assert!(!text.contains("\"options\""), "{text}");
        let loaded = SavedPlan::from_json(Path::new("plan.json"), &text).expect("loads");
        assert_eq!(loaded, saved);
        let json: Value = serde_json::from_str(&render(&loaded.plan, Format::Json, false)).unwrap();
        let kinds: Vec<&str> = json["sign_in_forecast"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["web-login", "exclude-users", "placeholder"]);
    }
}
