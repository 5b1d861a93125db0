//! The `kubernetes` Endpoints list every live API server on a shared store: a server
//! that shuts down takes itself out at once, one that crashes drops out when its lease
//! expires, and the last one never leaves the Service without endpoints.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use refkube_apiserver::ApiServerConfig;
use refkube_apiserver::lease_endpoints::lease_key;
use refkube_store::{MemoryStore, Store};
use serde_json::Value;

const TTL: Duration = Duration::from_secs(2);

fn config() -> ApiServerConfig {
    common::config()
        .endpoint_reconciler_interval(Duration::from_millis(100))
        .master_endpoint_reconcile_ttl(TTL)
}

/// The `(ip, port)` pairs an Endpoints object lists.
fn listed(ep: &Value) -> BTreeSet<SocketAddr> {
    let mut out = BTreeSet::new();
    for subset in ep["subsets"].as_array().into_iter().flatten() {
        for a in subset["addresses"].as_array().into_iter().flatten() {
            for p in subset["ports"].as_array().into_iter().flatten() {
                let ip = a["ip"].as_str().unwrap().parse().unwrap();
                out.insert(SocketAddr::new(ip, p["port"].as_u64().unwrap() as u16));
            }
        }
    }
    out
}

/// Read from the store, so it works with every server stopped too.
async fn stored(store: &Arc<dyn Store>) -> BTreeSet<SocketAddr> {
    let kv = store
        .get("/registry/services/endpoints/default/kubernetes")
        .await
        .unwrap()
        .unwrap();
    listed(&serde_json::from_slice(&kv.value).unwrap())
}

async fn wait_for(store: &Arc<dyn Store>, want: &[&TestServer], within: Duration) {
    let want: BTreeSet<SocketAddr> = want.iter().map(|s| s.server.local_addr()).collect();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let now = stored(store).await;
        if now == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "endpoints {now:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_kubernetes_endpoints_follow_the_live_api_servers() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let a = common::start_with(config(), store.clone()).await;
    let b = common::start_with(config(), store.clone()).await;
    wait_for(&store, &[&a, &b], Duration::from_secs(5)).await;
    let (code, slice) = a
        .get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
        .await;
    assert_eq!(code, 200);
    let first = slice["ports"][0]["port"].as_u64().unwrap() as u16;
    let lowest = a
        .server
        .local_addr()
        .port()
        .min(b.server.local_addr().port());
    assert_eq!(first, lowest, "the slice mirrors the first subset: {slice}");

    // Graceful: gone as soon as shutdown returns, lease and all.
    let b_addr = b.server.local_addr();
    b.server.shutdown().await;
    assert_eq!(
        stored(&store).await,
        BTreeSet::from([a.server.local_addr()])
    );
    assert!(store.get(&lease_key(b_addr)).await.unwrap().is_none());

    // A crash: still listed until its lease runs out, then dropped by the survivor.
    let c = common::start_with(config(), store.clone()).await;
    wait_for(&store, &[&a, &c], Duration::from_secs(5)).await;
    let c_addr = c.server.local_addr();
    drop(c);
    assert!(stored(&store).await.contains(&c_addr));
    wait_for(&store, &[&a], TTL + Duration::from_secs(3)).await;
    assert!(store.get(&lease_key(c_addr)).await.unwrap().is_none());

    // The last server keeps itself listed: no endpoints at all helps no client.
    let a_addr = a.server.local_addr();
    a.server.shutdown().await;
    assert_eq!(stored(&store).await, BTreeSet::from([a_addr]));
}
