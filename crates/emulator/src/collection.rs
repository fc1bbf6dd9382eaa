//! A collection of directory objects keyed by id, with a secondary index for key lookups.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::record::Record;

/// A collection of directory objects keyed by id. Iteration order is by id, which is the order the
/// emulator pages in (Graph documents no order for these lists).
///
/// `userPrincipalName` and `appId` lookups use a secondary index (so a 100,000-user tenant answers
/// `GET /users/{upn}` without a scan). The index is authoritative only while no record has been handed
/// out mutably since the last [`Collection::reindex`]; otherwise lookups fall back to a scan.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Collection {
    items: BTreeMap<String, Record>,
    #[serde(skip)]
    index: HashMap<String, String>,
    #[serde(skip)]
    fresh: bool,
}

/// The properties the secondary index covers.
const INDEXED: &[&str] = &["userPrincipalName", "appId"];

fn index_key(prop: &str, value: &str) -> String {
    format!("{prop}\u{1}{}", value.to_ascii_lowercase())
}

impl Collection {
    /// Number of objects, visible or not.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when the collection holds no object.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The object with this id (case-insensitive GUIDs are stored lower-case).
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.items.get(id).or_else(|| {
            let lower = id.to_ascii_lowercase();
            if lower != id {
                self.items.get(&lower)
            } else {
                None
            }
        })
    }
    /// Mutable access to the object with this id.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Record> {
        self.fresh = false;
        if self.items.contains_key(id) {
            return self.items.get_mut(id);
        }
        self.items.get_mut(&id.to_ascii_lowercase())
    }
    fn unindex(&mut self, id: &str) {
        if let Some(old) = self.items.get(id) {
            for p in INDEXED {
                if let Some(v) = old.str(p) {
                    let k = index_key(p, v);
                    if self.index.get(&k).is_some_and(|i| i == id) {
                        self.index.remove(&k);
                    }
                }
            }
        }
    }
    fn add_to_index(&mut self, record: &Record) {
        for p in INDEXED {
            if let Some(v) = record.str(p) {
                self.index
                    .entry(index_key(p, v))
                    .or_insert_with(|| record.id().to_string());
            }
        }
    }
    /// Insert or replace an object (keyed by its `id`).
    pub fn insert(&mut self, record: Record) {
        let id = record.id().to_string();
        if self.fresh {
            self.unindex(&id);
            self.add_to_index(&record);
        }
        self.items.insert(id, record);
    }
    /// Remove the object with this id.
    pub fn remove(&mut self, id: &str) -> Option<Record> {
        let key = if self.items.contains_key(id) {
            id.to_string()
        } else {
            id.to_ascii_lowercase()
        };
        if self.fresh {
            self.unindex(&key);
        }
        self.items.remove(&key)
    }
    /// All objects, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Record> {
        self.items.values()
    }
    /// All objects, mutably, in id order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Record> {
        self.fresh = false;
        self.items.values_mut()
    }
    /// Objects whose id is strictly greater than `after` (for `$skiptoken` paging).
    pub fn iter_after<'a>(
        &'a self,
        after: Option<&str>,
    ) -> Box<dyn Iterator<Item = &'a Record> + 'a> {
        use std::ops::Bound;
        match after {
            Some(a) => Box::new(
                self.items
                    .range::<str, _>((Bound::Excluded(a), Bound::Unbounded))
                    .map(|(_, r)| r),
            ),
            None => Box::new(self.items.values()),
        }
    }
    /// The first object whose string property `key` equals `value` (case-insensitive).
    pub fn find_by(&self, key: &str, value: &str) -> Option<&Record> {
        if self.fresh && INDEXED.contains(&key) {
            return self
                .index
                .get(&index_key(key, value))
                .and_then(|id| self.items.get(id))
                .filter(|r| r.str(key).is_some_and(|v| v.eq_ignore_ascii_case(value)));
        }
        self.items
            .values()
            .find(|r| r.str(key).is_some_and(|v| v.eq_ignore_ascii_case(value)))
    }
    /// Mutable version of [`Collection::find_by`].
    pub fn find_by_mut(&mut self, key: &str, value: &str) -> Option<&mut Record> {
        let id = self.find_by(key, value).map(|r| r.id().to_string())?;
        self.get_mut(&id)
    }
    /// Rebuild the secondary index if a record was handed out mutably since the last rebuild.
    pub fn reindex(&mut self) {
        if self.fresh {
            return;
        }
        let mut index = HashMap::with_capacity(self.items.len());
        for r in self.items.values() {
            for p in INDEXED {
                if let Some(v) = r.str(p) {
                    index
                        .entry(index_key(p, v))
                        .or_insert_with(|| r.id().to_string());
                }
            }
        }
        self.index = index;
        self.fresh = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use serde_json::json;

    fn rec(id: &str, upn: &str) -> Record {
        let Value::Object(o) = json!({"id": id, "userPrincipalName": upn}) else {
            unreachable!()
        };
        Record::new(o)
    }

    #[test]
    fn index_finds_inserted_and_forgets_removed_and_survives_direct_edits() {
        let mut c = Collection::default();
        c.insert(rec("1", "a@x.com"));
        c.reindex();
        c.insert(rec("2", "B@x.com"));
        assert_eq!(
            c.find_by("userPrincipalName", "b@X.com").map(Record::id),
            Some("2")
        );
        c.remove("2");
        assert!(c.find_by("userPrincipalName", "b@x.com").is_none());
        // a direct edit through get_mut makes lookups scan until the next reindex
        c.get_mut("1")
            .unwrap()
            .obj
            .insert("userPrincipalName".into(), json!("renamed@x.com"));
        assert_eq!(
            c.find_by("userPrincipalName", "renamed@x.com")
                .map(Record::id),
            Some("1")
        );
        assert!(c.find_by("userPrincipalName", "a@x.com").is_none());
        c.reindex();
        assert_eq!(
            c.find_by("userPrincipalName", "renamed@x.com")
                .map(Record::id),
            Some("1")
        );
        // replacing a record re-indexes it
        c.insert(rec("1", "again@x.com"));
        assert!(c.find_by("userPrincipalName", "renamed@x.com").is_none());
        assert_eq!(
            c.find_by("userPrincipalName", "again@x.com")
                .map(Record::id),
            Some("1")
        );
    }
}
