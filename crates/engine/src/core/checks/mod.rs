//! Checks that add notes to a plan without changing anything: pure functions of the desired and
//! the observed state, run by [`crate::core::diff`] after the kinds.

pub mod password_sign_in;
