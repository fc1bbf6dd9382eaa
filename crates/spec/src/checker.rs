//! The state every semantic check shares (the file, its tree, the errors found so far) and the
//! small value tests they use (GUID-like, domain, user principal name).

use std::collections::HashMap;

use crate::model::is_guid;
use crate::node::SNode;
use crate::report::{ErrorKind, Location, SpecError};

/// True for something that was meant to be a GUID but is not one (hex digits and dashes, of
/// about the right length).
pub(crate) fn looks_like_broken_guid(s: &str) -> bool {
    !is_guid(s)
        && s.len() >= 20
        && s.matches('-').count() >= 3
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '{' | '}'))
        && s.chars().filter(|c| c.is_ascii_hexdigit()).count() * 10 >= s.len() * 7
}

/// True for a DNS domain name with at least two labels (`contoso.com`).
pub(crate) fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && s.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()) && tld.len() >= 2)
}

/// True for a user principal name: `local@verified.domain` (guest UPNs with `#EXT#` included).
pub fn is_upn(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 113
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-'#!$%&*+/=?^`{|}~".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && is_domain(domain)
}

pub(crate) struct Checker<'a> {
    pub(crate) tree: &'a SNode,
    pub(crate) text: &'a str,
    pub(crate) errors: Vec<SpecError>,
}

impl Checker<'_> {
    pub(crate) fn location(&self, path: &str, key: bool) -> Option<Location> {
        let (node, key_span) = self.tree.find(path)?;
        let span = if key {
            key_span.unwrap_or(node.span)
        } else {
            node.span
        };
        Some(Location::from_offset(self.text, span.offset, span.len))
    }

    pub(crate) fn push(
        &mut self,
        kind: ErrorKind,
        path: &str,
        message: String,
        label: &str,
        help: String,
    ) {
        self.push_at(kind, path, false, message, label, help);
    }

    pub(crate) fn push_at(
        &mut self,
        kind: ErrorKind,
        path: &str,
        key: bool,
        message: String,
        label: &str,
        help: String,
    ) {
        let location = self.location(path, key);
        self.errors.push(
            SpecError::new(kind, message)
                .label(label)
                .help(help)
                .at(Some(path.to_string()), location),
        );
    }

    /// An error about a value that may come from the file or from the preset: it points at the
    /// first of `paths` written in the file.
    pub(crate) fn push_first(
        &mut self,
        kind: ErrorKind,
        paths: &[&str],
        message: String,
        label: &str,
        help: String,
    ) {
        let path = paths
            .iter()
            .copied()
            .find(|p| self.tree.find(p).is_some())
            .unwrap_or(paths[0]);
        self.push(kind, path, message, label, help);
    }

    pub(crate) fn duplicates(&mut self, path: &str, values: &[String], what: &str) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, v) in values.iter().enumerate() {
            let key = v.trim().to_lowercase();
            if let Some(first) = seen.get(&key) {
                self.push(
                    ErrorKind::Duplicate,
                    &format!("{path}[{i}]"),
                    format!("duplicate {what} `{v}` in `{path}`"),
                    "listed again here",
                    format!("`{v}` is already listed as `{path}[{first}]`; remove one of them"),
                );
            } else {
                seen.insert(key, i);
            }
        }
    }

    pub(crate) fn not_blank(&mut self, path: &str, value: &str, what: &str) -> bool {
        if value.trim().is_empty() {
            self.push(
                ErrorKind::InvalidValue,
                path,
                format!("`{path}` is empty"),
                "empty",
                format!("give the {what}, or remove the entry"),
            );
            return false;
        }
        if value.trim() != value {
            self.push(
                ErrorKind::InvalidValue,
                path,
                format!("`{path}` has spaces at its start or end"),
                "leading or trailing spaces",
                format!("write the {what} as `{}`", value.trim()),
            );
            return false;
        }
        true
    }

    pub(crate) fn guid_or_name(&mut self, path: &str, value: &str, what: &str) {
        if looks_like_broken_guid(value) {
            self.push(
                ErrorKind::InvalidValue,
                path,
                format!("`{value}` is not a valid GUID"),
                "malformed GUID",
                format!(
                    "an object id has the form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits); or give the {what} by name"
                ),
            );
        }
    }
}
