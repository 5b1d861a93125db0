//! How a component sees the cluster: one client-side runtime on kube-runtime's watcher
//! (list, then watch from the list's revision, resumed when a watch closes, re-listed when
//! it expires) and reflector stores. Every component builds on one of three layers:
//!
//! - [`watch::events`]: the raw event stream of one watch, retried with backoff, for
//!   components that keep their own cache (the scheduler's nodes and pods, the kubelet's
//!   own pods, the garbage collector's monitors).
//! - [`Informer`]: a reflector store plus a broadcast of each [`Change`] (old and new
//!   object), for any selection (`watcher::Config` with label or field selectors), with
//!   [`Informer::wait_synced`] as the hook for "the first list is in".
//! - [`SharedInformers`]: one cluster-wide [`Informer`] per type, shared by every
//!   controller of a process and started together.

mod informer;
mod shared;
pub mod watch;

pub use informer::{Change, Informed, Informer, NotSynced, relist_changes};
pub use shared::SharedInformers;
