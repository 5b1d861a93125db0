//! The Deployment controller (§4): rolls a pod template out through ReplicaSets.
//! `util` holds upstream's helpers, `plan` the pure decision (a replay of upstream's sync
//! on in-memory ReplicaSets), `driver` the I/O. Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
pub mod reasons;
pub mod util;
