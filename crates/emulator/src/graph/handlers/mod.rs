//! One module per Graph object kind; [`execute`] dispatches a routed, authorised request.

pub mod applications;
pub mod assignments;
pub mod ca_settings;
pub mod common;
pub mod deleted;
pub mod directory;
pub mod execute;
pub mod grants;
pub mod home_realm;
pub mod organization;
pub mod policies;
pub mod service_principals;
pub mod what_if;
