//! Node registration, status posting and Lease renewal against the API server
//! (`kubelet_node_status.go` registerWithAPIServer / updateNodeStatus,
//! `pkg/kubelet/nodelease`). Entry points: [`node_loop`] (the kubelet's node task),
//! [`register`], [`post_status`], [`renew_lease`].

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, NodeCondition, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};

use super::{MachineInfo, node_object, node_status};
use crate::config::KubeletConfig;
use crate::events::EventSink;
use tokio::sync::watch;

/// The namespace of node Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Errors talking to the API server about the Node and its Lease.
#[derive(Debug, thiserror::Error)]
pub enum NodeSyncError {
    /// A request failed.
    #[error("{what} node {node}: {source}")]
    Kube {
        /// What was being done.
        what: &'static str,
        /// The node.
        node: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
}

impl NodeSyncError {
    /// Whether the API server answered 404 (the object does not exist).
    pub fn is_not_found(&self) -> bool {
        matches!(self, NodeSyncError::Kube { source: kube::Error::Api(s), .. } if s.code == 404)
    }
}

fn err(what: &'static str, node: &str) -> impl FnOnce(kube::Error) -> NodeSyncError + use<> {
    let node = node.to_string();
    move |source| NodeSyncError::Kube { what, node, source }
}

/// Creates the Node, or (when it exists) reconciles its default labels; returns it.
pub async fn register(
    client: &kube::Client,
    config: &KubeletConfig,
    port: u16,
    machine: &MachineInfo,
) -> Result<Node, NodeSyncError> {
    let api: Api<Node> = Api::all(client.clone());
    let node = node_object(config, port, machine, &Time(Timestamp::now()));
    let name = config.node_name.as_str();
    match api.create(&PostParams::default(), &node).await {
        Ok(created) => Ok(created),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let mut patch = serde_json::json!({ "metadata": { "labels": node.metadata.labels } });
            if let Some(cidr) = &config.pod_cidr {
                let existing = api.get(name).await.map_err(err("reading", name))?;
                if existing
                    .spec
                    .as_ref()
                    .and_then(|s| s.pod_cidr.as_ref())
                    .is_none()
                {
                    patch["spec"] = serde_json::json!({ "podCIDR": cidr.to_string(), "podCIDRs": [cidr.to_string()] });
                }
            }
            api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(err("updating", name))
        }
        Err(e) => Err(err("registering", name)(e)),
    }
}

/// Posts the node status (conditions with a fresh heartbeat), keeping conditions other
/// components own.
pub async fn post_status(
    client: &kube::Client,
    config: &KubeletConfig,
    port: u16,
    machine: &MachineInfo,
    network_ready: bool,
) -> Result<Node, NodeSyncError> {
    let api: Api<Node> = Api::all(client.clone());
    let name = config.node_name.as_str();
    let current = api.get(name).await.map_err(err("reading", name))?;
    let existing: Vec<NodeCondition> = current
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default();
    let mut status = node_status(
        config,
        port,
        machine,
        network_ready,
        &existing,
        &Time(Timestamp::now()),
    );
    let ours = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];
    if let Some(conditions) = status.conditions.as_mut() {
        conditions.extend(
            existing
                .into_iter()
                .filter(|c| !ours.contains(&c.type_.as_str())),
        );
    }
    let patch = serde_json::json!({ "status": status });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(err("posting status of", name))
}

/// Creates or renews `kube-node-lease/<node>`: holder = node, `renewTime` = now.
pub async fn renew_lease(
    client: &kube::Client,
    node: &Node,
    duration_seconds: i32,
) -> Result<(), NodeSyncError> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let now = MicroTime(Timestamp::now());
    let spec = LeaseSpec {
        holder_identity: Some(name.clone()),
        lease_duration_seconds: Some(duration_seconds),
        renew_time: Some(now),
        ..LeaseSpec::default()
    };
    match api
        .get_opt(&name)
        .await
        .map_err(err("reading lease of", &name))?
    {
        Some(mut lease) => {
            lease.spec = Some(spec);
            api.replace(&name, &PostParams::default(), &lease)
                .await
                .map(|_| ())
                .map_err(err("renewing lease of", &name))
        }
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(LEASE_NAMESPACE.into()),
                    owner_references: node.metadata.uid.clone().map(|uid| {
                        vec![OwnerReference {
                            api_version: "v1".into(),
                            kind: "Node".into(),
                            name: name.clone(),
                            uid,
                            ..OwnerReference::default()
                        }]
                    }),
                    ..ObjectMeta::default()
                },
                spec: Some(spec),
            };
            api.create(&PostParams::default(), &lease)
                .await
                .map(|_| ())
                .map_err(err("creating lease of", &name))
        }
    }
}

/// Retry delay for a failed registration (upstream grows it; a short fixed one keeps
/// tests fast and is harmless).
const RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// This machine's facts for `nodeInfo`; a new boot ID per kubelet start.
pub fn machine_info(runtime: &str) -> MachineInfo {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    MachineInfo {
        machine_id: read("/etc/machine-id"),
        boot_id: crate::runtime::new_id(),
        kernel_version: read("/proc/sys/kernel/osrelease"),
        runtime_version: format!("{runtime}://{}", env!("CARGO_PKG_VERSION")),
    }
}

/// Registers the Node (retrying), then posts its status and renews its Lease on their
/// intervals; publishes the Node for the driver (pod CIDR, UID for mirror pods).
pub async fn node_loop(
    config: KubeletConfig,
    client: kube::Client,
    port: u16,
    machine: MachineInfo,
    node_tx: watch::Sender<Option<Node>>,
    events: Arc<dyn EventSink>,
) {
    let mut node = loop {
        match register(&client, &config, port, &machine).await {
            Ok(node) => break node,
            Err(e) => {
                tracing::debug!(error = %e, "registering node");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    let node_ref = ObjectReference {
        kind: Some("Node".into()),
        name: Some(config.node_name.clone()),
        // Upstream uses the node name as the UID of node events.
        uid: Some(config.node_name.clone()),
        ..ObjectReference::default()
    };
    events
        .record(
            &node_ref,
            "Normal",
            crate::events::reason::STARTING,
            "Starting kubelet.",
        )
        .await;
    let lease_secs = i32::try_from(config.timings.node_lease_duration.as_secs()).unwrap_or(40);
    let mut has_cidr = node
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_ref())
        .is_some();
    node_tx.send_replace(Some(node.clone()));
    let mut status_tick = tokio::time::interval(config.timings.node_status_update);
    let mut lease_tick = tokio::time::interval(config.timings.node_lease_renew);
    loop {
        tokio::select! {
            _ = status_tick.tick() => match post_status(&client, &config, port, &machine, has_cidr).await {
                Ok(updated) => {
                    let cidr = updated.spec.as_ref().and_then(|s| s.pod_cidr.as_ref()).is_some();
                    if cidr != has_cidr {
                        has_cidr = cidr;
                        // Post Ready at once instead of a full interval later.
                        status_tick.reset_immediately();
                    }
                    node_tx.send_replace(Some(updated));
                }
                Err(e) if e.is_not_found() => {
                    // The Node object is gone (deleted, or an API server with a fresh
                    // store): register again, as a restarted kubelet would.
                    match register(&client, &config, port, &machine).await {
                        Ok(registered) => {
                            node = registered.clone();
                            node_tx.send_replace(Some(registered));
                        }
                        Err(e) => tracing::debug!(error = %e, "re-registering node"),
                    }
                }
                Err(e) => tracing::debug!(error = %e, "posting node status"),
            },
            _ = lease_tick.tick() => {
                if let Err(e) = renew_lease(&client, &node, lease_secs).await {
                    tracing::debug!(error = %e, "renewing node lease");
                }
            }
        }
    }
}
