//! The node lifecycle controller (§5): marks silent nodes Unknown, keeps condition taints
//! (NoSchedule at once, NoExecute through per-zone rate limits), and marks pods on
//! not-ready nodes not Ready. `health`, `taints`, `zones` and `plan` decide, `driver`
//! acts. Entry point: [`driver::start`].

pub mod driver;
pub mod health;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod taints;
pub mod zones;
