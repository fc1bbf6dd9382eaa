//! Writing to stdout: a closed pipe (`entractl … | head`) is not an error.

use std::io::Write;

use crate::error::CommandError;

pub fn stdout(text: &str) -> Result<(), CommandError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CommandError::Stdout)
}
