//! The file as a tree of YAML nodes with their places: used for the structural checks (all
//! errors at once) and to find the location of any value by its dotted path.

use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

/// Byte range of a node in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub offset: usize,
    pub len: usize,
}

impl Span {
    fn of(loc: &serde_saphyr::Location) -> Span {
        let span = loc.span();
        Span {
            offset: usize::try_from(span.byte_offset().unwrap_or(0)).unwrap_or(0),
            len: usize::try_from(span.byte_len().unwrap_or(0)).unwrap_or(0),
        }
    }
}

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<SNode>),
    Map(Vec<(SKey, SNode)>),
}

/// A node and its place.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SNode {
    pub node: Node,
    pub span: Span,
}

/// A mapping key and its place.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SKey {
    pub key: String,
    pub span: Span,
}

impl Node {
    /// What the node is, in the words of an error message.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Node::Null => "nothing (null)",
            Node::Bool(_) => "a boolean",
            Node::Int(_) => "a number",
            Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

impl SNode {
    /// The node at a dotted path such as `assignments.users[2]` or
    /// `app.apiPermissions.Microsoft Graph.delegated[1]`, and the span of that value (for a
    /// mapping entry, the value; `key_span` says where its key is).
    pub fn find(&self, path: &str) -> Option<(&SNode, Option<Span>)> {
        let mut node = self;
        let mut key_span = None;
        let mut rest = path;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']')?;
                let index: usize = r[..end].trim().parse().ok()?;
                let Node::Seq(items) = &node.node else {
                    return None;
                };
                node = items.get(index)?;
                key_span = None;
                rest = &r[end + 1..];
                rest = rest.strip_prefix('.').unwrap_or(rest);
                continue;
            }
            let Node::Map(entries) = &node.node else {
                return None;
            };
            // The longest key that matches at a segment boundary (keys may contain dots).
            let (k, v) = entries
                .iter()
                .filter(|(k, _)| {
                    rest.strip_prefix(k.key.as_str())
                        .is_some_and(|after| after.is_empty() || after.starts_with(['.', '[']))
                })
                .max_by_key(|(k, _)| k.key.len())?;
            node = v;
            key_span = Some(k.span);
            rest = &rest[k.key.len()..];
            rest = rest.strip_prefix('.').unwrap_or(rest);
        }
        Some((node, key_span))
    }
}

impl<'de> Deserialize<'de> for SNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Node>::deserialize(deserializer)?;
        Ok(SNode {
            node: spanned.value,
            span: Span::of(&spanned.referenced),
        })
    }
}

impl<'de> Deserialize<'de> for SKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<String>::deserialize(deserializer)?;
        Ok(SKey {
            key: spanned.value,
            span: Span::of(&spanned.referenced),
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Int(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
                Ok(Node::Int(v))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
                Ok(i128::try_from(v).map_or(Node::Str(v.to_string()), Node::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<SNode>()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<SKey>()? {
                    let value = map.next_value::<SNode>()?;
                    entries.push((key, value));
                }
                Ok(Node::Map(entries))
            }
        }
        deserializer.deserialize_any(NodeVisitor)
    }
}
