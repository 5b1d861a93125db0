//! LIST at upstream's scale limit (issue 11): 150 000 pods, 50 namespaces of 3000,
//! listed over loopback HTTP from an in-process `ApiServer` on a memory store, the
//! way kubectl lists (no resourceVersion: a consistent read) and from the watch cache
//! (`resourceVersion=0`), cluster-wide and for one namespace, plus the first page of
//! a `limit=500` list. Goals: the whole list under 3 s, one namespace under 100 ms
//! (upstream's SLOs: 30 s and 5 s).
//!
//! The pods are written straight into the store, encoded as the API server stores
//! them, before the server starts (150 000 HTTP creates would take minutes); the
//! server's watch cache lists them at start-up as it would after a restart.
//!
//! Run: `cargo bench -p kubeproof-benches --bench list_scale`; see benches/README.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use kubeproof_benches::{objects, runtime};
use refkube_apiserver::{ApiServer, ApiServerConfig};
use refkube_store::{MemoryStore, Store};

/// Upstream's tested limit of pods per cluster.
const PODS: usize = 150_000;
/// `scripts/bench-compare --quick` (`KUBEPROOF_BENCH_QUICK`) only checks that the bench
/// runs: a tenth of the pods (the namespace of 3000 is kept) spares it the fill.
const QUICK_PODS: usize = 15_000;
/// Pods per namespace; `PODS / PER_NAMESPACE` namespaces.
const PER_NAMESPACE: usize = 3000;
/// The namespace the per-namespace lists read.
const NAMESPACE: &str = "ns-03";

fn namespace(i: usize) -> String {
    format!("ns-{:02}", i / PER_NAMESPACE)
}

/// Writes `n` pods into `store` as the API server would have stored them.
async fn fill(store: &MemoryStore, n: usize) {
    let pods = refkube_resources::registry::lookup("", "v1", "pods").expect("pods are served");
    for i in 0..n {
        let ns = namespace(i);
        let obj = objects::pod(&ns, i);
        let value = refkube_apiserver::keys::encode(pods, &obj).expect("fixture encodes");
        let key = refkube_apiserver::keys::key(pods, Some(&ns), &format!("web-{i}"));
        store.create(&key, value).await.expect("create");
    }
}

/// GET `path` as plain JSON and return the body (not decoded: the time is the
/// server's and the transport's).
async fn get_text(client: &kube::Client, path: &str) -> String {
    let req = http::Request::get(path)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .expect("request");
    client.request_text(req).await.expect("list")
}

/// The number of items in a list body, counted on a field every pod has once.
fn items(body: &str) -> usize {
    body.matches("\"nodeName\":").count()
}

fn list_pods_150k(c: &mut Criterion) {
    let pods = match std::env::var_os("KUBEPROOF_BENCH_QUICK") {
        Some(_) => QUICK_PODS,
        None => PODS,
    };
    let rt = runtime().expect("tokio runtime");
    let store = MemoryStore::new();
    let started = Instant::now();
    rt.block_on(fill(&store, pods));
    let filled = started.elapsed();
    let config = ApiServerConfig::default()
        .listen(([127, 0, 0, 1], 0).into())
        .compaction_interval(None);
    let server = rt
        .block_on(ApiServer::bind(config, Arc::new(store)))
        .expect("API server");
    println!(
        "(store filled with {pods} pods in {filled:.1?}; server with its watch cache up {:.1?} later)",
        started.elapsed() - filled
    );
    let url = server.url().parse().expect("server URL");
    // The client spawns its buffer task on the current runtime.
    let client = {
        let _rt = rt.enter();
        kube::Client::try_from(kube::Config::new(url)).expect("client")
    };

    let all = "/api/v1/pods".to_string();
    let one = format!("/api/v1/namespaces/{NAMESPACE}/pods");
    let cases = [
        ("all_consistent", all.clone(), pods),
        (
            "all_from_watch_cache",
            format!("{all}?resourceVersion=0"),
            pods,
        ),
        ("namespace_3000_consistent", one.clone(), PER_NAMESPACE),
        (
            "namespace_3000_from_watch_cache",
            format!("{one}?resourceVersion=0"),
            PER_NAMESPACE,
        ),
        ("all_limit_500_first_page", format!("{all}?limit=500"), 500),
    ];
    // Every case is checked once, whole, outside the timing: counting 255 MB of
    // items would otherwise be timed too.
    for (name, path, want) in &cases {
        let body = rt.block_on(get_text(&client, path));
        assert_eq!(items(&body), *want, "{name}: {path}");
    }

    let mut group = c.benchmark_group("list_pods_150k");
    group.sampling_mode(SamplingMode::Flat);
    for (name, path, want) in &cases {
        group.throughput(Throughput::Elements(*want as u64));
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| async {
                let body = get_text(&client, path).await;
                // ~1.7 KB per pod: a cheap check that the list was not cut short.
                assert!(body.len() > want * 1500, "{name}: {} bytes", body.len());
            })
        });
    }
    group.finish();
    rt.block_on(server.shutdown());
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = list_pods_150k
}
criterion_main!(benches);
