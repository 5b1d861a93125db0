//! refkube: the reference Kubernetes control plane as one binary and as a library.
//!
//! Entry points: [`cluster::Cluster::start`] (in-process cluster, used by the harness)
//! and [`cli::run`] (what `main` calls with the parsed command line).
//!
//! Commands: `refkube up` (everything in one process), `refkube apiserver`, and one per
//! component ([`commands`]): `scheduler`, `controller-manager`, `kubelet`, `proxy`, and
//! `node`, a node's kubelet and kube-proxy in one process, which with `--pod-network
//! netns --node-routes` also routes to other nodes' pods (what a node container of the
//! `containers` target runs). `--pace fast` gives any of them the in-process test
//! cluster's timings ([`pace`]), so a cluster of separate processes fails over as fast.

pub mod agnhost;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod components;
pub mod kubeconfig;
pub mod network;
pub mod pace;

pub use cluster::{Cluster, ClusterConfig};
