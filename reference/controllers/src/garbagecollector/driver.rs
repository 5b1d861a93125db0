//! The garbage collector driver: discovers deletable resources, keeps the ownership graph
//! current with one dynamic watch per resource, and acts on queued UIDs.
//! Entry point: [`start`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use tokio::task::{JoinHandle, JoinSet};

use super::discovery::{Discovered, by_kind, deletable_resources};
use super::graph::{Graph, Identity, Node};
use super::plan::{Action, OwnerState, Propagation, decide};
use crate::runtime::context::Ctx;
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, run_controller};

/// Upstream `--concurrent-gc-syncs` default.
pub const DEFAULT_WORKERS: usize = 20;
const NAME: &str = "garbagecollector";

type SharedGraph = Arc<RwLock<Graph>>;

fn read(g: &SharedGraph) -> std::sync::RwLockReadGuard<'_, Graph> {
    g.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write(g: &SharedGraph) -> std::sync::RwLockWriteGuard<'_, Graph> {
    g.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the garbage collector (discovery happens in the background task).
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let ctx = ctx.clone();
    vec![tokio::spawn(async move { run(ctx, queue).await })]
}

async fn run(ctx: Ctx, queue: Arc<WorkQueue>) {
    let resources = deletable_resources(&ctx.client).await;
    let graph: SharedGraph = Arc::default();
    // Dropping the set (when this task is aborted) stops every watch.
    let mut tasks = JoinSet::new();
    let (synced_tx, mut synced_rx) = tokio::sync::mpsc::channel::<()>(resources.len().max(1));
    for d in &resources {
        tasks.spawn(watch_resource(
            ctx.client.clone(),
            d.clone(),
            graph.clone(),
            queue.clone(),
            synced_tx.clone(),
        ));
    }
    drop(synced_tx);
    for _ in 0..resources.len() {
        if synced_rx.recv().await.is_none() {
            break;
        }
    }
    let mut synced = ctx.synced.clone();
    let _ = synced.wait_for(|s| *s).await;
    tracing::info!(
        resources = resources.len(),
        objects = read(&graph).len(),
        "garbage collector graph synced"
    );
    let resync_graph = graph.clone();
    let resync_queue = queue.clone();
    let period = ctx.config.resync_period;
    tasks.spawn(async move {
        if period.is_zero() {
            return;
        }
        let mut tick = tokio::time::interval(period);
        tick.tick().await;
        loop {
            tick.tick().await;
            let uids = read(&resync_graph).uids();
            uids.into_iter().for_each(|u| resync_queue.add(u));
        }
    });
    let reconciler = Arc::new(GarbageCollector {
        client: ctx.client.clone(),
        graph,
        kinds: by_kind(&resources),
        queue: queue.clone(),
    });
    run_controller(NAME, queue, reconciler, ctx.workers(NAME, DEFAULT_WORKERS)).await;
}

async fn watch_resource(
    client: kube::Client,
    d: Discovered,
    graph: SharedGraph,
    queue: Arc<WorkQueue>,
    synced: tokio::sync::mpsc::Sender<()>,
) {
    let api: Api<DynamicObject> = Api::all_with(client, &d.resource);
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut known: HashSet<String> = HashSet::new();
    let mut listing: HashSet<String> = HashSet::new();
    let mut first_sync = Some(synced);
    let (api_version, kind) = (d.resource.api_version.clone(), d.resource.kind.clone());
    while let Some(event) = stream.next().await {
        let affected = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                let Some(node) = Node::from_meta(&api_version, &kind, &o.metadata) else {
                    continue;
                };
                listing.insert(node.uid.clone());
                known.insert(node.uid.clone());
                write(&graph).upsert(node)
            }
            Ok(watcher::Event::Delete(o)) => {
                let Some(uid) = o.metadata.uid else { continue };
                known.remove(&uid);
                write(&graph).remove(&uid)
            }
            Ok(watcher::Event::Init) => {
                listing.clear();
                Vec::new()
            }
            Ok(watcher::Event::InitDone) => {
                let gone: Vec<String> = known.difference(&listing).cloned().collect();
                known = std::mem::take(&mut listing);
                if let Some(tx) = first_sync.take() {
                    let _ = tx.send(()).await;
                }
                let mut g = write(&graph);
                gone.iter().flat_map(|u| g.remove(u)).collect()
            }
            Err(e) => {
                tracing::debug!(resource = %d.resource.plural, error = %e, "gc watch error; retrying");
                Vec::new()
            }
        };
        affected.into_iter().for_each(|u| queue.add(u));
    }
}

struct GarbageCollector {
    client: kube::Client,
    graph: SharedGraph,
    kinds: HashMap<(String, String), Discovered>,
    queue: Arc<WorkQueue>,
}

impl GarbageCollector {
    fn api(&self, id: &Identity) -> Option<Api<DynamicObject>> {
        let d = self.kinds.get(&(id.api_version.clone(), id.kind.clone()))?;
        Some(match (&id.namespace, d.namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, &d.resource),
            _ => Api::all_with(self.client.clone(), &d.resource),
        })
    }

    /// The owner's state, confirming an owner missing from the graph with a live read
    /// (the graph may lag) before calling it dangling.
    async fn owner_state(
        &self,
        dependent: &Node,
        owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    ) -> Result<OwnerState, SyncError> {
        if let Some(o) = read(&self.graph).get(&owner.uid) {
            return Ok(if o.deleting_dependents() {
                OwnerState::Waiting
            } else {
                OwnerState::Solid
            });
        }
        let id = Identity {
            api_version: owner.api_version.clone(),
            kind: owner.kind.clone(),
            namespace: dependent.identity.namespace.clone(),
            name: owner.name.clone(),
        };
        let Some(api) = self.api(&id) else {
            // An owner kind we cannot resolve: never delete on a guess.
            tracing::info!(kind = %owner.kind, "unknown owner kind; treating the owner as present");
            return Ok(OwnerState::Solid);
        };
        Ok(match api.get_opt(&owner.name).await? {
            Some(o) if o.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
                let fg = o.metadata.deletion_timestamp.is_some()
                    && o.metadata
                        .finalizers
                        .iter()
                        .flatten()
                        .any(|f| f == super::graph::FOREGROUND);
                if fg {
                    OwnerState::Waiting
                } else {
                    OwnerState::Solid
                }
            }
            _ => OwnerState::Dangling,
        })
    }

    async fn execute(&self, action: &Action) -> Result<(), SyncError> {
        let target = match action {
            Action::Requeue(uid) => {
                self.queue.add(uid.clone());
                return Ok(());
            }
            Action::Delete { uid, .. }
            | Action::RemoveOwnerRefs { uid, .. }
            | Action::RemoveFinalizer { uid, .. } => read(&self.graph).get(uid).cloned(),
        };
        let Some(node) = target else { return Ok(()) };
        let Some(api) = self.api(&node.identity) else {
            return Ok(());
        };
        let result = match action {
            Action::Delete { propagation, .. } => {
                let policy = match propagation {
                    Propagation::Background => PropagationPolicy::Background,
                    Propagation::Foreground => PropagationPolicy::Foreground,
                    Propagation::Orphan => PropagationPolicy::Orphan,
                };
                let dp = DeleteParams {
                    propagation_policy: Some(policy),
                    preconditions: Some(Preconditions {
                        uid: Some(node.uid.clone()),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                api.delete(&node.identity.name, &dp).await.map(|_| ())
            }
            Action::RemoveOwnerRefs { owners, .. } => {
                let refs: Vec<_> = node
                    .owners
                    .iter()
                    .filter(|o| !owners.contains(&o.uid))
                    .collect();
                let refs = if refs.is_empty() {
                    Value::Null
                } else {
                    json!(refs)
                };
                let patch = json!({"metadata": {"ownerReferences": refs, "uid": node.uid, "resourceVersion": node.resource_version}});
                api.patch(
                    &node.identity.name,
                    &PatchParams::default(),
                    &Patch::Merge(patch),
                )
                .await
                .map(|_| ())
            }
            Action::RemoveFinalizer { finalizer, .. } => {
                let rest: Vec<&String> =
                    node.finalizers.iter().filter(|f| f != finalizer).collect();
                let patch = json!({"metadata": {"finalizers": if rest.is_empty() { Value::Null } else { json!(rest) }, "resourceVersion": node.resource_version}});
                api.patch(
                    &node.identity.name,
                    &PatchParams::default(),
                    &Patch::Merge(patch),
                )
                .await
                .map(|_| ())
            }
            Action::Requeue(_) => Ok(()),
        };
        match result {
            Ok(()) => Ok(()),
            // Already gone, or replaced (UID precondition): nothing left to do.
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for GarbageCollector {
    async fn sync(&self, uid: &str) -> Result<Option<Duration>, SyncError> {
        let Some(node) = read(&self.graph).get(uid).cloned() else {
            return Ok(None);
        };
        let mut states = HashMap::new();
        if !node.deleting {
            for owner in &node.owners {
                states.insert(owner.uid.clone(), self.owner_state(&node, owner).await?);
            }
        }
        let actions = {
            let g = read(&self.graph);
            decide(&g, &node, &|u| {
                states.get(u).copied().unwrap_or(OwnerState::Solid)
            })
        };
        for action in &actions {
            self.execute(action).await?;
        }
        Ok(None)
    }
}
