//! refkube
fn main() {}
