//! The StatefulSet controller: pods with stable names and claims, created in order
//! (OrderedReady) or all at once (Parallel), updated from the highest ordinal down.
//! `plan` decides, `driver` writes. Entry point: [`driver::start`].

pub mod driver;
pub mod plan;
