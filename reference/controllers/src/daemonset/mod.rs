//! The DaemonSet controller: one pod per eligible node, including nodes that join later,
//! each pinned to its node by required node affinity, rolled by revision hash.
//! `plan` decides, `driver` writes. Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
