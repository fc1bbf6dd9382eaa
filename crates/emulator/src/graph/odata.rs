//! OData plumbing shared by every Graph route: error bodies, query options (`$select`, `$filter`,
//! `$top`, `$skiptoken`), paging and `@odata.context`.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::state::Obj;

/// A Graph error: HTTP status, Graph error code and message (`{"error":{"code","message","innerError"}}`).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// `Retry-After` header value (seconds), for 429/503.
    pub retry_after: Option<String>,
}

impl GraphError {
    /// Any error.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }
    /// 404 Request_ResourceNotFound for an object id or key.
    pub fn not_found(id: &str) -> Self {
        Self::new(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }
    /// 400 Request_BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "Request_BadRequest", message)
    }
    /// 400 Request_UnsupportedQuery.
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(400, "Request_UnsupportedQuery", message)
    }
    /// 403 Authorization_RequestDenied.
    pub fn denied() -> Self {
        Self::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }
    /// 401 InvalidAuthenticationToken.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(401, "InvalidAuthenticationToken", message)
    }
    /// 400 for a property Graph does not know on this type.
    pub fn unknown_property(prop: &str, odata_type: &str) -> Self {
        Self::bad_request(format!(
            "Property '{prop}' does not exist on type '{odata_type}'. Make sure to only use property names that are defined by the type or mark the type as open type."
        ))
    }
    /// 400 for a read-only property in a write body.
    pub fn read_only_property(prop: &str) -> Self {
        Self::bad_request(format!("Property '{prop}' is read-only and cannot be set."))
    }

    /// The JSON body, with `innerError` (date, request-id, client-request-id).
    pub fn body(&self, request_id: &str, client_request_id: &str) -> Value {
        let mut inner = Map::new();
        if self.status == 429 {
            inner.insert("code".into(), json!("429"));
        }
        inner.insert(
            "date".into(),
            json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()),
        );
        inner.insert("request-id".into(), json!(request_id));
        inner.insert("client-request-id".into(), json!(client_request_id));
        json!({"error": {"code": self.code, "message": self.message, "innerError": inner}})
    }
}

/// Parsed system query options.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `$select` property names.
    pub select: Option<Vec<String>>,
    /// `$filter` expression.
    pub filter: Option<Filter>,
    /// Raw `$filter` text (kept for nextLink).
    pub filter_raw: Option<String>,
    /// `$top`.
    pub top: Option<usize>,
    /// `$skiptoken` (decoded: the id after which the next page starts).
    pub skip_after: Option<String>,
    /// `$count=true` was asked.
    pub count: bool,
}

/// The largest `$top` Graph accepts for directory objects.
pub const MAX_TOP: usize = 999;
/// Graph's default page size for directory objects.
pub const DEFAULT_PAGE: usize = 100;

impl Query {
    /// Parse `$select`, `$filter`, `$top`, `$skiptoken`, `$count`; reject the options the emulator
    /// does not model the way Graph rejects them.
    pub fn parse(pairs: &[(String, String)], headers_eventual: bool) -> Result<Query, GraphError> {
        let mut q = Query::default();
        for (k, v) in pairs {
            let key = k.trim();
            let key = if key.starts_with('$') {
                key.to_string()
            } else {
                // Graph accepts system query options without `$` on v1.0.
                match key {
                    "select" | "filter" | "top" | "skiptoken" | "count" | "orderby" | "search"
                    | "expand" | "skip" => format!("${key}"),
                    _ => continue,
                }
            };
            match key.as_str() {
                "$select" => {
                    q.select = Some(
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    )
                }
                "$filter" => {
                    q.filter = Some(Filter::parse(v)?);
                    q.filter_raw = Some(v.clone());
                }
                "$top" => {
                    let n: i64 = v.trim().parse().map_err(|_| {
                        GraphError::bad_request(format!("Invalid $top value '{v}'."))
                    })?;
                    if !(1..=MAX_TOP as i64).contains(&n) {
                        return Err(GraphError::bad_request(format!(
                            "Invalid page size specified: '{n}'. Must be between 1 and {MAX_TOP} inclusive."
                        )));
                    }
                    q.top = Some(n as usize);
                }
                "$skiptoken" => {
                    q.skip_after = Some(decode_skiptoken(v).ok_or_else(|| {
                        GraphError::bad_request("Invalid $skiptoken value.".to_string())
                    })?)
                }
                "$count" => {
                    if v == "true" {
                        if !headers_eventual {
                            return Err(GraphError::unsupported_query(
                                "$count is not currently supported.",
                            ));
                        }
                        q.count = true;
                    }
                }
                "$orderby" | "$search" => {
                    return Err(GraphError::unsupported_query(format!(
                        "{key} is not supported by graph-emulator (Graph needs ConsistencyLevel: eventual and $count=true for it)."
                    )));
                }
                "$expand" | "$skip" => {
                    return Err(GraphError::bad_request(format!(
                        "Query option '{key}' is not supported by graph-emulator."
                    )));
                }
                _ => {
                    return Err(GraphError::bad_request(format!(
                        "The query parameter '{key}' is not supported."
                    )));
                }
            }
        }
        Ok(q)
    }
}

/// Encode a skiptoken (opaque to clients).
pub fn encode_skiptoken(last_id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("RFNwdAIA:{last_id}"))
}

fn decode_skiptoken(t: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    s.strip_prefix("RFNwdAIA:").map(str::to_string)
}

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

/// Apply `$select` to an object (id is always kept, as Graph does).
pub fn select(obj: &Obj, select: Option<&[String]>, default_props: Option<&[&str]>) -> Obj {
    match (select, default_props) {
        (Some(props), _) => {
            let mut out = Map::new();
            for p in props {
                if let Some(v) = obj.get(p) {
                    out.insert(p.clone(), v.clone());
                }
            }
            if !out.contains_key("id")
                && let Some(id) = obj.get("id")
            {
                out.insert("id".into(), id.clone());
            }
            out
        }
        (None, Some(defaults)) => {
            let mut out = Map::new();
            for p in defaults {
                if let Some(v) = obj.get(*p) {
                    out.insert((*p).to_string(), v.clone());
                }
            }
            out
        }
        (None, None) => obj.clone(),
    }
}

/// Reject `$select` properties unknown on the type.
pub fn check_select(
    select: Option<&[String]>,
    template: &Obj,
    odata_type: &str,
) -> Result<(), GraphError> {
    if let Some(props) = select {
        for p in props {
            if !template.contains_key(p) {
                return Err(GraphError::bad_request(format!(
                    "Could not find a property named '{p}' on type '{odata_type}'."
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_filters_graph_clients_send() {
        let f = Filter::parse("displayName eq 'Kandji Passport'").unwrap();
        assert_eq!(
            f.single_eq(),
            Some(("displayName", &Value::String("Kandji Passport".into())))
        );
        let f = Filter::parse("tags/any(t:t eq 'kandji-passport')").unwrap();
        assert!(matches!(&f.any_of[0][0], Clause::AnyEq { prop, .. } if prop == "tags"));
        let f = Filter::parse("clientId eq 'a' and consentType eq 'AllPrincipals'").unwrap();
        assert_eq!(f.any_of[0].len(), 2);
        let f = Filter::parse("startswith(displayName,'Sal')").unwrap();
        let mut o = Map::new();
        o.insert("displayName".into(), json!("Sales"));
        assert!(f.matches(&o));
        let f = Filter::parse("displayName eq 'O''Brien' or displayName eq 'x'").unwrap();
        assert_eq!(f.any_of.len(), 2);
        assert!(matches!(&f.any_of[0][0], Clause::Eq { value, .. } if value == "O'Brien"));
    }

    #[test]
    fn rejects_advanced_and_broken_filters() {
        assert_eq!(
            Filter::parse("displayName ne 'x'").unwrap_err().code,
            "Request_UnsupportedQuery"
        );
        assert_eq!(
            Filter::parse("displayName eq").unwrap_err().code,
            "Request_BadRequest"
        );
        assert_eq!(
            Filter::parse("displayName eq 'x' xor y").unwrap_err().code,
            "Request_BadRequest"
        );
    }

    #[test]
    fn top_limits_and_skiptoken_roundtrip() {
        let pairs = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert!(Query::parse(&pairs("$top", "999"), false).is_ok());
        assert!(
            Query::parse(&pairs("$top", "1000"), false)
                .unwrap_err()
                .message
                .contains("between 1 and 999")
        );
        let t = encode_skiptoken("abc");
        assert_eq!(
            Query::parse(&pairs("$skiptoken", &t), false)
                .unwrap()
                .skip_after
                .as_deref(),
            Some("abc")
        );
        assert!(Query::parse(&pairs("$skiptoken", "garbage!"), false).is_err());
    }
}
