//! Scheduler benchmarks: one scheduling decision (`Algorithm::schedule_pod` with the
//! default profile) over snapshots of 100, 500 and 1000 nodes with 10 pods each, the
//! FitError path (a pod no node takes), and the snapshot the driver rebuilds from its
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

/// The reference driver rebuilds the whole snapshot from its cache at the start of
/// every cycle (`Cache::snapshot`; upstream updates it incrementally), so this cost is
/// paid once per pod on top of `schedule_one`.
fn snapshot_from_cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache_snapshot");
    for nodes in SIZES {
        let (ns, ps) = objects(nodes).expect("cluster fixture");
        let mut cache = Cache::new();
        ns.into_iter().for_each(|n| cache.upsert_node(n));
        ps.into_iter().for_each(|p| cache.upsert_bound_pod(p));
        group.bench_function(BenchmarkId::from_parameter(nodes), |b| {
            b.iter(|| {
                let snap = cache.snapshot(ClusterObjects::default());
                assert_eq!(snap.nodes.len(), nodes);
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
