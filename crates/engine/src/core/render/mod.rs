//! Renderers: text for people, JSON for machines, Markdown for pull-request comments.

mod common;
mod forecast;
mod json;
mod markdown;
mod text;
mod verify;

pub use common::Format;
pub use json::json_value;
pub use markdown::{
    DEFAULT_LIMIT, DETAILS_PER_KIND, GITHUB_BODY_LIMIT, GROUPS_SHOWN, TABLE_ROWS_PER_KIND,
    markdown, markdown_within,
};
pub use text::text;
pub use verify::{Verification, verification};

use crate::core::plan::Plan;

/// Renders in the given format. `color` only affects text.
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => text(plan, color),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json_value(plan))
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
            s.push('\n');
            s
        }
        Format::Markdown => markdown(plan),
    }
}
