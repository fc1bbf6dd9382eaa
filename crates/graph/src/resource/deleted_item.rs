//! `directory/deletedItems`: soft-deleted applications (restorable for 30 days, with the same
//! object id and client id) and users.

use serde::{Deserialize, Serialize};

use super::common::Operation;
use super::{application, de, user};
use crate::request::GraphRequest;

/// The deleted applications: the OData cast is required (`microsoft.graph.application`; the
/// filters Graph supports on `application` apply to it, `directory-deleteditems-list.md`).
pub const DELETED_APPLICATIONS: &str = "/directory/deletedItems/microsoft.graph.application";

/// How long Entra keeps a deleted application or user restorable.
pub const RESTORE_WINDOW_DAYS: i64 = 30;

pub const OPERATIONS: &[Operation] = &[
    Operation::new(
        "GET",
        "/directory/deletedItems/microsoft.graph.application",
        "Application.Read.All",
    ),
    Operation::new("GET", "/directory/deletedItems/{}", "User.Read.All"),
    Operation::new(
        "POST",
        "/directory/deletedItems/{}/restore",
        "Application.ReadWrite.OwnedBy (for apps it owns) or Application.ReadWrite.All",
    ),
];

/// A deleted application: the application as it was, and when it was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedApplication {
    #[serde(default, deserialize_with = "de::string")]
    pub deleted_date_time: Option<String>,
    #[serde(flatten)]
    pub app: application::Application,
}

/// The deleted applications matching `filter` (`uniqueName`, tag or appId).
pub fn find_deleted_applications(filter: String, label: impl Into<String>) -> GraphRequest {
    let mut select: Vec<&str> = application::SELECT.to_vec();
    select.push("deletedDateTime");
    GraphRequest::get(DELETED_APPLICATIONS)
        .query("$filter", filter)
        .select(&select)
        .label(label.into())
}

/// A deleted user by object id (404 when it is not among the deleted items).
pub fn get_deleted_user(id: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::get(format!(
        "/directory/deletedItems/{}",
        id.trim().to_ascii_lowercase()
    ))
    .select(user::SELECT)
    .label(label.into())
}

/// Restore the deleted item `id` (same object id; for an application, the same client id).
pub fn restore(id: &str, label: impl Into<String>) -> GraphRequest {
    GraphRequest::post(format!("/directory/deletedItems/{id}/restore")).label(label.into())
}
