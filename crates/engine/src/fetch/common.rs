//! What the parts of fetch share: promises several parts wait for, parsing a collection, a
//! lookup by key.

use std::sync::Arc;

use entractl_graph::GraphError;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ReadError;

/// A read several parts of fetch wait for.
pub(crate) type Promise<'a, T> = Shared<BoxFuture<'a, Result<Arc<T>, ReadError>>>;

/// Makes a read that several parts of fetch wait for.
pub(crate) fn promise<'a, T: Send + Sync + 'a>(
    f: impl std::future::Future<Output = Result<T, ReadError>> + Send + 'a,
) -> Promise<'a, T> {
    f.map(|r| r.map(Arc::new)).boxed().shared()
}

/// The objects of a collection that parse (others skipped).
pub(crate) fn parsed<T: DeserializeOwned>(values: Vec<Value>) -> Vec<T> {
    values
        .iter()
        .filter_map(entractl_graph::resource::parse::<T>)
        .collect()
}

/// A lookup by key: the object, nothing for a 404, or the error.
pub(crate) fn ok_or_absent(
    r: Result<Value, GraphError>,
    what: &str,
) -> Result<Option<Value>, ReadError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(source) => Err(ReadError {
            what: what.to_string(),
            source,
        }),
    }
}
