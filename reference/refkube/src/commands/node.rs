//! `refkube node`: what a node machine (or node container) runs, the kubelet and
//! kube-proxy in one process, plus with `--node-routes` the routes to other nodes' pods.
//! The flags are the kubelet's and kube-proxy's own ([`KubeletFlags`], [`ProxyFlags`]);
//! the node name and IP are given once and serve both. Entry point: [`run`].

use std::path::PathBuf;

use clap::Args;

use super::ClientArgs;
use super::kubelet::{self, KubeletFlags};
use super::parts::Parts;
use super::proxy::{self, ProxyFlags};
use crate::pace::Pace;

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Kubeconfig the kubelet uses; best one for the node's own identity,
    /// `system:node:<name>` (default: $KUBECONFIG, then ~/.kube/config).
    #[command(flatten)]
    pub client: ClientArgs,
    /// Kubeconfig kube-proxy (and the node routes, which read every Node) use, for
    /// its own identity `system:kube-proxy` (default: the kubelet's).
    #[arg(long)]
    pub proxy_kubeconfig: Option<PathBuf>,
    /// Timings of both agents: `upstream`, or `fast` as the in-process test cluster
    /// has them.
    #[arg(long, value_enum, default_value_t = Pace::Upstream)]
    pub pace: Pace,
    #[command(flatten)]
    pub kubelet: KubeletFlags,
    #[command(flatten)]
    pub proxy: ProxyFlags,
}

impl NodeArgs {
    /// How kube-proxy finds the API server.
    fn proxy_client(&self) -> ClientArgs {
        ClientArgs {
            kubeconfig: self
                .proxy_kubeconfig
                .clone()
                .or_else(|| self.client.kubeconfig.clone()),
        }
    }
}

/// Runs the node's agents until `shutdown`, or until one of them ends.
pub async fn run(a: NodeArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let config = a.kubelet.config(a.pace)?;
    let node_ip = config.node_ip;
    let mut parts = Parts::new();
    let proxy_client = a.proxy_client();
    kubelet::add_parts(
        &mut parts,
        &a.client,
        Some(&proxy_client),
        &a.kubelet,
        config,
        a.pace,
    )
    .await?;
    let name = &a.kubelet.node_name;
    proxy::add_parts(
        &mut parts,
        &proxy_client,
        &a.proxy,
        name,
        Some(node_ip),
        a.pace,
    )
    .await?;
    parts.run(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use refkube_kubelet::PodNetwork;
    use refkube_proxy::ProxyMode;

    #[derive(Debug, Parser)]
    struct Node {
        #[command(flatten)]
        args: NodeArgs,
    }

    fn parse(argv: &[&str]) -> NodeArgs {
        Node::parse_from(std::iter::once("node").chain(argv.iter().copied())).args
    }

    #[test]
    fn a_node_containers_command_line_configures_both_agents() {
        let a = parse(&[
            "--kubeconfig=/etc/refkube/node-2.kubeconfig",
            "--proxy-kubeconfig=/etc/refkube/kube-proxy.kubeconfig",
            "--node-name=node-2",
            "--node-ip=172.30.7.12",
            "--pod-cidr=10.244.2.0/24",
            "--cluster-cidr=10.244.0.0/16",
            "--pod-network=netns",
            "--node-routes",
            "--pod-manifest-path=/etc/refkube/manifests",
            "--pace=fast",
        ]);
        assert_eq!(a.kubelet.pod_network, PodNetwork::Netns);
        assert!(a.kubelet.node_routes);
        assert_eq!(a.proxy.mode, ProxyMode::Iptables);
        let kubelet = a.kubelet.config(a.pace).unwrap();
        let proxy = a
            .proxy
            .config(&a.kubelet.node_name, Some(kubelet.node_ip), a.pace);
        assert_eq!(proxy.node_name, "node-2");
        assert_eq!(proxy.node_ip, Some(kubelet.node_ip));
        assert_eq!(
            proxy.cluster_cidr.map(|c| c.to_string()).as_deref(),
            Some("10.244.0.0/16")
        );
        assert_eq!(
            proxy.min_sync_period,
            Pace::Fast.proxy(proxy.clone()).min_sync_period
        );
        assert_eq!(
            a.proxy_client().kubeconfig,
            Some(PathBuf::from("/etc/refkube/kube-proxy.kubeconfig"))
        );
    }

    #[test]
    fn without_its_own_kubeconfig_kube_proxy_uses_the_kubelets() {
        let a = parse(&[
            "--node-name=node-1",
            "--kubeconfig=/k",
            "--proxy-mode=userspace",
        ]);
        assert_eq!(a.proxy_client().kubeconfig, Some(PathBuf::from("/k")));
        assert_eq!(a.proxy.mode, ProxyMode::Userspace);
        assert_eq!(a.pace, Pace::Upstream);
    }
}
