//! The disruption controller (upstream `pkg/controller/disruption`): keeps each
//! PodDisruptionBudget's status (how many pods are healthy, how many must be, how many
//! may be disrupted) current for the eviction API. `plan` decides, `driver` writes.
//! Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
pub mod scale;
