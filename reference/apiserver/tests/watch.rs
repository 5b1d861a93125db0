//! Watch semantics: order, resume from a resourceVersion, 410 as an ERROR event,
//! selector enter/leave, bookmarks, initial events, timeouts, Table rows, and one
//! store watch shared by many watchers.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
}

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn watch_from_a_resource_version_delivers_later_changes_in_order() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let first = api
        .create(&PostParams::default(), &cm("w0", json!({})))
        .await
        .unwrap();
    let rv = first.metadata.resource_version.unwrap();
    for i in 1..4 {
        api.create(&PostParams::default(), &cm(&format!("w{i}"), json!({})))
            .await
            .unwrap();
    }
    api.delete("w1", &Default::default()).await.unwrap();
    let stream = api.watch(&WatchParams::default(), &rv).await.unwrap();
    let events: Vec<_> = tokio::time::timeout(T, stream.take(4).try_collect::<Vec<_>>())
        .await
        .unwrap()
        .unwrap();
    let seen: Vec<String> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.clone().unwrap()),
            WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata.name.clone().unwrap()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(seen, ["ADDED w1", "ADDED w2", "ADDED w3", "DELETED w1"]);
}

#[tokio::test]
async fn a_watch_older_than_the_cache_gets_410_as_an_error_event() {
    let s = common::start_with(
        common::config().watch_cache_size(3),
        Arc::new(refkube_store::MemoryStore::new()),
    )
    .await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let first = api
        .create(&PostParams::default(), &cm("e0", json!({})))
        .await
        .unwrap();
    let old: i64 = first.metadata.resource_version.unwrap().parse().unwrap();
    for i in 1..6 {
        api.create(&PostParams::default(), &cm(&format!("e{i}"), json!({})))
            .await
            .unwrap();
    }
    let resp = s
        .http
        .get(s.at(&format!(
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={old}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let events = common::read_events(resp, 1, T).await;
    assert_eq!(events[0]["type"], "ERROR");
    let status = &events[0]["object"];
    assert_eq!(status["code"], 410);
    assert_eq!(status["reason"], "Expired");
    let msg = status["message"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!("too old resource version: {old} (")),
        "{msg}"
    );
}

#[tokio::test]
async fn objects_entering_and_leaving_a_selector_are_added_and_deleted() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    let o = api
        .create(&PostParams::default(), &cm("sel", json!({"app": "no"})))
        .await
        .unwrap();
    let rv = o.metadata.resource_version.unwrap();
    let stream = api
        .watch(&WatchParams::default().labels("app=yes"), &rv)
        .await
        .unwrap();
    let set = |v: &str| json!({"metadata": {"labels": {"app": v}}});
    api.patch("sel", &PatchParams::default(), &Patch::Merge(&set("yes")))
        .await
        .unwrap();
    api.patch(
        "sel",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"a": "b"}})),
    )
    .await
    .unwrap();
    api.patch("sel", &PatchParams::default(), &Patch::Merge(&set("no")))
        .await
        .unwrap();
    let events: Vec<_> = tokio::time::timeout(T, stream.take(3).try_collect::<Vec<_>>())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(events[0], WatchEvent::Added(_)), "{:?}", events[0]);
    assert!(matches!(events[1], WatchEvent::Modified(_)));
    assert!(matches!(events[2], WatchEvent::Deleted(_)));
}

#[tokio::test]
async fn bookmarks_arrive_periodically_when_allowed() {
    let s = common::start().await;
    let resp = s.http.get(s.at("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1&allowWatchBookmarks=true")).send().await.unwrap();
    let events = common::read_events(resp, 2, T).await;
    assert_eq!(events.len(), 2);
    for e in events {
        assert_eq!(e["type"], "BOOKMARK");
        assert_eq!(e["object"]["kind"], "ConfigMap");
        assert!(
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
                >= 1
        );
    }
}

#[tokio::test]
async fn send_initial_events_ends_with_an_annotated_bookmark() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &cm("i1", json!({})))
        .await
        .unwrap();
    let resp = s.http.get(s.at("/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")).send().await.unwrap();
    let events = common::read_events(resp, 2, T).await;
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "i1");
    assert_eq!(events[1]["type"], "BOOKMARK");
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn timeout_seconds_ends_the_watch() {
    let s = common::start().await;
    let started = std::time::Instant::now();
    let resp =
        s.http
            .get(s.at(
                "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1&timeoutSeconds=1",
            ))
            .send()
            .await
            .unwrap();
    let body = tokio::time::timeout(T, resp.text()).await.unwrap().unwrap();
    assert!(body.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn watch_without_resource_version_starts_with_the_current_state() {
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &cm("now", json!({})))
        .await
        .unwrap();
    let resp = s
        .http
        .get(s.at("/api/v1/namespaces/default/configmaps?watch=1"))
        .send()
        .await
        .unwrap();
    let events = common::read_events(resp, 1, T).await;
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "now");
}

#[tokio::test]
async fn table_watches_carry_one_row_per_event() {
    let s = common::start().await;
    let resp = s
        .http
        .get(s.at("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1"))
        .header(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .send()
        .await
        .unwrap();
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &cm("tab", json!({})))
        .await
        .unwrap();
    let events = common::read_events(resp, 1, T).await;
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["kind"], "Table");
}

#[tokio::test]
async fn a_thousand_watchers_share_one_store_watch_per_resource() {
    let store = std::sync::Arc::new(refkube_store::CountingStore::new(std::sync::Arc::new(
        refkube_store::MemoryStore::new(),
    )));
    let s = common::start_with(common::config(), store.clone()).await;
    let base = store.watches();
    assert!(base > 0, "the watch cache watches the store at start");
    let mut watches = Vec::new();
    for _ in 0..1000 {
        let resp = s
            .http
            .get(s.at("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1"))
            .send();
        watches.push(resp);
    }
    let responses: Vec<_> = futures::future::join_all(watches)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &cm("shared", json!({})))
        .await
        .unwrap();
    let got = futures::future::join_all(
        responses
            .into_iter()
            .map(|r| common::read_events(r, 1, Duration::from_secs(30))),
    )
    .await;
    assert!(
        got.iter()
            .all(|e| e.len() == 1 && e[0]["object"]["metadata"]["name"] == "shared")
    );
    assert_eq!(
        store.watches(),
        base,
        "no watcher opened its own store watch"
    );
}

#[tokio::test]
async fn kube_runtime_watchers_see_changes_with_and_without_streaming_lists() {
    use kube::runtime::{WatchStreamExt, watcher};
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &cm("before", json!({})))
        .await
        .unwrap();
    for cfg in [
        watcher::Config::default(),
        watcher::Config::default().streaming_lists(),
    ] {
        let mut objs = watcher(api.clone(), cfg).applied_objects().boxed();
        let mut wait_for = async |name: &str| {
            tokio::time::timeout(T, async {
                while let Some(o) = objs.next().await {
                    if o.unwrap().metadata.name.as_deref() == Some(name) {
                        return;
                    }
                }
                panic!("watcher ended before {name}");
            })
            .await
            .unwrap()
        };
        wait_for("before").await;
        let name = format!("after-{}", rand_suffix());
        api.create(&PostParams::default(), &cm(&name, json!({})))
            .await
            .unwrap();
        wait_for(&name).await;
    }
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test]
async fn two_api_servers_on_one_store_see_each_others_writes() {
    let store: Arc<dyn refkube_store::Store> = Arc::new(refkube_store::MemoryStore::new());
    let a = common::start_with(common::config(), store.clone()).await;
    let b = common::start_with(common::config(), store).await;
    let on_b: Api<ConfigMap> = Api::namespaced(b.client().await, "default");
    let rv = on_b
        .list(&Default::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let stream = on_b.watch(&WatchParams::default(), &rv).await.unwrap();
    let on_a: Api<ConfigMap> = Api::namespaced(a.client().await, "default");
    on_a.create(&PostParams::default(), &cm("from-a", json!({})))
        .await
        .unwrap();
    let events: Vec<_> = tokio::time::timeout(T, stream.take(1).try_collect::<Vec<_>>())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&events[0], WatchEvent::Added(o) if o.metadata.name.as_deref() == Some("from-a"))
    );
}

#[tokio::test]
async fn metadata_watchers_get_partial_object_metadata() {
    use kube::core::PartialObjectMeta;
    use kube::runtime::{WatchStreamExt, watcher};
    let s = common::start().await;
    let api: Api<ConfigMap> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &cm("meta", json!({"app": "m"})))
        .await
        .unwrap();
    let listed = api.list_metadata(&Default::default()).await.unwrap();
    assert_eq!(
        listed.items[0].metadata.labels.as_ref().unwrap()["app"],
        "m"
    );
    let mut objs = watcher(
        Api::<PartialObjectMeta<ConfigMap>>::namespaced(s.client().await, "default"),
        watcher::Config::default(),
    )
    .applied_objects()
    .boxed();
    let first = tokio::time::timeout(T, objs.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("meta"));
}
