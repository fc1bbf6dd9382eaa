//! `entractl export`: bring an app made in the portal under git.
//!
//! Reads the app registration, its service principal, its tenant-wide grants, who is assigned
//! to it, and the MFA posture that concerns it; writes a spec that names things instead of
//! GUIDs wherever a name resolves uniquely, tells the Passport mode from the app (public client
//! flows on and the web redirect URI `http://localhost`: Mac Login; else Web Login), uses
//! `preset: kandji-passport` in that mode when most values match it (then only the differing
//! values are written), pins the app by `appId` (adoption) and comments values that look
//! unintended.
//!
//! The result is checked the way it will be used: the spec is parsed, planned against the same
//! tenant with the engine's own `fetch` and `diff`, and any part that would still change
//! something is relaxed (e.g. per-user MFA left `unmanaged`, with a comment naming the users
//! who have it on) until the plan is empty — apart from the adoption itself (the
//! `entractl:<key>` tag on the application and its service principal) when entractl does not
//! manage the app yet.

mod api_permissions;
mod assigned;
mod from_facts;
mod model;
mod preset;
mod read;
mod relax;
mod types;
mod yaml;

use crate::core::desired::Desired;
use crate::core::diff::diff;
use crate::core::plan::{Action, Change, ObjectKind};
use crate::fetch::fetch;

pub use model::{CaExport, ExportModel};
pub use types::{ExportError, ExportOptions, ExportTarget, Exported};

/// Reads the app and everything that concerns it, and writes a spec that plans empty.
pub async fn export(
    client: &entractl_graph::GraphClient,
    target: &ExportTarget,
    opts: &ExportOptions,
) -> Result<Exported, ExportError> {
    let facts = read::read(client, target, opts).await?;
    let mut model = ExportModel::from_facts(&facts, opts);
    let mut residual: Vec<String> = Vec::new();
    for _ in 0..4 {
        let text = yaml::write(&model, opts);
        let loaded = entractl_spec::parse_str("exported.yaml", &text).map_err(|r| {
            ExportError::InvalidSpec {
                report: r.render_plain(),
                yaml: text.clone(),
            }
        })?;
        let desired = Desired::from_spec(&loaded.spec, opts.authority_url.as_deref());
        let (observed, _) = fetch(client, &desired).await?;
        let plan = diff(&desired, &observed).map_err(|source| ExportError::Plan { source })?;
        let left: Vec<&Change> = plan.actionable().filter(|c| !is_adoption(c)).collect();
        residual = left.iter().map(|c| describe(c)).collect();
        if left.is_empty() || !model.relax(&left, &observed) {
            return Ok(Exported {
                yaml: text,
                app_id: facts.app.app_id.clone(),
                display_name: facts.app.display_name.clone(),
                preset: model.preset,
                adopts: !model.managed,
                residual,
            });
        }
    }
    Ok(Exported {
        yaml: yaml::write(&model, opts),
        app_id: facts.app.app_id.clone(),
        display_name: facts.app.display_name.clone(),
        preset: model.preset,
        adopts: !model.managed,
        residual,
    })
}

/// The adoption itself: the `entractl:<key>` tag on the application (adopted) and on its
/// service principal (updated).
pub fn is_adoption(c: &Change) -> bool {
    let only_tags = !c.fields.is_empty() && c.fields.iter().all(|f| f.path == "tags");
    let adopting = match c.object.kind {
        ObjectKind::Application => c.action == Action::Adopt,
        ObjectKind::ServicePrincipal => c.action == Action::Update,
        _ => false,
    };
    only_tags && adopting
}

fn describe(c: &Change) -> String {
    let fields: Vec<&str> = c.fields.iter().map(|f| f.path.as_str()).collect();
    format!(
        "{}{}",
        c.describe(),
        if fields.is_empty() {
            String::new()
        } else {
            format!(" ({})", fields.join(", "))
        }
    )
}

#[cfg(test)]
mod tests;
