//! The cluster's network: its pod and Service ranges for each pod network mode, the
//! kube-proxy mode that suits the pod network ([`resolve_proxy_mode`]), the route that
//! lets kube-proxy's userspace mode serve Service IPs in `netns` mode, and moving a whole
//! process into a network namespace of its own. Entry points: [`ClusterNetwork`],
//! [`resolve_proxy_mode`], [`ServiceRoute`], [`isolate_process`].
//!
//! In `netns` mode every pod sits behind a veth on this machine's network stack, which
//! all nodes share (they are one machine), so routes between nodes' pods need nothing
//! beyond the per-pod host routes the kubelets add. (Nodes that are machines of their
//! own, `refkube node --node-routes`, route each other's pod CIDRs instead: see
//! `refkube_kubelet::network::route_sync`.) Service IPs are not loopback
//! addresses there (a pod's `127.0.0.0/8` is its own). While the kube-proxies run in
//! userspace mode, which listens on each ClusterIP itself, the Service range is routed to
//! this machine as a `local` route, so a pod's connection to a ClusterIP arrives through
//! its veth at the proxy (and, unlike upstream's userspace mode, the kernel then answers
//! ping on ClusterIPs). In iptables mode there is no such route: a ClusterIP is nobody's
//! address and only the DNAT rules for the Service's ports answer, as upstream.
//!
//! iptables mode is the default wherever it can run: with the `netns` pod network, as
//! root, with the iptables tools installed. With the `loopback` pod network the proxies
//! stay in userspace mode, since pods and Services there are this machine's own loopback
//! addresses and rules for them would rewrite its netfilter tables for nothing.

use anyhow::{Context as _, bail};
use ipnet::{IpNet, Ipv4Net};
pub use refkube_kubelet::PodNetwork;
use refkube_kubelet::network::{NetworkError, run};
pub use refkube_kubelet::network::{installed, preflight};
use refkube_proxy::ProxyMode;

/// The cluster's address plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterNetwork {
    /// How pods are networked.
    pub mode: PodNetwork,
    /// The pod range (`--cluster-cidr`); node `n` gets its `n`-th /24.
    pub cluster_cidr: Ipv4Net,
    /// The Service range (`--service-cluster-ip-range`).
    pub service_range: Ipv4Net,
}

fn net(a: [u8; 4], len: u8) -> Ipv4Net {
    Ipv4Net::new(a.into(), len).unwrap_or_default()
}

impl ClusterNetwork {
    /// The default plan of `mode`: loopback ranges (`127.100.0.0/16` for pods,
    /// `127.10.0.0/16` for Services) so that nothing needs privileges, or upstream's
    /// usual `10.244.0.0/16` and `10.96.0.0/16` for `netns`.
    pub fn for_mode(mode: PodNetwork) -> Self {
        let (pods, services) = match mode {
            PodNetwork::Loopback => (net([127, 100, 0, 0], 16), net([127, 10, 0, 0], 16)),
            PodNetwork::Netns => (net([10, 244, 0, 0], 16), net([10, 96, 0, 0], 16)),
        };
        Self {
            mode,
            cluster_cidr: pods,
            service_range: services,
        }
    }

    /// The default plan of `mode` for a cluster of `nodes` nodes: the default cluster
    /// CIDR, widened (keeping its address, aligned down) until it holds a /24 for each
    /// node, as `refkube up --nodes N` needs without a `--cluster-cidr`.
    pub fn for_nodes(mode: PodNetwork, nodes: usize) -> Self {
        let mut plan = Self::for_mode(mode);
        let mut prefix = plan.cluster_cidr.prefix_len();
        while prefix > 8 && node_capacity(prefix) < nodes {
            prefix -= 1;
        }
        plan.cluster_cidr = net(plan.cluster_cidr.network().octets(), prefix).trunc();
        plan
    }

    /// Fails, saying what would fit, when the cluster CIDR has fewer than `nodes` node
    /// pod CIDRs (a /24 each; the first one is never handed out).
    pub fn check_fits(&self, nodes: usize) -> anyhow::Result<()> {
        let capacity = node_capacity(self.cluster_cidr.prefix_len());
        if capacity < nodes {
            let mut needed = 24u8;
            while needed > 0 && node_capacity(needed) < nodes {
                needed -= 1;
            }
            bail!(
                "--cluster-cidr {} holds {capacity} node pod CIDRs (a /24 per node, the first one unused), \
                 too few for {nodes} nodes: use a /{needed} or larger, or leave --cluster-cidr out to get one that fits",
                self.cluster_cidr
            );
        }
        Ok(())
    }

    /// Node `n`'s pod CIDR (1-based): the `n`-th /24 of the cluster CIDR.
    pub fn node_pod_cidr(&self, n: usize) -> anyhow::Result<IpNet> {
        let size = if self.cluster_cidr.prefix_len() <= 24 {
            1usize << (24 - self.cluster_cidr.prefix_len())
        } else {
            0
        };
        if n >= size {
            bail!(
                "the cluster CIDR {} holds {} node pod CIDRs (/24, the first one unused); node {n} does not fit",
                self.cluster_cidr,
                size.saturating_sub(1)
            );
        }
        self.cluster_cidr
            .subnets(24)
            .ok()
            .and_then(|mut s| s.nth(n))
            .map(IpNet::V4)
            .with_context(|| format!("no /24 number {n} in {}", self.cluster_cidr))
    }

    /// Checks that the ranges fit the mode and do not overlap.
    pub fn validate(&self) -> anyhow::Result<()> {
        let (pods, services) = (self.cluster_cidr, self.service_range);
        if pods.contains(&services.network()) || services.contains(&pods.network()) {
            bail!("the cluster CIDR {pods} and the Service range {services} overlap");
        }
        if self.mode == PodNetwork::Netns {
            for (what, range) in [("cluster CIDR", pods), ("Service range", services)] {
                if range.network().is_loopback() {
                    bail!(
                        "with --pod-network netns the {what} cannot be a loopback range ({range}): inside a pod, 127.0.0.0/8 is the pod's own"
                    );
                }
            }
        }
        Ok(())
    }
}

/// How many nodes a cluster CIDR of this prefix length serves with a /24 each (the
/// first /24 is never handed out).
fn node_capacity(prefix: u8) -> usize {
    if prefix > 24 {
        return 0;
    }
    (1usize << (24 - prefix)) - 1
}

/// The programs kube-proxy's iptables mode runs.
pub const IPTABLES_TOOLS: &[&str] = &["iptables", "iptables-save", "iptables-restore"];

/// Why kube-proxy's iptables mode cannot run on this machine, if it cannot: it needs
/// root (CAP_NET_ADMIN) and the iptables tools.
pub fn iptables_unusable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("it needs root (CAP_NET_ADMIN) to write netfilter rules".into());
    }
    IPTABLES_TOOLS
        .iter()
        .find(|t| !installed(t))
        .map(|t| format!("{t} is not on PATH (apt-get install iptables)"))
}

/// The kube-proxy mode of a cluster networked the `network` way: `requested` if given,
/// else iptables where it can run (the `netns` pod network, root, the iptables tools),
/// else userspace. An explicit iptables request that cannot run is an error saying why.
pub fn resolve_proxy_mode(
    requested: Option<ProxyMode>,
    network: PodNetwork,
) -> anyhow::Result<ProxyMode> {
    choose_proxy_mode(requested, network, iptables_unusable())
}

/// [`resolve_proxy_mode`] with the machine's answer given (pure, for tests).
fn choose_proxy_mode(
    requested: Option<ProxyMode>,
    network: PodNetwork,
    unusable: Option<String>,
) -> anyhow::Result<ProxyMode> {
    match (requested, network, unusable) {
        (Some(ProxyMode::Userspace), _, _) => Ok(ProxyMode::Userspace),
        (Some(ProxyMode::Iptables), PodNetwork::Loopback, _) => bail!(
            "--proxy-mode iptables needs --pod-network netns: with the loopback pod network, pods and Services are this machine's own loopback addresses (use --proxy-mode userspace)"
        ),
        (Some(ProxyMode::Iptables), PodNetwork::Netns, Some(why)) => {
            bail!("--proxy-mode iptables cannot run here: {why} (use --proxy-mode userspace)")
        }
        (Some(ProxyMode::Iptables), PodNetwork::Netns, None) => Ok(ProxyMode::Iptables),
        (None, PodNetwork::Netns, None) => Ok(ProxyMode::Iptables),
        (None, _, _) => Ok(ProxyMode::Userspace),
    }
}

/// Removes what kube-proxy's iptables mode wrote in this machine's tables (upstream's
/// `kube-proxy --cleanup`); failures are logged.
pub async fn remove_proxy_rules() {
    let config = refkube_proxy::ProxyConfig::default();
    if let Err(e) = refkube_proxy::iptables::cleanup::cleanup(&config).await {
        tracing::warn!(error = %e, "removing kube-proxy's iptables rules");
    }
}

/// `net.ipv4.conf.all.route_localnet`, which upstream's kube-proxy sets to 1 in iptables
/// mode (with `--iptables-localhost-nodeports`, the default) so that DNAT to a loopback
/// address works for packets from other interfaces. Here it matters for the `kubernetes`
/// Service, whose endpoint is the API server's loopback address unless it advertises
/// another: pods reach it through the ClusterIP only with this set.
const ROUTE_LOCALNET: &str = "/proc/sys/net/ipv4/conf/all/route_localnet";

/// Sets `route_localnet` to 1; returns the value it had, for [`restore_route_localnet`].
pub fn enable_route_localnet() -> Option<String> {
    let before = std::fs::read_to_string(ROUTE_LOCALNET).ok()?;
    if before.trim() != "1"
        && let Err(e) = std::fs::write(ROUTE_LOCALNET, "1")
    {
        tracing::warn!(error = %e, "setting {ROUTE_LOCALNET}; pods cannot reach loopback endpoints");
        return None;
    }
    Some(before.trim().to_string())
}

/// Puts back the value [`enable_route_localnet`] found.
pub fn restore_route_localnet(before: &str) {
    if before != "1"
        && let Err(e) = std::fs::write(ROUTE_LOCALNET, before)
    {
        tracing::warn!(error = %e, "restoring {ROUTE_LOCALNET}");
    }
}

/// The `local` route of the Service range in `netns` mode; removed by
/// [`ServiceRoute::remove`].
#[derive(Debug)]
pub struct ServiceRoute {
    range: Ipv4Net,
}

impl ServiceRoute {
    /// Routes `range` to this machine (`ip route replace local <range> dev lo`).
    pub async fn add(range: Ipv4Net) -> anyhow::Result<Self> {
        ip_route("replace", range).await?;
        Ok(Self { range })
    }

    /// Removes the route.
    pub async fn remove(self) {
        if let Err(e) = ip_route("del", self.range).await {
            tracing::warn!(error = %e, range = %self.range, "removing the Service range's route");
        }
    }
}

async fn ip_route(verb: &str, range: Ipv4Net) -> Result<(), NetworkError> {
    let range = range.to_string();
    run(
        format!("ip route {verb} local {range} (the Service range's route to this machine)"),
        "ip",
        &["route", verb, "local", &range, "dev", "lo"],
        None,
    )
    .await
}

/// Moves this process into a new network namespace holding only an `lo` that is up, so
/// that a `netns` cluster run by tests leaves the machine's network untouched (the
/// namespace goes when the process ends). Call it before any thread starts: a network
/// namespace is per thread, and only threads started afterwards inherit it.
pub fn isolate_process() -> anyhow::Result<()> {
    preflight()?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
        .context("creating a network namespace for this process")?;
    let status = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .context("running ip")?;
    if !status.success() {
        bail!("ip link set lo up failed in the new network namespace");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iptables_is_the_default_only_where_it_can_run() {
        use PodNetwork::{Loopback, Netns};
        let no = || Some("not root".to_string());
        assert_eq!(
            choose_proxy_mode(None, Netns, None).unwrap(),
            ProxyMode::Iptables
        );
        assert_eq!(
            choose_proxy_mode(None, Netns, no()).unwrap(),
            ProxyMode::Userspace
        );
        assert_eq!(
            choose_proxy_mode(None, Loopback, None).unwrap(),
            ProxyMode::Userspace
        );
        let user = Some(ProxyMode::Userspace);
        assert_eq!(
            choose_proxy_mode(user, Netns, None).unwrap(),
            ProxyMode::Userspace
        );
        let ipt = Some(ProxyMode::Iptables);
        assert_eq!(
            choose_proxy_mode(ipt, Netns, None).unwrap(),
            ProxyMode::Iptables
        );
        let err = choose_proxy_mode(ipt, Netns, no()).unwrap_err().to_string();
        assert!(err.contains("cannot run here: not root"), "{err}");
        let err = choose_proxy_mode(ipt, Loopback, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs --pod-network netns"), "{err}");
    }

    #[test]
    fn nodes_get_consecutive_24s_of_the_cluster_cidr() {
        let n = ClusterNetwork::for_mode(PodNetwork::Netns);
        assert_eq!(n.node_pod_cidr(1).unwrap().to_string(), "10.244.1.0/24");
        assert_eq!(n.node_pod_cidr(3).unwrap().to_string(), "10.244.3.0/24");
        let l = ClusterNetwork::for_mode(PodNetwork::Loopback);
        assert_eq!(l.node_pod_cidr(2).unwrap().to_string(), "127.100.2.0/24");
    }

    #[test]
    fn a_cluster_cidr_too_small_for_the_nodes_is_an_error() {
        let n = ClusterNetwork {
            cluster_cidr: net([10, 1, 0, 0], 23),
            ..ClusterNetwork::for_mode(PodNetwork::Netns)
        };
        assert!(n.node_pod_cidr(1).is_ok());
        let err = n.node_pod_cidr(2).unwrap_err().to_string();
        assert!(err.contains("holds 1 node pod CIDRs"), "{err}");
    }

    #[test]
    fn the_default_cluster_cidr_grows_with_the_node_count_and_stays_valid() {
        for (mode, nodes, want) in [
            (PodNetwork::Loopback, 3, "127.100.0.0/16"),
            (PodNetwork::Loopback, 255, "127.100.0.0/16"),
            (PodNetwork::Loopback, 256, "127.100.0.0/15"),
            (PodNetwork::Loopback, 1000, "127.100.0.0/14"),
            (PodNetwork::Loopback, 5000, "127.96.0.0/11"),
            (PodNetwork::Netns, 1000, "10.244.0.0/14"),
        ] {
            let plan = ClusterNetwork::for_nodes(mode, nodes);
            assert_eq!(plan.cluster_cidr.to_string(), want, "{mode:?} {nodes}");
            plan.validate().unwrap();
            plan.check_fits(nodes).unwrap();
            assert!(plan.node_pod_cidr(nodes).is_ok());
        }
    }

    #[test]
    fn an_explicit_cluster_cidr_too_small_for_the_nodes_is_refused_up_front() {
        let n = ClusterNetwork::for_mode(PodNetwork::Loopback);
        n.check_fits(255).unwrap();
        let err = n.check_fits(1000).unwrap_err().to_string();
        assert!(
            err.contains("127.100.0.0/16 holds 255 node pod CIDRs")
                && err.contains("use a /14 or larger"),
            "{err}"
        );
    }

    #[test]
    fn the_defaults_are_valid_and_netns_refuses_loopback_or_overlapping_ranges() {
        for mode in [PodNetwork::Loopback, PodNetwork::Netns] {
            ClusterNetwork::for_mode(mode).validate().unwrap();
        }
        let loopback_in_netns = ClusterNetwork {
            mode: PodNetwork::Netns,
            ..ClusterNetwork::for_mode(PodNetwork::Loopback)
        };
        let err = loopback_in_netns.validate().unwrap_err().to_string();
        assert!(err.contains("cannot be a loopback range"), "{err}");
        let overlapping = ClusterNetwork {
            service_range: net([10, 244, 128, 0], 20),
            ..ClusterNetwork::for_mode(PodNetwork::Netns)
        };
        assert!(
            overlapping
                .validate()
                .unwrap_err()
                .to_string()
                .contains("overlap")
        );
    }
}
