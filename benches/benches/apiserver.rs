//! API server benchmarks, driven over loopback HTTP with a kube client against an
//! in-process `ApiServer` on a memory store: ConfigMap create and get, lists of 1000
//! pods (from the store, from the watch cache with `resourceVersion=0`, as a Table as
//! kubectl asks, and typed through kube-rs), and watch fan-out: one update until
//! 100 / 1000 watchers have it.
//!
//! Run: `cargo bench -p kubeproof-benches --bench apiserver`; see benches/README.md.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kubeproof_benches::api::BenchServer;
use kubeproof_benches::{objects, runtime};
use serde_json::json;

const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(objects::config_map("default", name)).expect("fixture decodes")
}

fn create_and_get(c: &mut Criterion) {
    let rt = runtime().expect("tokio runtime");
    let s = rt.block_on(BenchServer::start()).expect("API server");
    let api: Api<ConfigMap> = Api::namespaced(s.client.clone(), "default");
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("configmap");
    group.throughput(Throughput::Elements(1));
    group.bench_function("create", |b| {
        b.to_async(&rt).iter(|| async {
            let name = format!("cm-{}", next.fetch_add(1, Ordering::Relaxed));
            api.create(&PostParams::default(), &config_map(&name))
                .await
                .expect("create")
        })
    });
    rt.block_on(api.create(&PostParams::default(), &config_map("hot")))
        .expect("create");
    group.bench_function("get", |b| {
        b.to_async(&rt)
            .iter(|| async { api.get("hot").await.expect("get") })
    });
    group.finish();
    rt.block_on(s.server.shutdown());
}

/// GET `path` with `accept`, returning the body as text (no client-side decoding, so
/// the time is the server's and the transport's).
async fn get_text(client: &kube::Client, path: &str, accept: &str) -> String {
    let req = http::Request::get(path)
        .header(http::header::ACCEPT, accept)
        .body(Vec::new())
        .expect("request");
    client.request_text(req).await.expect("list")
}

fn list_pods(c: &mut Criterion) {
    let rt = runtime().expect("tokio runtime");
    let s = rt.block_on(BenchServer::start()).expect("API server");
    rt.block_on(s.create_pods(1000, 16)).expect("create pods");
    let api: Api<Pod> = Api::namespaced(s.client.clone(), "default");
    let path = "/api/v1/namespaces/default/pods";
    let from_cache = format!("{path}?resourceVersion=0");
    let mut group = c.benchmark_group("list_pods_1000");
    group.throughput(Throughput::Elements(1000));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("json", |b| {
        b.to_async(&rt).iter(|| async {
            let body = get_text(&s.client, path, "application/json").await;
            assert_eq!(body.matches("\"nodeName\":").count(), 1000);
        })
    });
    group.bench_function("json_from_watch_cache", |b| {
        b.to_async(&rt).iter(|| async {
            let body = get_text(&s.client, &from_cache, "application/json").await;
            assert_eq!(body.matches("\"nodeName\":").count(), 1000);
        })
    });
    group.bench_function("table", |b| {
        b.to_async(&rt).iter(|| async {
            let body = get_text(&s.client, path, TABLE_ACCEPT).await;
            assert_eq!(body.matches("\"cells\":").count(), 1000);
        })
    });
    // What a kube-rs client pays in all: the store list plus decoding typed Pods.
    group.bench_function("typed_kube_client", |b| {
        b.to_async(&rt).iter(|| async {
            let l = api.list(&ListParams::default()).await.expect("list");
            assert_eq!(l.items.len(), 1000);
        })
    });
    group.finish();
    rt.block_on(s.server.shutdown());
}

type Watch = BoxStream<'static, Result<WatchEvent<ConfigMap>, kube::Error>>;

/// Opens `n` watches on namespace `fanout` from `rv`.
async fn open_watchers(api: &Api<ConfigMap>, n: usize, rv: &str) -> Vec<Watch> {
    let wp = WatchParams::default().timeout(290).disable_bookmarks();
    futures::stream::iter(0..n)
        .map(|_| {
            let api = api.clone();
            let wp = wp.clone();
            let rv = rv.to_string();
            async move { api.watch(&wp, &rv).await.map(|s| s.boxed()) }
        })
        .buffer_unordered(32)
        .try_collect()
        .await
        .expect("open watches")
}

/// Waits for the next MODIFIED event on every watcher.
async fn drain_one_update(watches: &mut [Watch]) {
    for w in watches.iter_mut() {
        loop {
            match w.next().await {
                Some(Ok(WatchEvent::Modified(_))) => break,
                Some(Ok(WatchEvent::Bookmark(_))) => continue,
                other => panic!("watch ended or failed: {other:?}"),
            }
        }
    }
}

/// One update, timed until every watcher has received it. Opening the watchers must
/// not open store watches: the watch cache serves all of them from one.
fn watch_fanout(c: &mut Criterion) {
    let rt = runtime().expect("tokio runtime");
    let s = rt.block_on(BenchServer::start()).expect("API server");
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "fanout"}})).expect("namespace");
    rt.block_on(Api::<Namespace>::all(s.client.clone()).create(&PostParams::default(), &ns))
        .expect("create namespace");
    let api: Api<ConfigMap> = Api::namespaced(s.client.clone(), "fanout");
    let mut cm = config_map("hot");
    cm.metadata.namespace = Some("fanout".into());
    rt.block_on(api.create(&PostParams::default(), &cm))
        .expect("create");
    let counter = AtomicU64::new(0);
    let mut group = c.benchmark_group("watch_fanout");
    for watchers in [100usize, 1000] {
        let rv = rt
            .block_on(api.get("hot"))
            .expect("get")
            .metadata
            .resource_version
            .unwrap_or_default();
        let store_watches_before = s.store.watches();
        let mut streams = rt.block_on(open_watchers(&api, watchers, &rv));
        assert_eq!(
            s.store.watches(),
            store_watches_before,
            "{watchers} API watches must share the watch cache's store watch"
        );
        group.throughput(Throughput::Elements(watchers as u64));
        group.bench_function(BenchmarkId::from_parameter(watchers), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let patch = json!({"data": {"n": n.to_string()}});
                        api.patch("hot", &PatchParams::default(), &Patch::Merge(&patch))
                            .await
                            .expect("patch");
                        drain_one_update(&mut streams).await;
                    }
                    start.elapsed()
                })
            })
        });
        drop(streams);
    }
    group.finish();
    rt.block_on(s.server.shutdown());
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = create_and_get, list_pods, watch_fanout
}
criterion_main!(benches);
