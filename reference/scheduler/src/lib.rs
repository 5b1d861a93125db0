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
//!
//! Where the reference differs from upstream on purpose:
//! - No preemption: the FitError carries the message DefaultPreemption prints when it finds
//!   nothing to evict (`fit_error.rs`); pods are never evicted to make room.
//! - No VolumeBinding / VolumeZone / volume-limit plugins (no CSI or PV topology model);
//!   VolumeRestrictions is implemented.
//! - Requeueing uses coarse cluster events (a node added or changed in labels, spec,
//!   allocatable or images; a bound pod deleted or finished) instead of per-plugin
//!   QueueingHints; backoff and the 5-minute flush bound every retry.
//! - Events are core/v1 Events (upstream's scheduler writes events.k8s.io/v1).
//! - Pod affinity `matchLabelKeys` are expected merged into the selector by the API server
//!   (upstream 1.31+); topology spread `matchLabelKeys` are merged here.
//! - `--config` honours only `percentageOfNodesToScore` (global and per profile) and one
//!   profile's name and disabled plugins (`config_file.rs`); other fields are refused.
//! - On lost leadership the scheduler campaigns again instead of exiting the process.

pub mod binding;
pub mod cache;
pub mod config;
pub mod config_file;
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
