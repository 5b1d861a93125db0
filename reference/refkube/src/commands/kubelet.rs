//! `refkube kubelet`: the kubelet's flags ([`KubeletFlags`], which `refkube node`
//! flattens too), the [`KubeletConfig`] they make, and the optional node route task
//! (`--node-routes`) that runs beside it. Entry points: [`KubeletFlags::config`],
//! [`run`].

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use k8s_openapi::api::core::v1::Taint;
use refkube_kubelet::network::route_sync::RouteSyncConfig;
use refkube_kubelet::{ImagePolicy, KubeletConfig, PodNetwork, RuntimeKind};

use super::parts::Parts;
use super::{ClientArgs, client};
use crate::components::VERSION;
use crate::network::ClusterNetwork;
use crate::pace::Pace;

/// The kubelet's own flags (no client, no pace: the commands that flatten these add
/// them once).
#[derive(Debug, Args)]
pub struct KubeletFlags {
    /// The node's name; also picks the defaults below (`node-3` → 127.0.1.3,
    /// 127.100.3.0/24).
    #[arg(long)]
    pub node_name: String,
    /// The node's InternalIP: the kubelet's log server binds it, and other nodes route
    /// this node's pod CIDR through it (`--node-routes`).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    /// Pod CIDR to take pod IPs from, registered as the Node's `spec.podCIDR` (default
    /// 127.100.N.0/24, or 10.244.N.0/24 with `--pod-network netns`).
    #[arg(long)]
    pub pod_cidr: Option<ipnet::IpNet>,
    /// How pods are networked: `loopback` (no privileges) or `netns` (root: a network
    /// namespace and a veth per pod).
    #[arg(long, default_value = "loopback")]
    pub pod_network: PodNetwork,
    /// Keep a route to every other node's pod CIDR via its InternalIP, as kindnetd does,
    /// so pods reach pods on other machines (needs `--pod-network netns` and a
    /// non-loopback `--node-ip`).
    #[arg(long)]
    pub node_routes: bool,
    /// Container runtime: `process` (real processes) or `sim` (simulated).
    #[arg(long, default_value = "process")]
    pub runtime: RuntimeKind,
    /// Images without a built-in workload: `strict` (ErrImagePull) or `pause-unknown`
    /// (they run as pause containers).
    #[arg(long)]
    pub image_policy: Option<ImagePolicy>,
    /// Directory of static pod manifests.
    #[arg(long)]
    pub pod_manifest_path: Option<PathBuf>,
    /// Kubelet HTTP port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Node labels, `key=value` (repeatable).
    #[arg(long = "node-labels", value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Taints, `key=value:Effect` (repeatable), as `--register-with-taints`.
    #[arg(long = "register-with-taints", value_delimiter = ',')]
    pub taints: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KubeletArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Timings: `upstream`, or `fast` as the in-process test cluster has them.
    #[arg(long, value_enum, default_value_t = Pace::Upstream)]
    pub pace: Pace,
    #[command(flatten)]
    pub kubelet: KubeletFlags,
}

impl KubeletFlags {
    /// The number at the end of the node name (`node-3` → 3), which picks defaults.
    fn number(&self) -> u16 {
        self.node_name
            .rsplit('-')
            .next()
            .and_then(|n| n.parse::<u16>().ok())
            .unwrap_or(1)
    }

    /// The kubelet's configuration, with the pace's timings.
    pub fn config(&self, pace: Pace) -> anyhow::Result<KubeletConfig> {
        let number = self.number();
        let netns = self.pod_network == PodNetwork::Netns;
        let mut config = KubeletConfig::for_node(number)
            .node_name(self.node_name.clone())
            .runtime(self.runtime)
            .pod_network(self.pod_network)
            .port(self.port)
            .timings(pace.kubelet_timings());
        if let Some(ip) = self.node_ip {
            config = config.node_ip(ip);
        }
        if self.pod_cidr.is_some() {
            config = config.pod_cidr(self.pod_cidr);
        } else if netns {
            let cidr = ClusterNetwork::for_mode(PodNetwork::Netns).node_pod_cidr(number.into())?;
            config = config.pod_cidr(Some(cidr));
        }
        if netns && let Some(cidr) = config.pod_cidr.filter(|c| c.addr().is_loopback()) {
            anyhow::bail!(
                "--pod-network netns cannot use the loopback pod CIDR {cidr}: inside a pod, 127.0.0.0/8 is the pod's own"
            );
        }
        if self.node_routes {
            check_node_routes(netns, self.node_ip)?;
        }
        if let Some(policy) = self.image_policy {
            config = config.image_policy(policy);
        }
        if let Some(dir) = &self.pod_manifest_path {
            config = config.static_pod_dir(dir.clone());
        }
        for label in &self.labels {
            let (k, v) = label
                .split_once('=')
                .with_context(|| format!("--node-labels: {label:?} is not key=value"))?;
            config = config.label(k, v);
        }
        for taint in &self.taints {
            config = config.taint(parse_taint(taint)?);
        }
        Ok(config)
    }

    /// The node route task's configuration, when `--node-routes` asks for one.
    pub fn routes(&self, pace: Pace) -> Option<RouteSyncConfig> {
        self.node_routes.then(|| {
            RouteSyncConfig::new(self.node_name.clone()).resync_period(pace.route_resync())
        })
    }

    /// The kubelet's User-Agent, upstream-style with the node.
    pub fn user_agent(&self) -> String {
        format!("kubelet/{VERSION} ({})", self.node_name)
    }
}

/// Node routes only make sense when pods have addresses of their own behind a veth and
/// other machines can reach this node by its InternalIP.
fn check_node_routes(netns: bool, node_ip: Option<IpAddr>) -> anyhow::Result<()> {
    if !netns {
        anyhow::bail!(
            "--node-routes needs --pod-network netns: loopback pod IPs are on this machine only"
        );
    }
    match node_ip {
        Some(ip) if !ip.is_loopback() && !ip.is_unspecified() => Ok(()),
        _ => anyhow::bail!(
            "--node-routes needs --node-ip with an address other nodes can reach: they route this node's pod CIDR through it"
        ),
    }
}

/// Adds the kubelet running `config` (from [`KubeletFlags::config`]), and the node route
/// task when asked for, to `parts`. The route task watches every Node, which the Node
/// authorizer does not let a kubelet do (it may read only its own): it runs with
/// `routes_client` when given (`refkube node` passes kube-proxy's, whose
/// `system:node-proxier` role reads Nodes, as kind's kindnetd has an account of its
/// own), else with the kubelet's.
pub async fn add_parts(
    parts: &mut Parts,
    client_args: &ClientArgs,
    routes_client: Option<&ClientArgs>,
    flags: &KubeletFlags,
    config: KubeletConfig,
    pace: Pace,
) -> anyhow::Result<()> {
    let client = client(client_args, &flags.user_agent()).await?;
    if let Some(routes) = flags.routes(pace) {
        let routes_client = match routes_client {
            Some(args) => super::client(args, &flags.user_agent()).await?,
            None => client.clone(),
        };
        let stop = parts.stopped();
        parts.add("node routes", async move {
            Ok(refkube_kubelet::network::route_sync::run(routes, routes_client, stop).await?)
        });
    }
    let stop = parts.stopped();
    parts.add("kubelet", async move {
        Ok(refkube_kubelet::run(config, client, stop).await?)
    });
    Ok(())
}

/// Runs the kubelet (and its node routes) until `shutdown`.
pub async fn run(a: KubeletArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let config = a.kubelet.config(a.pace)?;
    let mut parts = Parts::new();
    add_parts(&mut parts, &a.client, None, &a.kubelet, config, a.pace).await?;
    parts.run(shutdown).await
}

/// `key[=value]:Effect`, as `--register-with-taints` and `kubectl taint` write taints.
fn parse_taint(s: &str) -> anyhow::Result<Taint> {
    let (kv, effect) = s
        .rsplit_once(':')
        .with_context(|| format!("taint {s:?} has no :Effect"))?;
    if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        anyhow::bail!("taint {s:?}: effect must be NoSchedule, PreferNoSchedule or NoExecute");
    }
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k, Some(v.to_string())),
        None => (kv, None),
    };
    Ok(Taint {
        key: key.to_string(),
        value,
        effect: effect.to_string(),
        time_added: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Kubelet {
        #[command(flatten)]
        args: KubeletArgs,
    }

    fn parse(argv: &[&str]) -> KubeletArgs {
        Kubelet::parse_from(std::iter::once("kubelet").chain(argv.iter().copied())).args
    }

    #[test]
    fn taints_parse_as_kubectl_writes_them() {
        let t = parse_taint("dedicated=gpu:NoSchedule").unwrap();
        assert_eq!(
            (t.key.as_str(), t.value.as_deref()),
            ("dedicated", Some("gpu"))
        );
        assert_eq!(t.effect, "NoSchedule");
        let t = parse_taint("spot:NoExecute").unwrap();
        assert_eq!((t.key.as_str(), t.value), ("spot", None));
        assert!(parse_taint("spot").is_err());
        assert!(parse_taint("spot:Sometimes").is_err());
    }

    #[test]
    fn a_node_container_registers_its_own_ip_and_pod_cidr() {
        let a = parse(&[
            "--node-name=node-2",
            "--node-ip=172.30.7.12",
            "--pod-cidr=10.244.2.0/24",
            "--pod-network=netns",
            "--node-routes",
            "--pace=fast",
        ]);
        let c = a.kubelet.config(a.pace).unwrap();
        assert_eq!(c.node_ip.to_string(), "172.30.7.12");
        assert_eq!(
            c.pod_cidr.map(|c| c.to_string()).as_deref(),
            Some("10.244.2.0/24")
        );
        assert_eq!(c.timings, Pace::Fast.kubelet_timings());
        let routes = a.kubelet.routes(a.pace).unwrap();
        assert_eq!(routes.node_name, "node-2");
        assert_eq!(routes.resync_period, Pace::Fast.route_resync());
    }

    #[test]
    fn netns_without_a_pod_cidr_takes_the_nodes_24_of_10_244() {
        let a = parse(&["--node-name=node-3", "--pod-network=netns"]);
        let c = a.kubelet.config(a.pace).unwrap();
        assert_eq!(
            c.pod_cidr.map(|c| c.to_string()).as_deref(),
            Some("10.244.3.0/24")
        );
        assert_eq!(c.timings, refkube_kubelet::Timings::default());
        assert!(a.kubelet.routes(a.pace).is_none());
    }

    #[test]
    fn node_routes_need_netns_and_a_reachable_node_ip() {
        let err = |argv: &[&str]| {
            let a = parse(argv);
            a.kubelet.config(a.pace).unwrap_err().to_string()
        };
        let loopback = err(&["--node-name=n-1", "--node-routes", "--node-ip=10.0.0.1"]);
        assert!(loopback.contains("--pod-network netns"), "{loopback}");
        let no_ip = err(&["--node-name=n-1", "--node-routes", "--pod-network=netns"]);
        assert!(no_ip.contains("--node-ip"), "{no_ip}");
        let lo_ip = err(&[
            "--node-name=n-1",
            "--node-routes",
            "--pod-network=netns",
            "--node-ip=127.0.1.1",
        ]);
        assert!(lo_ip.contains("--node-ip"), "{lo_ip}");
    }
}
