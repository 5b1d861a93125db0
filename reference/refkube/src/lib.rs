//! refkube: the reference Kubernetes control plane as one binary and as a library.
//!
//! Entry points: [`cluster::Cluster::start`] (in-process cluster, used by the harness)
//! and [`cli::run`] (what `main` calls with the parsed command line).

pub mod agnhost;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod components;
pub mod kubeconfig;
pub mod network;

pub use cluster::{Cluster, ClusterConfig};
