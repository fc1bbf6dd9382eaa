//! `$filter`: the expressions Graph accepts without advanced-query headers (`eq`, `startswith`,
//! `any`, `and`, `or`), parsed, checked against what a collection allows, and matched.

use serde_json::Value;

use crate::graph::error::GraphError;
use crate::state::Obj;

/// A `$filter` expression: clauses joined by `and` / `or` (left to right, `and` binds tighter).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Disjunction of conjunctions.
    pub any_of: Vec<Vec<Clause>>,
}

/// One filter clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// `prop eq value` (or `ne` when negated is true).
    Eq {
        /// Property name.
        prop: String,
        /// Literal.
        value: Value,
    },
    /// `startswith(prop,'value')`.
    StartsWith {
        /// Property name.
        prop: String,
        /// Prefix.
        value: String,
    },
    /// `prop/any(x:x eq 'value')`.
    AnyEq {
        /// Collection property name.
        prop: String,
        /// Literal.
        value: Value,
    },
}

impl Clause {
    /// The property this clause filters on.
    pub fn prop(&self) -> &str {
        match self {
            Clause::Eq { prop, .. }
            | Clause::StartsWith { prop, .. }
            | Clause::AnyEq { prop, .. } => prop,
        }
    }
    fn describe(&self) -> &'static str {
        match self {
            Clause::Eq { .. } => "eq",
            Clause::StartsWith { .. } => "startswith",
            Clause::AnyEq { .. } => "any",
        }
    }
    fn matches(&self, obj: &Obj) -> bool {
        match self {
            Clause::Eq { prop, value } => eq_value(obj.get(prop).unwrap_or(&Value::Null), value),
            Clause::StartsWith { prop, value } => obj
                .get(prop)
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase().starts_with(&value.to_lowercase())),
            Clause::AnyEq { prop, value } => obj
                .get(prop)
                .and_then(Value::as_array)
                .is_some_and(|xs| xs.iter().any(|x| eq_value(x, value))),
        }
    }
}

fn eq_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// What a collection lets clients filter on (default queries, no advanced-query headers).
#[derive(Debug, Clone, Copy)]
pub struct Filterable {
    /// OData type name used in error messages (`microsoft.graph.application`).
    pub odata_type: &'static str,
    /// Properties accepting `eq`.
    pub eq: &'static [&'static str],
    /// Properties accepting `startswith`.
    pub starts_with: &'static [&'static str],
    /// Collection properties accepting `any(x:x eq …)`.
    pub any: &'static [&'static str],
}

impl Filter {
    /// Parse a `$filter` value.
    pub fn parse(text: &str) -> Result<Filter, GraphError> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        let mut any_of = vec![vec![p.clause()?]];
        loop {
            p.ws();
            if p.i >= p.s.len() {
                break;
            }
            if p.keyword("and") {
                let c = p.clause()?;
                if let Some(last) = any_of.last_mut() {
                    last.push(c);
                }
            } else if p.keyword("or") {
                any_of.push(vec![p.clause()?]);
            } else {
                return Err(p.invalid());
            }
        }
        Ok(Filter { any_of })
    }

    /// Check every clause is supported for this collection.
    pub fn check(&self, f: &Filterable) -> Result<(), GraphError> {
        for c in self.any_of.iter().flatten() {
            let ok = match c {
                Clause::Eq { prop, .. } => f.eq.contains(&prop.as_str()),
                Clause::StartsWith { prop, .. } => f.starts_with.contains(&prop.as_str()),
                Clause::AnyEq { prop, .. } => f.any.contains(&prop.as_str()),
            };
            if !ok {
                return Err(GraphError::unsupported_query(format!(
                    "Unsupported or invalid query filter clause specified for property '{}' of resource '{}' ({}).",
                    c.prop(),
                    f.odata_type.trim_start_matches("microsoft.graph."),
                    c.describe()
                )));
            }
        }
        Ok(())
    }

    /// Whether `obj` passes the filter.
    pub fn matches(&self, obj: &Obj) -> bool {
        self.any_of
            .iter()
            .any(|all| all.iter().all(|c| c.matches(obj)))
    }

    /// The value of a top-level `prop eq '…'` clause when the filter is exactly that (fast paths).
    pub fn single_eq(&self) -> Option<(&str, &Value)> {
        match self.any_of.as_slice() {
            [one] => match one.as_slice() {
                [Clause::Eq { prop, value }] => Some((prop.as_str(), value)),
                _ => None,
            },
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn invalid(&self) -> GraphError {
        GraphError::bad_request(format!(
            "Invalid filter clause: syntax error at position {} in '{}'.",
            self.i, self.text
        ))
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn keyword(&mut self, kw: &str) -> bool {
        self.ws();
        let end = self.i + kw.len();
        if end <= self.s.len()
            && self.text[self.i..end].eq_ignore_ascii_case(kw)
            && (end == self.s.len() || !self.s[end].is_ascii_alphanumeric())
        {
            self.i = end;
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> Result<String, GraphError> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || b"_/.@".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        if start == self.i {
            return Err(self.invalid());
        }
        Ok(self.text[start..self.i].to_string())
    }
    fn expect(&mut self, c: u8) -> Result<(), GraphError> {
        self.ws();
        if self.i < self.s.len() && self.s[self.i] == c {
            self.i += 1;
            Ok(())
        } else {
            Err(self.invalid())
        }
    }
    fn literal(&mut self) -> Result<Value, GraphError> {
        self.ws();
        if self.i < self.s.len() && self.s[self.i] == b'\'' {
            self.i += 1;
            let mut out = String::new();
            loop {
                if self.i >= self.s.len() {
                    return Err(self.invalid());
                }
                let rest = &self.text[self.i..];
                let ch = rest.chars().next().ok_or_else(|| self.invalid())?;
                if ch == '\'' {
                    if rest[1..].starts_with('\'') {
                        out.push('\'');
                        self.i += 2;
                        continue;
                    }
                    self.i += 1;
                    return Ok(Value::String(out));
                }
                out.push(ch);
                self.i += ch.len_utf8();
            }
        }
        let word = self.ident()?;
        match word.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            w => w
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| {
                    // unquoted GUIDs (`principalId eq 1234-…`) are accepted by Graph for Guid properties
                    if w.len() == 36 && w.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                        Ok(Value::String(w.to_string()))
                    } else {
                        Err(())
                    }
                })
                .map_err(|_| self.invalid()),
        }
    }
    fn clause(&mut self) -> Result<Clause, GraphError> {
        self.ws();
        if self.keyword("startswith") {
            self.expect(b'(')?;
            let prop = self.ident()?;
            self.expect(b',')?;
            let v = self.literal()?;
            self.expect(b')')?;
            let Value::String(value) = v else {
                return Err(self.invalid());
            };
            return Ok(Clause::StartsWith { prop, value });
        }
        let path = self.ident()?;
        if let Some(prop) = path.strip_suffix("/any") {
            self.expect(b'(')?;
            let var = self.ident()?;
            self.expect(b':')?;
            let var2 = self.ident()?;
            if var != var2 || !self.keyword("eq") {
                return Err(self.invalid());
            }
            let value = self.literal()?;
            self.expect(b')')?;
            return Ok(Clause::AnyEq {
                prop: prop.to_string(),
                value,
            });
        }
        if self.keyword("eq") {
            let value = self.literal()?;
            return Ok(Clause::Eq { prop: path, value });
        }
        if self.keyword("ne")
            || self.keyword("lt")
            || self.keyword("gt")
            || self.keyword("le")
            || self.keyword("ge")
        {
            return Err(GraphError::unsupported_query(format!(
                "Unsupported or invalid query filter clause specified for property '{path}': this operator needs ConsistencyLevel: eventual and $count=true (advanced query), which graph-emulator does not model."
            )));
        }
        if self.keyword("endswith") || path == "not" || path == "endswith" {
            return Err(GraphError::unsupported_query(
                "Operator is not supported without advanced query parameters (ConsistencyLevel: eventual).".to_string(),
            ));
        }
        Err(self.invalid())
    }
}
