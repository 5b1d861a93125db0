//! kubeproof: a Gherkin conformance suite for Kubernetes control-plane mechanics, and the
//! harness that runs it on any target.
//!
//! Entry point: [`run`] with a [`RunConfig`] and a [`targets::Target`]. `kubeproof run` and
//! `tests/conformance.rs` call it; steps live in [`steps`], the features in `features/`.

pub mod config;
pub mod context;
pub mod diagnostics;
pub mod kinds;
pub mod observe;
pub mod perf;
pub mod plan;
pub mod report;
mod run;
pub mod snapshot;
pub mod steps;
pub mod targets;
pub mod test_main;
pub mod wait;
pub mod world;

pub use config::{RunConfig, Timings};
pub use report::Results;
pub use run::run;
pub use world::KubeWorld;
