//! The one-component commands: `refkube scheduler`, `controller-manager`, `kubelet`
//! and `proxy`, each an ordinary API client of whatever API server a kubeconfig names
//! (refkube's or a real kube-apiserver), as the separate binaries are upstream.
//!
//! Entry point: [`run`] with a parsed [`ComponentCommand`].

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use k8s_openapi::api::core::v1::Taint;
use refkube_common::leader_election::LeaderElectionConfig;
use refkube_controllers::ControllerManagerConfig;
use refkube_kubelet::{ImagePolicy, KubeletConfig, PodNetwork, RuntimeKind};
use refkube_proxy::{ProxyConfig, ProxyMode};
use refkube_scheduler::SchedulerConfig;

use crate::components::{VERSION, client_as};
use crate::network::ClusterNetwork;

/// The components that run on their own.
#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Run only the scheduler against an API server.
    Scheduler(SchedulerArgs),
    /// Run only the controller manager against an API server.
    ControllerManager(ControllerManagerArgs),
    /// Run one node's kubelet against an API server.
    Kubelet(KubeletArgs),
    /// Run one node's kube-proxy against an API server.
    Proxy(ProxyArgs),
}

/// How a component finds the API server.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Kubeconfig of the API server (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
}

/// Upstream's leader election flags (`--leader-elect-*`).
#[derive(Debug, Args)]
pub struct ElectionArgs {
    /// Elect a leader among replicas through a Lease before doing any work.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// How long a lease is valid without renewal (e.g. `15s`).
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader retries renewing before giving up (e.g. `10s`).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub leader_elect_renew_deadline: Duration,
    /// Time between acquire/renew attempts (e.g. `2s`).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub leader_elect_retry_period: Duration,
}

impl ElectionArgs {
    fn config(&self, component: &str) -> Option<LeaderElectionConfig> {
        self.leader_elect.then(|| {
            LeaderElectionConfig::for_component(component)
                .lease_duration(self.leader_elect_lease_duration)
                .renew_deadline(self.leader_elect_renew_deadline)
                .retry_period(self.leader_elect_retry_period)
        })
    }
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub election: ElectionArgs,
    /// Serve pods whose `spec.schedulerName` is this. A second scheduler with another
    /// name runs beside the default one; name its Lease with `--lock-object-name`.
    #[arg(long, default_value = refkube_scheduler::DEFAULT_SCHEDULER_NAME)]
    pub scheduler_name: String,
    /// The Lease (in kube-system) replicas of this scheduler elect a leader on.
    #[arg(long, default_value = "kube-scheduler")]
    pub lock_object_name: String,
}

#[derive(Debug, Args)]
pub struct ControllerManagerArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub election: ElectionArgs,
    /// Controllers to run, comma-separated (`*` = all), as upstream's `--controllers`.
    #[arg(long, value_delimiter = ',')]
    pub controllers: Vec<String>,
    /// `--node-monitor-grace-period`.
    #[arg(long, default_value = "50s", value_parser = humantime::parse_duration)]
    pub node_monitor_grace_period: Duration,
    /// `--node-monitor-period`.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub node_monitor_period: Duration,
}

#[derive(Debug, Args)]
pub struct KubeletArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The node's name; also picks the defaults below (`node-3` → 127.0.1.3,
    /// 127.100.3.0/24).
    #[arg(long)]
    pub node_name: String,
    /// The node's InternalIP (the kubelet's log server binds it).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    /// Pod CIDR to take pod IPs from (default 127.100.N.0/24, or 10.244.N.0/24 with
    /// `--pod-network netns`).
    #[arg(long)]
    pub pod_cidr: Option<ipnet::IpNet>,
    /// How pods are networked: `loopback` (no privileges) or `netns` (root: a network
    /// namespace and a veth per pod).
    #[arg(long, default_value = "loopback")]
    pub pod_network: PodNetwork,
    /// Container runtime: `process` (real processes) or `sim` (simulated).
    #[arg(long, default_value = "process")]
    pub runtime: RuntimeKind,
    /// Images without a built-in workload: `strict` (ErrImagePull) or `pause`.
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
pub struct ProxyArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The node this proxy serves.
    #[arg(long, default_value = "node-1")]
    pub node_name: String,
    /// `iptables` (rules only; needs root) or `userspace` (a real proxy per Service).
    #[arg(long, default_value = "iptables")]
    pub mode: ProxyMode,
    /// Print the iptables-restore input once and exit instead of applying it.
    #[arg(long)]
    pub dry_run: bool,
    /// Pod network, for telling pod traffic from outside traffic.
    #[arg(long)]
    pub cluster_cidr: Option<ipnet::IpNet>,
}

/// Runs a component until Ctrl-C.
pub async fn run(cmd: ComponentCommand) -> anyhow::Result<()> {
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match cmd {
        ComponentCommand::Scheduler(a) => {
            let mut config = SchedulerConfig::default().scheduler_name(a.scheduler_name);
            config.leader_election = a
                .election
                .config(&a.lock_object_name)
                .map(|le| le.lease("kube-system", a.lock_object_name.clone()));
            let client = client(&a.client, &format!("kube-scheduler/{VERSION}")).await?;
            Ok(refkube_scheduler::run(config, client, shutdown).await?)
        }
        ComponentCommand::ControllerManager(a) => {
            let mut config = ControllerManagerConfig::default()
                .leader_election(a.election.config("kube-controller-manager"))
                .node_monitor_period(a.node_monitor_period)
                .node_monitor_grace_period(a.node_monitor_grace_period);
            if !a.controllers.is_empty() {
                config = config.controllers(a.controllers);
            }
            let client = client(&a.client, &format!("kube-controller-manager/{VERSION}")).await?;
            Ok(refkube_controllers::run(config, client, shutdown).await?)
        }
        ComponentCommand::Kubelet(a) => {
            let config = kubelet_config(&a)?;
            let agent = format!("kubelet/{VERSION} ({})", a.node_name);
            let client = client(&a.client, &agent).await?;
            Ok(refkube_kubelet::run(config, client, shutdown).await?)
        }
        ComponentCommand::Proxy(a) => {
            let mut config = ProxyConfig::new(a.node_name.clone())
                .mode(a.mode)
                .dry_run(a.dry_run);
            if let Some(cidr) = a.cluster_cidr {
                config = config.cluster_cidr(cidr);
            }
            let client = client(
                &a.client,
                &format!("kube-proxy/{VERSION} ({})", a.node_name),
            )
            .await?;
            if a.dry_run {
                print!("{}", refkube_proxy::dry_run_render(&config, client).await?);
                return Ok(());
            }
            Ok(refkube_proxy::run(config, client, shutdown).await?)
        }
    }
}

fn kubelet_config(a: &KubeletArgs) -> anyhow::Result<KubeletConfig> {
    let number = a
        .node_name
        .rsplit('-')
        .next()
        .and_then(|n| n.parse::<u16>().ok())
        .unwrap_or(1);
    let mut config = KubeletConfig::for_node(number)
        .node_name(a.node_name.clone())
        .runtime(a.runtime)
        .pod_network(a.pod_network)
        .port(a.port);
    if let Some(ip) = a.node_ip {
        config = config.node_ip(ip);
    }
    if a.pod_cidr.is_some() {
        config = config.pod_cidr(a.pod_cidr);
    } else if a.pod_network == PodNetwork::Netns {
        let cidr = ClusterNetwork::for_mode(PodNetwork::Netns).node_pod_cidr(number.into())?;
        config = config.pod_cidr(Some(cidr));
    }
    if a.pod_network == PodNetwork::Netns
        && let Some(cidr) = config.pod_cidr.filter(|c| c.addr().is_loopback())
    {
        anyhow::bail!(
            "--pod-network netns cannot use the loopback pod CIDR {cidr}: inside a pod, 127.0.0.0/8 is the pod's own"
        );
    }
    if let Some(policy) = a.image_policy {
        config = config.image_policy(policy);
    }
    if let Some(dir) = &a.pod_manifest_path {
        config = config.static_pod_dir(dir.clone());
    }
    for label in &a.labels {
        let (k, v) = label
            .split_once('=')
            .with_context(|| format!("--node-labels: {label:?} is not key=value"))?;
        config = config.label(k, v);
    }
    for taint in &a.taints {
        config = config.taint(parse_taint(taint)?);
    }
    Ok(config)
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

/// A client from `--kubeconfig` (or the usual inference) sending `agent`.
async fn client(a: &ClientArgs, agent: &str) -> anyhow::Result<kube::Client> {
    let config = match &a.kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?
        }
        None => kube::Config::infer()
            .await
            .context("no --kubeconfig, and none could be inferred")?,
    };
    Ok(client_as(&config, agent)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
