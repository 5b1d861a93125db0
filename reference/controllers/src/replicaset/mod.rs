//! The ReplicaSet controller (§3): keeps `spec.replicas` pods matching the selector.
//! `plan` is the pure decision, `ranking` the deletion order, `kind` reads ReplicaSets and
//! ReplicationControllers alike, `driver` does the I/O. Entry point: [`driver::start`].

pub mod driver;
pub mod kind;
pub mod plan;
pub mod ranking;
