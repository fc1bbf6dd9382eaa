//! One module per subcommand. The dispatch is in `cli.rs`; commands never import it.

pub mod apply;
pub mod apply_log;
pub mod completions;
pub mod destroy;
pub mod explain;
pub mod export;
pub mod fleet;
pub mod github;
pub mod permissions;
pub mod plan;
pub mod schema;
pub mod validate;
pub mod verify;
pub mod verify_signin;
