//! `entractl explain CODE`: what a sign-in error (AADSTS code) means for Kandji Passport and how
//! to fix it, in spec terms and in the Entra admin center. `--list` shows every known code.

use clap::Args;
use entractl_engine::aadsts::{self, SignInError};
use serde_json::{Value, json};

use crate::args::{ReportFormat, json_text};
use crate::error::{CommandError, Outcome};
use crate::output;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The error code, with or without its prefix: `AADSTS50076` or `50076`.
    #[arg(
        value_name = "CODE",
        required_unless_present = "list",
        conflicts_with = "list"
    )]
    pub code: Option<String>,
    /// List every sign-in error entractl knows.
    #[arg(long)]
    pub list: bool,
    /// Output format: text for people, json for machines.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

const WIDTH: usize = 96;

pub fn run(args: &ExplainArgs) -> Result<Outcome, CommandError> {
    let text = if args.list {
        match args.format {
            ReportFormat::Text => list_text(),
            ReportFormat::Json => {
                json_text(&Value::Array(aadsts::all().iter().map(to_json).collect()))
            }
        }
    } else {
        let input = args.code.as_deref().unwrap_or_default();
        let code = aadsts::parse_code(input).map_err(|e| {
            CommandError::plain(format!(
                "{e}. `entractl explain --list` shows the codes entractl knows."
            ))
        })?;
        let Some(entry) = aadsts::lookup(code) else {
            return Err(CommandError::plain(unknown(code)));
        };
        match args.format {
            ReportFormat::Text => explain_text(entry),
            ReportFormat::Json => json_text(&to_json(entry)),
        }
    };
    output::stdout(&text).map(|()| Outcome::Success)
}

fn unknown(code: u32) -> String {
    let near = aadsts::nearest(code, 3)
        .iter()
        .map(|e| format!("AADSTS{} ({})", e.code, e.name))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "AADSTS{code} is not one of the sign-in errors entractl knows.\n  nearest known codes: {near}\n  Microsoft's description: {}\n  all known codes: `entractl explain --list`",
        aadsts::lookup_url(code)
    )
}

fn to_json(e: &SignInError) -> Value {
    json!({
        "code": e.code,
        "label": e.label(),
        "name": e.name,
        "message": e.message,
        "meaning": e.meaning,
        "fix_entractl": e.fix_entractl,
        "fix_portal": e.fix_portal,
        "url": aadsts::lookup_url(e.code),
    })
}

fn list_text() -> String {
    let mut out = String::from("Sign-in errors entractl explains (`entractl explain CODE`):\n\n");
    for e in aadsts::all() {
        out.push_str(&format!("  {:<15} {}\n", e.label(), e.name));
    }
    out.push_str(
        "\nAny other code: https://login.microsoftonline.com/error?code=N (N = the number).\n",
    );
    out
}

fn explain_text(e: &SignInError) -> String {
    let mut out = format!("{}  {}\n", e.label(), e.name);
    for (heading, body) in [
        ("Entra's message", e.message),
        ("What it means for Kandji Passport", e.meaning),
        ("Fix with entractl", e.fix_entractl),
        ("Fix in the Microsoft Entra admin center", e.fix_portal),
    ] {
        out.push_str(&format!("\n{heading}:\n"));
        out.push_str(&wrap(body, "  ", WIDTH));
    }
    out.push_str(&format!("\nMore: {}\n", aadsts::lookup_url(e.code)));
    out
}

/// Wraps `text` at word boundaries into lines of at most `width` characters (a longer word gets
/// a line of its own), each starting with `indent`.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_and_width() {
        let text = "one two three four five six seven eight nine ten";
        let wrapped = wrap(text, "  ", 16);
        for line in wrapped.lines() {
            assert!(line.len() <= 16, "{line:?}");
            assert!(line.starts_with("  "));
        }
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>().join(" "),
            text
        );
        assert_eq!(
            wrap("averyveryverylongword x", "", 5),
            "averyveryverylongword\nx\n"
        );
        assert_eq!(wrap("", "  ", 10), "");
    }
}
