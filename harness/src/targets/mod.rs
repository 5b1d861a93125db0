//! Targets: where the scenarios run, and what each can do.
//!
//! Entry points: [`Target`] (one per run), [`Session`] (one cluster handle per scenario),
//! [`Fault`]. Implementations: [`embedded`] (the reference in this process), [`kubeconfig`]
//! (any cluster), [`containers`] (the reference as a cluster of containers), [`faulty`]
//! (a wrapper that breaks writes on purpose, used to test the harness itself).

pub mod capability;
pub mod containers;
pub mod embedded;
pub mod faulty;
pub mod kubeconfig;
pub mod wrapped;

use async_trait::async_trait;
pub use capability::{Capability, requirements};

/// Errors a target reports while setting up or driving a cluster.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The cluster could not be started or reached.
    #[error("cluster unavailable: {0}")]
    Unavailable(String),
    /// The kubeconfig could not be read or used.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// The target cannot inject this fault; the scenario should have been skipped.
    #[error("fault not supported by this target: {0}")]
    FaultUnsupported(String),
    /// A user hook command failed.
    #[error("hook `{hook}` failed: {message}")]
    Hook {
        /// The hook's name, e.g. `stop-component`.
        hook: String,
        /// Exit status and stderr.
        message: String,
    },
    /// An invalid `--hook` argument.
    #[error("invalid hook {0:?}: expected NAME=COMMAND with NAME one of {1}")]
    BadHook(String, String),
}

/// A fault a scenario asks the target to inject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Stop one instance of a component, e.g. `kube-scheduler` (the current leader when
    /// `instance` is empty).
    StopComponent { component: String, instance: String },
    /// Start a previously stopped instance again.
    StartComponent { component: String, instance: String },
    /// Cut a component off from the API server.
    Partition { component: String, instance: String },
    /// Undo a partition.
    Heal { component: String, instance: String },
    /// Stop a node's kubelet (and everything on it) without telling the API server.
    LoseNode { node: String },
    /// Bring a lost node back.
    RestoreNode { node: String },
    /// Cut a node (its kubelet, kube-proxy and pods) off from the network.
    PartitionNode { node: String },
    /// Reconnect a partitioned node.
    HealNode { node: String },
    /// Stop the n-th API server replica (0-based).
    StopApiServerReplica { index: usize },
    /// Start a stopped API server replica again.
    StartApiServerReplica { index: usize },
    /// Stop the n-th store member (0-based).
    StopStoreMember { index: usize },
    /// Start a stopped store member again (its data kept).
    StartStoreMember { index: usize },
    /// Compact the store's history up to its current revision.
    Compact,
    /// Place a static pod manifest (YAML) on a node.
    PlaceStaticPod {
        node: String,
        file: String,
        manifest: String,
    },
    /// Remove a static pod manifest from a node.
    RemoveStaticPod { node: String, file: String },
    /// Run kube-proxy in `userspace` or `iptables` mode.
    ProxyMode { mode: String },
    /// Kill the pause process (the sandbox) of a running pod, leaving its containers.
    KillPodSandbox {
        namespace: String,
        pod: String,
        uid: String,
    },
}

impl Fault {
    /// The hook name a kubeconfig user provides for this fault (`--hook NAME=CMD`).
    pub fn hook_name(&self) -> &'static str {
        match self {
            Fault::StopComponent { .. } => "stop-component",
            Fault::StartComponent { .. } => "start-component",
            Fault::Partition { .. } => "partition-component",
            Fault::Heal { .. } => "heal-component",
            Fault::LoseNode { .. } => "lose-node",
            Fault::RestoreNode { .. } => "restore-node",
            Fault::PartitionNode { .. } => "partition-node",
            Fault::HealNode { .. } => "heal-node",
            Fault::StopApiServerReplica { .. } => "stop-apiserver-replica",
            Fault::StartApiServerReplica { .. } => "start-apiserver-replica",
            Fault::StopStoreMember { .. } => "stop-store-member",
            Fault::StartStoreMember { .. } => "start-store-member",
            Fault::Compact => "compact",
            Fault::PlaceStaticPod { .. } => "place-static-pod",
            Fault::RemoveStaticPod { .. } => "remove-static-pod",
            Fault::ProxyMode { .. } => "proxy-mode",
            Fault::KillPodSandbox { .. } => "kill-pod-sandbox",
        }
    }

    /// Environment variables describing the fault, handed to hook commands.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Fault::StopComponent {
                component,
                instance,
            }
            | Fault::StartComponent {
                component,
                instance,
            }
            | Fault::Partition {
                component,
                instance,
            }
            | Fault::Heal {
                component,
                instance,
            } => vec![
                ("KUBEPROOF_COMPONENT", component.clone()),
                ("KUBEPROOF_INSTANCE", instance.clone()),
            ],
            Fault::LoseNode { node }
            | Fault::RestoreNode { node }
            | Fault::PartitionNode { node }
            | Fault::HealNode { node } => vec![("KUBEPROOF_NODE", node.clone())],
            Fault::StopApiServerReplica { index }
            | Fault::StartApiServerReplica { index }
            | Fault::StopStoreMember { index }
            | Fault::StartStoreMember { index } => {
                vec![("KUBEPROOF_INDEX", index.to_string())]
            }
            Fault::Compact => vec![],
            Fault::PlaceStaticPod {
                node,
                file,
                manifest,
            } => vec![
                ("KUBEPROOF_NODE", node.clone()),
                ("KUBEPROOF_FILE", file.clone()),
                ("KUBEPROOF_MANIFEST", manifest.clone()),
            ],
            Fault::RemoveStaticPod { node, file } => vec![
                ("KUBEPROOF_NODE", node.clone()),
                ("KUBEPROOF_FILE", file.clone()),
            ],
            Fault::ProxyMode { mode } => vec![("KUBEPROOF_MODE", mode.clone())],
            Fault::KillPodSandbox {
                namespace,
                pod,
                uid,
            } => vec![
                ("KUBEPROOF_NAMESPACE", namespace.clone()),
                ("KUBEPROOF_POD", pod.clone()),
                ("KUBEPROOF_POD_UID", uid.clone()),
            ],
        }
    }
}

/// What one scenario needs from its cluster, read from its tags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionNeeds {
    /// `@disruptive`: a cluster not shared with other scenarios, where the target can.
    pub dedicated: bool,
    /// `@fake-nodes`: no nodes but the fake ones the scenario registers.
    pub without_nodes: bool,
}

impl SessionNeeds {
    /// The needs the given capabilities imply.
    pub fn from_capabilities(caps: &std::collections::BTreeSet<Capability>) -> Self {
        let without_nodes = caps.contains(&Capability::OnlyFakeNodes);
        Self {
            dedicated: without_nodes || caps.contains(&Capability::Disruptive),
            without_nodes,
        }
    }
}

/// Where scenarios run. One value per `kubeproof run`.
#[async_trait]
pub trait Target: Send + Sync {
    /// Short name shown in reports (`embedded`, `kubeconfig`, `containers`).
    fn name(&self) -> &str;

    /// Why this target cannot provide `cap`, or `None` when it can. The reason is what
    /// the report prints for every scenario skipped because of it.
    fn lacks(&self, cap: Capability) -> Option<String>;

    /// Why no scenario at all can run on this target (e.g. it is not built yet).
    fn unavailable(&self) -> Option<String> {
        None
    }

    /// A cluster for one scenario, shaped by what its tags ask for.
    async fn session(&self, needs: &SessionNeeds) -> Result<Box<dyn Session>, TargetError>;

    /// Stops whatever the target started (shared clusters).
    async fn shutdown(&self);
}

/// One scenario's handle on a cluster.
#[async_trait]
pub trait Session: Send + Sync {
    /// A client for the cluster's API server, as an administrator.
    fn client(&self) -> kube::Client;

    /// Injects a fault; only called for faults whose capability the target declared.
    async fn inject(&self, fault: &Fault) -> Result<(), TargetError>;

    /// The API server's audit events so far (`audit.k8s.io/v1` `Event` objects).
    async fn audit_log(&self) -> Result<Vec<serde_json::Value>, TargetError>;

    /// Gives the cluster back: a dedicated cluster is shut down here.
    async fn release(self: Box<Self>);
}
