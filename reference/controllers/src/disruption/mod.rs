//! The disruption controller (upstream `pkg/controller/disruption`): keeps each
//! PodDisruptionBudget's status (how many pods are healthy, how many must be, how many
//! may be disrupted) current for the eviction API. `plan` decides, `driver` writes.
//! Beside it, on its own queue, it sets a pod's stale `DisruptionTarget` condition (a
//! disruption that never led to a deletion) back to False: `stale` decides, `cleanup`
//! writes. Entry point: [`driver::start`].

pub mod cleanup;
pub mod driver;
pub mod plan;
pub mod scale;
pub mod stale;
