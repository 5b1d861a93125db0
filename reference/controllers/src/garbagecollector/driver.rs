//! The garbage collector driver: discovers deletable resources, starts the monitors that
//! keep the ownership graph current (and re-discover them, see `monitors`), and acts on
//! queued UIDs. Entry point: [`start`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use serde_json::{Value, json};
use tokio::task::{JoinHandle, JoinSet};

use super::discovery::{Discovered, by_kind, deletable_resources};
use super::graph::{Identity, Node};
use super::monitors::{Monitors, SharedGraph, SharedKinds, read};
use super::plan::{Action, OwnerState, Propagation, decide};
use crate::runtime::context::Ctx;
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, run_controller};

/// Upstream `--concurrent-gc-syncs` default.
pub const DEFAULT_WORKERS: usize = 20;
const NAME: &str = "garbagecollector";

/// Starts the garbage collector (discovery happens in the background task).
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let ctx = ctx.clone();
    vec![tokio::spawn(async move { run(ctx, queue).await })]
}

async fn run(ctx: Ctx, queue: Arc<WorkQueue>) {
    let resources = deletable_resources(&ctx.client).await;
    let graph: SharedGraph = Arc::default();
    let kinds: SharedKinds = Arc::new(std::sync::RwLock::new(by_kind(&resources)));
    let mut monitors = Monitors::new(ctx.client.clone(), graph.clone(), queue.clone());
    monitors.sync(&resources).await;
    // Upstream waits one sync period for the first lists, then collects anyway (a
    // resource whose watch keeps failing must not stop collection of the others).
    let period = ctx.config.discovery_resync_period;
    if !monitors
        .wait_synced((!period.is_zero()).then_some(period))
        .await
    {
        tracing::info!(
            "Garbage collector: not all resource monitors could be synced, proceeding anyways"
        );
    }
    let mut synced = ctx.synced.clone();
    let _ = synced.wait_for(|s| *s).await;
    tracing::info!(
        resources = monitors.len(),
        objects = read(&graph).len(),
        "garbage collector graph synced"
    );
    // Dropping the set (when this task is aborted) stops the loops and, with the
    // monitors, every watch.
    let mut tasks = JoinSet::new();
    tasks.spawn(monitors.keep_in_sync(kinds.clone(), period));
    let resync_graph = graph.clone();
    let resync_queue = queue.clone();
    let resync = ctx.config.resync_period;
    tasks.spawn(async move {
        if resync.is_zero() {
            return;
        }
        let mut tick = tokio::time::interval(resync);
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
        kinds,
        queue: queue.clone(),
    });
    run_controller(NAME, queue, reconciler, ctx.workers(NAME, DEFAULT_WORKERS)).await;
}

struct GarbageCollector {
    client: kube::Client,
    graph: SharedGraph,
    kinds: SharedKinds,
    queue: Arc<WorkQueue>,
}

impl GarbageCollector {
    /// How to address objects of this kind; `None` while discovery does not serve it.
    fn resource(&self, api_version: &str, kind: &str) -> Option<Discovered> {
        read(&self.kinds)
            .get(&(api_version.to_string(), kind.to_string()))
            .cloned()
    }

    fn api(&self, id: &Identity) -> Option<Api<DynamicObject>> {
        let d = self.resource(&id.api_version, &id.kind)?;
        Some(match (&id.namespace, d.namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, &d.resource),
            _ => Api::all_with(self.client.clone(), &d.resource),
        })
    }

    /// The owner's state (`isDangling`), confirming an owner missing from the graph with
    /// a live read (the graph may lag). `Ok(None)`: the reference can never be resolved,
    /// so the dependent is left alone. An owner kind discovery does not (yet) serve is an
    /// error, retried with backoff until the discovery resync maps it.
    async fn owner_state(
        &self,
        dependent: &Node,
        owner: &OwnerReference,
    ) -> Result<Option<OwnerState>, SyncError> {
        if let Some(o) = read(&self.graph).get(&owner.uid) {
            return Ok(Some(if o.deleting_dependents() {
                OwnerState::Waiting
            } else {
                OwnerState::Solid
            }));
        }
        let Some(d) = self.resource(&owner.api_version, &owner.kind) else {
            return Err(SyncError::Invalid {
                key: dependent.uid.clone(),
                message: format!(
                    "unable to get REST mapping for {}/{}.",
                    owner.api_version, owner.kind
                ),
            });
        };
        let api: Api<DynamicObject> = match (&dependent.identity.namespace, d.namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, &d.resource),
            (None, true) => {
                tracing::info!(
                    item = %dependent.identity.name,
                    owner = %owner.name,
                    "item is cluster-scoped, but refers to a namespaced owner"
                );
                return Ok(None);
            }
            (_, false) => Api::all_with(self.client.clone(), &d.resource),
        };
        Ok(Some(match api.get_opt(&owner.name).await? {
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
        }))
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
                let Some(state) = self.owner_state(&node, owner).await? else {
                    return Ok(None);
                };
                states.insert(owner.uid.clone(), state);
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
