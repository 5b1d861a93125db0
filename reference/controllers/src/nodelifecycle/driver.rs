//! The node lifecycle driver: a monitor pass every `--node-monitor-period`, a NoExecute
//! tainting pass every 100 ms through per-zone token buckets, and NoSchedule taints kept
//! in step with each node change. Entry point: [`start`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource as _, ResourceExt};
use refkube_helpers::ratelimit::TokenBucket;
use serde_json::json;
use tokio::task::JoinHandle;

use super::health::{Grace, HealthRecord, check, ready_status};
use super::taints::{
    NoExecute, no_execute_action, no_schedule_taints, queued_taint, with_no_execute, zone_key,
    zone_rate, zone_state,
};
use crate::config::ControllerManagerConfig;
use crate::runtime::context::Ctx;
use crate::runtime::events::{EventSink, PlannedEvent};
use crate::runtime::informers::{Change, Informer};
use crate::runtime::queue::WorkQueue;
use crate::runtime::worker::{Reconciler, SyncError, enqueue_all, key_of, spawn_watch};
use crate::util::pods::node_name;
use crate::util::time::now_seconds;

const NAME: &str = "nodelifecycle";
/// Upstream `nodeEvictionPeriod`.
const TAINTING_PERIOD: Duration = Duration::from_millis(100);
/// Namespace of node heartbeat leases.
const LEASE_NAMESPACE: &str = "kube-node-lease";

/// A zone's eviction limiter, `flowcontrol.NewTokenBucketRateLimiter(qps, 1)`; its rate
/// is set from the zone's state on each tainting pass.
fn zone_bucket() -> TokenBucket {
    TokenBucket::new(0.0, 1, Instant::now())
}

#[derive(Default)]
struct State {
    health: HashMap<String, HealthRecord>,
    ready: HashMap<String, Option<String>>,
    zones: HashMap<String, (VecDeque<String>, TokenBucket, f64)>,
}

struct NodeLifecycle {
    client: kube::Client,
    nodes: Arc<Informer<Node>>,
    leases: Arc<Informer<Lease>>,
    pods: Arc<Informer<Pod>>,
    config: Arc<ControllerManagerConfig>,
    events: EventSink,
    state: Mutex<State>,
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
        state: Mutex::default(),
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

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl NodeLifecycle {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn set_taints(
        &self,
        node: &Node,
        taints: Vec<k8s_openapi::api::core::v1::Taint>,
    ) -> Result<(), kube::Error> {
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({"metadata": {"resourceVersion": node.metadata.resource_version}, "spec": {"taints": taints}});
        api.patch(
            &node.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
        .map(|_| ())
    }

    /// One `monitorNodeHealth` pass.
    async fn monitor(&self) -> Result<(), kube::Error> {
        let now = now_seconds();
        let grace = Grace {
            monitor_ms: millis(self.config.node_monitor_grace_period),
            startup_ms: millis(self.config.node_startup_grace_period),
        };
        let api: Api<Node> = Api::all(self.client.clone());
        let mut zones: HashMap<String, Vec<Option<String>>> = HashMap::new();
        let nodes = self.nodes.list();
        self.state()
            .health
            .retain(|name, _| nodes.iter().any(|n| &n.name_any() == name));
        for node in &nodes {
            let name = node.name_any();
            let lease = self
                .leases
                .get(Some(LEASE_NAMESPACE), &name)
                .and_then(|l| l.spec.as_ref()?.renew_time.as_ref().map(|t| t.0));
            let saved = self.state().health.get(&name).cloned();
            let health = check(node, saved.as_ref(), lease, now, grace);
            self.state().health.insert(name.clone(), health.record);
            let mut current = (**node).clone();
            if let Some(conditions) = health.conditions {
                let patch = json!({"status": {"conditions": conditions}});
                current = api
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
                    .await?;
            }
            let ready = ready_status(&current).map(str::to_string);
            let was = self
                .state()
                .ready
                .insert(name.clone(), ready.clone())
                .flatten();
            if ready.as_deref() != Some("True") {
                if was.as_deref() == Some("True") {
                    self.events
                        .emit(
                            &current.object_ref(&()),
                            &PlannedEvent::normal(
                                "NodeNotReady",
                                format!("Node {name} status is now: NodeNotReady"),
                            ),
                        )
                        .await;
                }
                self.mark_pods_not_ready(&name, now).await;
            }
            match no_execute_action(&current) {
                NoExecute::None => {}
                NoExecute::Enqueue(_) => {
                    let mut st = self.state();
                    let entry = st
                        .zones
                        .entry(zone_key(&current))
                        .or_insert_with(|| (VecDeque::new(), zone_bucket(), 0.0));
                    if !entry.0.contains(&name) {
                        entry.0.push_back(name.clone());
                    }
                }
                NoExecute::Swap(key) => {
                    self.set_taints(&current, with_no_execute(&current, Some(key), now))
                        .await?
                }
                NoExecute::Remove => {
                    self.dequeue(&name);
                    self.set_taints(&current, with_no_execute(&current, None, now))
                        .await?;
                }
            }
            zones.entry(zone_key(&current)).or_default().push(ready);
        }
        self.handle_disruption(&zones, &nodes, now).await
    }

    fn dequeue(&self, name: &str) {
        for (q, _, _) in self.state().zones.values_mut() {
            q.retain(|n| n != name);
        }
    }

    /// `handleDisruption`: per-zone rates; with every zone down, untaint everything.
    async fn handle_disruption(
        &self,
        zones: &HashMap<String, Vec<Option<String>>>,
        nodes: &[Arc<Node>],
        now: k8s_openapi::jiff::Timestamp,
    ) -> Result<(), kube::Error> {
        let states: HashMap<&String, _> = zones
            .iter()
            .map(|(z, r)| {
                (
                    z,
                    zone_state(
                        &r.iter().map(Option::as_deref).collect::<Vec<_>>(),
                        self.config.unhealthy_zone_threshold,
                    ),
                )
            })
            .collect();
        let all_down = !states.is_empty()
            && states
                .values()
                .all(|s| *s == super::taints::ZoneState::FullDisruption);
        {
            let mut st = self.state();
            for (zone, state) in &states {
                let rate = zone_rate(
                    *state,
                    zones[*zone].len(),
                    all_down,
                    (
                        self.config.node_eviction_rate,
                        self.config.secondary_node_eviction_rate,
                    ),
                    self.config.large_cluster_size_threshold,
                );
                let entry = st
                    .zones
                    .entry((*zone).clone())
                    .or_insert_with(|| (VecDeque::new(), zone_bucket(), 0.0));
                entry.2 = rate;
                if all_down {
                    entry.0.clear();
                }
            }
        }
        if all_down {
            for node in nodes {
                let fresh = self
                    .nodes
                    .get(None, &node.name_any())
                    .unwrap_or_else(|| node.clone());
                let untainted = with_no_execute(&fresh, None, now);
                if untainted.len()
                    != fresh
                        .spec
                        .as_ref()
                        .and_then(|s| s.taints.as_ref())
                        .map_or(0, Vec::len)
                {
                    self.set_taints(&fresh, untainted).await?;
                }
            }
        }
        Ok(())
    }

    /// `doNoExecuteTaintingPass`: taint queued nodes as each zone's bucket allows.
    async fn tainting_pass(&self) -> Result<(), kube::Error> {
        let mut due = Vec::new();
        {
            let mut st = self.state();
            let now = Instant::now();
            for (queue, bucket, rate) in st.zones.values_mut() {
                bucket.set_rate(*rate, now);
                while !queue.is_empty() && bucket.try_accept(now) {
                    due.extend(queue.pop_front());
                }
            }
        }
        for name in due {
            let Some(node) = self.nodes.get(None, &name) else {
                continue;
            };
            if let Some(key) = queued_taint(&node) {
                self.set_taints(&node, with_no_execute(&node, Some(key), now_seconds()))
                    .await?;
            }
        }
        Ok(())
    }

    /// `MarkPodsNotReady`: Ready=False on every pod of the node, with a Warning event.
    async fn mark_pods_not_ready(&self, node: &str, now: k8s_openapi::jiff::Timestamp) {
        for pod in self
            .pods
            .list()
            .into_iter()
            .filter(|p| node_name(p) == node)
        {
            if !crate::util::pods::is_ready(&pod) {
                continue;
            }
            let mut conditions = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.clone())
                .unwrap_or_default();
            for c in conditions.iter_mut().filter(|c| c.type_ == "Ready") {
                c.status = "False".into();
                c.last_transition_time = Some(Time(now));
            }
            let api: Api<Pod> =
                Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
            let patch = json!({"metadata": {"resourceVersion": pod.metadata.resource_version}, "status": {"conditions": conditions}});
            match api
                .patch_status(
                    &pod.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(patch),
                )
                .await
            {
                Ok(_) => {
                    self.events
                        .emit(
                            &pod.object_ref(&()),
                            &PlannedEvent::warning("NodeNotReady", "Node is not ready"),
                        )
                        .await
                }
                Err(e) => {
                    tracing::info!(pod = %pod.name_any(), error = %e, "could not mark pod not ready; next pass retries")
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for NodeLifecycle {
    /// `doNoScheduleTaintingPass` for one node.
    async fn sync(&self, name: &str) -> Result<Option<Duration>, SyncError> {
        let Some(node) = self.nodes.get(None, name) else {
            return Ok(None);
        };
        if let Some(taints) = no_schedule_taints(&node) {
            self.set_taints(&node, taints).await?;
        }
        Ok(None)
    }
}
