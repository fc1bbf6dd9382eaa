//! The fleet report: one line per tenant (status, changes, security downgrades, errors) plus each
//! tenant's full plan; rendered as text, JSON (`kind: entractl-fleet-report`, `format_version`
//! "1") and Markdown; shard reports merge into the report of the whole fleet.

use std::collections::BTreeMap;

use entractl_engine::Plan;
use entractl_engine::render::{self, Format};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::shard::Shard;

/// `kind` of a fleet report document.
pub const REPORT_KIND: &str = "entractl-fleet-report";
/// Version of the fleet report format; fields may be added within a version.
pub const REPORT_FORMAT_VERSION: &str = "1";

/// What the run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Plan,
    Apply,
}

/// Where a tenant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The tenant matches the spec.
    InSync,
    /// `plan`: the tenant differs from the spec.
    Drifted,
    /// `apply`: changes were made and the read-back shows the tenant matches the spec.
    Applied,
    /// The tenant could not be planned or applied (see `error`).
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InSync => "in-sync",
            Status::Drifted => "drifted",
            Status::Applied => "applied",
            Status::Failed => "failed",
        }
    }
}

/// Which step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The tenant's spec (with its values) is not valid or cannot be read.
    Spec,
    /// No token: the credential settings or the identity platform refused.
    Auth,
    /// Reading the tenant from Graph failed.
    Graph,
    /// The plan could not be made (ambiguous app, unknown permission, …).
    Plan,
    /// Applying failed, was refused, or did not converge.
    Apply,
    /// A bug: the tenant's task stopped unexpectedly.
    Internal,
}

/// Why a tenant failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantError {
    pub kind: ErrorKind,
    /// What went wrong and how to fix it (never a secret).
    pub message: String,
}

/// The outcome of one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantResult {
    /// The tenant's name in the fleet file.
    pub name: String,
    /// Tenant id or domain.
    pub tenant: String,
    pub status: Status,
    /// Changes that are not no-ops (planned, or made by apply).
    pub changes: usize,
    /// Of those, changes flagged `security-downgrade`.
    pub security_downgrades: usize,
    /// Times Graph throttled this tenant's requests (429) and the client waited.
    pub throttled: usize,
    /// Other retried failures (5xx, dropped connections, replication delays).
    pub retries: usize,
    /// Graph requests of the read (inner `$batch` requests counted one by one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TenantError>,
    /// `apply`: write requests sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writes: Option<usize>,
    /// `apply`: the journal directory of this tenant's apply, when anything was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    /// The full plan (JSON plan format v1, `docs/plan-format.md`); absent when none was made.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_plan",
        deserialize_with = "de_plan"
    )]
    pub plan: Option<Plan>,
    /// `apply` that did not converge: what still differs after the read-back.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_plan",
        deserialize_with = "de_plan"
    )]
    pub remaining: Option<Plan>,
}

fn ser_plan<S: Serializer>(plan: &Option<Plan>, s: S) -> Result<S::Ok, S::Error> {
    match plan {
        Some(p) => render::json_value(p).serialize(s),
        None => s.serialize_none(),
    }
}

fn de_plan<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Plan>, D::Error> {
    Option::<Plan>::deserialize(d)
}

impl TenantResult {
    /// A result that has not got anywhere yet (status `failed` until set).
    pub fn new(name: &str, tenant: &str) -> TenantResult {
        TenantResult {
            name: name.to_string(),
            tenant: tenant.to_string(),
            status: Status::Failed,
            changes: 0,
            security_downgrades: 0,
            throttled: 0,
            retries: 0,
            requests: None,
            error: None,
            writes: None,
            journal: None,
            plan: None,
            remaining: None,
        }
    }

    /// Marks the result failed.
    pub fn fail(mut self, kind: ErrorKind, message: impl Into<String>) -> TenantResult {
        self.status = Status::Failed;
        self.error = Some(TenantError {
            kind,
            message: message.into(),
        });
        self
    }
}

/// Counts over the tenants of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSummary {
    pub tenants: usize,
    pub in_sync: usize,
    pub drifted: usize,
    pub applied: usize,
    pub failed: usize,
    /// Changes over all tenants.
    pub changes: usize,
    pub security_downgrades: usize,
}

impl FleetSummary {
    /// The counts of `tenants`.
    pub fn of(tenants: &[TenantResult]) -> FleetSummary {
        let mut s = FleetSummary {
            tenants: tenants.len(),
            ..FleetSummary::default()
        };
        for t in tenants {
            match t.status {
                Status::InSync => s.in_sync += 1,
                Status::Drifted => s.drifted += 1,
                Status::Applied => s.applied += 1,
                Status::Failed => s.failed += 1,
            }
            s.changes += t.changes;
            s.security_downgrades += t.security_downgrades;
        }
        s
    }
}

/// The report of a fleet run (or of one shard of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    /// Always `entractl-fleet-report`.
    pub kind: String,
    pub format_version: String,
    pub operation: Operation,
    /// The fleet file as named on the command line.
    pub fleet: String,
    /// FNV-1a 64 of the fleet file: the shards of one run carry the same.
    pub fleet_fingerprint: String,
    /// The shard this report covers; `null` for the whole fleet (also after a merge).
    pub shard: Option<Shard>,
    pub summary: FleetSummary,
    /// Every tenant of the report, sorted by name.
    pub tenants: Vec<TenantResult>,
}

/// Why shard reports cannot be merged, or a report cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error(
        "nothing to merge\n  hint: pass the JSON reports of every shard, e.g. `entractl fleet merge shard-*.json`"
    )]
    Empty,
    #[error(
        "{file}: not a fleet report: {reason}\n  hint: write shard reports with `entractl plan --fleet FILE --shard I/N --report FILE` (or `--format json`)"
    )]
    NotAReport { file: String, reason: String },
    #[error(
        "{file}: fleet report format_version {found} is not supported (this entractl reads \"{REPORT_FORMAT_VERSION}\")\n  hint: merge reports written by the same entractl version"
    )]
    Version { file: String, found: String },
    #[error(
        "{file} {what} differs from {first}: `{found}` vs `{expected}`\n  hint: merge only the shards of one run (same fleet file and operation)"
    )]
    Mismatch {
        file: String,
        first: String,
        what: &'static str,
        found: String,
        expected: String,
    },
    #[error(
        "{file} is not a shard report (it covers the whole fleet)\n  hint: merge the reports written with `--shard I/N`"
    )]
    NotSharded { file: String },
    #[error("{file} and {other} are both shard {shard}\n  hint: pass each shard's report once")]
    DuplicateShard {
        file: String,
        other: String,
        shard: String,
    },
    #[error("shard(s) {} missing (the run has {count} shards)\n  hint: a runner may have failed before writing its report; re-run those shards and merge again", missing.join(", "))]
    MissingShards { missing: Vec<String>, count: u32 },
    #[error(
        "tenant `{name}` is in both {file} and {other}\n  hint: merge only the shards of one run"
    )]
    DuplicateTenant {
        name: String,
        file: String,
        other: String,
    },
}

impl FleetReport {
    /// A report over `tenants` (sorted by name here).
    pub fn new(
        operation: Operation,
        fleet: &str,
        fingerprint: &str,
        shard: Option<Shard>,
        mut tenants: Vec<TenantResult>,
    ) -> FleetReport {
        tenants.sort_by(|a, b| a.name.cmp(&b.name));
        FleetReport {
            kind: REPORT_KIND.to_string(),
            format_version: REPORT_FORMAT_VERSION.to_string(),
            operation,
            fleet: fleet.to_string(),
            fleet_fingerprint: fingerprint.to_string(),
            shard,
            summary: FleetSummary::of(&tenants),
            tenants,
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise the report: {e}\"}}"));
        s.push('\n');
        s
    }

    /// Reads a JSON report (`file` is used in errors).
    pub fn from_json(file: &str, text: &str) -> Result<FleetReport, MergeError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| MergeError::NotAReport {
                file: file.to_string(),
                reason: format!("not JSON ({e})"),
            })?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(REPORT_KIND) {
            return Err(MergeError::NotAReport {
                file: file.to_string(),
                reason: format!("`kind` is not \"{REPORT_KIND}\""),
            });
        }
        let version = value
            .get("format_version")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        if version != REPORT_FORMAT_VERSION {
            return Err(MergeError::Version {
                file: file.to_string(),
                found: version,
            });
        }
        serde_json::from_value(value).map_err(|e| MergeError::NotAReport {
            file: file.to_string(),
            reason: e.to_string(),
        })
    }

    /// 1 when any tenant failed, else 2 when any drifted (plan), else 0.
    pub fn exit_code(&self) -> u8 {
        if self.summary.failed > 0 {
            1
        } else if self.summary.drifted > 0 {
            2
        } else {
            0
        }
    }

    /// Renders in a format (`color` only affects the tenants' text plans).
    pub fn render(&self, format: Format, color: bool) -> String {
        match format {
            Format::Json => self.to_json(),
            Format::Text => self.text(color),
            Format::Markdown => self.markdown(),
        }
    }

    fn headline(&self) -> String {
        let s = &self.summary;
        let mut parts = vec![format!("{} in sync", s.in_sync)];
        match self.operation {
            Operation::Plan => parts.push(format!("{} drifted", s.drifted)),
            Operation::Apply => parts.push(format!("{} applied", s.applied)),
        }
        parts.push(format!("{} failed", s.failed));
        let shard = self
            .shard
            .map(|sh| format!(", shard {sh}"))
            .unwrap_or_default();
        format!(
            "Fleet {} ({}{shard}): {} tenant(s): {}; {} change(s), {} security downgrade(s)",
            self.fleet,
            match self.operation {
                Operation::Plan => "plan",
                Operation::Apply => "apply",
            },
            s.tenants,
            parts.join(", "),
            s.changes,
            s.security_downgrades
        )
    }

    fn text(&self, color: bool) -> String {
        let mut out = format!("{}\n\n", self.headline());
        let w_name = self
            .tenants
            .iter()
            .map(|t| t.name.len())
            .chain([6])
            .max()
            .unwrap_or(6);
        let w_tenant = self
            .tenants
            .iter()
            .map(|t| t.tenant.len())
            .chain([9])
            .max()
            .unwrap_or(9);
        out.push_str(&format!(
            "  {:<w_name$}  {:<w_tenant$}  {:<8}  {:>7}  {:>10}  {:>9}\n",
            "TENANT", "TENANT ID", "STATUS", "CHANGES", "DOWNGRADES", "THROTTLED"
        ));
        for t in &self.tenants {
            out.push_str(&format!(
                "  {:<w_name$}  {:<w_tenant$}  {:<8}  {:>7}  {:>10}  {:>9}\n",
                t.name,
                t.tenant,
                t.status.as_str(),
                t.changes,
                t.security_downgrades,
                t.throttled
            ));
        }
        let failed: Vec<&TenantResult> =
            self.tenants.iter().filter(|t| t.error.is_some()).collect();
        if !failed.is_empty() {
            out.push_str("\nErrors\n");
            for t in failed {
                if let Some(e) = &t.error {
                    let kind = serde_json::to_value(e.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    out.push_str(&format!(
                        "\n  {} ({}) [{kind}]:\n    {}\n",
                        t.name,
                        t.tenant,
                        e.message.replace('\n', "\n    ")
                    ));
                }
            }
        }
        for t in &self.tenants {
            let plan = match (&t.remaining, &t.plan) {
                (Some(p), _) => p,
                (None, Some(p)) if p.has_changes() => p,
                _ => continue,
            };
            let title = if t.remaining.is_some() {
                "did not take"
            } else if self.operation == Operation::Apply {
                "applied"
            } else {
                "plan"
            };
            out.push_str(&format!("\n── {} ({}): {title} ──\n", t.name, t.tenant));
            out.push_str(&render::render(plan, Format::Text, color));
        }
        out
    }

    fn markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let mut out = format!("### entractl fleet\n\n**{}**\n\n", esc(&self.headline()));
        out.push_str(
            "| tenant | tenant id | status | changes | security downgrades | throttled | error |\n",
        );
        out.push_str("|---|---|---|---:|---:|---:|---|\n");
        for t in &self.tenants {
            let err = t
                .error
                .as_ref()
                .map(|e| esc(e.message.lines().next().unwrap_or("")))
                .unwrap_or_default();
            out.push_str(&format!(
                "| {} | `{}` | {} | {} | {} | {} | {} |\n",
                esc(&t.name),
                esc(&t.tenant),
                t.status.as_str(),
                t.changes,
                t.security_downgrades,
                t.throttled,
                err
            ));
        }
        for t in &self.tenants {
            let plan = match (&t.remaining, &t.plan) {
                (Some(p), _) => Some(p),
                (None, Some(p)) if p.has_changes() => Some(p),
                _ => None,
            };
            if plan.is_none() && t.error.is_none() {
                continue;
            }
            out.push_str(&format!(
                "\n<details><summary>{} ({}): {}</summary>\n\n",
                esc(&t.name),
                esc(&t.tenant),
                t.status.as_str()
            ));
            if let Some(e) = &t.error {
                out.push_str(&format!(
                    "```\n{}\n```\n\n",
                    e.message.replace("```", "'''")
                ));
            }
            if let Some(p) = plan {
                out.push_str(&render::render(p, Format::Markdown, false));
                out.push('\n');
            }
            out.push_str("</details>\n");
        }
        out
    }
}

/// Merges shard reports (with the files they came from, for messages) into the report of the
/// whole fleet: every shard `0..N` exactly once, all of one run. The result equals the report of
/// the same run without `--shard`.
pub fn merge(reports: Vec<(String, FleetReport)>) -> Result<FleetReport, MergeError> {
    let Some((first_file, first)) = reports.first() else {
        return Err(MergeError::Empty);
    };
    let Some(first_shard) = first.shard else {
        return Err(MergeError::NotSharded {
            file: first_file.clone(),
        });
    };
    let mut shards: BTreeMap<u32, &str> = BTreeMap::new();
    let mut tenants: BTreeMap<String, (&str, TenantResult)> = BTreeMap::new();
    for (file, r) in &reports {
        let mismatch = |what: &'static str, found: String, expected: String| MergeError::Mismatch {
            file: file.clone(),
            first: first_file.clone(),
            what,
            found,
            expected,
        };
        if r.operation != first.operation {
            return Err(mismatch(
                "operation",
                format!("{:?}", r.operation).to_lowercase(),
                format!("{:?}", first.operation).to_lowercase(),
            ));
        }
        if r.fleet_fingerprint != first.fleet_fingerprint {
            return Err(mismatch(
                "fleet file (fingerprint)",
                r.fleet_fingerprint.clone(),
                first.fleet_fingerprint.clone(),
            ));
        }
        let Some(shard) = r.shard else {
            return Err(MergeError::NotSharded { file: file.clone() });
        };
        if shard.count != first_shard.count {
            return Err(mismatch(
                "shard count",
                shard.count.to_string(),
                first_shard.count.to_string(),
            ));
        }
        if let Some(other) = shards.insert(shard.index, file) {
            return Err(MergeError::DuplicateShard {
                file: file.clone(),
                other: other.to_string(),
                shard: shard.to_string(),
            });
        }
        for t in &r.tenants {
            if let Some((other, _)) = tenants.get(&t.name) {
                return Err(MergeError::DuplicateTenant {
                    name: t.name.clone(),
                    file: file.clone(),
                    other: other.to_string(),
                });
            }
            tenants.insert(t.name.clone(), (file, t.clone()));
        }
    }
    let missing: Vec<String> = (0..first_shard.count)
        .filter(|i| !shards.contains_key(i))
        .map(|i| format!("{i}/{}", first_shard.count))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::MissingShards {
            missing,
            count: first_shard.count,
        });
    }
    Ok(FleetReport::new(
        first.operation,
        &first.fleet,
        &first.fleet_fingerprint,
        None,
        tenants.into_values().map(|(_, t)| t).collect(),
    ))
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
