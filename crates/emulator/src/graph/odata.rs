//! OData plumbing shared by every Graph route: error bodies, query options (`$select`, `$filter`,
//! `$top`, `$skiptoken`), paging and `@odata.context`.

use base64::Engine;
use serde_json::Map;

pub use crate::graph::error::GraphError;
pub use crate::graph::filter::{Clause, Filter, Filterable};
use crate::state::Obj;

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
    use serde_json::{Value, json};

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
