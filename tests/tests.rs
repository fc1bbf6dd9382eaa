//! The one integration-test binary of the `entractl` package: one module per area.

mod schema;
mod util;
mod validate;
