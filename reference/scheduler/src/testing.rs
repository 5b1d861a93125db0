//! Test fixtures: nodes and pods from JSON, node infos with pods on them.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use crate::framework::types::{ClusterObjects, NodeInfo, Snapshot};

/// A node named `name` with allocatable `{cpu, memory, pods}` and extra JSON merged in
/// (`metadata.labels`, `spec.taints`, `status.images`, ...).
pub fn node(name: &str, cpu: &str, memory: &str, extra: Value) -> Arc<Node> {
    let mut v = json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}
    });
    merge(&mut v, extra);
    Arc::new(serde_json::from_value(v).unwrap())
}

/// A pod in namespace `default` named `name` with the given spec (containers default to
/// one container `c` when the spec has none).
pub fn pod(name: &str, spec: Value) -> Arc<Pod> {
    pod_with(name, json!({}), spec)
}

/// A pod with extra metadata (labels, ownerReferences ...).
pub fn pod_with(name: &str, metadata: Value, spec: Value) -> Arc<Pod> {
    let mut meta = json!({"name": name, "namespace": "default", "uid": format!("uid-{name}")});
    merge(&mut meta, metadata);
    let mut spec = spec;
    if spec.get("containers").is_none() {
        merge(
            &mut spec,
            json!({"containers": [{"name": "c", "image": "busybox"}]}),
        );
    }
    Arc::new(serde_json::from_value(json!({"metadata": meta, "spec": spec})).unwrap())
}

/// A pod bound to `node`.
pub fn bound(mut pod: Arc<Pod>, node: &str) -> Arc<Pod> {
    Arc::make_mut(&mut pod).spec.as_mut().unwrap().node_name = Some(node.to_string());
    pod
}

/// A snapshot of these nodes and (bound) pods.
pub fn snapshot(nodes: &[Arc<Node>], pods: &[Arc<Pod>]) -> Snapshot {
    Snapshot::build(nodes, pods, ClusterObjects::default())
}

/// One node info with these pods on it.
pub fn node_info(node: Arc<Node>, pods: &[Arc<Pod>]) -> NodeInfo {
    let name = node.metadata.name.clone().unwrap();
    let pods: Vec<_> = pods.iter().map(|p| bound(p.clone(), &name)).collect();
    (*snapshot(&[node], &pods).nodes.remove(0)).clone()
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}
