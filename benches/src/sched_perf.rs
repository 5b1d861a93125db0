//! Upstream scheduler_perf's workloads end to end: nodes and pods created through an
//! in-process API server (memory store, watch cache, loopback HTTP), the reference
//! scheduler running against it as an ordinary client, and the rate at which it binds
//! the measured pods. Entry points: [`Workload`] and [`run`].
//!
//! Shapes follow upstream's `test/integration/scheduler_perf` configs (node-default
//! nodes: 4 CPU, 32 GiB, 110 pods, zone `zone1`; pod-default pods: 100m CPU, 500 MiB).
//! Throughput is `measured pods / (last binding seen − first measured create)`, with the
//! pods created while the scheduler runs (as upstream's `createPods` with
//! `collectMetrics`), so it includes the API server's share of the work.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Api;
use kube::api::PostParams;
use refkube_scheduler::SchedulerConfig;
use refkube_store::Store;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::api::{BenchError, BenchServer};

/// Which pods the workload creates (upstream template names in the docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `SchedulingBasic`: pod-default.yaml everywhere.
    Basic,
    /// `SchedulingNodeAffinity`: pod-with-node-affinity.yaml (zone In [zone1, zone2]).
    NodeAffinity,
    /// `SchedulingPodAntiAffinity`: pod-with-pod-anti-affinity.yaml (required
    /// anti-affinity to `color=green` per hostname, so at most one such pod per node).
    PodAntiAffinity,
}

/// One workload: a shape and its sizes.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Id used in the output and the figures file, e.g. `SchedulingBasic/5000Nodes`.
    pub id: &'static str,
    /// The pods' shape.
    pub shape: Shape,
    /// Nodes created first.
    pub nodes: usize,
    /// Pods created and scheduled before measuring.
    pub init_pods: usize,
    /// Pods whose scheduling is measured.
    pub measure_pods: usize,
    /// Upstream's CI threshold (pods/s) for this workload at its full size, if it has one.
    pub upstream_threshold: Option<f64>,
}

/// The workloads, at the sizes the full bench runs.
pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            id: "SchedulingBasic/500Nodes",
            shape: Shape::Basic,
            nodes: 500,
            init_pods: 500,
            measure_pods: 1000,
            upstream_threshold: None,
        },
        Workload {
            id: "SchedulingBasic/5000Nodes_10000Pods",
            shape: Shape::Basic,
            nodes: 5000,
            init_pods: 1000,
            measure_pods: 10000,
            upstream_threshold: Some(680.0),
        },
        Workload {
            id: "SchedulingNodeAffinity/5000Nodes_2000Pods",
            shape: Shape::NodeAffinity,
            nodes: 5000,
            init_pods: 1000,
            measure_pods: 2000,
            upstream_threshold: Some(220.0),
        },
        Workload {
            id: "SchedulingPodAntiAffinity/5000Nodes_2000Pods",
            shape: Shape::PodAntiAffinity,
            nodes: 5000,
            init_pods: 1000,
            measure_pods: 2000,
            upstream_threshold: Some(60.0),
        },
    ]
}

impl Workload {
    /// The same workload shrunk for the smoke test (100 nodes, 50 + 200 pods): it proves
    /// the pipeline works, its figure is not comparable with the full one.
    pub fn quick(mut self) -> Self {
        self.nodes = 100;
        self.init_pods = 50;
        self.measure_pods = 200;
        self
    }
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Measured pods bound per second.
    pub pods_per_second: f64,
    /// How long creating the measured pods took (the API server's own ceiling).
    pub create_seconds: f64,
    /// From the first measured create until the last binding.
    pub total_seconds: f64,
}

/// Nodes and pods are created this many at a time.
const PARALLEL_CREATES: usize = 64;
/// A run fails if no pod is bound for this long.
const STALL: Duration = Duration::from_secs(120);

fn node(i: usize) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": format!("node-{i}"), "labels": {
            "kubernetes.io/hostname": format!("node-{i}"),
            "topology.kubernetes.io/zone": "zone1",
        }},
        "status": {
            "capacity": {"cpu": "4", "memory": "32Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        }
    })
}

/// A pod of `shape` named `name` in `namespace`.
pub fn pod(shape: Shape, namespace: &str, name: &str) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{
            "name": "pause", "image": "registry.k8s.io/pause:3.10",
            "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": "100m", "memory": "500Mi"},
                          "requests": {"cpu": "100m", "memory": "500Mi"}},
        }]}
    });
    match shape {
        Shape::Basic => {}
        Shape::NodeAffinity => {
            pod["spec"]["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{
                    "key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone1", "zone2"]}]}]}}});
        }
        Shape::PodAntiAffinity => {
            pod["metadata"]["labels"] = json!({"color": "green"});
            pod["spec"]["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchExpressions": [{"key": "color", "operator": "In", "values": ["green"]}]},
                "topologyKey": "kubernetes.io/hostname",
                "namespaces": ["sched-0", "sched-1"]}]}});
        }
    }
    pod
}

async fn create_all<K>(api: &Api<K>, objects: Vec<Value>) -> Result<(), BenchError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    futures::stream::iter(objects)
        .map(|value| async move {
            let object: K = serde_json::from_value(value)?;
            api.create(&PostParams::default(), &object).await?;
            Ok::<_, BenchError>(())
        })
        .buffer_unordered(PARALLEL_CREATES)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Counts pods under `/registry/pods/{namespace}/` as they get bound (a `nodeName` in the
/// stored JSON), straight from the store so the counting costs the server nothing.
async fn count_bound(
    store: Arc<dyn Store>,
    namespace: &str,
    counter: watch::Sender<usize>,
) -> Result<(), BenchError> {
    let prefix = format!("/registry/pods/{namespace}/");
    let mut events = store
        .watch(&prefix, 0)
        .await
        .map_err(|e| BenchError::Client(format!("store watch: {e}")))?;
    let mut bound = HashSet::new();
    while let Some(batch) = events.next().await {
        let batch = batch.map_err(|e| BenchError::Client(format!("store watch: {e}")))?;
        for event in batch {
            let text = String::from_utf8_lossy(&event.kv.value);
            if text.contains("\"nodeName\":\"") && bound.insert(event.kv.key.clone()) {
                counter.send_replace(bound.len());
            }
        }
    }
    Ok(())
}

async fn wait_for(rx: &mut watch::Receiver<usize>, n: usize) -> Result<Instant, BenchError> {
    loop {
        if *rx.borrow_and_update() >= n {
            return Ok(Instant::now());
        }
        match tokio::time::timeout(STALL, rx.changed()).await {
            Ok(Ok(())) => {}
            _ => {
                return Err(BenchError::Client(format!(
                    "stalled: {} of {n} pods bound after {STALL:?} without progress",
                    *rx.borrow()
                )));
            }
        }
    }
}

/// Runs `w` once on a fresh API server and scheduler.
pub async fn run(w: &Workload, scheduler: SchedulerConfig) -> Result<Outcome, BenchError> {
    let server = BenchServer::start().await?;
    let store: Arc<dyn Store> = server.store.clone();
    let client = server.client.clone();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create_all(
        &namespaces,
        ["sched-0", "sched-1"]
            .iter()
            .map(|n| json!({"metadata": {"name": n}}))
            .collect(),
    )
    .await?;
    let nodes: Api<Node> = Api::all(client.clone());
    create_all(&nodes, (0..w.nodes).map(node).collect()).await?;

    let mut counters = Vec::new();
    let mut watchers = tokio::task::JoinSet::new();
    for ns in ["sched-0", "sched-1"] {
        let (tx, rx) = watch::channel(0);
        watchers.spawn(count_bound(store.clone(), ns, tx));
        counters.push(rx);
    }

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sched_client = kube::Client::try_from(kube::Config::new(
        server
            .server
            .url()
            .parse()
            .map_err(|e| BenchError::Client(format!("{e}")))?,
    ))
    .map_err(|e| BenchError::Client(e.to_string()))?;
    let scheduler = tokio::spawn(refkube_scheduler::run(scheduler, sched_client, async {
        let _ = stop_rx.await;
    }));

    let init: Api<Pod> = Api::namespaced(client.clone(), "sched-0");
    create_all(
        &init,
        (0..w.init_pods)
            .map(|i| pod(w.shape, "sched-0", &format!("init-{i}")))
            .collect(),
    )
    .await?;
    wait_for(&mut counters[0], w.init_pods).await?;

    let measured: Api<Pod> = Api::namespaced(client.clone(), "sched-1");
    let start = Instant::now();
    create_all(
        &measured,
        (0..w.measure_pods)
            .map(|i| pod(w.shape, "sched-1", &format!("pod-{i}")))
            .collect(),
    )
    .await?;
    let created = start.elapsed();
    let done = wait_for(&mut counters[1], w.measure_pods).await?;
    let total = done.duration_since(start).as_secs_f64();

    let _ = stop_tx.send(());
    let _ = scheduler.await;
    watchers.abort_all();
    server.server.shutdown().await;
    Ok(Outcome {
        pods_per_second: w.measure_pods as f64 / total,
        create_seconds: created.as_secs_f64(),
        total_seconds: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pod_shapes_are_valid_pods() {
        for shape in [Shape::Basic, Shape::NodeAffinity, Shape::PodAntiAffinity] {
            let p: Pod = serde_json::from_value(pod(shape, "sched-1", "p")).unwrap();
            assert_eq!(p.metadata.namespace.as_deref(), Some("sched-1"));
        }
        let _: Node = serde_json::from_value(node(3)).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_workload_schedules_every_pod() {
        let w = Workload {
            id: "test",
            shape: Shape::PodAntiAffinity,
            nodes: 6,
            init_pods: 2,
            measure_pods: 4,
            upstream_threshold: None,
        };
        let config = SchedulerConfig::default().without_leader_election();
        let out = run(&w, config).await.unwrap();
        assert!(out.pods_per_second > 0.0);
        assert!(out.total_seconds >= out.create_seconds);
    }
}
