//! Scheduler benchmarks: one scheduling decision (`Algorithm::schedule_pod` with the
//! default profile) over snapshots of 100, 500 and 1000 nodes with 10 pods each, the
//! FitError path (a pod no node takes), and the snapshot the driver takes from its
//! cache every cycle.
//!
//! Run: `cargo bench -p kubeproof-benches --bench scheduler`; see benches/README.md.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kubeproof_benches::scheduling::{cluster, incoming_pod, objects, unschedulable_pod};
use rand::SeedableRng;
use rand::rngs::StdRng;
use refkube_scheduler::cache::Cache;
use refkube_scheduler::framework::types::ClusterObjects;
use refkube_scheduler::registry::default_framework;
use refkube_scheduler::schedule_one::{Algorithm, ScheduleError};

const SIZES: [usize; 3] = [100, 500, 1000];

fn schedule_one(c: &mut Criterion) {
    let pod = incoming_pod().expect("incoming pod fixture");
    let mut group = c.benchmark_group("schedule_one");
    for nodes in SIZES {
        let snap = cluster(nodes).expect("cluster fixture");
        let mut algo = Algorithm::new(default_framework(), None);
        let mut rng = StdRng::seed_from_u64(42);
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("fits", nodes), &snap, |b, snap| {
            b.iter(|| {
                let r = algo
                    .schedule_pod(&pod, snap, &mut rng)
                    .expect("the incoming pod fits");
                assert!(r.feasible_nodes > 1);
                r
            })
        });
    }
    group.finish();
}

fn fit_error(c: &mut Criterion) {
    let pod = unschedulable_pod().expect("unschedulable pod fixture");
    let mut group = c.benchmark_group("schedule_one");
    for nodes in SIZES {
        let snap = cluster(nodes).expect("cluster fixture");
        let mut algo = Algorithm::new(default_framework(), None);
        let mut rng = StdRng::seed_from_u64(42);
        group.bench_with_input(BenchmarkId::new("fit_error", nodes), &snap, |b, snap| {
            b.iter(|| {
                // The message is part of the path: the driver writes it to the pod.
                match algo.schedule_pod(&pod, snap, &mut rng) {
                    Err(e @ ScheduleError::Fit(_)) => e.message(),
                    other => panic!("expected a FitError, got {other:?}"),
                }
            })
        });
    }
    group.finish();
}

/// The snapshot the driver takes at the start of every cycle (`Cache::snapshot`), after
/// what a cycle changes: one pod assumed on one node (and, to keep the cache steady,
/// forgotten again). The snapshot is updated incrementally, as upstream's
/// `UpdateSnapshot`: only that node's info is rebuilt and replaced.
fn snapshot_from_cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache_snapshot");
    let assumed = incoming_pod().expect("incoming pod fixture");
    for nodes in SIZES {
        let (ns, ps) = objects(nodes).expect("cluster fixture");
        let mut cache = Cache::new();
        ns.into_iter().for_each(|n| cache.upsert_node(n));
        ps.into_iter().for_each(|p| cache.upsert_bound_pod(p));
        let mut on_node = assumed.clone();
        if let Some(spec) = on_node.spec.as_mut() {
            spec.node_name = Some("node-0001".into());
        }
        let on_node = std::sync::Arc::new(on_node);
        let key = refkube_scheduler::cache::pod_key(&on_node);
        let _ = cache.snapshot(ClusterObjects::default());
        group.bench_function(BenchmarkId::from_parameter(nodes), |b| {
            b.iter(|| {
                cache.assume_pod(on_node.clone()).expect("assume");
                let snap = cache.snapshot(ClusterObjects::default());
                assert_eq!(snap.nodes.len(), nodes);
                cache.forget_pod(&key);
                snap
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = schedule_one, fit_error, snapshot_from_cache
}
criterion_main!(benches);
