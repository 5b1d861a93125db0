//! The kubelet's Node object: what it registers and the status it posts, built by pure
//! functions (`pkg/kubelet/kubelet_node_status.go`, `nodestatus/setters.go`). The I/O
//! (registration, status loop, Lease renewal) is in [`sync`]. Entry points:
//! [`node_object`], [`node_status`].

pub mod sync;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ContainerImage, DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints,
    NodeSpec, NodeStatus, NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use crate::config::KubeletConfig;

/// Facts about this machine and kubelet instance that go into `nodeInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineInfo {
    /// `machineID`.
    pub machine_id: String,
    /// `bootID` (new per kubelet start).
    pub boot_id: String,
    /// `kernelVersion`.
    pub kernel_version: String,
    /// `containerRuntimeVersion`, e.g. `process://0.1.0`.
    pub runtime_version: String,
}

/// Go's `runtime.GOARCH` name of this machine's architecture.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The label saying how the process runtime networks this node's pods (`loopback` or
/// `netns`), so a client can tell whether a pod's containers share `localhost`.
pub const POD_NETWORK_LABEL: &str = "refkube.io/pod-network";

/// The node's labels: the configured ones plus the well-known hostname/os/arch labels
/// and, for the process runtime, [`POD_NETWORK_LABEL`].
pub fn labels(config: &KubeletConfig) -> BTreeMap<String, String> {
    let mut labels = config.labels.clone();
    if config.runtime == crate::config::RuntimeKind::Process {
        labels.insert(POD_NETWORK_LABEL.into(), config.pod_network.to_string());
    }
    labels.insert(
        "kubernetes.io/hostname".into(),
        config.node_name.to_lowercase(),
    );
    labels.insert("kubernetes.io/os".into(), "linux".into());
    labels.insert("kubernetes.io/arch".into(), go_arch().into());
    labels.insert("beta.kubernetes.io/os".into(), "linux".into());
    labels.insert("beta.kubernetes.io/arch".into(), go_arch().into());
    labels
}

/// The images every refkube node has (the process runtime's built-in workloads), with
/// upstream-like sizes, reported in `status.images` for the scheduler's ImageLocality.
pub const BUILT_IN_IMAGES: [(&str, i64); 3] = [
    ("registry.k8s.io/pause:3.10", 320_368),
    ("registry.k8s.io/e2e-test-images/agnhost:2.53", 51_000_000),
    ("docker.io/library/busybox:latest", 2_160_000),
];

fn images() -> Vec<ContainerImage> {
    BUILT_IN_IMAGES
        .iter()
        .map(|(name, size)| ContainerImage {
            names: Some(vec![name.to_string()]),
            size_bytes: Some(*size),
        })
        .collect()
}

/// The node's capacity (and allocatable) as resource quantities.
pub fn resources(config: &KubeletConfig) -> BTreeMap<String, Quantity> {
    let c = &config.capacity;
    BTreeMap::from([
        ("cpu".to_string(), Quantity(c.cpu.clone())),
        ("memory".to_string(), Quantity(c.memory.clone())),
        ("pods".to_string(), Quantity(c.pods.to_string())),
        (
            "ephemeral-storage".to_string(),
            Quantity(c.ephemeral_storage.clone()),
        ),
    ])
}

/// The Node as first registered: labels, taints, pod CIDR and the initial status.
pub fn node_object(config: &KubeletConfig, port: u16, machine: &MachineInfo, now: &Time) -> Node {
    let cidr = config.pod_cidr.map(|c| c.to_string());
    Node {
        metadata: ObjectMeta {
            name: Some(config.node_name.clone()),
            labels: Some(labels(config)),
            annotations: Some(BTreeMap::from([(
                "volumes.kubernetes.io/controller-managed-attach-detach".to_string(),
                "true".to_string(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: cidr.clone(),
            pod_cidrs: cidr.map(|c| vec![c]),
            taints: (!config.taints.is_empty()).then(|| config.taints.clone()),
            ..NodeSpec::default()
        }),
        status: Some(node_status(config, port, machine, true, &[], now)),
    }
}

fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
    status_when_ok: &str,
    existing: &[NodeCondition],
    now: &Time,
) -> NodeCondition {
    let status = if ok {
        status_when_ok
    } else if status_when_ok == "True" {
        "False"
    } else {
        "True"
    };
    let transition = existing
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(transition),
    }
}

/// The node conditions with upstream reasons. `network_ready` is false until the node
/// has a pod CIDR (upstream: the CNI plugin is not initialized).
pub fn node_conditions(
    network_ready: bool,
    existing: &[NodeCondition],
    now: &Time,
) -> Vec<NodeCondition> {
    let ready = if network_ready {
        condition(
            "Ready",
            true,
            "KubeletReady",
            "kubelet is posting ready status",
            "True",
            existing,
            now,
        )
    } else {
        condition(
            "Ready",
            false,
            "KubeletNotReady",
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:no pod CIDR assigned to this node",
            "True",
            existing,
            now,
        )
    };
    vec![
        condition(
            "MemoryPressure",
            true,
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            "False",
            existing,
            now,
        ),
        condition(
            "DiskPressure",
            true,
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
            "False",
            existing,
            now,
        ),
        condition(
            "PIDPressure",
            true,
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
            "False",
            existing,
            now,
        ),
        ready,
    ]
}

/// The status the kubelet posts.
pub fn node_status(
    config: &KubeletConfig,
    port: u16,
    machine: &MachineInfo,
    network_ready: bool,
    existing: &[NodeCondition],
    now: &Time,
) -> NodeStatus {
    NodeStatus {
        capacity: Some(resources(config)),
        allocatable: Some(resources(config)),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: config.node_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: config.node_name.to_lowercase(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(port),
            }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: go_arch().into(),
            boot_id: machine.boot_id.clone(),
            container_runtime_version: machine.runtime_version.clone(),
            kernel_version: machine.kernel_version.clone(),
            kube_proxy_version: String::new(),
            kubelet_version: config.kubelet_version.clone(),
            machine_id: machine.machine_id.clone(),
            operating_system: "linux".into(),
            os_image: "refkube".into(),
            system_uuid: machine.machine_id.clone(),
            ..NodeSystemInfo::default()
        }),
        conditions: Some(node_conditions(network_ready, existing, now)),
        images: Some(images()),
        ..NodeStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn machine() -> MachineInfo {
        MachineInfo {
            machine_id: "m".into(),
            boot_id: "b".into(),
            kernel_version: "6".into(),
            runtime_version: "process://0.1.0".into(),
        }
    }
    fn at(s: i64) -> Time {
        Time(Timestamp::from_second(s).unwrap())
    }

    #[test]
    fn the_registered_node_carries_well_known_labels_addresses_and_capacity() {
        let config = KubeletConfig::for_node(2).port(10250);
        let node = node_object(&config, 10250, &machine(), &at(1));
        let labels = node.metadata.labels.unwrap();
        assert_eq!(labels["kubernetes.io/hostname"], "node-2");
        assert_eq!(labels["kubernetes.io/os"], "linux");
        assert_eq!(labels[POD_NETWORK_LABEL], "loopback");
        assert!(!labels.keys().any(|k| k.starts_with("node-role")));
        let spec = node.spec.unwrap();
        assert_eq!(spec.pod_cidr.as_deref(), Some("127.100.2.0/24"));
        let status = node.status.unwrap();
        assert_eq!(status.capacity.unwrap()["pods"], Quantity("110".into()));
        let addresses = status.addresses.unwrap();
        assert_eq!(
            (addresses[0].type_.as_str(), addresses[0].address.as_str()),
            ("InternalIP", "127.0.1.2")
        );
        assert_eq!(
            status
                .daemon_endpoints
                .unwrap()
                .kubelet_endpoint
                .unwrap()
                .port,
            10250
        );
        let images = status.images.unwrap();
        assert!(
            images
                .iter()
                .any(|i| i.names.as_ref().unwrap()[0].starts_with("registry.k8s.io/pause:"))
        );
    }

    #[test]
    fn conditions_use_upstream_reasons_and_keep_transition_times() {
        let first = node_conditions(true, &[], &at(1));
        let ready = first.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(
            (
                ready.status.as_str(),
                ready.reason.as_deref(),
                ready.message.as_deref()
            ),
            (
                "True",
                Some("KubeletReady"),
                Some("kubelet is posting ready status")
            )
        );
        let mem = first.iter().find(|c| c.type_ == "MemoryPressure").unwrap();
        assert_eq!(
            (mem.status.as_str(), mem.reason.as_deref()),
            ("False", Some("KubeletHasSufficientMemory"))
        );
        let later = node_conditions(true, &first, &at(50));
        let ready = later.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.last_transition_time, Some(at(1)));
        assert_eq!(ready.last_heartbeat_time, Some(at(50)));
    }

    #[test]
    fn a_node_without_a_pod_cidr_is_not_ready() {
        let cs = node_conditions(false, &[], &at(1));
        let ready = cs.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_deref()),
            ("False", Some("KubeletNotReady"))
        );
    }
}
