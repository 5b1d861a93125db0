//! The scheduler cache: nodes and the pods placed on them, including **assumed** pods (a
//! pod being bound already counts against its node, so the next cycle cannot overbook it).
//! An assumed pod is confirmed when the watch shows it bound, and forgotten if binding
//! fails. Entry point: [`Cache`]; [`Cache::snapshot`] gives the per-cycle view.
//!
//! Like upstream's cache, node infos are kept up to date as pods and nodes change, and
//! the snapshot is updated incrementally: only the node infos changed since the last
//! snapshot are replaced in it (and copied, when a live snapshot still shares them).
//! The snapshot itself is shared too: once the previous cycle has dropped its handle,
//! the next cycle's snapshot is the same allocation updated in place, so a cycle does
//! not copy (or drop) the whole node list.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ContainerImage, Node, Pod};

use crate::framework::Snapshot;
use crate::framework::types::{ClusterObjects, NodeInfo, PodInfo, image_states};

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
    node: String,
    assumed: bool,
}

fn images_of(node: &Node) -> Option<&Vec<ContainerImage>> {
    node.status.as_ref().and_then(|s| s.images.as_ref())
}

/// Nodes and placed pods, and the node infos built from them.
#[derive(Debug, Default)]
pub struct Cache {
    nodes: HashMap<String, Arc<Node>>,
    pods: HashMap<String, CachedPod>,
    /// Pod keys per node name, including nodes not (yet) known.
    pods_by_node: HashMap<String, BTreeSet<String>>,
    /// One info per known node, kept current.
    infos: HashMap<String, Arc<NodeInfo>>,
    /// Nodes whose info changed since the last snapshot.
    dirty: HashSet<String>,
    /// A node was added or removed since the last snapshot: its node list is rebuilt.
    node_set_changed: bool,
    /// Some node's images changed: every node's image spread is recounted.
    images_changed: bool,
    /// The last snapshot (and its nodes' positions), updated in place when no cycle
    /// holds it any more.
    last: Arc<Snapshot>,
    positions: HashMap<String, usize>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Cache::default()
    }

    /// Adds or replaces a node.
    pub fn upsert_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        match self.nodes.get(&name) {
            Some(old) => {
                if images_of(old) != images_of(&node) {
                    self.images_changed = true;
                }
            }
            None => {
                self.node_set_changed = true;
                if images_of(&node).is_some_and(|i| !i.is_empty()) {
                    self.images_changed = true;
                }
            }
        }
        self.nodes.insert(name.clone(), node);
        self.rebuild_info(&name);
    }

    /// Removes a node (its pods stay until their own deletion arrives, as upstream).
    pub fn remove_node(&mut self, name: &str) {
        if let Some(old) = self.nodes.remove(name) {
            self.infos.remove(name);
            self.node_set_changed = true;
            if images_of(&old).is_some_and(|i| !i.is_empty()) {
                self.images_changed = true;
            }
        }
    }

    /// Replaces the whole node set (after a watch re-list).
    pub fn replace_nodes(&mut self, nodes: Vec<Arc<Node>>) {
        let names: Vec<String> = self.nodes.keys().cloned().collect();
        for name in names {
            self.remove_node(&name);
        }
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

    /// Rebuilds a node's info from its node and pods (after a node change or a pod left
    /// it); keeps its image spread unless images are being recounted anyway.
    fn rebuild_info(&mut self, name: &str) {
        let Some(node) = self.nodes.get(name) else {
            return;
        };
        let mut info = match self.infos.get(name) {
            // Same node object: its allocatable is already parsed.
            Some(old) if Arc::ptr_eq(&old.node, node) => old.without_pods(),
            Some(old) => NodeInfo {
                image_states: old.image_states.clone(),
                ..NodeInfo::new(node.clone())
            },
            None => NodeInfo::new(node.clone()),
        };
        for key in self.pods_by_node.get(name).into_iter().flatten() {
            if let Some(p) = self.pods.get(key) {
                info.add_pod_info(p.info.clone());
            }
        }
        self.infos.insert(name.to_string(), Arc::new(info));
        self.dirty.insert(name.to_string());
    }

    fn insert_pod(&mut self, key: String, pod: Arc<Pod>, node: String, assumed: bool) {
        let info = PodInfo::new(pod);
        self.pods_by_node
            .entry(node.clone())
            .or_default()
            .insert(key.clone());
        if let Some(ni) = self.infos.get_mut(&node) {
            // Copies the info only if a live snapshot still shares it.
            Arc::make_mut(ni).add_pod_info(info.clone());
            self.dirty.insert(node.clone());
        }
        self.pods.insert(
            key,
            CachedPod {
                info,
                node,
                assumed,
            },
        );
    }

    fn take_pod(&mut self, key: &str) -> Option<CachedPod> {
        let old = self.pods.remove(key)?;
        if let Some(keys) = self.pods_by_node.get_mut(&old.node) {
            keys.remove(key);
            if keys.is_empty() {
                self.pods_by_node.remove(&old.node);
            }
        }
        let node = old.node.clone();
        self.rebuild_info(&node);
        Some(old)
    }

    /// A pod seen bound by the watch: adds it, or confirms an assumed pod (the API's
    /// version replaces ours, so a different node wins). Terminal pods are removed.
    pub fn upsert_bound_pod(&mut self, pod: Arc<Pod>) {
        let key = pod_key(&pod);
        let node = node_name_of(&pod).map(str::to_string);
        let Some(node) = node.filter(|_| !is_terminal(&pod)) else {
            self.take_pod(&key);
            return;
        };
        // The API's version replaces ours, on whichever node it names.
        self.take_pod(&key);
        self.insert_pod(key, pod, node, false);
    }

    /// Removes a pod (deleted, or seen unbound).
    pub fn remove_pod(&mut self, key: &str) {
        self.take_pod(key);
    }

    /// Replaces every confirmed pod (after a re-list); assumed pods not in the list stay,
    /// since their binding may still be in flight.
    pub fn replace_bound_pods(&mut self, pods: Vec<Arc<Pod>>) {
        let confirmed: Vec<String> = self
            .pods
            .iter()
            .filter(|(_, p)| !p.assumed)
            .map(|(k, _)| k.clone())
            .collect();
        for key in confirmed {
            self.take_pod(&key);
        }
        for pod in pods {
            self.upsert_bound_pod(pod);
        }
    }

    /// Counts `pod` (with `spec.nodeName` set to the chosen node) against its node before
    /// the binding is confirmed.
    pub fn assume_pod(&mut self, pod: Arc<Pod>) -> Result<(), CacheError> {
        let key = pod_key(&pod);
        let Some(node) = node_name_of(&pod).map(str::to_string) else {
            return Err(CacheError::NoNodeName(key));
        };
        if self.pods.contains_key(&key) {
            return Err(CacheError::AlreadyPresent(key));
        }
        self.insert_pod(key, pod, node, true);
        Ok(())
    }

    /// Drops an assumed pod whose binding failed. A confirmed pod is left alone.
    pub fn forget_pod(&mut self, key: &str) {
        if self.is_assumed(key) {
            self.take_pod(key);
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

    /// The cycle's view: every node with its pods, plus `objects`. Only the node infos
    /// changed since the previous call are replaced (upstream `UpdateSnapshot`), and the
    /// affinity lists only at those positions; the node list is rebuilt only when nodes
    /// came or went. Drop the previous snapshot before asking for the next: while one
    /// is alive, the next is a copy.
    pub fn snapshot(&mut self, objects: ClusterObjects) -> Arc<Snapshot> {
        if self.images_changed {
            self.recount_images();
        }
        let last = Arc::make_mut(&mut self.last);
        if self.node_set_changed {
            let mut nodes: Vec<Arc<NodeInfo>> = self.infos.values().cloned().collect();
            nodes.sort_by(|a, b| a.name().cmp(b.name()));
            self.positions = nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name().to_string(), i))
                .collect();
            last.nodes = nodes;
            last.index_affinity_lists();
        } else {
            for name in &self.dirty {
                if let (Some(&i), Some(info)) = (self.positions.get(name), self.infos.get(name)) {
                    last.nodes[i] = info.clone();
                    last.reindex_affinity_lists_at(i);
                }
            }
        }
        last.objects = objects;
        self.dirty.clear();
        self.node_set_changed = false;
        self.images_changed = false;
        self.last.clone()
    }

    /// Sets every node's image spread (how many nodes have each image) afresh.
    fn recount_images(&mut self) {
        let names: Vec<String> = self.infos.keys().cloned().collect();
        let states = image_states(names.iter().filter_map(|n| self.nodes.get(n).map(|n| &**n)));
        for (name, states) in names.iter().zip(states) {
            if let Some(info) = self.infos.get_mut(name)
                && info.image_states != states
            {
                Arc::make_mut(info).image_states = states;
                self.dirty.insert(name.clone());
            }
        }
    }
}

#[cfg(test)]
#[path = "cache_incremental_tests.rs"]
mod incremental_tests;

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
