//! The garbage collector: deletes objects whose owners are gone (Background), deletes
//! dependents before an owner with the `foregroundDeletion` finalizer (Foreground), and
//! strips owner references before letting an owner with the `orphan` finalizer go
//! (Orphan). `graph` is the ownership graph, `plan` the per-object decision, `monitors`
//! the dynamic watches re-synced with discovery, `driver` the workers and writes.
//! Entry point: [`driver::start`].

pub mod discovery;
pub mod driver;
pub mod graph;
pub mod monitors;
pub mod plan;
