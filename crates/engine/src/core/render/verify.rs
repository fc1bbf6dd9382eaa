//! `entractl verify`: the tenant as it is now — drift from the spec, and the sign-in forecast
//! of the tenant as it stands (no plan applied) — in text, JSON or Markdown.

use serde_json::{Value, json};

use super::common::{Format, summary_line};
use super::forecast;
use super::markdown::forecast_markdown;
use super::text::forecast_text;
use crate::core::forecast::SignInForecast;
use crate::core::plan::{FORMAT_VERSION, NoteKind, Plan};

/// What `verify` found.
pub struct Verification<'a> {
    /// The plan that would bring the tenant to the spec (drift when it has changes).
    pub plan: &'a Plan,
    /// The forecast for the tenant as it is now.
    pub now: Option<&'a SignInForecast>,
}

impl Verification<'_> {
    /// Whether the sign-in forecast fails for anyone.
    pub fn sign_in_fails(&self) -> bool {
        self.now.is_some_and(SignInForecast::fails)
    }

    /// The portal steps still to take (the placeholder not chosen on the settings page yet).
    fn portal_steps(&self) -> Vec<&str> {
        self.plan
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::PortalStep)
            .map(|n| n.message.as_str())
            .collect()
    }

    fn drift_line(&self) -> String {
        if self.plan.has_changes() {
            format!(
                "Drift: the tenant differs from the spec. {} Run `entractl plan` for the details.",
                summary_line(&self.plan.summary())
            )
        } else {
            "No drift: the tenant matches the spec.".to_string()
        }
    }

    /// The forecast's verdict in one line (none without a forecast: the drift line says it all).
    fn headline(&self) -> Option<String> {
        let f = self.now?;
        Some(if f.fails() {
            format!(
                "Passport's password sign-in is forecast to FAIL for {} of {} user(s) today.",
                f.failing(),
                f.users.len()
            )
        } else {
            format!(
                "Passport's password sign-in is forecast to work for all {} user(s).",
                f.users.len()
            )
        })
    }

    /// The headline (if any) and the drift line, one per line.
    fn summary(&self, bold: bool) -> String {
        let mut out = String::new();
        if let Some(h) = self.headline() {
            if bold {
                out.push_str(&format!("**{h}**\n\n"));
            } else {
                out.push_str(&format!("{h}\n"));
            }
        }
        out.push_str(&self.drift_line());
        out.push('\n');
        out
    }
}

/// Renders what `verify` found.
pub fn verification(v: &Verification<'_>, format: Format, color: bool) -> String {
    match format {
        Format::Text => {
            let mut out = format!(
                "entractl verify for tenant {} (cloud {})\n\n{}",
                v.plan.tenant,
                v.plan.cloud,
                v.summary(false)
            );
            for step in v.portal_steps() {
                out.push_str(&format!("\nPortal step still to take: {step}\n"));
            }
            match v.now {
                Some(f) => out.push_str(&forecast_text(f, color)),
                None => out.push_str(
                    "\nNo sign-in forecast: the spec says no Passport mode and weakens no MFA.\n",
                ),
            }
            out
        }
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json_value(v))
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            s.push('\n');
            s
        }
        Format::Markdown => {
            let mut out = format!(
                "### entractl verify: `{}`\n\n{}",
                v.plan.tenant,
                v.summary(true)
            );
            for step in v.portal_steps() {
                out.push_str(&format!("\n**Portal step still to take**: {step}\n"));
            }
            if let Some(f) = v.now {
                out.push_str(&forecast_markdown(f));
            }
            out
        }
    }
}

fn json_value(v: &Verification<'_>) -> Value {
    let mut out = json!({
        "format_version": FORMAT_VERSION,
        "tenant": v.plan.tenant,
        "cloud": v.plan.cloud,
        "drift": {"has_changes": v.plan.has_changes(), "summary": v.plan.summary()},
        "sign_in_forecast": v.now.map(forecast::json),
    });
    let steps = v.portal_steps();
    if !steps.is_empty() {
        out["portal_steps"] = json!(steps);
    }
    out
}
