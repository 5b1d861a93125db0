//! The garbage collector's monitors (`graph_builder.go` syncMonitors / startMonitors and
//! `garbagecollector.go` Sync): one dynamic watch per deletable resource feeding the
//! ownership graph. Discovery is re-run every period; watches start for resources it
//! adds (a CRD established) and stop for those it no longer lists, while the others, and
//! the graph they built, carry on. Entry points: [`Monitors::sync`],
//! [`Monitors::keep_in_sync`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher;
use refkube_common::informers::watch::events;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::discovery::{Discovered, by_kind, gc_resources};
use super::graph::{Graph, Node};
use crate::runtime::queue::WorkQueue;

/// The ownership graph, shared by the monitors (writers) and the workers (readers).
pub type SharedGraph = Arc<RwLock<Graph>>;

/// The kinds the collector can address, by `(apiVersion, kind)`: upstream's REST mapper,
/// replaced whenever discovery reports a change.
pub type SharedKinds = Arc<RwLock<HashMap<(String, String), Discovered>>>;

/// Reads a lock, ignoring poisoning (a panicked writer leaves a usable map).
pub fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes a lock, ignoring poisoning.
pub fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Monitor {
    resource: Discovered,
    task: JoinHandle<()>,
    synced: watch::Receiver<bool>,
}

/// The running watches, by resource key.
pub struct Monitors {
    client: kube::Client,
    graph: SharedGraph,
    queue: Arc<WorkQueue>,
    monitors: HashMap<String, Monitor>,
}

impl Drop for Monitors {
    // The collector stopping (its task aborted) stops every watch.
    fn drop(&mut self) {
        self.monitors.values().for_each(|m| m.task.abort());
    }
}

/// What must change for the monitors to match `wanted`: resources to start watching and
/// keys of monitors to stop.
pub fn diff<'a>(
    running: impl IntoIterator<Item = &'a String>,
    wanted: &[Discovered],
) -> (Vec<Discovered>, Vec<String>) {
    let running: HashSet<&String> = running.into_iter().collect();
    let wanted_keys: HashSet<String> = wanted.iter().map(Discovered::key).collect();
    let added = wanted
        .iter()
        .filter(|d| !running.contains(&d.key()))
        .cloned()
        .collect();
    let mut removed: Vec<String> = running
        .into_iter()
        .filter(|k| !wanted_keys.contains(*k))
        .cloned()
        .collect();
    removed.sort();
    (added, removed)
}

impl Monitors {
    /// No monitors yet.
    pub fn new(client: kube::Client, graph: SharedGraph, queue: Arc<WorkQueue>) -> Self {
        Self {
            client,
            graph,
            queue,
            monitors: HashMap::new(),
        }
    }

    /// Starts and stops monitors so that exactly `resources` are watched; returns how
    /// many were started and stopped.
    pub async fn sync(&mut self, resources: &[Discovered]) -> (usize, usize) {
        let (added, removed) = diff(self.monitors.keys(), resources);
        for key in &removed {
            let Some(m) = self.monitors.remove(key) else {
                continue;
            };
            m.task.abort();
            // Wait for the watch to end so it cannot write its objects back below.
            let _ = m.task.await;
            // Nothing will report these objects' changes any more: forget them, and let
            // their dependents look at their owners again (through the API, which now
            // no longer serves the kind, so they are left alone).
            let (api_version, kind) = (&m.resource.resource.api_version, &m.resource.resource.kind);
            let affected: Vec<String> = {
                let mut g = write(&self.graph);
                let uids = g.uids_of_kind(api_version, kind);
                uids.iter().flat_map(|u| g.remove(u)).collect()
            };
            affected.into_iter().for_each(|u| self.queue.add(u));
        }
        for d in &added {
            let (tx, rx) = watch::channel(false);
            let task = tokio::spawn(watch_resource(
                self.client.clone(),
                d.clone(),
                self.graph.clone(),
                self.queue.clone(),
                tx,
            ));
            self.monitors.insert(
                d.key(),
                Monitor {
                    resource: d.clone(),
                    task,
                    synced: rx,
                },
            );
        }
        (added.len(), removed.len())
    }

    /// Waits until every monitor has listed its resource once; false on timeout.
    pub async fn wait_synced(&self, timeout: Option<Duration>) -> bool {
        let all = futures::future::join_all(self.monitors.values().map(|m| {
            let mut rx = m.synced.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        }));
        match timeout {
            Some(t) => tokio::time::timeout(t, all).await.is_ok(),
            None => {
                all.await;
                true
            }
        }
    }

    /// Number of monitors.
    pub fn len(&self) -> usize {
        self.monitors.len()
    }

    /// True when nothing is watched.
    pub fn is_empty(&self) -> bool {
        self.monitors.is_empty()
    }

    /// Upstream's `Sync` loop: every `period`, re-runs discovery and, when the resources
    /// changed, updates `kinds`, resyncs the monitors, waits (at most a period) for the
    /// new ones to list, then looks again at every object whose owner the graph has not
    /// seen (its kind may just have become known). Owns the monitors until the task is
    /// aborted; a zero period never re-runs discovery.
    pub async fn keep_in_sync(mut self, kinds: SharedKinds, period: Duration) {
        if period.is_zero() {
            // Keep the monitors running: dropping `self` would stop them.
            std::future::pending::<()>().await;
        }
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let resources = match gc_resources(&self.client).await {
                Ok(r) if !r.is_empty() => r,
                Ok(_) => {
                    tracing::debug!(
                        "no resources reported by discovery, skipping garbage collector sync"
                    );
                    continue;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "discovery failed, skipping garbage collector sync");
                    continue;
                }
            };
            let (added, removed) = diff(self.monitors.keys(), &resources);
            if added.is_empty() && removed.is_empty() {
                continue;
            }
            let added: Vec<String> = added.iter().map(Discovered::key).collect();
            tracing::info!(
                ?added,
                ?removed,
                "syncing garbage collector with updated resources from discovery"
            );
            *write(&kinds) = by_kind(&resources);
            self.sync(&resources).await;
            if !self.wait_synced(Some(period)).await {
                tracing::warn!(
                    "timed out waiting for dependency graph builder sync during GC sync"
                );
            }
            let uids = read(&self.graph).with_absent_owners();
            uids.into_iter().for_each(|u| self.queue.add(u));
        }
    }
}

async fn watch_resource(
    client: kube::Client,
    d: Discovered,
    graph: SharedGraph,
    queue: Arc<WorkQueue>,
    synced: watch::Sender<bool>,
) {
    let api: Api<DynamicObject> = Api::all_with(client, &d.resource);
    let mut stream = events(api, watcher::Config::default(), d.resource.plural.clone()).boxed();
    let mut known: HashSet<String> = HashSet::new();
    let mut listing: HashSet<String> = HashSet::new();
    let (api_version, kind) = (d.resource.api_version.clone(), d.resource.kind.clone());
    while let Some(event) = stream.next().await {
        let affected = match event {
            watcher::Event::Apply(o) | watcher::Event::InitApply(o) => {
                let Some(node) = Node::from_meta(&api_version, &kind, &o.metadata) else {
                    continue;
                };
                listing.insert(node.uid.clone());
                known.insert(node.uid.clone());
                write(&graph).upsert(node)
            }
            watcher::Event::Delete(o) => {
                let Some(uid) = o.metadata.uid else { continue };
                known.remove(&uid);
                write(&graph).remove(&uid)
            }
            watcher::Event::Init => {
                listing.clear();
                Vec::new()
            }
            watcher::Event::InitDone => {
                let gone: Vec<String> = known.difference(&listing).cloned().collect();
                known = std::mem::take(&mut listing);
                synced.send_replace(true);
                let mut g = write(&graph);
                gone.iter().flat_map(|u| g.remove(u)).collect()
            }
        };
        affected.into_iter().for_each(|u| queue.add(u));
    }
}

#[cfg(test)]
mod tests {
    use kube::discovery::ApiResource;

    use super::*;

    fn resource(group: &str, plural: &str, kind: &str) -> Discovered {
        let api_version = if group.is_empty() {
            "v1".to_string()
        } else {
            format!("{group}/v1")
        };
        Discovered {
            resource: ApiResource {
                group: group.into(),
                version: "v1".into(),
                api_version,
                kind: kind.into(),
                plural: plural.into(),
            },
            namespaced: true,
            delete_collection: true,
        }
    }

    #[test]
    fn only_new_resources_start_and_only_vanished_ones_stop() {
        let cm = resource("", "configmaps", "ConfigMap");
        let widgets = resource("ns.kubeproof.test", "widgets", "Widget");
        let gadgets = resource("ns.kubeproof.test", "gadgets", "Gadget");
        let running = [cm.key(), gadgets.key()];
        let (added, removed) = diff(&running, &[cm.clone(), widgets.clone()]);
        assert_eq!(
            added.iter().map(Discovered::key).collect::<Vec<_>>(),
            vec![widgets.key()]
        );
        assert_eq!(removed, vec![gadgets.key()]);
        let (added, removed) = diff(&running, &[cm, gadgets]);
        assert!(added.is_empty() && removed.is_empty());
    }

    #[test]
    fn resources_differing_only_in_version_are_distinct_monitors() {
        let mut v2 = resource("ns.kubeproof.test", "widgets", "Widget");
        v2.resource.version = "v2".into();
        v2.resource.api_version = "ns.kubeproof.test/v2".into();
        let v1 = resource("ns.kubeproof.test", "widgets", "Widget");
        let (added, removed) = diff(&[v1.key()], &[v2.clone()]);
        assert_eq!(added.len(), 1);
        assert_eq!(removed, vec![v1.key()]);
    }
}
