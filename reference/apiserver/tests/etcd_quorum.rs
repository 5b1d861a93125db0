//! An API server on a 3-member etcd that loses its majority answers promptly: the
//! component statuses with each member's state within a couple of seconds, `/readyz`
//! failing its `etcd` check, and a write refused with a Status well within 15 s.
//!
//! Needs the `etcd` binary (Debian: `apt-get install etcd-server`); skipped without it
//! unless `CI` is set.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use refkube_store::etcd::process::{EtcdCluster, find_binary};
use refkube_store::{EtcdConfig, EtcdStore};
use serde_json::json;

fn etcd_available() -> bool {
    if find_binary().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "etcd is not installed; CI must run the etcd tests"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: etcd not installed (etcd_quorum)"
    );
    false
}

#[tokio::test]
async fn without_a_majority_the_api_server_answers_promptly_and_names_etcd() {
    if !etcd_available() {
        return;
    }
    let mut cluster = EtcdCluster::start(3).await.expect("start 3-member etcd");
    let store = EtcdStore::new(
        EtcdConfig::new(cluster.client_urls()).with_dial_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let s = common::start_with(common::config(), Arc::new(store)).await;
    let (code, body) = s.get("/api/v1/componentstatuses").await;
    assert_eq!(code, 200, "{body}");

    cluster.kill(1);
    cluster.kill(2);
    // Let etcd-0 notice it has lost its leader (an election timeout, 1 s).
    tokio::time::sleep(Duration::from_secs(2)).await;

    let started = Instant::now();
    let (code, body) = s.get("/api/v1/componentstatuses").await;
    let took = started.elapsed();
    assert_eq!(code, 200, "{body}");
    assert!(
        took < Duration::from_secs(4),
        "componentstatuses took {took:?}"
    );
    let healthy = |name: &str| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["metadata"]["name"] == name)
            .map(|c| c["conditions"][0]["status"] == "True")
    };
    for member in ["etcd-0", "etcd-1", "etcd-2"] {
        assert_eq!(healthy(member), Some(false), "{member}: {body}");
    }

    let started = Instant::now();
    let resp = s.http.get(s.at("/readyz?verbose")).send().await.unwrap();
    let code = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let took = started.elapsed();
    assert_eq!(code, 500, "{text}");
    assert!(text.contains("[-]etcd failed"), "{text}");
    assert!(took < Duration::from_secs(4), "/readyz took {took:?}");

    let started = Instant::now();
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}}),
        )
        .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(12), "the write took {took:?}");
    assert_eq!(code, 500, "{body}");
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "InternalError");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("etcdserver: ")),
        "{body}"
    );
}
