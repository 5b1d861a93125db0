//! The pod garbage collector: force-deletes pods bound to nodes that no longer exist
//! (after a quarantine, marking them DisruptionTarget), unscheduled pods being deleted,
//! and terminated pods beyond `--terminated-pod-gc-threshold`. Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
