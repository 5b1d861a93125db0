//! `refkube proxy`: kube-proxy's flags ([`ProxyFlags`], which `refkube node` flattens
//! too) and the [`ProxyConfig`] they make. Entry points: [`ProxyFlags::config`], [`run`].

use std::net::IpAddr;

use clap::Args;
use ipnet::Ipv4Net;
use refkube_proxy::{ProxyConfig, ProxyMode};

use super::parts::Parts;
use super::{ClientArgs, client};
use crate::components::VERSION;
use crate::network::ServiceRoute;
use crate::pace::Pace;

/// kube-proxy's own flags (no client, node or pace: the commands that flatten these
/// add them once).
#[derive(Debug, Args)]
pub struct ProxyFlags {
    /// `iptables` (rules only; needs root) or `userspace` (a real proxy per Service).
    #[arg(
        long = "proxy-mode",
        visible_alias = "mode",
        default_value = "iptables"
    )]
    pub mode: ProxyMode,
    /// Pod network, for telling pod traffic from outside traffic.
    #[arg(long)]
    pub cluster_cidr: Option<ipnet::IpNet>,
    /// Userspace mode only: the Service range to route to this machine (a `local` route
    /// while the proxy runs), so its listeners can bind ClusterIPs that are not loopback
    /// addresses, as `refkube up --pod-network netns` does.
    #[arg(long)]
    pub service_cluster_ip_range: Option<Ipv4Net>,
}

impl ProxyFlags {
    /// kube-proxy's configuration for `node`, with the pace's sync limits.
    pub fn config(&self, node: &str, node_ip: Option<IpAddr>, pace: Pace) -> ProxyConfig {
        let mut config = ProxyConfig::new(node).mode(self.mode);
        if let Some(ip) = node_ip {
            config = config.node_ip(ip);
        }
        if let Some(cidr) = self.cluster_cidr {
            config = config.cluster_cidr(cidr);
        }
        pace.proxy(config)
    }
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Timings: `upstream`, or `fast` as the in-process test cluster has them.
    #[arg(long, value_enum, default_value_t = Pace::Upstream)]
    pub pace: Pace,
    /// The node this proxy serves.
    #[arg(long, default_value = "node-1")]
    pub node_name: String,
    /// Print the iptables-restore input once and exit instead of applying it.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub proxy: ProxyFlags,
}

fn user_agent(node: &str) -> String {
    format!("kube-proxy/{VERSION} ({node})")
}

/// Adds kube-proxy for `node` to `parts`, with the Service range's route when its
/// userspace listeners need one.
pub async fn add_parts(
    parts: &mut Parts,
    client_args: &ClientArgs,
    flags: &ProxyFlags,
    node: &str,
    node_ip: Option<IpAddr>,
    pace: Pace,
) -> anyhow::Result<()> {
    let config = flags.config(node, node_ip, pace);
    let client = client(client_args, &user_agent(node)).await?;
    let route = match (config.mode, flags.service_cluster_ip_range) {
        (ProxyMode::Userspace, Some(range)) => Some(ServiceRoute::add(range).await?),
        _ => None,
    };
    let stop = parts.stopped();
    parts.add("kube-proxy", async move {
        let result = refkube_proxy::run(config, client, stop).await;
        if let Some(route) = route {
            route.remove().await;
        }
        Ok(result?)
    });
    Ok(())
}

/// Runs kube-proxy until `shutdown` (or, with `--dry-run`, prints its rules once).
pub async fn run(a: ProxyArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    if a.dry_run {
        let config = a.proxy.config(&a.node_name, None, a.pace).dry_run(true);
        let client = client(&a.client, &user_agent(&a.node_name)).await?;
        print!("{}", refkube_proxy::dry_run_render(&config, client).await?);
        return Ok(());
    }
    let mut parts = Parts::new();
    add_parts(&mut parts, &a.client, &a.proxy, &a.node_name, None, a.pace).await?;
    parts.run(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Proxy {
        #[command(flatten)]
        args: ProxyArgs,
    }

    fn parse(argv: &[&str]) -> ProxyArgs {
        Proxy::parse_from(std::iter::once("proxy").chain(argv.iter().copied())).args
    }

    #[test]
    fn iptables_is_the_default_and_mode_still_names_the_flag() {
        assert_eq!(parse(&[]).proxy.mode, ProxyMode::Iptables);
        assert_eq!(
            parse(&["--mode", "userspace"]).proxy.mode,
            ProxyMode::Userspace
        );
        assert_eq!(
            parse(&["--proxy-mode=userspace"]).proxy.mode,
            ProxyMode::Userspace
        );
    }

    #[test]
    fn the_pace_sets_the_sync_limits_and_the_cluster_cidr_is_kept() {
        let a = parse(&["--pace", "fast", "--cluster-cidr", "10.244.0.0/16"]);
        let c = a.proxy.config("node-2", None, a.pace);
        assert_eq!(
            c,
            Pace::Fast
                .proxy(ProxyConfig::new("node-2").cluster_cidr("10.244.0.0/16".parse().unwrap()))
        );
        let upstream = parse(&[]).proxy.config("node-1", None, Pace::Upstream);
        assert_eq!(
            upstream.min_sync_period,
            ProxyConfig::default().min_sync_period
        );
    }
}
