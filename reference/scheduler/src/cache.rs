//! The scheduler cache: nodes and the pods placed on them, including **assumed** pods (a
//! pod being bound already counts against its node, so the next cycle cannot overbook it).
//! An assumed pod is confirmed when the watch shows it bound, and forgotten if binding
//! fails. Entry point: [`Cache`]; [`Cache::snapshot`] gives the per-cycle view.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::framework::Snapshot;
use crate::framework::types::{ClusterObjects, PodInfo};

/// Errors from cache bookkeeping.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CacheError {
    /// The pod is already in the cache (bound or assumed): assuming it again would count
    /// it twice and could bind it twice.
    #[error("pod {0} is in the cache, so can't be assumed")]
    AlreadyPresent(String),
    /// Only pods with `spec.nodeName` can be placed in the cache.
    #[error("pod {0} has no node name")]
    NoNodeName(String),
}

/// `namespace/name`, the key used everywhere in the scheduler.
pub fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}

/// The node a pod is bound (or assumed) to, if any.
pub fn node_name_of(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// True for pods that no longer hold resources (phase Succeeded or Failed).
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// A placed pod with its requests computed once (not on every cycle).
#[derive(Clone, Debug)]
struct CachedPod {
    info: PodInfo,
    assumed: bool,
}

/// Nodes and placed pods.
#[derive(Debug, Default)]
pub struct Cache {
    nodes: HashMap<String, Arc<Node>>,
    pods: HashMap<String, CachedPod>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Cache::default()
    }

    /// Adds or replaces a node.
    pub fn upsert_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        self.nodes.insert(name, node);
    }

    /// Removes a node (its pods stay until their own deletion arrives, as upstream).
    pub fn remove_node(&mut self, name: &str) {
        self.nodes.remove(name);
    }

    /// Replaces the whole node set (after a watch re-list).
    pub fn replace_nodes(&mut self, nodes: Vec<Arc<Node>>) {
        self.nodes.clear();
        for n in nodes {
            self.upsert_node(n);
        }
    }

    /// The node, if known.
    pub fn node(&self, name: &str) -> Option<Arc<Node>> {
        self.nodes.get(name).cloned()
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// A pod seen bound by the watch: adds it, or confirms an assumed pod (the API's
    /// version replaces ours, so a different node wins). Terminal pods are removed.
    pub fn upsert_bound_pod(&mut self, pod: Arc<Pod>) {
        let key = pod_key(&pod);
        if is_terminal(&pod) || node_name_of(&pod).is_none() {
            self.pods.remove(&key);
            return;
        }
        self.pods.insert(
            key,
            CachedPod {
                info: PodInfo::new(pod),
                assumed: false,
            },
        );
    }

    /// Removes a pod (deleted, or seen unbound).
    pub fn remove_pod(&mut self, key: &str) {
        self.pods.remove(key);
    }

    /// Replaces every confirmed pod (after a re-list); assumed pods not in the list stay,
    /// since their binding may still be in flight.
    pub fn replace_bound_pods(&mut self, pods: Vec<Arc<Pod>>) {
        self.pods.retain(|_, p| p.assumed);
        for pod in pods {
            self.upsert_bound_pod(pod);
        }
    }

    /// Counts `pod` (with `spec.nodeName` set to the chosen node) against its node before
    /// the binding is confirmed.
    pub fn assume_pod(&mut self, pod: Arc<Pod>) -> Result<(), CacheError> {
        let key = pod_key(&pod);
        if node_name_of(&pod).is_none() {
            return Err(CacheError::NoNodeName(key));
        }
        if self.pods.contains_key(&key) {
            return Err(CacheError::AlreadyPresent(key));
        }
        self.pods.insert(
            key,
            CachedPod {
                info: PodInfo::new(pod),
                assumed: true,
            },
        );
        Ok(())
    }

    /// Drops an assumed pod whose binding failed. A confirmed pod is left alone.
    pub fn forget_pod(&mut self, key: &str) {
        if self.pods.get(key).is_some_and(|p| p.assumed) {
            self.pods.remove(key);
        }
    }

    /// True while `key` is assumed and not yet confirmed.
    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|p| p.assumed)
    }

    /// The placed (bound or assumed) pod under `key`.
    pub fn pod(&self, key: &str) -> Option<Arc<Pod>> {
        self.pods.get(key).map(|p| p.info.pod.clone())
    }

    /// True when the pod is placed (bound or assumed) on some node.
    pub fn contains_pod(&self, key: &str) -> bool {
        self.pods.contains_key(key)
    }

    /// The cycle's view: every node with its pods, plus `objects`.
    pub fn snapshot(&self, objects: ClusterObjects) -> Snapshot {
        let nodes: Vec<Arc<Node>> = self.nodes.values().cloned().collect();
        let pods: Vec<PodInfo> = self.pods.values().map(|p| p.info.clone()).collect();
        Snapshot::build_from_infos(&nodes, pods, objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{bound, node, pod};
    use serde_json::json;

    fn cache_with_node() -> Cache {
        let mut c = Cache::new();
        c.upsert_node(node("n1", "1", "1Gi", json!({})));
        c
    }

    fn req_pod(name: &str) -> Arc<Pod> {
        pod(
            name,
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "600m"}}}]}),
        )
    }

    #[test]
    fn an_assumed_pod_counts_against_its_node_at_once() {
        let mut c = cache_with_node();
        c.assume_pod(bound(req_pod("a"), "n1")).unwrap();
        let snap = c.snapshot(ClusterObjects::default());
        assert_eq!(snap.nodes[0].requested.milli_cpu, 600);
        assert!(c.is_assumed("default/a"));
    }

    #[test]
    fn a_pod_cannot_be_assumed_twice() {
        let mut c = cache_with_node();
        c.assume_pod(bound(req_pod("a"), "n1")).unwrap();
        assert_eq!(
            c.assume_pod(bound(req_pod("a"), "n1")),
            Err(CacheError::AlreadyPresent("default/a".into()))
        );
        assert!(matches!(
            c.assume_pod(req_pod("b")),
            Err(CacheError::NoNodeName(_))
        ));
    }

    #[test]
    fn the_watch_event_confirms_an_assumed_pod_and_forget_then_does_nothing() {
        let mut c = cache_with_node();
        c.assume_pod(bound(req_pod("a"), "n1")).unwrap();
        c.upsert_bound_pod(bound(req_pod("a"), "n1"));
        assert!(!c.is_assumed("default/a"));
        c.forget_pod("default/a");
        assert!(c.contains_pod("default/a"));
    }

    #[test]
    fn a_failed_binding_forgets_the_assumed_pod() {
        let mut c = cache_with_node();
        c.assume_pod(bound(req_pod("a"), "n1")).unwrap();
        c.forget_pod("default/a");
        assert_eq!(
            c.snapshot(ClusterObjects::default()).nodes[0]
                .requested
                .milli_cpu,
            0
        );
    }

    #[test]
    fn terminal_pods_free_their_resources() {
        let mut c = cache_with_node();
        c.upsert_bound_pod(bound(req_pod("a"), "n1"));
        let mut done = (*bound(req_pod("a"), "n1")).clone();
        done.status = Some(serde_json::from_value(json!({"phase": "Succeeded"})).unwrap());
        c.upsert_bound_pod(Arc::new(done));
        assert!(!c.contains_pod("default/a"));
    }

    #[test]
    fn a_relist_keeps_assumed_pods_in_flight() {
        let mut c = cache_with_node();
        c.upsert_bound_pod(bound(req_pod("old"), "n1"));
        c.assume_pod(bound(req_pod("a"), "n1")).unwrap();
        c.replace_bound_pods(vec![]);
        assert!(!c.contains_pod("default/old"));
        assert!(c.is_assumed("default/a"));
    }
}
