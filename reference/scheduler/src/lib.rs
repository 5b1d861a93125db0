//! refkube-scheduler: the reference kube-scheduler. An ordinary API client that watches
//! nodes and pods, runs upstream's filter and score plugins, and binds pods through
//! `pods/binding`. Entry point: [`run`] (see `scheduler.rs`).
//!
//! Layout follows upstream: `queue.rs` (active / backoff / unschedulable queues),
//! `cache.rs` (node infos with assumed pods), `framework/` (plugin traits, statuses),
//! `plugins/` (one file per plugin), `registry.rs` (the default profile and weights),
//! `schedule_one.rs` (the pure decision), `fit_error.rs` (the failure message).

pub mod fit_error;
pub mod framework;
pub mod plugins;
pub mod registry;
pub mod schedule_one;

#[cfg(test)]
mod testing;
