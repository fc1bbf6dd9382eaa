//! graph-emulator binary.
fn main() {}
