//! Watches that feed the cache and the queue: nodes, pods (all of them: bound pods count
//! against nodes, our unbound pods are queued), and informers over the objects some
//! plugins read, all on `refkube_common::informers`. Entry point: [`spawn_informers`].

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    Namespace, Node, PersistentVolumeClaim, Pod, ReplicationController, Service,
};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use refkube_common::informers::watch::{events, until_cancelled};
use refkube_common::informers::{Informed, Informer};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cache::{is_terminal, node_name_of, pod_key};
use crate::framework::resource::pod_requests;
use crate::framework::types::ClusterObjects;
use crate::scheduler::Shared;

/// The secondary caches: informers over the objects some plugins read.
#[derive(Clone)]
pub struct Stores {
    pvcs: Arc<Informer<PersistentVolumeClaim>>,
    namespaces: Arc<Informer<Namespace>>,
    services: Arc<Informer<Service>>,
    rcs: Arc<Informer<ReplicationController>>,
    replica_sets: Arc<Informer<ReplicaSet>>,
    stateful_sets: Arc<Informer<StatefulSet>>,
}

impl Stores {
    /// The objects plugins consult, as of now.
    pub fn objects(&self) -> ClusterObjects {
        let key = |ns: Option<&String>, name: Option<&String>| {
            format!(
                "{}/{}",
                ns.map_or("", String::as_str),
                name.map_or("", String::as_str)
            )
        };
        ClusterObjects {
            pvcs: self
                .pvcs
                .list()
                .into_iter()
                .map(|p| {
                    (
                        key(p.metadata.namespace.as_ref(), p.metadata.name.as_ref()),
                        p,
                    )
                })
                .collect(),
            namespaces: self
                .namespaces
                .list()
                .into_iter()
                .map(|n| (n.metadata.name.clone().unwrap_or_default(), n))
                .collect(),
            services: self.services.list(),
            replication_controllers: self.rcs.list(),
            replica_sets: self.replica_sets.list(),
            stateful_sets: self.stateful_sets.list(),
        }
    }

    /// Waits (bounded) for every secondary store's first list.
    pub async fn wait_ready(&self, timeout: std::time::Duration) {
        let all = async {
            let _ = futures::join!(
                self.pvcs.wait_synced(),
                self.namespaces.wait_synced(),
                self.services.wait_synced(),
                self.rcs.wait_synced(),
                self.replica_sets.wait_synced(),
                self.stateful_sets.wait_synced(),
            );
        };
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!("secondary caches not synced in {timeout:?}; scheduling anyway");
        }
    }
}

/// A cluster-wide informer whose watch runs in `tasks` until `stop`.
fn informer<K: Informed>(
    client: &Client,
    tasks: &mut JoinSet<()>,
    stop: &CancellationToken,
) -> Arc<Informer<K>> {
    let (informer, task) = Informer::new(Api::all(client.clone()), watcher::Config::default());
    tasks.spawn(until_cancelled(stop.clone(), task));
    informer
}

/// Starts every watch; they run until `stop` is cancelled.
pub fn spawn_informers(
    client: &Client,
    shared: Arc<Shared>,
    stop: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Stores {
    let stores = Stores {
        pvcs: informer(client, tasks, stop),
        namespaces: informer(client, tasks, stop),
        services: informer(client, tasks, stop),
        rcs: informer(client, tasks, stop),
        replica_sets: informer(client, tasks, stop),
        stateful_sets: informer(client, tasks, stop),
    };
    // Nodes and pods feed the scheduler's own cache and queue event by event (a list
    // replaces what the cache held), so they use the raw event stream.
    let nodes = events(
        Api::<Node>::all(client.clone()),
        watcher::Config::default(),
        "nodes",
    );
    let node_shared = shared.clone();
    tasks.spawn(until_cancelled(stop.clone(), async move {
        let mut buffer = Vec::new();
        let mut nodes = std::pin::pin!(nodes);
        while let Some(event) = nodes.next().await {
            on_node_event(&node_shared, &mut buffer, event);
        }
    }));
    let pods = events(
        Api::<Pod>::all(client.clone()),
        watcher::Config::default(),
        "pods",
    );
    tasks.spawn(until_cancelled(stop.clone(), async move {
        let mut buffer = Vec::new();
        let mut pods = std::pin::pin!(pods);
        while let Some(event) = pods.next().await {
            on_pod_event(&shared, &mut buffer, event);
        }
    }));
    stores
}

/// A node change that may let pending pods fit (not a mere heartbeat).
pub fn node_update_is_relevant(old: &Node, new: &Node) -> bool {
    let alloc = |n: &Node| n.status.as_ref().and_then(|s| s.allocatable.clone());
    let images = |n: &Node| n.status.as_ref().and_then(|s| s.images.clone());
    old.metadata.labels != new.metadata.labels
        || old.spec != new.spec
        || alloc(old) != alloc(new)
        || images(old) != images(new)
}

fn on_node_event(shared: &Shared, buffer: &mut Vec<Arc<Node>>, event: Event<Node>) {
    let now = Instant::now();
    match event {
        Event::Init => buffer.clear(),
        Event::InitApply(node) => buffer.push(Arc::new(node)),
        Event::InitDone => {
            shared.cache().replace_nodes(std::mem::take(buffer));
            shared.queue.with(|q| q.move_all_to_active_or_backoff(now));
            shared.mark_nodes_synced();
        }
        Event::Apply(node) => {
            let name = node.metadata.name.clone().unwrap_or_default();
            let node = Arc::new(node);
            let relevant = {
                let mut cache = shared.cache();
                let relevant = cache
                    .node(&name)
                    .is_none_or(|old| node_update_is_relevant(&old, &node));
                cache.upsert_node(node);
                relevant
            };
            if relevant {
                shared.queue.with(|q| q.move_all_to_active_or_backoff(now));
            }
        }
        Event::Delete(node) => shared
            .cache()
            .remove_node(node.metadata.name.as_deref().unwrap_or("")),
    }
}

fn on_pod_event(shared: &Shared, buffer: &mut Vec<Pod>, event: Event<Pod>) {
    match event {
        Event::Init => buffer.clear(),
        Event::InitApply(pod) => buffer.push(pod),
        Event::InitDone => {
            let pods = std::mem::take(buffer);
            let bound: Vec<Arc<Pod>> = pods
                .iter()
                .filter(|p| node_name_of(p).is_some())
                .cloned()
                .map(Arc::new)
                .collect();
            shared.cache().replace_bound_pods(bound);
            shared.replace_pending(
                pods.iter()
                    .filter(|p| shared.is_responsible_for(p))
                    .map(pod_key_uid)
                    .collect(),
            );
            for pod in pods {
                on_pod_applied(shared, pod);
            }
            shared.mark_pods_synced();
        }
        Event::Apply(pod) => on_pod_applied(shared, pod),
        Event::Delete(pod) => {
            let key = pod_key(&pod);
            let was_bound = shared.cache().contains_pod(&key);
            shared.cache().remove_pod(&key);
            shared.forget_pending(&key);
            shared.queue.with(|q| {
                q.delete(&key);
                if was_bound {
                    q.move_all_to_active_or_backoff(Instant::now());
                }
            });
        }
    }
}

/// What a bound pod's add/update means for unschedulable pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundPodEvent {
    /// Nothing a pending pod could gain (e.g. our own assumed pod confirmed).
    Irrelevant,
    /// Resources freed or labels changed: any pending pod may now fit.
    MayFree,
    /// A new pod appeared on a node: only pods that need other pods (required pod
    /// affinity, topology spread) can gain from it.
    Added,
}

/// Classifies a bound pod's watch event against what the cache held before.
pub fn bound_pod_event(old: Option<&Pod>, new: &Pod) -> BoundPodEvent {
    match old {
        _ if is_terminal(new) => BoundPodEvent::MayFree,
        None => BoundPodEvent::Added,
        Some(old) if old.metadata.labels != new.metadata.labels => BoundPodEvent::MayFree,
        Some(old) if pod_requests(old) != pod_requests(new) => BoundPodEvent::MayFree,
        Some(_) => BoundPodEvent::Irrelevant,
    }
}

/// Pods an added pod might help: required pod affinity or topology spread constraints.
pub fn needs_other_pods(pod: &Pod) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    let affinity = spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_some_and(|t| !t.is_empty());
    let spread = spec
        .topology_spread_constraints
        .as_ref()
        .is_some_and(|c| !c.is_empty());
    affinity || spread
}

fn pod_key_uid(pod: &Pod) -> (String, String) {
    (pod_key(pod), pod.metadata.uid.clone().unwrap_or_default())
}

fn on_pod_applied(shared: &Shared, pod: Pod) {
    let key = pod_key(&pod);
    let now = Instant::now();
    if node_name_of(&pod).is_some() {
        // Our own binding confirmed counts as an added pod: it may satisfy another
        // pending pod's affinity, just like a pod bound by anyone else.
        let old = {
            let cache = shared.cache();
            if cache.is_assumed(&key) {
                None
            } else {
                cache.pod(&key)
            }
        };
        let event = bound_pod_event(old.as_deref(), &pod);
        shared.cache().upsert_bound_pod(Arc::new(pod));
        shared.forget_pending(&key);
        shared.queue.with(|q| {
            q.delete(&key);
            match event {
                BoundPodEvent::Irrelevant => {}
                BoundPodEvent::MayFree => q.move_all_to_active_or_backoff(now),
                BoundPodEvent::Added => q.move_to_active_or_backoff_if(now, needs_other_pods),
            }
        });
    } else if shared.is_responsible_for(&pod) {
        shared.remember_pending(pod_key_uid(&pod));
        shared.queue.with(|q| q.add_or_update(Arc::new(pod), now));
    } else {
        shared.forget_pending(&key);
        shared.queue.with(|q| q.delete(&key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn node_heartbeats_are_not_relevant_but_label_and_capacity_changes_are() {
        let n = |labels: serde_json::Value, cpu: &str, ready: &str| -> Node {
            serde_json::from_value(json!({"metadata": {"name": "n", "labels": labels},
                "status": {"allocatable": {"cpu": cpu}, "conditions": [{"type": "Ready", "status": ready}]}}))
            .unwrap()
        };
        let base = n(json!({"a": "1"}), "1", "True");
        assert!(!node_update_is_relevant(
            &base,
            &n(json!({"a": "1"}), "1", "False")
        ));
        assert!(node_update_is_relevant(
            &base,
            &n(json!({"a": "2"}), "1", "True")
        ));
        assert!(node_update_is_relevant(
            &base,
            &n(json!({"a": "1"}), "2", "True")
        ));
    }

    #[test]
    fn bound_pod_events_are_classified_by_what_they_may_free() {
        let p = pod(
            json!({"metadata": {"name": "p", "labels": {"app": "x"}}, "spec": {"nodeName": "n", "containers": []}}),
        );
        assert_eq!(bound_pod_event(None, &p), BoundPodEvent::Added);
        assert_eq!(bound_pod_event(Some(&p), &p), BoundPodEvent::Irrelevant);
        let relabelled = pod(
            json!({"metadata": {"name": "p", "labels": {"app": "y"}}, "spec": {"nodeName": "n", "containers": []}}),
        );
        assert_eq!(
            bound_pod_event(Some(&p), &relabelled),
            BoundPodEvent::MayFree
        );
        let done = pod(
            json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n", "containers": []}, "status": {"phase": "Failed"}}),
        );
        assert_eq!(bound_pod_event(Some(&p), &done), BoundPodEvent::MayFree);
    }

    #[test]
    fn only_pods_with_pod_affinity_or_spread_need_other_pods() {
        assert!(!needs_other_pods(&pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": []}})
        )));
        assert!(needs_other_pods(&pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [],
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "z", "whenUnsatisfiable": "DoNotSchedule"}]}})
        )));
    }
}
