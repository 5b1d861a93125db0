//! What plugins see of the cluster: per-node [`NodeInfo`] (the node, its pods, requested
//! resources, used host ports, images) and the per-cycle [`Snapshot`] (all node infos plus
//! the other objects some plugins need: PVCs, namespaces, services and controllers).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    Namespace, Node, PersistentVolumeClaim, Pod, ReplicationController, Service,
};

use super::resource::{Resource, pod_non_zero_requests, pod_requests};
use crate::plugins::inter_pod_affinity::PodTerms;

/// A pod on a node, with its requests and affinity terms computed once (upstream
/// `PodInfo`), not on every cycle.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// The pod.
    pub pod: Arc<Pod>,
    /// Effective request (`resource.PodRequests`).
    pub requests: Resource,
    /// Request with missing cpu/memory defaulted (for scoring).
    pub non_zero: Resource,
    /// Its pod (anti-)affinity terms, parsed; shared, since every copy of a NodeInfo
    /// holding the pod needs them.
    pub terms: Arc<PodTerms>,
}

impl PodInfo {
    /// Wraps a pod and computes its requests and terms.
    pub fn new(pod: Arc<Pod>) -> Self {
        PodInfo {
            requests: pod_requests(&pod),
            non_zero: pod_non_zero_requests(&pod),
            terms: Arc::new(PodTerms::of(&pod)),
            pod,
        }
    }

    /// True when the pod has any pod affinity or anti-affinity term (upstream's
    /// `PodsWithAffinity` membership).
    pub fn has_affinity(&self) -> bool {
        !self.terms.is_empty()
    }

    /// True when the pod has a required anti-affinity term.
    pub fn has_required_anti_affinity(&self) -> bool {
        !self.terms.required_anti_affinity.is_empty()
    }
}

/// An image known to be on a node, with cluster-wide spread (for ImageLocality).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageState {
    /// Size in bytes as reported by the node.
    pub size: i64,
    /// How many nodes have this image.
    pub num_nodes: usize,
}

/// Host ports in use on a node: ip → {(protocol, port)} (upstream `HostPortInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostPortInfo(pub BTreeMap<String, BTreeSet<(String, i32)>>);

/// The wildcard host IP.
pub const DEFAULT_BIND_ALL_HOST_IP: &str = "0.0.0.0";

fn sanitize(ip: &str, protocol: &str) -> (String, String) {
    let ip = if ip.is_empty() {
        DEFAULT_BIND_ALL_HOST_IP
    } else {
        ip
    };
    let protocol = if protocol.is_empty() { "TCP" } else { protocol };
    (ip.to_string(), protocol.to_string())
}

impl HostPortInfo {
    /// Marks a port as used (hostPort <= 0 is ignored).
    pub fn add(&mut self, ip: &str, protocol: &str, port: i32) {
        if port <= 0 {
            return;
        }
        let (ip, protocol) = sanitize(ip, protocol);
        self.0.entry(ip).or_default().insert((protocol, port));
    }

    /// Upstream `CheckConflict`: 0.0.0.0 conflicts with the same (protocol, port) on any IP;
    /// a specific IP conflicts with itself and with 0.0.0.0.
    pub fn check_conflict(&self, ip: &str, protocol: &str, port: i32) -> bool {
        if port <= 0 {
            return false;
        }
        let (ip, protocol) = sanitize(ip, protocol);
        let pp = (protocol, port);
        if ip == DEFAULT_BIND_ALL_HOST_IP {
            return self.0.values().any(|set| set.contains(&pp));
        }
        [ip.as_str(), DEFAULT_BIND_ALL_HOST_IP]
            .iter()
            .any(|key| self.0.get(*key).is_some_and(|set| set.contains(&pp)))
    }
}

/// A node and everything scheduled on it (including assumed pods).
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// The node object.
    pub node: Arc<Node>,
    /// Pods bound or assumed to this node.
    pub pods: Vec<PodInfo>,
    /// Sum of the pods' effective requests.
    pub requested: Resource,
    /// Sum of the pods' requests with scoring defaults.
    pub non_zero_requested: Resource,
    /// `status.allocatable`.
    pub allocatable: Resource,
    /// Host ports taken by the pods.
    pub used_ports: HostPortInfo,
    /// Images on the node (normalized names) with their cluster-wide spread.
    pub image_states: HashMap<String, ImageState>,
    /// `namespace/claim` → number of pods on this node using that PVC.
    pub pvc_ref_counts: HashMap<String, usize>,
    /// How many of `pods` have any pod (anti-)affinity term.
    pub pods_with_affinity: usize,
    /// How many of `pods` have a required anti-affinity term.
    pub pods_with_required_anti_affinity: usize,
}

impl NodeInfo {
    /// A node with no pods.
    pub fn new(node: Arc<Node>) -> Self {
        let allocatable = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .map(Resource::from_list)
            .unwrap_or_default();
        NodeInfo {
            node,
            pods: Vec::new(),
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            allocatable,
            used_ports: HostPortInfo::default(),
            image_states: HashMap::new(),
            pvc_ref_counts: HashMap::new(),
            pods_with_affinity: 0,
            pods_with_required_anti_affinity: 0,
        }
    }

    /// The same node (allocatable and image spread as they are) with no pods.
    pub fn without_pods(&self) -> Self {
        NodeInfo {
            node: self.node.clone(),
            pods: Vec::new(),
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            allocatable: self.allocatable.clone(),
            used_ports: HostPortInfo::default(),
            image_states: self.image_states.clone(),
            pvc_ref_counts: HashMap::new(),
            pods_with_affinity: 0,
            pods_with_required_anti_affinity: 0,
        }
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }

    /// The node's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.node.metadata.labels.as_ref().unwrap_or(&EMPTY)
    }

    /// Accounts a pod on this node.
    pub fn add_pod(&mut self, pod: Arc<Pod>) {
        self.add_pod_info(PodInfo::new(pod));
    }

    /// Accounts a pod whose requests are already computed.
    pub fn add_pod_info(&mut self, info: PodInfo) {
        self.requested.add(&info.requests);
        self.non_zero_requested.add(&info.non_zero);
        if let Some(spec) = info.pod.spec.as_ref() {
            for port in spec
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
            {
                self.used_ports.add(
                    port.host_ip.as_deref().unwrap_or(""),
                    port.protocol.as_deref().unwrap_or(""),
                    port.host_port.unwrap_or(0),
                );
            }
        }
        for key in pvc_keys(&info.pod) {
            *self.pvc_ref_counts.entry(key).or_insert(0) += 1;
        }
        self.pods_with_affinity += usize::from(info.has_affinity());
        self.pods_with_required_anti_affinity += usize::from(info.has_required_anti_affinity());
        self.pods.push(info);
    }
}

/// `namespace/claimName` for each PVC volume of a pod.
pub fn pvc_keys(pod: &Pod) -> Vec<String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|pvc| format!("{ns}/{}", pvc.claim_name))
        .collect()
}

/// Objects other than nodes and pods that plugins consult.
#[derive(Clone, Debug, Default)]
pub struct ClusterObjects {
    /// PersistentVolumeClaims by `namespace/name`.
    pub pvcs: HashMap<String, Arc<PersistentVolumeClaim>>,
    /// Namespaces by name (for affinity namespaceSelector).
    pub namespaces: HashMap<String, Arc<Namespace>>,
    /// Services (for the default spreading selector).
    pub services: Vec<Arc<Service>>,
    /// ReplicationControllers.
    pub replication_controllers: Vec<Arc<ReplicationController>>,
    /// ReplicaSets.
    pub replica_sets: Vec<Arc<ReplicaSet>>,
    /// StatefulSets.
    pub stateful_sets: Vec<Arc<StatefulSet>>,
}

/// One cycle's consistent view: every node with its pods, plus other objects.
///
/// Node infos are shared (`Arc`) between the cache and successive snapshots, so taking
/// a snapshot copies only the node infos that changed since the last one (upstream
/// `Cache.UpdateSnapshot`).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// All nodes, in a stable order (by name).
    pub nodes: Vec<Arc<NodeInfo>>,
    /// Indices into `nodes` of the nodes with a pod that has any pod (anti-)affinity
    /// term (upstream `havePodsWithAffinityNodeInfoList`).
    pub have_pods_with_affinity: Vec<usize>,
    /// Indices into `nodes` of the nodes with a pod that has a required anti-affinity
    /// term (upstream `havePodsWithRequiredAntiAffinityNodeInfoList`).
    pub have_pods_with_required_anti_affinity: Vec<usize>,
    /// Everything else.
    pub objects: ClusterObjects,
}

impl Snapshot {
    /// Builds a snapshot from nodes and pods, as the cache does; used by tests and by the
    /// cache itself. Pods whose node is unknown are ignored.
    pub fn build(nodes: &[Arc<Node>], pods: &[Arc<Pod>], objects: ClusterObjects) -> Snapshot {
        let infos: Vec<PodInfo> = pods.iter().map(|p| PodInfo::new(p.clone())).collect();
        Snapshot::build_from_infos(nodes, infos, objects)
    }

    /// As [`Snapshot::build`], with pod requests already computed (the cache keeps them).
    pub fn build_from_infos(
        nodes: &[Arc<Node>],
        pods: Vec<PodInfo>,
        objects: ClusterObjects,
    ) -> Snapshot {
        let mut infos: Vec<NodeInfo> = nodes.iter().map(|n| NodeInfo::new(n.clone())).collect();
        infos.sort_by(|a, b| a.name().cmp(b.name()));
        let index: HashMap<String, usize> = infos
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name().to_string(), i))
            .collect();
        for pod in pods {
            let node = pod.pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
            if let Some(i) = node.and_then(|n| index.get(n)).copied() {
                infos[i].add_pod_info(pod);
            }
        }
        fill_image_states(&mut infos);
        Snapshot::from_nodes(infos.into_iter().map(Arc::new).collect(), objects)
    }

    /// A snapshot of `nodes` (already in name order), with the affinity lists indexed.
    pub fn from_nodes(nodes: Vec<Arc<NodeInfo>>, objects: ClusterObjects) -> Snapshot {
        let mut snapshot = Snapshot {
            nodes,
            objects,
            ..Snapshot::default()
        };
        snapshot.index_affinity_lists();
        snapshot
    }

    /// Recomputes `have_pods_with_affinity` and `have_pods_with_required_anti_affinity`
    /// from the node infos' counters (a pass over the nodes, no pod visited).
    pub fn index_affinity_lists(&mut self) {
        self.have_pods_with_affinity.clear();
        self.have_pods_with_required_anti_affinity.clear();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.pods_with_affinity > 0 {
                self.have_pods_with_affinity.push(i);
            }
            if n.pods_with_required_anti_affinity > 0 {
                self.have_pods_with_required_anti_affinity.push(i);
            }
        }
    }

    /// Brings both affinity lists up to date after `nodes[i]` was replaced: a sorted
    /// insert or remove at that one position instead of a pass over every node.
    pub fn reindex_affinity_lists_at(&mut self, i: usize) {
        let Some(n) = self.nodes.get(i) else {
            return;
        };
        let (any, anti) = (
            n.pods_with_affinity > 0,
            n.pods_with_required_anti_affinity > 0,
        );
        set_membership(&mut self.have_pods_with_affinity, i, any);
        set_membership(&mut self.have_pods_with_required_anti_affinity, i, anti);
    }

    /// The nodes with a pod that has any pod (anti-)affinity term.
    pub fn nodes_with_affinity_pods(&self) -> impl Iterator<Item = &NodeInfo> {
        self.have_pods_with_affinity
            .iter()
            .filter_map(|&i| self.nodes.get(i).map(|n| &**n))
    }

    /// The nodes with a pod that has a required anti-affinity term.
    pub fn nodes_with_required_anti_affinity_pods(&self) -> impl Iterator<Item = &NodeInfo> {
        self.have_pods_with_required_anti_affinity
            .iter()
            .filter_map(|&i| self.nodes.get(i).map(|n| &**n))
    }
}

/// Makes `i` a member of the sorted index list `list` or not.
fn set_membership(list: &mut Vec<usize>, i: usize, member: bool) {
    match (list.binary_search(&i), member) {
        (Ok(at), false) => {
            list.remove(at);
        }
        (Err(at), true) => list.insert(at, i),
        _ => {}
    }
}

/// Normalized image name: a name without a tag gets `:latest` (upstream
/// `normalizedImageName`). Digests (`@sha256:`) are kept as they are.
pub fn normalized_image_name(name: &str) -> String {
    if name.contains('@') {
        return name.to_string();
    }
    let last_colon = name.rfind(':');
    let last_slash = name.rfind('/');
    match (last_colon, last_slash) {
        (Some(c), Some(s)) if c > s => name.to_string(),
        (Some(_), None) => name.to_string(),
        _ => format!("{name}:latest"),
    }
}

/// Fills each node's `image_states` from `status.images`, counting nodes per image.
pub fn fill_image_states(infos: &mut [NodeInfo]) {
    let states = image_states(infos.iter().map(|i| &*i.node));
    for (info, states) in infos.iter_mut().zip(states) {
        info.image_states = states;
    }
}

/// Each node's images (normalized names) with their size and how many of `nodes` have
/// them, in the order of `nodes`.
pub fn image_states<'a>(nodes: impl Iterator<Item = &'a Node>) -> Vec<HashMap<String, ImageState>> {
    let mut per_node: Vec<HashMap<String, i64>> = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for node in nodes {
        let mut images = HashMap::new();
        for image in node.status.iter().flat_map(|s| s.images.iter().flatten()) {
            for name in image.names.iter().flatten() {
                images.insert(normalized_image_name(name), image.size_bytes.unwrap_or(0));
            }
        }
        for name in images.keys() {
            *counts.entry(name.clone()).or_insert(0) += 1;
        }
        per_node.push(images);
    }
    per_node
        .into_iter()
        .map(|images| {
            images
                .into_iter()
                .map(|(name, size)| {
                    let num_nodes = counts.get(&name).copied().unwrap_or(1);
                    (name, ImageState { size, num_nodes })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_host_ip_conflicts_with_any_ip_and_specific_ips_with_themselves_and_wildcard() {
        let mut used = HostPortInfo::default();
        used.add("127.0.0.1", "TCP", 8080);
        assert!(used.check_conflict("", "", 8080));
        assert!(used.check_conflict("127.0.0.1", "TCP", 8080));
        assert!(!used.check_conflict("127.0.0.2", "TCP", 8080));
        assert!(!used.check_conflict("127.0.0.1", "UDP", 8080));
        used.add("", "UDP", 53);
        assert!(used.check_conflict("10.0.0.1", "UDP", 53));
        assert!(!used.check_conflict("10.0.0.1", "UDP", 0));
    }

    #[test]
    fn images_without_a_tag_get_latest() {
        assert_eq!(normalized_image_name("nginx"), "nginx:latest");
        assert_eq!(normalized_image_name("nginx:1.2"), "nginx:1.2");
        assert_eq!(
            normalized_image_name("reg:5000/nginx"),
            "reg:5000/nginx:latest"
        );
        assert_eq!(
            normalized_image_name("reg:5000/nginx:1"),
            "reg:5000/nginx:1"
        );
    }
}
