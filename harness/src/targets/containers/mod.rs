//! The `containers` target: the reference as a multi-host, highly available cluster in
//! Docker, broken on purpose with real faults.
//!
//! Entry point: [`ContainersTarget::new`] with a [`ContainersConfig`]. It builds the
//! reference image from this machine's programs ([`image`]), and starts clusters of
//! containers on a network of their own ([`cluster`], planned by [`topology`]): etcd
//! members, API servers behind haproxy, leader-elected schedulers and controller
//! managers, and node containers each running a kubelet and kube-proxy. Ordinary
//! scenarios share one cluster; `@disruptive` ones get their own. Faults are Docker
//! verbs: `kill`, `start`, `pause`, `network disconnect/connect`.

pub mod cluster;
pub mod credentials;
pub mod docker;
pub mod image;
pub mod topology;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use testcontainers::bollard::Docker;
use tokio::sync::Mutex;

use self::cluster::ContainerCluster;
use self::topology::{Role, Topology};
use super::{Capability, Fault, Session, SessionNeeds, Target, TargetError};

/// Configuration of the containers target.
#[derive(Clone, Debug, Default)]
pub struct ContainersConfig {
    /// The shared cluster's shape (dedicated clusters have the same shape).
    pub topology: Topology,
    /// The refkube program put in the image; `None` means [`image::refkube_program`].
    pub refkube: Option<PathBuf>,
}

/// The reference in containers.
pub struct ContainersTarget {
    config: ContainersConfig,
    docker: Docker,
    image: String,
    /// Why the image has no kubectl, if it has none.
    no_kubectl: Option<String>,
    shared: Mutex<Option<Arc<ContainerCluster>>>,
}

impl ContainersTarget {
    /// Connects to Docker, removes what crashed earlier runs left behind, and builds the
    /// reference image if no image has its content hash. Fails with the reason (Docker
    /// unreachable, a program missing for the image) instead of waiting.
    pub async fn new(config: ContainersConfig) -> Result<Self, TargetError> {
        let docker = docker::connect()
            .await
            .map_err(|e| TargetError::Unavailable(e.to_string()))?;
        docker::sweep(&docker, docker::Sweep::Orphans)
            .await
            .map_err(|e| TargetError::Unavailable(e.to_string()))?;
        let program = match &config.refkube {
            Some(p) => p.clone(),
            None => {
                image::refkube_program().map_err(|e| TargetError::Unavailable(e.to_string()))?
            }
        };
        let rootfs = image::Rootfs::for_reference(&program)
            .map_err(|e| TargetError::Unavailable(e.to_string()))?;
        let no_kubectl = rootfs.lacks("kubectl");
        let image = image::ensure(&docker, &rootfs)
            .await
            .map_err(|e| TargetError::Unavailable(format!("building the reference image: {e}")))?;
        // Interrupted runs (Ctrl-C, or a SIGTERM from a CI runner) leave nothing behind
        // either.
        let on_interrupt = docker.clone();
        tokio::spawn(async move {
            let signal = interrupted().await;
            eprintln!("kubeproof: {signal}; removing this run's containers");
            if let Err(e) = docker::sweep(&on_interrupt, docker::Sweep::Mine).await {
                eprintln!("kubeproof: {e}");
            }
            std::process::exit(130);
        });
        Ok(Self {
            config,
            docker,
            image,
            no_kubectl,
            shared: Mutex::new(None),
        })
    }

    /// The image the clusters run (`kubeproof/refkube:<content hash>`).
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Starts a cluster of `topology` (the caller shuts it down).
    pub async fn start_cluster(&self, topology: Topology) -> Result<ContainerCluster, TargetError> {
        ContainerCluster::start(self.docker.clone(), &self.image, topology).await
    }
}

#[async_trait]
impl Target for ContainersTarget {
    fn name(&self) -> &str {
        "containers"
    }

    fn lacks(&self, cap: Capability) -> Option<String> {
        let t = &self.config.topology;
        match cap {
            Capability::InClusterKubectl => self.no_kubectl.clone(),
            Capability::Nodes | Capability::Proxy | Capability::LoseNode | Capability::PartitionNode
                if t.nodes == 0 =>
            {
                Some("the containers topology has no nodes".into())
            }
            Capability::StopApiServerReplica if t.apiservers < 2 => Some(
                "the containers topology runs one API server; losing it leaves nothing to serve".into(),
            ),
            Capability::StopStoreMember if t.etcd < 3 => Some(
                "the containers topology runs fewer than 3 etcd members, so losing one loses the majority".into(),
            ),
            Capability::KillSandbox if t.nodes == 0 => {
                Some("the containers topology has no nodes".into())
            }
            _ => None,
        }
    }

    async fn session(&self, needs: &SessionNeeds) -> Result<Box<dyn Session>, TargetError> {
        let cluster = if needs.without_nodes {
            Arc::new(self.start_cluster(Topology::without_nodes()).await?)
        } else if needs.dedicated {
            Arc::new(self.start_cluster(self.config.topology).await?)
        } else {
            let mut shared = self.shared.lock().await;
            match shared.as_ref() {
                Some(c) => c.clone(),
                None => {
                    let c = Arc::new(self.start_cluster(self.config.topology).await?);
                    *shared = Some(c.clone());
                    c
                }
            }
        };
        let client = cluster.client().await?;
        Ok(Box::new(ContainersSession {
            cluster,
            client,
            dedicated: needs.dedicated || needs.without_nodes,
            undo: Mutex::new(Vec::new()),
        }))
    }

    async fn shutdown(&self) {
        if let Some(c) = self.shared.lock().await.take() {
            c.shutdown().await;
        }
    }
}

/// A fault in place, and how to take it back.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Undo {
    /// `component` was killed in this container: start it.
    Start { component: String, role: Role },
    /// `component` was disconnected: reconnect it.
    Reconnect { component: String, role: Role },
}

struct ContainersSession {
    cluster: Arc<ContainerCluster>,
    client: kube::Client,
    dedicated: bool,
    /// Faults this session injected and has not undone: a shared cluster gets them
    /// undone when the session ends.
    undo: Mutex<Vec<Undo>>,
}

impl ContainersSession {
    /// The container a component fault names: the Lease holder `instance`, the current
    /// holder of Lease `component` when `instance` is empty, or a container by host name.
    async fn component(&self, component: &str, instance: &str) -> Result<Role, TargetError> {
        if !instance.is_empty() {
            return Ok(self.cluster.holder(instance)?.role.clone());
        }
        let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
            kube::Api::namespaced(self.client.clone(), "kube-system");
        if let Ok(lease) = leases.get(component).await {
            let holder = lease
                .spec
                .and_then(|s| s.holder_identity)
                .filter(|h| !h.is_empty())
                .ok_or_else(|| {
                    TargetError::FaultUnsupported(format!("the Lease {component} has no holder"))
                })?;
            return Ok(self.cluster.holder(&holder)?.role.clone());
        }
        Ok(self.cluster.holder(component)?.role.clone())
    }

    async fn undo(&self, step: Undo) -> Result<(), TargetError> {
        match &step {
            Undo::Start { role, .. } => {
                self.cluster
                    .start_again(self.cluster.container(role)?)
                    .await?
            }
            Undo::Reconnect { role, .. } => {
                self.cluster
                    .reconnect(self.cluster.container(role)?)
                    .await?
            }
        }
        self.undo.lock().await.retain(|u| u != &step);
        Ok(())
    }

    /// Undoes the faults recorded for `component` (all of them when `None`).
    async fn undo_matching(&self, pick: impl Fn(&Undo) -> bool) -> Result<(), TargetError> {
        let pending: Vec<Undo> = self
            .undo
            .lock()
            .await
            .iter()
            .filter(|u| pick(u))
            .cloned()
            .collect();
        if pending.is_empty() {
            return Err(TargetError::FaultUnsupported(
                "nothing to undo: no such fault is in place".into(),
            ));
        }
        for step in pending {
            self.undo(step).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Session for ContainersSession {
    fn client(&self) -> kube::Client {
        self.client.clone()
    }

    async fn inject(&self, fault: &Fault) -> Result<(), TargetError> {
        let c = &self.cluster;
        match fault {
            Fault::StopComponent {
                component,
                instance,
            } => {
                let role = self.component(component, instance).await?;
                c.kill(c.container(&role)?).await?;
                self.undo.lock().await.push(Undo::Start {
                    component: component.clone(),
                    role,
                });
                Ok(())
            }
            Fault::StartComponent { component, .. } => {
                self.undo_matching(
                    |u| matches!(u, Undo::Start { component: c, .. } if c == component),
                )
                .await
            }
            Fault::Partition {
                component,
                instance,
            } => {
                let role = self.component(component, instance).await?;
                c.disconnect(c.container(&role)?).await?;
                self.undo.lock().await.push(Undo::Reconnect {
                    component: component.clone(),
                    role,
                });
                Ok(())
            }
            Fault::Heal { component, .. } => {
                self.undo_matching(
                    |u| matches!(u, Undo::Reconnect { component: c, .. } if c == component),
                )
                .await
            }
            Fault::LoseNode { node } => c.pause(c.holder(node)?).await,
            Fault::RestoreNode { node } => c.unpause(c.holder(node)?).await,
            Fault::PartitionNode { node } => {
                let role = c.holder(node)?.role.clone();
                c.disconnect(c.container(&role)?).await?;
                self.undo.lock().await.push(Undo::Reconnect {
                    component: node.clone(),
                    role,
                });
                Ok(())
            }
            Fault::HealNode { node } => {
                self.undo_matching(
                    |u| matches!(u, Undo::Reconnect { component: c, .. } if c == node),
                )
                .await
            }
            Fault::StopApiServerReplica { index } => {
                let role = Role::ApiServer(*index);
                c.kill(c.container(&role)?).await?;
                self.undo.lock().await.push(Undo::Start {
                    component: role.hostname(),
                    role,
                });
                Ok(())
            }
            Fault::StopStoreMember { index } => {
                let role = Role::Etcd(*index);
                c.kill(c.container(&role)?).await?;
                self.undo.lock().await.push(Undo::Start {
                    component: role.hostname(),
                    role,
                });
                Ok(())
            }
            Fault::StartApiServerReplica { index } => {
                let name = Role::ApiServer(*index).hostname();
                self.undo_matching(|u| matches!(u, Undo::Start { component: c, .. } if *c == name))
                    .await
            }
            Fault::StartStoreMember { index } => {
                let name = Role::Etcd(*index).hostname();
                self.undo_matching(|u| matches!(u, Undo::Start { component: c, .. } if *c == name))
                    .await
            }
            Fault::Compact => {
                let spec = format!("etcd:{}", c.etcd_endpoints().join(","));
                let store = refkube_store::open(&spec)
                    .map_err(|e| TargetError::Unavailable(format!("reaching etcd: {e}")))?;
                let rev = store
                    .current_revision()
                    .await
                    .map_err(|e| TargetError::Unavailable(format!("reading the revision: {e}")))?;
                store
                    .compact(rev)
                    .await
                    .map_err(|e| TargetError::Unavailable(format!("compacting etcd: {e}")))
            }
            Fault::PlaceStaticPod {
                node,
                file,
                manifest,
            } => {
                let dir = c.dirs.manifests.join(node);
                let io = |e: std::io::Error| {
                    TargetError::Unavailable(format!("writing a static pod manifest: {e}"))
                };
                // Write then rename, so the kubelet never reads half a manifest.
                let tmp = dir.join(format!(".{file}.tmp"));
                tokio::fs::write(&tmp, manifest).await.map_err(io)?;
                tokio::fs::rename(&tmp, dir.join(file)).await.map_err(io)
            }
            Fault::RemoveStaticPod { node, file } => {
                tokio::fs::remove_file(c.dirs.manifests.join(node).join(file))
                    .await
                    .map_err(|e| {
                        TargetError::Unavailable(format!("removing a static pod manifest: {e}"))
                    })
            }
            Fault::ProxyMode { mode } => {
                let mode = mode
                    .parse::<refkube_proxy::ProxyMode>()
                    .map_err(|e| TargetError::FaultUnsupported(e.to_string()))?;
                c.set_proxy_mode(mode).await
            }
            Fault::KillPodSandbox {
                namespace,
                pod,
                uid,
            } => {
                let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
                    kube::Api::namespaced(self.client.clone(), namespace);
                let node = pods
                    .get(pod)
                    .await
                    .map_err(|e| TargetError::Unavailable(format!("reading pod {pod}: {e}")))?
                    .spec
                    .and_then(|s| s.node_name)
                    .ok_or_else(|| {
                        TargetError::Unavailable(format!("pod {pod} is not bound to a node"))
                    })?;
                c.kill_pod_sandbox(&node, uid).await
            }
        }
    }

    async fn audit_log(&self) -> Result<Vec<serde_json::Value>, TargetError> {
        let mut events = Vec::new();
        for path in self.cluster.audit_logs() {
            // A server that never started has no log yet.
            let Ok(text) = tokio::fs::read_to_string(&path).await else {
                continue;
            };
            events.extend(
                text.lines()
                    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()),
            );
        }
        // Two servers' logs, merged in the order the requests arrived.
        events.sort_by(|a, b| {
            let t = |v: &serde_json::Value| {
                v["requestReceivedTimestamp"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            t(a).cmp(&t(b))
        });
        Ok(events)
    }

    async fn release(self: Box<Self>) {
        if self.dedicated {
            self.cluster.shutdown().await;
            return;
        }
        // The shared cluster goes on serving other scenarios: take back what this one
        // broke.
        let pending: Vec<Undo> = self.undo.lock().await.clone();
        for step in pending {
            if let Err(e) = self.undo(step).await {
                eprintln!("kubeproof: undoing a fault on the shared cluster: {e}");
            }
        }
    }
}

/// Waits for SIGINT or SIGTERM and names it.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "interrupted",
            _ = term.recv() => "terminated",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "interrupted"
        }
    }
}

/// When this process was started as `refkube` (as it is inside the reference image),
/// runs refkube's command line and exits; otherwise returns. Every kubeproof binary
/// calls it first thing, so the image needs no separately built refkube.
pub fn dispatch_as_refkube() {
    let invoked_as = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    if invoked_as.as_deref() != Some("refkube") {
        return;
    }
    refkube::agnhost::dispatch();
    let cli = <refkube::cli::Cli as clap::Parser>::parse();
    let code = match tokio::runtime::Runtime::new() {
        Ok(rt) => match rt.block_on(refkube::cli::run(cli)) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("refkube: {e:#}");
                1
            }
        },
        Err(e) => {
            eprintln!("refkube: starting the async runtime: {e}");
            1
        }
    };
    std::process::exit(code);
}
