//! The typed resource layer: one module per Entra object entractl reads or writes, and the only
//! place where Graph's facts about that object live — its paths and alternate keys, its
//! `$select`, its JSON shape (a serde struct that keeps the properties entractl does not model,
//! for read-modify-write), the bodies of its writes with Graph's PATCH semantics, the
//! replication rule of each write, and the least-privileged application permission Microsoft
//! documents for each operation.
//!
//! Every function here builds a [`crate::GraphRequest`] value or parses a value; nothing here sends a
//! request (the client and the [`crate::Loader`] do).

mod common;
mod de;

pub mod app_role_assignment;
pub mod application;
pub mod authentication_requirements;
pub mod conditional_access_policy;
pub mod conditional_access_settings;
pub mod deleted_item;
pub mod domain;
pub mod group;
pub mod home_realm_discovery_policy;
pub mod oauth2_permission_grant;
pub mod security_defaults;
pub mod service_principal;
pub mod subscribed_sku;
pub mod user;
pub mod what_if;

pub use common::{
    Operation, PAGE_SIZE, eq, has_tag, list, merge_patch, odata_str, while_replicating,
};
pub use de::parse;

/// Every operation of every resource.
pub fn operations() -> impl Iterator<Item = &'static Operation> {
    [
        application::OPERATIONS,
        service_principal::OPERATIONS,
        oauth2_permission_grant::OPERATIONS,
        app_role_assignment::OPERATIONS,
        user::OPERATIONS,
        group::OPERATIONS,
        conditional_access_policy::OPERATIONS,
        conditional_access_settings::OPERATIONS,
        what_if::OPERATIONS,
        security_defaults::OPERATIONS,
        authentication_requirements::OPERATIONS,
        deleted_item::OPERATIONS,
        subscribed_sku::OPERATIONS,
        domain::OPERATIONS,
        home_realm_discovery_policy::OPERATIONS,
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests;
