//! Store benchmarks: memory write throughput, file write latency (with and without
//! fsync), a 10k-key list, and watch fan-out to 100 watchers.
//!
//! Run: `cargo bench -p kubeproof-benches --bench store`; see benches/README.md for
//! baselines. Sample sizes and times are small so the whole run takes about a minute.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use kubeproof_benches::{payload, prefill, runtime};
use refkube_store::{FileConfig, FileStore, ListOptions, MemoryStore, Store};

const VALUE_SIZE: usize = 512;

fn memory_writes(c: &mut Criterion) {
    let rt = runtime().expect("tokio runtime");
    let mut group = c.benchmark_group("memory");
    group.throughput(Throughput::Elements(1));
    let store = MemoryStore::new();
    let next = AtomicU64::new(0);
    group.bench_function("create", |b| {
        b.to_async(&rt).iter(|| async {
            let key = format!(
                "/registry/pods/default/p{}",
                next.fetch_add(1, Ordering::Relaxed)
            );
            store
                .create(&key, payload(VALUE_SIZE))
                .await
                .expect("create")
        })
    });
    let key = "/registry/pods/default/hot";
    let rev = AtomicI64::new(
        rt.block_on(store.create(key, payload(VALUE_SIZE)))
            .expect("create"),
    );
    group.bench_function("update", |b| {
        b.to_async(&rt).iter(|| async {
            let new = store
                .update(key, rev.load(Ordering::Relaxed), payload(VALUE_SIZE))
                .await
                .expect("update");
            rev.store(new, Ordering::Relaxed);
        })
    });
    group.finish();
}

fn file_writes(c: &mut Criterion) {
    let rt = runtime().expect("tokio runtime");
    let mut group = c.benchmark_group("file");
    for fsync in [true, false] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileStore::open(FileConfig::new(dir.path()).with_fsync(fsync))
            .expect("open file store");
        let next = AtomicU64::new(0);
        let name = if fsync {
            "create_fsync"
        } else {
            "create_no_fsync"
        };
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let key = format!(
                    "/registry/pods/default/p{}",
                    next.fetch_add(1, Ordering::Relaxed)
                );
                store
                    .create(&key, payload(VALUE_SIZE))
                    .await
                    .expect("create")
            })
        });
    }
    group.finish();
}

fn list_10k(c: &mut Criterion) {
    let rt = runtime().expect("tokio runtime");
    let store = MemoryStore::new();
    rt.block_on(prefill(
        &store,
        "/registry/pods/default/",
        10_000,
        VALUE_SIZE,
    ))
    .expect("prefill");
    let mut group = c.benchmark_group("memory");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("list_10k", |b| {
        b.to_async(&rt).iter(|| async {
            let list = store
                .list("/registry/pods/", ListOptions::default())
                .await
                .expect("list");
            assert_eq!(list.items.len(), 10_000);
        })
    });
    group.bench_function("list_10k_paged_500", |b| {
        b.to_async(&rt).iter(|| async {
            let mut after = None;
            let mut total = 0;
            loop {
                let opts = ListOptions {
                    start_after: after,
                    limit: 500,
                    at: None,
                };
                let page = store.list("/registry/pods/", opts).await.expect("page");
                total += page.items.len();
                after = page.items.last().map(|kv| kv.key.clone());
                if !page.more {
                    break;
                }
            }
            assert_eq!(total, 10_000);
        })
    });
    group.finish();
}

/// One write, timed until every one of the watchers has received it.
fn watch_fanout(c: &mut Criterion) {
    let rt = runtime().expect("tokio runtime");
    let mut group = c.benchmark_group("memory");
    for watchers in [1usize, 100] {
        let store = MemoryStore::new();
        let mut streams = rt.block_on(async {
            let mut v = Vec::new();
            for _ in 0..watchers {
                v.push(store.watch("/registry/", 0).await.expect("watch"));
            }
            v
        });
        let next = AtomicU64::new(0);
        group.throughput(Throughput::Elements(watchers as u64));
        group.bench_with_input(
            BenchmarkId::new("watch_fanout", watchers),
            &watchers,
            |b, _| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters {
                            let key =
                                format!("/registry/p{}", next.fetch_add(1, Ordering::Relaxed));
                            store
                                .create(&key, payload(VALUE_SIZE))
                                .await
                                .expect("create");
                            for s in streams.iter_mut() {
                                s.next().await.expect("watch open").expect("event");
                            }
                        }
                        start.elapsed()
                    })
                })
            },
        );
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
    targets = memory_writes, file_writes, list_10k, watch_fanout
}
criterion_main!(benches);
