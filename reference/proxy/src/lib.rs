//! refkube-proxy: the reference kube-proxy. It watches Services and EndpointSlices through
//! the API server and makes each `ClusterIP:port` reach a ready endpoint, in one of two
//! modes: `iptables` (the default: rules only, fed to `iptables-restore`) or `userspace`
//! (a real TCP/UDP proxy listening on each service address). Entry point: [`run`].
//!
//! Service IPs are virtual: in iptables mode only the DNAT rules know them, and in
//! userspace mode only the listened-on ports answer. Nothing answers ping on a ClusterIP
//! (no ICMP handling exists in either mode), and unknown ports on it are not answered.

pub mod categorize;
pub mod config;
pub mod iptables;
pub mod model;
pub mod run;
pub mod source;
pub mod tracker;
pub mod userspace;

#[cfg(test)]
mod fixtures;

pub use config::{ConfigError, IpFamily, ProxyConfig, ProxyMode};
pub use iptables::render;
pub use model::{
    EndpointInfo, Protocol, ProxyModel, ServicePortInfo, ServicePortName, build_model,
};
pub use run::{ProxyError, dry_run_render, run, run_with_source};
pub use source::{ModelFeed, ModelSource};
pub use userspace::UserspaceProxier;
