//! Reading a YAML file entractl is given (a spec, a fleet file): one size check, one UTF-8 check,
//! one set of parser limits and one way to trim the parser's errors. Each file kind words the
//! problems with its own help texts.

use std::io::Read;
use std::path::Path;

/// Why a file could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// No such file.
    NotFound,
    /// Not allowed to read it.
    PermissionDenied,
    /// A directory was given.
    IsDirectory,
    /// Larger than the limit (`len` bytes, or more).
    TooLarge { len: u64, limit: usize },
    /// Not UTF-8: the first invalid byte is at `offset`.
    NotUtf8 { offset: usize },
    /// Another I/O error.
    Io(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotFound => f.write_str("no such file"),
            ReadError::PermissionDenied => f.write_str("permission denied"),
            ReadError::IsDirectory => f.write_str("is a directory"),
            ReadError::TooLarge { len, limit } => write!(
                f,
                "the file is too large ({len} bytes; at most {limit} bytes)"
            ),
            ReadError::NotUtf8 { offset } => {
                write!(f, "is not UTF-8 text (invalid byte at offset {offset})")
            }
            ReadError::Io(e) => f.write_str(e),
        }
    }
}

fn io(e: &std::io::Error) -> ReadError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        std::io::ErrorKind::PermissionDenied => ReadError::PermissionDenied,
        _ => ReadError::Io(e.to_string()),
    }
}

/// Reads a file of at most `limit` bytes as UTF-8 text (never more than `limit + 1` bytes are
/// read, whatever the file's size).
pub fn read_text(path: &Path, limit: usize) -> Result<String, ReadError> {
    let meta = std::fs::metadata(path).map_err(|e| io(&e))?;
    if meta.is_dir() {
        return Err(ReadError::IsDirectory);
    }
    if meta.len() > limit as u64 {
        return Err(ReadError::TooLarge {
            len: meta.len(),
            limit,
        });
    }
    let file = std::fs::File::open(path).map_err(|e| io(&e))?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(&e))?;
    if bytes.len() > limit {
        return Err(ReadError::TooLarge {
            len: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Parser limits: far above any real file of the kind, far below what hurts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input, in bytes.
    pub max_bytes: usize,
    /// Most YAML nodes.
    pub max_nodes: usize,
    /// Most parser events.
    pub max_events: usize,
    /// Most aliases and anchors.
    pub max_aliases: usize,
}

/// The limits of a spec file (one app registration: a few kilobytes).
pub const SPEC_LIMITS: Limits = Limits {
    max_bytes: 1024 * 1024,
    max_nodes: 20_000,
    max_events: 100_000,
    max_aliases: 100,
};

/// The parser options for `limits`: one document, depth 32, no snippet in errors (the caller
/// shows the location itself).
pub fn options(limits: Limits) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: limits.max_events,
            max_aliases: limits.max_aliases,
            max_anchors: limits.max_aliases,
            max_depth: 32,
            max_documents: 1,
            max_nodes: limits.max_nodes,
            max_total_scalar_bytes: limits.max_bytes,
            max_merge_keys: 100,
            max_recorded_anchor_events: 10_000,
            max_recorded_anchor_bytes: limits.max_bytes,
            max_reader_input_bytes: Some(limits.max_bytes),
        },
        with_snippet: false,
    }
}

/// A parser error's message without its location (the caller shows that), and the location:
/// 1-based line and column, and the byte span when the parser knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlProblem {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// `(offset, len)` in bytes.
    pub span: Option<(usize, usize)>,
}

/// Trims a parser error into a [`YamlProblem`].
pub fn problem(e: &serde_saphyr::Error) -> YamlProblem {
    let mut message = e.without_snippet().to_string();
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    let loc = e.location().filter(|l| l.line() > 0);
    let span = loc.and_then(|l| {
        let s = l.span();
        let off = usize::try_from(s.byte_offset()?).ok()?;
        Some((off, usize::try_from(s.byte_len().unwrap_or(0)).unwrap_or(0)))
    });
    YamlProblem {
        message,
        line: loc.and_then(|l| usize::try_from(l.line()).ok()),
        column: loc.and_then(|l| usize::try_from(l.column()).ok()),
        span,
    }
}
