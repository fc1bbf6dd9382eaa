//! Structural checks of the YAML tree against the JSON Schema generated from the raw model, so
//! that every unknown key, missing key, wrong type and unknown value of a file is reported at
//! once (serde stops at the first), each with a "did you mean" where one is close.

use serde_json::Value;

use crate::node::{Node, SNode, Span};
use crate::report::{ErrorKind, Location, SpecError};
use crate::suggest::did_you_mean;

/// All structural errors of a file.
pub(crate) fn check(tree: &SNode, text: &str) -> Vec<SpecError> {
    let schema = crate::raw::json_schema_value();
    let mut checker = Checker {
        root: &schema,
        text,
        errors: Vec::new(),
    };
    if !matches!(tree.node, Node::Map(_)) {
        let e = SpecError::new(
            ErrorKind::WrongType,
            format!(
                "a spec file must be a mapping of keys such as `version`, `tenant` and `app`, found {}",
                tree.node.kind_name()
            ),
        )
        .label("expected a mapping")
        .help("start from `specs/kandji-passport.yaml`, or run `entractl schema` for the format")
        .at(None, Some(checker.loc(tree.span)));
        return vec![e];
    }
    checker.check(tree, None, &schema, "");
    checker.errors
}

struct Checker<'a> {
    root: &'a Value,
    text: &'a str,
    errors: Vec<SpecError>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

impl<'a> Checker<'a> {
    fn loc(&self, span: Span) -> Location {
        Location::from_offset(self.text, span.offset, span.len)
    }

    fn resolve(&self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        for _ in 0..16 {
            let Some(r) = s.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let name = r.trim_start_matches("#/$defs/");
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(target) => s = target,
                None => break,
            }
        }
        s
    }

    /// The alternatives of an `anyOf`/`oneOf`, resolved.
    fn alternatives(&self, schema: &'a Value) -> Option<Vec<&'a Value>> {
        let alts = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)?;
        Some(alts.iter().map(|a| self.resolve(a)).collect())
    }

    /// The allowed string values when the schema is an enumeration.
    fn enum_values(&self, schema: &'a Value) -> Option<Vec<&'a str>> {
        let schema = self.resolve(schema);
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return Some(values.iter().filter_map(Value::as_str).collect());
        }
        if let Some(c) = schema.get("const").and_then(Value::as_str) {
            return Some(vec![c]);
        }
        let alts = self.alternatives(schema)?;
        let mut all = Vec::new();
        for a in alts {
            if types_of(a) == ["null"] {
                continue;
            }
            all.extend(self.enum_values(a)?);
        }
        Some(all)
    }

    fn allows_null(&self, schema: &'a Value) -> bool {
        let schema = self.resolve(schema);
        if types_of(schema).contains(&"null") {
            return true;
        }
        self.alternatives(schema)
            .is_some_and(|alts| alts.iter().any(|a| self.allows_null(a)))
    }

    /// What a value of this schema is, for "expected …".
    fn describe(&self, schema: &'a Value) -> String {
        let schema = self.resolve(schema);
        if let Some(values) = self.enum_values(schema) {
            return format!("one of {}", quote_list(&values));
        }
        if let Some(alts) = self.alternatives(schema) {
            let parts: Vec<String> = alts
                .iter()
                .filter(|a| types_of(a) != ["null"])
                .map(|a| self.describe(a))
                .collect();
            return parts.join(", or ");
        }
        let types: Vec<&str> = types_of(schema)
            .into_iter()
            .filter(|t| *t != "null")
            .collect();
        match types.first().copied() {
            Some("string") => "a string".to_string(),
            Some("boolean") => "`true` or `false`".to_string(),
            Some("integer") | Some("number") => "a number".to_string(),
            Some("array") => match schema.get("items") {
                Some(items) => {
                    let inner = self.describe(items);
                    format!("a list of {}", inner.trim_start_matches("a "))
                        .replace("list of string", "list of strings")
                }
                None => "a list".to_string(),
            },
            Some("object") => "a mapping".to_string(),
            _ => "a value".to_string(),
        }
    }

    fn kind_matches(&self, node: &Node, schema: &'a Value) -> bool {
        let schema = self.resolve(schema);
        if let Some(alts) = self.alternatives(schema) {
            return alts.iter().any(|a| self.kind_matches(node, a));
        }
        if self.enum_values(schema).is_some() {
            return matches!(node, Node::Str(_));
        }
        let types = types_of(schema);
        types.iter().any(|t| match (*t, node) {
            ("null", Node::Null) => true,
            ("string", Node::Str(_) | Node::Int(_) | Node::Float(_) | Node::Bool(_)) => true,
            ("boolean", Node::Bool(_)) => true,
            ("boolean", Node::Str(s)) => is_yaml11_bool(s),
            ("integer", Node::Int(_)) => true,
            ("number", Node::Int(_) | Node::Float(_)) => true,
            ("array", Node::Seq(_)) => true,
            ("object", Node::Map(_)) => true,
            _ => false,
        })
    }

    fn wrong_type(&mut self, node: &SNode, schema: &'a Value, path: &str) {
        let expected = self.describe(schema);
        let mut help = format!("`{path}` takes {expected}");
        if let (Node::Str(s), true) = (&node.node, expected.starts_with("a list")) {
            help = format!("write a list, e.g. `[{s}]`, or one item per line starting with `- `");
        }
        if matches!(node.node, Node::Null) {
            help = format!(
                "`{path}` has no value; give it {expected} (or remove the line if the field is optional)"
            );
        }
        let e = SpecError::new(
            ErrorKind::WrongType,
            format!(
                "`{path}` must be {expected}, found {}",
                node.node.kind_name()
            ),
        )
        .label(format!("expected {expected}"))
        .help(help)
        .at(Some(path.to_string()), Some(self.loc(node.span)));
        self.errors.push(e);
    }

    fn check(&mut self, node: &SNode, key_span: Option<Span>, schema: &'a Value, path: &str) {
        let schema = self.resolve(schema);

        if matches!(node.node, Node::Null) && self.allows_null(schema) {
            return;
        }

        // An enumeration of keywords (possibly spread over `oneOf` with descriptions).
        if let Some(values) = self.enum_values(schema) {
            match &node.node {
                Node::Str(s) if values.contains(&s.as_str()) => {}
                Node::Str(s) => {
                    let suggestion = did_you_mean(s, values.iter().copied());
                    let message = match suggestion {
                        Some(m) => format!("unknown value `{s}` for `{path}`, did you mean `{m}`?"),
                        None => format!("unknown value `{s}` for `{path}`"),
                    };
                    let e = SpecError::new(ErrorKind::UnknownValue, message)
                        .label("unknown value")
                        .help(format!("`{path}` takes one of {}", quote_list(&values)))
                        .at(Some(path.to_string()), Some(self.loc(node.span)));
                    self.errors.push(e);
                }
                _ => self.wrong_type(node, schema, path),
            }
            return;
        }

        if let Some(alts) = self.alternatives(schema) {
            let alts: Vec<&Value> = alts
                .into_iter()
                .filter(|a| types_of(a) != ["null"])
                .collect();
            // The first alternative of the node's kind decides the errors reported.
            let Some(alt) = alts.iter().find(|a| self.kind_matches(&node.node, a)) else {
                self.wrong_type(node, schema, path);
                return;
            };
            self.check(node, key_span, alt, path);
            return;
        }

        if !self.kind_matches(&node.node, schema) {
            self.wrong_type(node, schema, path);
            return;
        }

        match &node.node {
            Node::Map(entries) => self.check_map(node, entries, key_span, schema, path),
            Node::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item, None, item_schema, &format!("{path}[{i}]"));
                    }
                }
            }
            _ => {}
        }
    }

    fn check_map(
        &mut self,
        node: &SNode,
        entries: &[(crate::node::SKey, SNode)],
        key_span: Option<Span>,
        schema: &'a Value,
        path: &str,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let names: Vec<&str> = properties
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for (key, value) in entries {
            let child_path = join(path, &key.key);
            if let Some(prop) = properties.and_then(|p| p.get(&key.key)) {
                self.check(value, Some(key.span), prop, &child_path);
                continue;
            }
            match additional {
                Some(Value::Bool(false)) | None if properties.is_some() => {
                    let whose = if path.is_empty() {
                        "the file".to_string()
                    } else {
                        format!("`{path}`")
                    };
                    let message = match did_you_mean(&key.key, names.iter().copied()) {
                        Some(m) => format!(
                            "unknown field `{}` in {whose}, did you mean `{m}`?",
                            key.key
                        ),
                        None => format!("unknown field `{}` in {whose}", key.key),
                    };
                    let e = SpecError::new(ErrorKind::UnknownField, message)
                        .label("unknown field")
                        .help(format!("{whose} has the fields {}", quote_list(&names)))
                        .at(Some(child_path), Some(self.loc(key.span)));
                    self.errors.push(e);
                }
                Some(value_schema) if value_schema.is_object() => {
                    if key.key.trim().is_empty() {
                        let e = SpecError::new(
                            ErrorKind::InvalidValue,
                            format!("an empty key in `{path}`"),
                        )
                        .label("empty key")
                        .help("name the entry, e.g. `Microsoft Graph`")
                        .at(Some(child_path.clone()), Some(self.loc(key.span)));
                        self.errors.push(e);
                    }
                    self.check(value, Some(key.span), value_schema, &child_path);
                }
                _ => {}
            }
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for field in required.iter().filter_map(Value::as_str) {
                if entries.iter().any(|(k, _)| k.key == field) {
                    continue;
                }
                let whose = if path.is_empty() {
                    "the file".to_string()
                } else {
                    format!("`{path}`")
                };
                let description = properties
                    .and_then(|p| p.get(field))
                    .map(|p| self.resolve(p))
                    .and_then(|p| p.get("description"))
                    .and_then(Value::as_str)
                    .map(|d| d.split('\n').next().unwrap_or(d).to_string());
                let help = match description {
                    Some(d) => format!("add `{field}:` to {whose}: {d}"),
                    None => format!("add `{field}:` to {whose}"),
                };
                let span = key_span.unwrap_or(node.span);
                let e = SpecError::new(
                    ErrorKind::MissingField,
                    format!("missing field `{field}` in {whose}"),
                )
                .label(format!("`{field}` is missing"))
                .help(help)
                .at(Some(join(path, field)), Some(self.loc(span)));
                self.errors.push(e);
            }
        }
    }
}

fn is_yaml11_bool(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    )
}

fn quote_list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}
