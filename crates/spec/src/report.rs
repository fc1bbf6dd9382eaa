//! Errors of a spec file: every one with a place, a label and a hint.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

/// A place in the file: 1-based line and column, and the byte range of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Byte offset of the start of the value.
    pub offset: usize,
    /// Length of the value in bytes (at least 1 when the file is not empty).
    pub len: usize,
}

impl Location {
    /// The location of the byte range `offset..offset+len` of `text`.
    pub fn from_offset(text: &str, offset: usize, len: usize) -> Location {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        let max_len = text.len() - offset;
        let len = len.min(max_len);
        let len = if len == 0 && max_len > 0 {
            text[offset..].chars().next().map_or(0, char::len_utf8)
        } else {
            len
        };
        Location {
            line,
            column,
            offset,
            len,
        }
    }

    /// The location of a 1-based line and column of `text` (for errors that only know those).
    pub fn from_line_column(text: &str, line: usize, column: usize) -> Location {
        let mut offset = 0;
        for (i, l) in text.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                let col_bytes: usize = l
                    .chars()
                    .take(column.saturating_sub(1))
                    .map(char::len_utf8)
                    .sum();
                return Location::from_offset(text, offset + col_bytes, 0);
            }
            offset += l.len();
        }
        Location::from_offset(text, text.len(), 0)
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// What kind of mistake an error is (also its diagnostic code, `entractl::spec::<kind>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The file could not be read (missing, a directory, too large, not UTF-8).
    Read,
    /// Not YAML, or YAML over the size/structure limits.
    Syntax,
    /// A key that the format does not have.
    UnknownField,
    /// A required key is missing.
    MissingField,
    /// A value of the wrong type (a list where a string belongs, …).
    WrongType,
    /// A value outside the allowed set.
    UnknownValue,
    /// A value of the right type that Entra would reject or that cannot be right.
    InvalidValue,
    /// The same entry twice.
    Duplicate,
    /// Values that contradict each other.
    Contradiction,
}

impl ErrorKind {
    /// The diagnostic code.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Read => "entractl::spec::read",
            ErrorKind::Syntax => "entractl::spec::syntax",
            ErrorKind::UnknownField => "entractl::spec::unknown-field",
            ErrorKind::MissingField => "entractl::spec::missing-field",
            ErrorKind::WrongType => "entractl::spec::wrong-type",
            ErrorKind::UnknownValue => "entractl::spec::unknown-value",
            ErrorKind::InvalidValue => "entractl::spec::invalid-value",
            ErrorKind::Duplicate => "entractl::spec::duplicate",
            ErrorKind::Contradiction => "entractl::spec::contradiction",
        }
    }
}

/// One error in a spec file.
#[derive(Debug, Clone)]
pub struct SpecError {
    /// What kind of mistake it is.
    pub kind: ErrorKind,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The short text under the underlined value.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The dotted path of the value (`app.redirectUris.web[0]`), when it has one.
    pub path: Option<String>,
    /// Where the value is, when the file has it.
    pub location: Option<Location>,
    source: Option<NamedSource<Arc<String>>>,
}

impl SpecError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SpecError {
            kind,
            message: message.into(),
            label: String::new(),
            help: None,
            path: None,
            location: None,
            source: None,
        }
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn at(mut self, path: Option<String>, location: Option<Location>) -> Self {
        self.path = path;
        self.location = location;
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecError {}

impl Diagnostic for SpecError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match (&self.source, &self.location) {
            (Some(src), Some(_)) => Some(src as &dyn SourceCode),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let loc = self.location?;
        self.source.as_ref()?;
        let label = if self.label.is_empty() {
            None
        } else {
            Some(self.label.clone())
        };
        Some(Box::new(std::iter::once(LabeledSpan::new(
            label, loc.offset, loc.len,
        ))))
    }
}

/// Every error of one spec file.
#[derive(Debug, Clone)]
pub struct SpecReport {
    name: String,
    errors: Vec<SpecError>,
    text: Option<Arc<String>>,
}

impl SpecReport {
    pub(crate) fn new(name: &str, text: Option<Arc<String>>, mut errors: Vec<SpecError>) -> Self {
        errors.sort_by_key(|e| e.location.map_or((usize::MAX, 0), |l| (l.line, l.column)));
        let source = text
            .as_ref()
            .map(|t| NamedSource::new(name, Arc::clone(t)).with_language("yaml"));
        for e in &mut errors {
            e.source = source.clone();
        }
        SpecReport {
            name: name.to_string(),
            errors,
            text,
        }
    }

    /// A report with one error that has no place in the file (e.g. the file cannot be read).
    pub(crate) fn single(name: &str, error: SpecError) -> Self {
        SpecReport::new(name, None, vec![error])
    }

    /// The file name the report is about.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The errors, in file order.
    pub fn errors(&self) -> &[SpecError] {
        &self.errors
    }

    /// A plain-text rendering (no colours, no terminal features), one block per error:
    ///
    /// ```text
    /// error[entractl::spec::unknown-field]: unknown field `redirectUri`, did you mean `redirectUris`?
    ///   --> spec.yaml:7:3
    ///    |
    ///  7 |   redirectUri: [http://localhost]
    ///    |   ^^^^^^^^^^^ unknown field
    ///    = help: …
    /// ```
    pub fn render_plain(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("{self}\n"));
        for e in &self.errors {
            out.push('\n');
            out.push_str(&format!("error[{}]: {}\n", e.kind.code(), e.message));
            match (e.location, &self.text) {
                (Some(loc), Some(text)) => {
                    out.push_str(&format!(
                        "  --> {}:{}:{}\n",
                        self.name, loc.line, loc.column
                    ));
                    let line_text = text.lines().nth(loc.line - 1).unwrap_or("");
                    let num = loc.line.to_string();
                    let pad = " ".repeat(num.len());
                    let start = loc.column - 1;
                    let value_chars = text
                        .get(loc.offset..loc.offset + loc.len)
                        .map_or(1, |s| s.lines().next().unwrap_or("").chars().count())
                        .max(1);
                    let width =
                        value_chars.min(line_text.chars().count().saturating_sub(start).max(1));
                    out.push_str(&format!(" {pad} |\n"));
                    out.push_str(&format!(" {num} | {line_text}\n"));
                    out.push_str(&format!(
                        " {pad} | {}{} {}\n",
                        " ".repeat(start),
                        "^".repeat(width),
                        e.label
                    ));
                    if let Some(help) = &e.help {
                        out.push_str(&format!(" {pad} = help: {help}\n"));
                    }
                }
                _ => {
                    out.push_str(&format!("  --> {}\n", self.name));
                    if let Some(help) = &e.help {
                        out.push_str(&format!("   = help: {help}\n"));
                    }
                }
            }
        }
        out
    }
}

impl fmt::Display for SpecReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.len() {
            1 if self.text.is_none() => write!(f, "`{}`: {}", self.name, self.errors[0].message),
            1 => write!(f, "`{}` is not a valid entractl spec: 1 error", self.name),
            n => write!(
                f,
                "`{}` is not a valid entractl spec: {n} errors",
                self.name
            ),
        }
    }
}

impl std::error::Error for SpecReport {}

impl Diagnostic for SpecReport {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.text.is_none() && self.errors.len() == 1 {
            return Some(Box::new(self.errors[0].kind.code()));
        }
        None
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.text.is_none() && self.errors.len() == 1 {
            return self.errors[0]
                .help
                .as_ref()
                .map(|h| Box::new(h) as Box<dyn fmt::Display>);
        }
        None
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.text.is_none() && self.errors.len() == 1 {
            return None;
        }
        Some(Box::new(self.errors.iter().map(|e| e as &dyn Diagnostic)))
    }
}
