//! Node registration, status posting and Lease renewal against the API server
//! (`kubelet_node_status.go` registerWithAPIServer / updateNodeStatus,
//! `pkg/kubelet/nodelease`). Entry points: [`node_loop`] (the kubelet's node task),
//! [`register`], [`post_status`], [`renew_lease`].

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeStatus, ObjectReference};
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

/// What a status round did: the Node as the API now holds it, and whether a status
/// was posted.
#[derive(Debug)]
pub struct StatusRound {
    /// The Node after the round (as read, when nothing was posted).
    pub node: Node,
    /// Whether the status was PATCHed.
    pub posted: bool,
}

/// Computes the node status (conditions with a fresh heartbeat, keeping conditions
/// other components own) and posts it if it changed anything but heartbeat times, or if
/// `report` is set (upstream `tryUpdateNodeStatus`: a status equal to the API's is posted
/// only every `nodeStatusReportFrequency`, the Lease being the heartbeat meanwhile).
pub async fn post_status(
    client: &kube::Client,
    config: &KubeletConfig,
    port: u16,
    machine: &MachineInfo,
    network_ready: bool,
    report: bool,
) -> Result<StatusRound, NodeSyncError> {
    let api: Api<Node> = Api::all(client.clone());
    let name = config.node_name.as_str();
    let current = api.get(name).await.map_err(err("reading", name))?;
    let existing: Vec<NodeCondition> = current
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
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
    if !report && !status_changes(current.status.as_ref(), &patch["status"]) {
        return Ok(StatusRound {
            node: current,
            posted: false,
        });
    }
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|node| StatusRound { node, posted: true })
        .map_err(err("posting status of", name))
}

/// Whether merging `patch` (the status the kubelet would post) into `current` changes
/// anything but the conditions' `lastHeartbeatTime` (upstream `nodeStatusHasChanged`:
/// conditions compared sorted by type, heartbeats ignored, every other field as is).
pub fn status_changes(current: Option<&NodeStatus>, patch: &serde_json::Value) -> bool {
    let Ok(before) = serde_json::to_value(current.cloned().unwrap_or_default()) else {
        return true;
    };
    let mut after = before.clone();
    json_patch::merge(&mut after, patch);
    without_heartbeats(after) != without_heartbeats(before)
}

fn without_heartbeats(mut status: serde_json::Value) -> serde_json::Value {
    if let Some(conditions) = status
        .get_mut("conditions")
        .and_then(serde_json::Value::as_array_mut)
    {
        for c in conditions.iter_mut() {
            if let Some(c) = c.as_object_mut() {
                c.remove("lastHeartbeatTime");
            }
        }
        conditions.sort_by(|a, b| a["type"].as_str().cmp(&b["type"].as_str()));
    }
    status
}

/// Creates or renews `kube-node-lease/<node>`: holder = node, `renewTime` = now. `latest`
/// is the Lease as last written: it is renewed from that without reading it first, and
/// read again only when that write fails (upstream's lease controller, which avoids the
/// GET because nobody else writes a node's Lease).
pub async fn renew_lease(
    client: &kube::Client,
    node: &Node,
    duration_seconds: i32,
    latest: &mut Option<Lease>,
) -> Result<(), NodeSyncError> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let spec = || LeaseSpec {
        holder_identity: Some(name.clone()),
        lease_duration_seconds: Some(duration_seconds),
        renew_time: Some(MicroTime(Timestamp::now())),
        ..LeaseSpec::default()
    };
    if let Some(mut lease) = latest.take() {
        lease.spec = Some(spec());
        match api.replace(&name, &PostParams::default(), &lease).await {
            Ok(renewed) => {
                *latest = Some(renewed);
                return Ok(());
            }
            Err(e) => tracing::debug!(error = %e, "renewing the latest lease; reading it again"),
        }
    }
    let written = match api
        .get_opt(&name)
        .await
        .map_err(err("reading lease of", &name))?
    {
        Some(mut lease) => {
            lease.spec = Some(spec());
            api.replace(&name, &PostParams::default(), &lease)
                .await
                .map_err(err("renewing lease of", &name))?
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
                spec: Some(spec()),
            };
            api.create(&PostParams::default(), &lease)
                .await
                .map_err(err("creating lease of", &name))?
        }
    };
    *latest = Some(written);
    Ok(())
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
    let mut latest_lease = None;
    // None until the first status is posted: the first round always posts.
    let mut last_report: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = status_tick.tick() => {
                let report = last_report
                    .is_none_or(|t| t.elapsed() >= config.timings.node_status_report);
                match post_status(&client, &config, port, &machine, has_cidr, report).await {
                    Ok(round) => {
                        if round.posted {
                            last_report = Some(tokio::time::Instant::now());
                        }
                        let updated = round.node;
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
                                latest_lease = None;
                                last_report = None;
                                node_tx.send_replace(Some(registered));
                            }
                            Err(e) => tracing::debug!(error = %e, "re-registering node"),
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "posting node status"),
                }
            }
            _ = lease_tick.tick() => {
                if let Err(e) = renew_lease(&client, &node, lease_secs, &mut latest_lease).await {
                    tracing::debug!(error = %e, "renewing node lease");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Time {
        Time(Timestamp::from_second(s).unwrap())
    }

    fn machine() -> MachineInfo {
        MachineInfo {
            machine_id: "m".into(),
            boot_id: "b".into(),
            kernel_version: "6".into(),
            runtime_version: "sim://0.1.0".into(),
        }
    }

    fn posted(network_ready: bool, existing: &[NodeCondition], now: i64) -> NodeStatus {
        let config = KubeletConfig::for_node(3);
        node_status(
            &config,
            10250,
            &machine(),
            network_ready,
            existing,
            &at(now),
        )
    }

    fn patch(s: &NodeStatus) -> serde_json::Value {
        serde_json::to_value(s).unwrap()
    }

    #[test]
    fn only_a_newer_heartbeat_is_no_change() {
        let current = posted(true, &[], 1);
        let conditions = current.conditions.clone().unwrap();
        let next = posted(true, &conditions, 50);
        assert!(!status_changes(Some(&current), &patch(&next)));
    }

    #[test]
    fn conditions_in_another_order_and_fields_others_wrote_are_no_change() {
        let mut current = posted(true, &[], 1);
        let conditions = current.conditions.clone().unwrap();
        current.conditions.as_mut().unwrap().reverse();
        // A field the kubelet does not post (the merge patch keeps it).
        current.phase = Some("Running".into());
        let next = posted(true, &conditions, 50);
        assert!(!status_changes(Some(&current), &patch(&next)));
    }

    #[test]
    fn a_flipped_condition_or_a_new_field_value_is_a_change() {
        let current = posted(false, &[], 1);
        let conditions = current.conditions.clone().unwrap();
        assert!(status_changes(
            Some(&current),
            &patch(&posted(true, &conditions, 50))
        ));
        // Another component set Ready=Unknown: the kubelet's Ready=True is a change.
        let mut unknown = posted(true, &[], 1);
        for c in unknown.conditions.as_mut().unwrap() {
            if c.type_ == "Ready" {
                c.status = "Unknown".into();
            }
        }
        let conditions = unknown.conditions.clone().unwrap();
        assert!(status_changes(
            Some(&unknown),
            &patch(&posted(true, &conditions, 50))
        ));
        let current = posted(true, &[], 1);
        let mut next = posted(true, &current.conditions.clone().unwrap(), 50);
        next.node_info.as_mut().unwrap().boot_id = "rebooted".into();
        assert!(status_changes(Some(&current), &patch(&next)));
        assert!(status_changes(None, &patch(&next)));
    }
}
