//! The taint eviction driver: watches pods and nodes, schedules and fires evictions.
//! Entry point: [`start`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Resource as _, ResourceExt};
use serde_json::json;
use tokio::task::JoinHandle;

use super::plan::{Eviction, TAINT_MANAGER_EVICTION, decide, with_disruption_target};
use crate::runtime::context::Ctx;
use crate::runtime::events::{EventSink, PlannedEvent};
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, enqueue_all, key_of, spawn_watch, split_key};
use crate::util::pods::{is_terminal, node_name};
use crate::util::time::now_seconds;

const NAME: &str = "taint-eviction-controller";
/// Upstream runs 8 eviction workers.
pub const DEFAULT_WORKERS: usize = 8;

struct TaintEviction {
    client: kube::Client,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    events: EventSink,
    /// Pod key → when its eviction was first scheduled.
    scheduled: Mutex<HashMap<String, Instant>>,
}

/// Starts the taint eviction controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let pods = ctx.informers.get::<Pod>();
    let nodes = ctx.informers.get::<Node>();
    let resync = {
        let (p, q) = (pods.clone(), queue.clone());
        move || enqueue_all(&p, &q)
    };
    let q = queue.clone();
    let mut tasks = vec![spawn_watch(
        &pods,
        move |c: &Change<Pod>| {
            c.latest()
                .into_iter()
                .for_each(|p| q.add(key_of(p.as_ref())))
        },
        resync.clone(),
    )];
    let (q, p) = (queue.clone(), pods.clone());
    tasks.push(spawn_watch(
        &nodes,
        move |c: &Change<Node>| {
            let taints =
                |n: &Option<Arc<Node>>| n.as_ref().and_then(|n| n.spec.as_ref()?.taints.clone());
            if taints(&c.old) == taints(&c.new) {
                return;
            }
            let Some(node) = c.latest() else { return };
            let name = node.name_any();
            p.list()
                .iter()
                .filter(|pod| node_name(pod) == name)
                .for_each(|pod| q.add(key_of(pod.as_ref())));
        },
        resync,
    ));
    let reconciler = Arc::new(TaintEviction {
        client: ctx.client.clone(),
        pods,
        nodes,
        events: ctx.events("taint-eviction-controller"),
        scheduled: Mutex::default(),
    });
    tasks.push(ctx.spawn_workers(NAME, queue, reconciler, DEFAULT_WORKERS));
    tasks
}

impl TaintEviction {
    fn scheduled(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.scheduled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn cancel(&self, key: &str, pod: Option<&Pod>) {
        if self.scheduled().remove(key).is_some()
            && let Some(p) = pod
        {
            self.events
                .emit(
                    &p.object_ref(&()),
                    &PlannedEvent::normal(
                        TAINT_MANAGER_EVICTION,
                        format!("Cancelling deletion of Pod {key}"),
                    ),
                )
                .await;
        }
    }

    async fn evict(&self, key: &str, pod: &Pod) -> Result<(), SyncError> {
        self.scheduled().remove(key);
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        self.events
            .emit(
                &pod.object_ref(&()),
                &PlannedEvent::normal(
                    TAINT_MANAGER_EVICTION,
                    format!("Marking for deletion Pod {key}"),
                ),
            )
            .await;
        let patch = json!({"status": {"conditions": with_disruption_target(pod, now_seconds())}});
        match api
            .patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        match api.delete(&pod.name_any(), &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for TaintEviction {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (ns, name) = split_key(key);
        let Some(pod) = self.pods.get(ns, name) else {
            self.cancel(key, None).await;
            return Ok(None);
        };
        let node = node_name(&pod);
        if node.is_empty() || is_terminal(&pod) || pod.metadata.deletion_timestamp.is_some() {
            self.scheduled().remove(key);
            return Ok(None);
        }
        let taints = self
            .nodes
            .get(None, node)
            .and_then(|n| n.spec.as_ref()?.taints.clone())
            .unwrap_or_default();
        match decide(&pod, &taints) {
            Eviction::Never => {
                self.cancel(key, Some(&pod)).await;
                Ok(None)
            }
            Eviction::Now => self.evict(key, &pod).await.map(|()| None),
            Eviction::After(wait) => {
                let since = *self
                    .scheduled()
                    .entry(key.to_string())
                    .or_insert_with(Instant::now);
                let elapsed = since.elapsed();
                if elapsed >= wait {
                    return self.evict(key, &pod).await.map(|()| None);
                }
                Ok(Some(wait - elapsed))
            }
        }
    }
}
