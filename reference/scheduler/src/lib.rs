//! refkube-scheduler: the reference kube-scheduler. An ordinary API client that watches
//! nodes and pods, runs upstream's filter and score plugins, and binds pods through
//! `pods/binding`. Entry point: [`run`]`(SchedulerConfig, kube::Client, shutdown)`.
//!
//! Layout follows upstream: `queue.rs` (active / backoff / unschedulable queues),
//! `cache.rs` (node infos with assumed pods), `framework/` (plugin traits, statuses),
//! `plugins/` (one file per plugin), `registry.rs` (the default profile and weights),
//! `schedule_one.rs` (the pure decision), `fit_error.rs` (the failure message),
//! `binding.rs` (what is written through the API), `informers.rs` (watches),
//! `scheduler.rs` (the driver, gated by leader election).

pub mod binding;
pub mod cache;
pub mod config;
pub mod fit_error;
pub mod framework;
pub mod informers;
pub mod plugins;
pub mod queue;
pub mod registry;
pub mod schedule_one;
pub mod scheduler;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod testing;

pub use config::{DEFAULT_SCHEDULER_NAME, SchedulerConfig};
pub use scheduler::{SchedulerError, run};
