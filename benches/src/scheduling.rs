//! Scheduler fixtures: a snapshot of `n` nodes with ~10 bound pods each ([`cluster`]),
//! with mixed zones, disk labels, taints and pod (anti-)affinities, and the pods to
//! place on it ([`incoming_pod`] fits somewhere, [`unschedulable_pod`] fits nowhere).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use refkube_scheduler::framework::Snapshot;
use refkube_scheduler::framework::types::ClusterObjects;
use serde_json::{Value, json};

/// Bound pods per node in [`cluster`].
pub const PODS_PER_NODE: usize = 10;

/// Node `node-{i:04}`: 8 CPU / 32 GiB / 110 pods; zone `zone-{i%3}`; every other node
/// has SSDs; every 10th node is tainted `dedicated=infra:NoSchedule`; every node lists
/// two images (one of them the incoming pod's on a third of the nodes).
pub fn node(i: usize) -> Result<Node, serde_json::Error> {
    let name = format!("node-{i:04}");
    let mut taints = vec![];
    if i.is_multiple_of(10) {
        taints.push(json!({"key": "dedicated", "value": "infra", "effect": "NoSchedule"}));
    }
    let mut images = vec![json!({"names": ["busybox:1.36"], "sizeBytes": 4_000_000})];
    if i.is_multiple_of(3) {
        images.push(json!({"names": ["registry.k8s.io/e2e-test-images/agnhost:2.52"], "sizeBytes": 120_000_000}));
    }
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name,
            "topology.kubernetes.io/zone": format!("zone-{}", i % 3),
            "disk": if i.is_multiple_of(2) { "ssd" } else { "hdd" },
        }},
        "spec": {"taints": taints},
        "status": {
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "images": images,
        }
    }))
}

/// The `j`-th pod bound to node `i`: app `app-{j%5}` (the last pod of every 4th node
/// is app `cache`), requests, a host port on some, and a preferred anti-affinity to its
/// own app on others.
pub fn bound_pod(i: usize, j: usize) -> Result<Pod, serde_json::Error> {
    let app = if j == PODS_PER_NODE - 1 && i.is_multiple_of(4) {
        "cache".to_string()
    } else {
        format!("app-{}", j % 5)
    };
    let mut spec = json!({
        "nodeName": format!("node-{i:04}"),
        "containers": [{"name": "c", "image": "busybox:1.36",
            "resources": {"requests": {"cpu": format!("{}m", 100 + 50 * (j % 4)), "memory": "256Mi"}}}],
    });
    if j == 0 {
        spec["containers"][0]["ports"] = json!([{"containerPort": 80, "hostPort": 8080}]);
    }
    if j % 3 == 1 {
        spec["affinity"] = anti_affinity_to(&app, false);
    }
    if i.is_multiple_of(10) {
        spec["tolerations"] = json!([{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]);
    }
    serde_json::from_value(json!({
        "metadata": {"name": format!("p-{i}-{j}"), "namespace": "default",
                     "uid": format!("uid-{i}-{j}"), "labels": {"app": app}},
        "spec": spec,
    }))
}

fn anti_affinity_to(app: &str, required: bool) -> Value {
    let term = json!({"topologyKey": "kubernetes.io/hostname",
                      "labelSelector": {"matchLabels": {"app": app}}});
    if required {
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}})
    } else {
        json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 50, "podAffinityTerm": term}]}})
    }
}

/// Nodes and the pods bound to them.
pub type Objects = (Vec<Arc<Node>>, Vec<Arc<Pod>>);

/// The nodes and bound pods of a cluster of `nodes` nodes.
pub fn objects(nodes: usize) -> Result<Objects, serde_json::Error> {
    let mut ns = Vec::with_capacity(nodes);
    let mut ps = Vec::with_capacity(nodes * PODS_PER_NODE);
    for i in 0..nodes {
        ns.push(Arc::new(node(i)?));
        for j in 0..PODS_PER_NODE {
            ps.push(Arc::new(bound_pod(i, j)?));
        }
    }
    Ok((ns, ps))
}

/// A snapshot of `nodes` nodes with [`PODS_PER_NODE`] pods each, as the scheduler
/// cache builds it at the start of a cycle.
pub fn cluster(nodes: usize) -> Result<Snapshot, serde_json::Error> {
    let (ns, ps) = objects(nodes)?;
    Ok(Snapshot::build(&ns, &ps, ClusterObjects::default()))
}

/// A pod that fits on most nodes and exercises every plugin: requests, a required
/// node affinity (zone), a preferred one (SSD), a toleration, a required
/// anti-affinity to `cache` per host (a quarter of the nodes), a preferred affinity to
/// `app-1` per zone, and a topology spread constraint over zones.
pub fn incoming_pod() -> Result<Pod, serde_json::Error> {
    serde_json::from_value(json!({
        "metadata": {"name": "incoming", "namespace": "default", "uid": "uid-incoming",
                     "labels": {"app": "app-2"}},
        "spec": {
            "containers": [{"name": "c", "image": "registry.k8s.io/e2e-test-images/agnhost:2.52",
                "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}],
            "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In",
                                               "values": ["zone-0", "zone-1", "zone-2"]}]}]},
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 10, "preference": {"matchExpressions": [
                            {"key": "disk", "operator": "In", "values": ["ssd"]}]}}]
                },
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "kubernetes.io/hostname",
                     "labelSelector": {"matchLabels": {"app": "cache"}}}]},
                "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 20, "podAffinityTerm": {"topologyKey": "topology.kubernetes.io/zone",
                     "labelSelector": {"matchLabels": {"app": "app-1"}}}}]}
            },
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "app-2"}}}]
        }
    }))
}

/// A pod no node can take: it asks for more CPU than any node has and for a disk type
/// no node carries, so every node is filtered out and the FitError message is built.
pub fn unschedulable_pod() -> Result<Pod, serde_json::Error> {
    serde_json::from_value(json!({
        "metadata": {"name": "too-big", "namespace": "default", "uid": "uid-too-big"},
        "spec": {
            "nodeSelector": {"disk": "ssd"},
            "containers": [{"name": "c", "image": "busybox:1.36",
                "resources": {"requests": {"cpu": "64", "memory": "1Gi"}}}]
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use refkube_scheduler::registry::default_framework;
    use refkube_scheduler::schedule_one::{Algorithm, ScheduleError};

    #[test]
    fn a_cluster_has_the_requested_nodes_with_their_pods() {
        let snap = cluster(20).unwrap();
        assert_eq!(snap.nodes.len(), 20);
        assert!(snap.nodes.iter().all(|n| n.pods.len() == PODS_PER_NODE));
    }

    #[test]
    fn the_incoming_pod_is_placed_and_the_unschedulable_one_gets_a_fit_error() {
        let snap = cluster(100).unwrap();
        let mut algo = Algorithm::new(default_framework(), None);
        let mut rng = StdRng::seed_from_u64(1);
        let r = algo
            .schedule_pod(&incoming_pod().unwrap(), &snap, &mut rng)
            .unwrap();
        // Every node but the quarter running a `cache` pod.
        assert_eq!(r.feasible_nodes, 75, "{r:?}");
        let err = algo
            .schedule_pod(&unschedulable_pod().unwrap(), &snap, &mut rng)
            .unwrap_err();
        assert!(matches!(err, ScheduleError::Fit(_)), "{err}");
        assert!(
            err.message().starts_with("0/100 nodes are available"),
            "{}",
            err.message()
        );
    }
}
