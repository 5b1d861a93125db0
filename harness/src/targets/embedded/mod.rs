//! The `embedded` target: the reference (`refkube`) started in this process.
//!
//! Entry point: [`EmbeddedTarget::new`] with an [`EmbeddedConfig`]. Ordinary scenarios share
//! one cluster, started on first use; `@disruptive` scenarios each get their own.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use refkube::cluster::{Cluster, ClusterConfig, Customize};
use refkube::components::{CONTROLLER_MANAGER, SCHEDULER, kubelet_name, proxy_name};
use refkube::network::{ClusterNetwork, PodNetwork};
use tokio::sync::Mutex;

mod components;
mod network;

pub use components::{BadComponent, Components};
pub use network::{PodNetworkChoice, SCENARIO_TOOLS, installed, prepare};

use super::{Capability, Fault, Session, SessionNeeds, Target, TargetError};

/// Configuration of the embedded target.
#[derive(Clone, Debug, Default)]
pub struct EmbeddedConfig {
    /// The components its clusters run.
    pub components: Components,
    /// The base cluster configuration (listen address, store, API server settings);
    /// `nodes`, `audit` and `state_dir` are set from `components`.
    pub cluster: ClusterConfig,
}

impl EmbeddedConfig {
    /// Sets the components the clusters run.
    pub fn components(mut self, components: Components) -> Self {
        self.components = components;
        self
    }

    /// Sets the base cluster configuration.
    pub fn cluster(mut self, cluster: ClusterConfig) -> Self {
        self.cluster = cluster;
        self
    }
}

/// One started cluster and the directory holding its audit log.
struct Running {
    /// `<dir>/<node>/` is each kubelet's static pod manifest directory.
    static_root: PathBuf,
    cluster: Cluster,
    audit_path: Option<PathBuf>,
    _state: tempfile::TempDir,
}

/// The reference in-process.
pub struct EmbeddedTarget {
    config: EmbeddedConfig,
    shared: Mutex<Option<Arc<Running>>>,
}

impl EmbeddedTarget {
    /// A target whose clusters run what `config` says.
    pub fn new(config: EmbeddedConfig) -> Self {
        Self {
            config,
            shared: Mutex::new(None),
        }
    }

    async fn start(&self, without_nodes: bool) -> Result<Running, TargetError> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            TargetError::Unavailable(format!("{what}: {e:#}"))
        };
        let state = tempfile::Builder::new()
            .prefix("kubeproof-embedded-")
            .tempdir()
            .map_err(|e| unavailable("creating the cluster's state dir", &e))?;
        let c = &self.config.components;
        let (scheduler, controllers, proxy) = (c.scheduler, c.controllers, c.proxy);
        let earlier = self.config.cluster.customize.clone();
        let static_root = state.path().join("static-pods");
        let cfg = self
            .config
            .cluster
            .clone()
            .nodes(if without_nodes { 0 } else { c.nodes })
            .control_plane(scheduler || controllers)
            // With faults on, a standby of each runs, so failover can be observed.
            .control_plane_replicas(if c.faults { 2 } else { 1 })
            .network(distinct_ranges(self.config.cluster.network.mode))
            .state_dir(state.path().to_path_buf())
            .audit(c.audit_log)
            .customize({
                let static_root = static_root.clone();
                move |components| {
                    if let Some(Customize(f)) = &earlier {
                        f(components);
                    }
                    // Each kubelet watches its own manifest directory, so scenarios can place
                    // static pods on a chosen node.
                    for k in &mut components.kubelets {
                        if k.static_pod_dir.is_none() {
                            let dir = static_root.join(&k.node_name);
                            // A kubelet may refuse a missing directory.
                            let _ = std::fs::create_dir_all(&dir);
                            k.static_pod_dir = Some(dir);
                        }
                    }
                    if !scheduler {
                        components.scheduler = None;
                    }
                    if !controllers {
                        components.controller_manager = None;
                    }
                    if !proxy {
                        components.proxies.clear();
                    }
                }
            });
        let cluster = Cluster::start(cfg)
            .await
            .map_err(|e| unavailable("starting the reference", &e))?;
        Ok(Running {
            static_root,
            cluster,
            audit_path: c.audit_log.then(|| state.path().join("audit.log")),
            _state: state,
        })
    }
}

/// Pod and Service ranges no other cluster of this process uses: the shared cluster and
/// each dedicated one live side by side on one network stack, where equal pod IPs or
/// ClusterIPs would take each other's routes and ports. Cluster `k` gets
/// `X.(100+k).0.0/17` for pods and `X.(100+k).128.0/17` for Services, with X = 127
/// (loopback) or 10 (netns), cycling after 100 clusters.
fn distinct_ranges(mode: PodNetwork) -> ClusterNetwork {
    use std::sync::atomic::{AtomicU8, Ordering};
    static NEXT: AtomicU8 = AtomicU8::new(0);
    let k = NEXT
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| {
            Some((k + 1) % 100)
        })
        .unwrap_or(0);
    let first = if mode == PodNetwork::Netns { 10 } else { 127 };
    let block = |third: u8| ipnet::Ipv4Net::new([first, 100 + k, third, 0].into(), 17);
    ClusterNetwork {
        mode,
        cluster_cidr: block(0).unwrap_or_default(),
        service_range: block(128).unwrap_or_default(),
    }
}

/// Why the embedded cluster lacks a component, in the words the report prints.
fn not_running(what: &str) -> Option<String> {
    Some(format!("the embedded cluster does not run {what} yet"))
}

#[async_trait]
impl Target for EmbeddedTarget {
    fn name(&self) -> &str {
        "embedded"
    }

    fn lacks(&self, cap: Capability) -> Option<String> {
        let c = &self.config.components;
        match cap {
            Capability::Scheduler if !c.scheduler => not_running("a scheduler"),
            Capability::Controllers if !c.controllers => not_running("the controller manager"),
            Capability::Nodes if c.nodes == 0 => not_running("any node (kubelet)"),
            Capability::Proxy if !c.proxy => not_running("kube-proxy"),
            Capability::AuditLog if !c.audit_log => {
                Some("the embedded cluster was configured without an audit log".into())
            }
            Capability::StopComponent | Capability::LoseNode if !c.faults => {
                Some("faults are switched off for this embedded target".into())
            }
            Capability::ProxyModes if self.config.cluster.network.mode != PodNetwork::Netns => Some(
                "with the loopback pod network the embedded cluster's kube-proxies stay in userspace mode: iptables mode would rewrite this machine's own netfilter tables (run as root: the netns pod network gives the run a network namespace of its own)".into(),
            ),
            Capability::ProxyModes if !installed("iptables-restore") => Some(
                "iptables-restore is not installed, which kube-proxy's iptables mode runs (apt-get install iptables)".into(),
            ),
            Capability::InClusterKubectl if self.config.cluster.listen.ip().is_loopback() => Some(
                "the embedded API server listens on loopback, which inside a pod is the pod itself, so the kubernetes Service cannot reach it from a pod (the containers target runs in-cluster clients)".into(),
            ),
            Capability::InClusterKubectl if self.config.cluster.network.mode != PodNetwork::Netns => Some(
                "with the loopback pod network a pod has no mount namespace, so no service account token is mounted at the in-cluster path (run as root for the netns pod network)".into(),
            ),
            Capability::InClusterKubectl if !installed("kubectl") => Some(
                "this machine has no `kubectl`, which the reference's kubectl image runs".into(),
            ),
            Capability::Ping if !installed("ping") => Some(
                "this machine has no `ping`, which the reference's busybox image runs (apt-get install iputils-ping)".into(),
            ),
            Capability::PartitionComponent | Capability::PartitionNode => Some(
                "the embedded target's components share one network stack; partitions need the containers target".into(),
            ),
            Capability::StopApiServerReplica | Capability::StopStoreMember => {
                Some("the embedded cluster runs a single API server on one store".into())
            }
            Capability::KillSandbox
                if self.config.cluster.runtime != refkube_kubelet::RuntimeKind::Process =>
            {
                Some("the embedded cluster's kubelets run the sim runtime, whose sandboxes have no pause process to kill".into())
            }
            Capability::Compact if !c.compact => {
                Some("compaction on demand is switched off for this target".into())
            }
            Capability::Containers => Some("the embedded target runs no containers".into()),
            Capability::SharedNetns if self.config.cluster.network.mode != PodNetwork::Netns => Some(
                "the embedded cluster uses the loopback pod network, where a pod's containers share no network namespace and meet on the pod IP instead; run as root for the netns pod network (see refkube-kubelet's docs)".into(),
            ),
            _ => None,
        }
    }

    async fn session(&self, needs: &SessionNeeds) -> Result<Box<dyn Session>, TargetError> {
        let dedicated = needs.dedicated || needs.without_nodes;
        let running = if dedicated {
            Arc::new(self.start(needs.without_nodes).await?)
        } else {
            let mut shared = self.shared.lock().await;
            match shared.as_ref() {
                Some(r) => r.clone(),
                None => {
                    let r = Arc::new(self.start(false).await?);
                    *shared = Some(r.clone());
                    r
                }
            }
        };
        let client =
            running.cluster.client().await.map_err(|e| {
                TargetError::Unavailable(format!("client for the reference: {e:#}"))
            })?;
        Ok(Box::new(EmbeddedSession {
            running: Mutex::new(Some(running)),
            client,
            dedicated,
        }))
    }

    async fn shutdown(&self) {
        if let Some(r) = self.shared.lock().await.take() {
            stop(r).await;
        }
    }
}

/// Shuts a cluster down once nobody else holds it.
async fn stop(running: Arc<Running>) {
    if let Ok(r) = Arc::try_unwrap(running) {
        r.cluster.shutdown().await;
    }
}

/// The reference's name for a component a scenario names by its Lease (upstream's
/// component names) or by the reference's own name (`kubelet/node-1`).
fn component_name(component: &str) -> String {
    match component {
        "kube-scheduler" => SCHEDULER.to_string(),
        "kube-controller-manager" => CONTROLLER_MANAGER.to_string(),
        other => other.to_string(),
    }
}

async fn stop_component(running: &Running, name: &str) -> Result<(), TargetError> {
    running
        .cluster
        .components()
        .stop(name)
        .await
        .map_err(|e| TargetError::FaultUnsupported(e.to_string()))
}

async fn restart_component(running: &Running, name: &str) -> Result<(), TargetError> {
    running
        .cluster
        .components()
        .restart(name)
        .await
        .map_err(|e| TargetError::FaultUnsupported(e.to_string()))
}

struct EmbeddedSession {
    running: Mutex<Option<Arc<Running>>>,
    client: kube::Client,
    dedicated: bool,
}

#[async_trait]
impl Session for EmbeddedSession {
    fn client(&self) -> kube::Client {
        self.client.clone()
    }

    async fn inject(&self, fault: &Fault) -> Result<(), TargetError> {
        let guard = self.running.lock().await;
        let running = guard
            .as_ref()
            .ok_or_else(|| TargetError::Unavailable("the session was released".into()))?;
        match fault {
            Fault::Compact => {
                let store = running.cluster.store();
                let rev = store.current_revision().await.map_err(|e| {
                    TargetError::Unavailable(format!("reading the store revision: {e}"))
                })?;
                store
                    .compact(rev)
                    .await
                    .map_err(|e| TargetError::Unavailable(format!("compacting the store: {e}")))
            }
            Fault::StopComponent {
                component,
                instance,
            } => {
                // "Stop the current holder": the instance is a Lease holder identity.
                let name = running
                    .cluster
                    .components()
                    .component_holding(instance)
                    .unwrap_or_else(|| component_name(component));
                stop_component(running, &name).await
            }
            Fault::StartComponent { component, .. } => {
                restart_component(running, &component_name(component)).await
            }
            Fault::LoseNode { node } => {
                stop_component(running, &kubelet_name(node)).await?;
                if running
                    .cluster
                    .components()
                    .names()
                    .contains(&proxy_name(node))
                {
                    stop_component(running, &proxy_name(node)).await?;
                }
                Ok(())
            }
            Fault::RestoreNode { node } => {
                restart_component(running, &kubelet_name(node)).await?;
                if running
                    .cluster
                    .components()
                    .names()
                    .contains(&proxy_name(node))
                {
                    restart_component(running, &proxy_name(node)).await?;
                }
                Ok(())
            }
            Fault::ProxyMode { mode } => {
                let mode = mode
                    .parse::<refkube_proxy::ProxyMode>()
                    .map_err(|e| TargetError::FaultUnsupported(e.to_string()))?;
                running
                    .cluster
                    .set_proxy_mode(mode)
                    .await
                    .map_err(|e| TargetError::Unavailable(format!("{e:#}")))
            }
            Fault::PlaceStaticPod {
                node,
                file,
                manifest,
            } => {
                let dir = running.static_root.join(node);
                let io = |e: std::io::Error| {
                    TargetError::Unavailable(format!("writing a static pod manifest: {e}"))
                };
                tokio::fs::create_dir_all(&dir).await.map_err(io)?;
                // Write then rename, so the kubelet never reads half a manifest.
                let tmp = dir.join(format!(".{file}.tmp"));
                tokio::fs::write(&tmp, manifest).await.map_err(io)?;
                tokio::fs::rename(&tmp, dir.join(file)).await.map_err(io)
            }
            // The kubelets run in this process, so their pause processes are this
            // machine's: found by the pod's UID, which the process runtime marks them with.
            Fault::KillPodSandbox { uid, .. } => refkube_kubelet::runtime::pause::kill(uid)
                .map(|_| ())
                .map_err(TargetError::Unavailable),
            Fault::RemoveStaticPod { node, file } => {
                tokio::fs::remove_file(running.static_root.join(node).join(file))
                    .await
                    .map_err(|e| {
                        TargetError::Unavailable(format!("removing a static pod manifest: {e}"))
                    })
            }
            other => Err(TargetError::FaultUnsupported(format!(
                "{} (not wired into the embedded target yet)",
                other.hook_name()
            ))),
        }
    }

    async fn audit_log(&self) -> Result<Vec<serde_json::Value>, TargetError> {
        let guard = self.running.lock().await;
        let path = guard
            .as_ref()
            .and_then(|r| r.audit_path.clone())
            .ok_or_else(|| TargetError::FaultUnsupported("audit log (switched off)".into()))?;
        let text = tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| TargetError::Unavailable(format!("reading {}: {e}", path.display())))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    async fn release(self: Box<Self>) {
        if let Some(r) = self.running.lock().await.take()
            && self.dedicated
        {
            stop(r).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_components_are_skipped_with_a_reason_naming_them() {
        let t =
            EmbeddedTarget::new(EmbeddedConfig::default().components(Components::apiserver_only()));
        assert_eq!(
            t.lacks(Capability::Scheduler).as_deref(),
            Some("the embedded cluster does not run a scheduler yet")
        );
        assert!(t.lacks(Capability::Disruptive).is_none());
        assert!(t.lacks(Capability::ReferenceOnly).is_none());
        assert!(t.lacks(Capability::AuditLog).is_none());
    }

    #[test]
    fn lease_names_map_to_the_reference_component_names() {
        assert_eq!(component_name("kube-scheduler"), "scheduler");
        assert_eq!(
            component_name("kube-controller-manager"),
            "controller-manager"
        );
        assert_eq!(component_name("kubelet/node-1"), "kubelet/node-1");
    }

    #[test]
    fn components_switched_on_are_capabilities() {
        let components = Components {
            scheduler: true,
            nodes: 2,
            ..Components::apiserver_only()
        };
        let t = EmbeddedTarget::new(EmbeddedConfig::default().components(components));
        assert!(t.lacks(Capability::Scheduler).is_none());
        assert!(t.lacks(Capability::Nodes).is_none());
        assert!(t.lacks(Capability::Controllers).is_some());
    }

    #[test]
    fn only_the_netns_pod_network_shares_a_pods_network_namespace() {
        let loopback = EmbeddedTarget::new(EmbeddedConfig::default());
        let reason = loopback.lacks(Capability::SharedNetns).unwrap();
        assert!(reason.contains("loopback pod network"), "{reason}");
        let netns = EmbeddedTarget::new(
            EmbeddedConfig::default()
                .cluster(ClusterConfig::default().pod_network(PodNetwork::Netns)),
        );
        assert_eq!(netns.lacks(Capability::SharedNetns), None);
        assert_eq!(netns.lacks(Capability::ProxyModes), None);
        assert!(loopback.lacks(Capability::ProxyModes).is_some());
    }

    #[test]
    fn every_cluster_gets_its_own_pod_and_service_ranges() {
        let a = distinct_ranges(PodNetwork::Netns);
        let b = distinct_ranges(PodNetwork::Netns);
        assert_ne!(a.cluster_cidr, b.cluster_cidr);
        assert_ne!(a.service_range, b.service_range);
        for n in [a, b] {
            n.validate().unwrap();
            assert!(!n.cluster_cidr.addr().is_loopback());
        }
        let l = distinct_ranges(PodNetwork::Loopback);
        assert!(l.cluster_cidr.addr().is_loopback() && l.service_range.addr().is_loopback());
        l.validate().unwrap();
    }

    #[test]
    fn by_default_the_whole_reference_runs() {
        let t = EmbeddedTarget::new(EmbeddedConfig::default());
        for cap in [
            Capability::Scheduler,
            Capability::Controllers,
            Capability::Nodes,
            Capability::Proxy,
            Capability::StopComponent,
            Capability::LoseNode,
        ] {
            assert!(t.lacks(cap).is_none(), "{cap:?}: {:?}", t.lacks(cap));
        }
    }
}
