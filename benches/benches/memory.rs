//! Memory benchmarks: heap bytes retained per stored pod in the memory store, and in
//! the memory store plus the API server's watch cache fed from it (the cache's own
//! share is the difference), and, to explain the cache's share, per pod kept as a
//! `serde_json::Value`. Measured by counting allocations: this binary, and only
//! this one, installs `stats_alloc`'s instrumented system allocator, and criterion
//! reports bytes instead of time through `kubeproof_benches::retained::RetainedBytes`,
//! so baselines catch memory regressions the same way they catch slowdowns.
//!
//! Run: `cargo bench -p kubeproof-benches --bench memory`; see benches/README.md.

use std::alloc::System;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use kubeproof_benches::objects::pod;
use kubeproof_benches::retained::RetainedBytes;
use refkube_apiserver::watchcache::{ResourceCache, WatchCaches};
use refkube_store::{MemoryStore, Store};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The watch cache keeps this many events (upstream's default, `watch_cache_size`).
const WATCH_CACHE_SIZE: usize = 1000;

fn measurement() -> RetainedBytes {
    RetainedBytes::new(&INSTRUMENTED_SYSTEM)
}

/// A single-threaded runtime: nothing runs between two measurements but what the
/// bench awaits, so the counts are not disturbed by other tasks.
fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn pod_bytes(i: usize) -> (String, Bytes) {
    (
        format!("/registry/pods/default/web-{i}"),
        Bytes::from(pod("default", i).to_string()),
    )
}

fn memory_store(c: &mut Criterion<RetainedBytes>) {
    let rt = current_thread();
    let store = MemoryStore::new();
    let m = measurement();
    let mut next = 0usize;
    println!(
        "(a pod fixture is {} bytes of JSON)",
        pod("default", 0).to_string().len()
    );
    let mut group = c.benchmark_group("retained");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("memory_store_per_pod", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let before = m.live();
                for _ in 0..iters {
                    let (key, value) = pod_bytes(next);
                    next += 1;
                    store.create(&key, value).await.expect("create");
                }
                (m.live() - before) as f64
            })
        })
    });
    group.finish();
}

/// For comparison: one pod parsed into a `serde_json::Value` and kept, which is what
/// the watch cache held per object before it kept encoded bytes (issue 11): with
/// `preserve_order` every JSON object, however small, is an `IndexMap` with its own
/// entry vector and index table.
fn json_value(c: &mut Criterion<RetainedBytes>) {
    let m = measurement();
    let bodies: Vec<Vec<u8>> = (0..100)
        .map(|i| pod("default", i).to_string().into_bytes())
        .collect();
    let mut kept: Vec<serde_json::Value> = Vec::new();
    let mut group = c.benchmark_group("retained");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("json_value_per_pod", |b| {
        b.iter_custom(|iters| {
            kept.clear();
            kept.shrink_to_fit();
            kept.reserve(iters as usize);
            let before = m.live();
            for i in 0..iters as usize {
                let v = serde_json::from_slice(&bodies[i % bodies.len()]).expect("JSON");
                kept.push(v);
            }
            (m.live() - before) as f64
        })
    });
    group.finish();
}

/// Waits until `cache` has applied revision `rev`.
async fn applied(cache: &ResourceCache, rev: i64) {
    let mut rx = cache.subscribe();
    while cache.revision() < rev {
        rx.changed().await.expect("watch cache alive");
    }
}

fn store_and_watch_cache(c: &mut Criterion<RetainedBytes>) {
    let rt = current_thread();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let info = refkube_resources::registry::lookup("", "v1", "pods").expect("pods are registered");
    let (caches, cache) = rt.block_on(async {
        let caches = WatchCaches::start(store.clone(), WATCH_CACHE_SIZE)
            .await
            .expect("watch caches");
        let cache = caches.get(info).expect("pods are watched");
        // Fill the event ring first: from then on each event evicts one, and what
        // grows is the cache's current state, as in a long-running server.
        let mut rev = 0;
        for i in 0..WATCH_CACHE_SIZE {
            let (key, value) = pod_bytes(i);
            rev = store.create(&key, value).await.expect("create");
        }
        applied(&cache, rev).await;
        (caches, cache)
    });
    let m = measurement();
    let mut next = WATCH_CACHE_SIZE;
    let mut group = c.benchmark_group("retained");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("memory_store_and_watch_cache_per_pod", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let before = m.live();
                let mut rev = 0;
                for _ in 0..iters {
                    let (key, value) = pod_bytes(next);
                    next += 1;
                    rev = store.create(&key, value).await.expect("create");
                }
                applied(&cache, rev).await;
                (m.live() - before) as f64
            })
        })
    });
    group.finish();
    drop(caches);
}

fn config() -> Criterion<RetainedBytes> {
    Criterion::default()
        .with_measurement(measurement())
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = memory_store, json_value, store_and_watch_cache
}
criterion_main!(benches);
