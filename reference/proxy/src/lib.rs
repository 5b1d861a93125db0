//! refkube-proxy: the reference kube-proxy. It watches Services and EndpointSlices through
//! the API server and makes each `ClusterIP:port` reach a ready endpoint, in one of two
//! modes: `iptables` (the default: rules only, fed to `iptables-restore`) or `userspace`
//! (a real TCP/UDP proxy listening on each service address). Entry point: [`run()`].
//!
//! Layout: [`tracker`] (watches) → [`model`] (pure: objects → service ports + endpoints) →
//! [`categorize`] (pure: which endpoints a port uses) → [`iptables`] (pure renderer +
//! applier) or [`userspace`] (listeners + round-robin [`userspace::balancer`]); [`run()`]
//! drives one of the two from any [`ModelSource`], paced by [`limiter`].
//!
//! Service IPs are virtual: in iptables mode only the DNAT rules know them, so nothing
//! answers ping on a ClusterIP, nor on a port the Service does not declare
//! (`features/networking/proxy-modes.feature` checks both on real rules). In userspace
//! mode only the listened-on ports are served, but the listener binds the ClusterIP
//! itself, so the address must be local to the machine (a loopback range in `refkube up`,
//! a `local` route with the `netns` pod network) and the kernel answers ping on it and
//! refuses its other ports; upstream's userspace mode redirected with iptables instead.

//! Where the reference differs from upstream, on purpose:
//! - The restore input is printed in the canonical order of upstream's test helper
//!   (`sortIPTablesRules`) instead of upstream's random map order; the mark prints as
//!   `0x4000` (what upstream's tests and `iptables-save` show), not Go's `%#08x`.
//! - Not implemented: nfacct counters, `--nodeport-addresses`, topology hints, partial
//!   syncs, conntrack cleanup of stale UDP flows, the health-check node-port server.
//! - userspace mode serves ClusterIPs only (no NodePorts, external IPs or load-balancer
//!   IPs); endpoints rotate in `ip:port` order rather than shuffled; a connection to a
//!   service port without endpoints is reset at once (UDP datagrams are dropped).
//! - An EndpointSlice port without a name counts as the unnamed port (upstream skips it).

pub mod categorize;
pub mod config;
pub mod iptables;
pub mod limiter;
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
