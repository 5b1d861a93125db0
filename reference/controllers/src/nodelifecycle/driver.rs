//! The node lifecycle driver: every `--node-monitor-period` it carries out the writes
//! [`plan`] decides, every 100 ms those of [`plan_tainting`], and it keeps NoSchedule
//! taints in step with each node change. Entry point: [`start`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, PodCondition};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tokio::task::JoinHandle;

use super::plan::{Memory, Now, Observed, Write, plan, plan_tainting};
use super::taints::no_schedule_taints;
use crate::config::ControllerManagerConfig;
use crate::runtime::context::Ctx;
use crate::runtime::events::{EventSink, PlannedEvent};
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, enqueue_all, key_of, spawn_watch};
use crate::util::time::{Timestamp, now_seconds};

const NAME: &str = "nodelifecycle";
/// Upstream `nodeEvictionPeriod`.
const TAINTING_PERIOD: Duration = Duration::from_millis(100);
/// Namespace of node heartbeat leases.
const LEASE_NAMESPACE: &str = "kube-node-lease";

struct NodeLifecycle {
    client: kube::Client,
    nodes: Arc<Informer<Node>>,
    leases: Arc<Informer<Lease>>,
    pods: Arc<Informer<Pod>>,
    config: Arc<ControllerManagerConfig>,
    events: EventSink,
    memory: Mutex<Memory>,
}

/// Starts the node lifecycle controller.
pub fn start(ctx: &Ctx, queue: Arc<WorkQueue>) -> Vec<JoinHandle<()>> {
    let nodes = ctx.informers.get::<Node>();
    let c = Arc::new(NodeLifecycle {
        client: ctx.client.clone(),
        nodes: nodes.clone(),
        leases: ctx.informers.get::<Lease>(),
        pods: ctx.informers.get::<Pod>(),
        config: ctx.config.clone(),
        events: ctx.events("node-controller"),
        memory: Mutex::default(),
    });
    let (q, n, q2) = (queue.clone(), nodes.clone(), queue.clone());
    let mut tasks = vec![spawn_watch(
        &nodes,
        move |ch: &Change<Node>| ch.new.iter().for_each(|n| q.add(key_of(n.as_ref()))),
        move || enqueue_all(&n, &q2),
    )];
    let (monitor, mut synced) = (c.clone(), ctx.synced.clone());
    tasks.push(tokio::spawn(async move {
        if synced.wait_for(|s| *s).await.is_err() {
            return;
        }
        let mut monitor_tick = tokio::time::interval(
            monitor
                .config
                .node_monitor_period
                .max(Duration::from_millis(10)),
        );
        let mut taint_tick = tokio::time::interval(TAINTING_PERIOD);
        loop {
            tokio::select! {
                _ = monitor_tick.tick() => if let Err(e) = monitor.monitor().await {
                    tracing::info!(error = %e, "node monitor pass failed; next pass retries");
                },
                _ = taint_tick.tick() => if let Err(e) = monitor.tainting_pass().await {
                    tracing::info!(error = %e, "NoExecute tainting pass failed; next pass retries");
                },
            }
        }
    }));
    tasks.push(ctx.spawn_workers(NAME, queue, c, 1));
    tasks
}

impl NodeLifecycle {
    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now() -> Now {
        Now {
            wall: now_seconds(),
            instant: Instant::now(),
        }
    }

    /// One `monitorNodeHealth` pass.
    async fn monitor(&self) -> Result<(), kube::Error> {
        let nodes = self.nodes.list();
        let leases: HashMap<String, Timestamp> = self
            .leases
            .list()
            .into_iter()
            .filter(|l| l.namespace().as_deref() == Some(LEASE_NAMESPACE))
            .filter_map(|l| Some((l.name_any(), l.spec.as_ref()?.renew_time.as_ref()?.0)))
            .collect();
        let pods = self.pods.list();
        let observed = Observed {
            nodes: &nodes,
            leases: &leases,
            pods: &pods,
        };
        let ready_before = self.memory().ready.clone();
        let writes = plan(observed, &mut self.memory(), &self.config, Self::now());
        self.execute(writes).await.map_err(|(error, unsent)| {
            // Their NodeNotReady events were not sent: let the next pass see the change
            // of Ready again.
            let mut memory = self.memory();
            for node in unsent {
                match ready_before.get(&node) {
                    Some(was) => memory.ready.insert(node, was.clone()),
                    None => memory.ready.remove(&node),
                };
            }
            error
        })
    }

    /// `doNoExecuteTaintingPass`.
    async fn tainting_pass(&self) -> Result<(), kube::Error> {
        let writes = plan_tainting(
            &mut self.memory().zones,
            |name| self.nodes.get(None, name),
            Self::now(),
        );
        self.execute(writes).await.map_err(|(error, _)| error)
    }

    /// Performs the writes in order; a node write that fails ends the pass (the next pass
    /// plans again) and is returned with the nodes whose events were not sent; a pod
    /// write that fails is only logged.
    async fn execute(&self, writes: Vec<Write>) -> Result<(), (kube::Error, BTreeSet<String>)> {
        let nodes: Api<Node> = Api::all(self.client.clone());
        // A node written earlier in the pass has moved on from the informer's copy.
        let mut written: HashMap<String, Option<String>> = HashMap::new();
        let mut writes = writes.into_iter();
        while let Some(write) = writes.next() {
            match write {
                Write::NodeConditions { node, conditions } => {
                    let patch = json!({"status": {"conditions": conditions}});
                    let after = match nodes
                        .patch_status(&node, &PatchParams::default(), &Patch::Merge(patch))
                        .await
                    {
                        Ok(after) => after,
                        Err(e) => return Err((e, unsent_events(writes))),
                    };
                    written.insert(node, after.metadata.resource_version);
                }
                Write::NodeEvent {
                    node,
                    mut object,
                    event,
                } => {
                    if let Some(rv) = written.get(&node) {
                        object.resource_version.clone_from(rv);
                    }
                    self.events.emit(&object, &event).await;
                }
                Write::NodeTaints {
                    node,
                    resource_version,
                    taints,
                } => {
                    let rv = written.get(&node).cloned().unwrap_or(resource_version);
                    let patch =
                        json!({"metadata": {"resourceVersion": rv}, "spec": {"taints": taints}});
                    let after = match nodes
                        .patch(&node, &PatchParams::default(), &Patch::Merge(patch))
                        .await
                    {
                        Ok(after) => after,
                        Err(e) => return Err((e, unsent_events(writes))),
                    };
                    written.insert(node, after.metadata.resource_version);
                }
                Write::PodNotReady {
                    pod,
                    conditions,
                    event,
                } => self.mark_pod_not_ready(&pod, conditions, &event).await,
            }
        }
        Ok(())
    }

    async fn mark_pod_not_ready(
        &self,
        pod: &ObjectReference,
        conditions: Vec<PodCondition>,
        event: &PlannedEvent,
    ) {
        let name = pod.name.as_deref().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(
            self.client.clone(),
            pod.namespace.as_deref().unwrap_or_default(),
        );
        let patch = json!({"metadata": {"resourceVersion": pod.resource_version}, "status": {"conditions": conditions}});
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(_) => self.events.emit(pod, event).await,
            Err(e) => {
                tracing::info!(pod = %name, error = %e, "could not mark pod not ready; next pass retries")
            }
        }
    }
}

/// The nodes whose events are among the writes a failure left undone.
fn unsent_events(rest: impl Iterator<Item = Write>) -> BTreeSet<String> {
    rest.filter_map(|w| match w {
        Write::NodeEvent { node, .. } => Some(node),
        _ => None,
    })
    .collect()
}

#[async_trait::async_trait]
impl Reconciler for NodeLifecycle {
    /// `doNoScheduleTaintingPass` for one node.
    async fn sync(&self, name: &str) -> Result<Option<Duration>, SyncError> {
        let Some(node) = self.nodes.get(None, name) else {
            return Ok(None);
        };
        if let Some(taints) = no_schedule_taints(&node) {
            let patch = json!({"metadata": {"resourceVersion": node.metadata.resource_version}, "spec": {"taints": taints}});
            Api::<Node>::all(self.client.clone())
                .patch(name, &PatchParams::default(), &Patch::Merge(patch))
                .await?;
        }
        Ok(None)
    }
}
