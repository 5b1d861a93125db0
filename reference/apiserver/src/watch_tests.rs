//! Unit tests of the watch event filter and frame encoding (`watch.rs`); the response
//! stream's are in `watchstream_tests.rs`.

use super::*;
use refkube_helpers::labels::LabelSelector;

fn filter(sel: &str) -> Filter {
    Filter {
        namespace: None,
        labels: LabelSelector::parse(sel).unwrap(),
        fields: Default::default(),
    }
}

pub(super) fn configmaps() -> &'static ResourceInfo {
    refkube_resources::registry::lookup("", "v1", "configmaps").unwrap()
}

fn cached(v: Value) -> Arc<CachedObject> {
    Arc::new(CachedObject::new(configmaps(), &v).unwrap())
}

fn obj(app: &str) -> Arc<CachedObject> {
    cached(json!({"metadata": {"name": "x", "labels": {"app": app}}}))
}

fn ev(kind: EventType, cur: &str, prev: Option<&str>) -> CacheEvent {
    CacheEvent::new(2, kind, obj(cur), prev.map(obj))
}

pub(super) fn watcher(table: bool, yaml: bool, metadata_only: bool) -> Watcher {
    Watcher {
        info: refkube_resources::registry::lookup("", "v1", "configmaps").unwrap(),
        filter: filter(""),
        table: table.then_some(refkube_resources::table::IncludeObject::Metadata),
        yaml,
        metadata_only,
    }
}

#[test]
fn a_json_frame_is_the_type_and_object_envelope_on_one_line() {
    let o = json!({"metadata": {"name": "x", "labels": {"app": "a"}}, "data": {"k": "v\n\"q\""}});
    let expected = format!(
        "{}\n",
        serde_json::to_string(&json!({"type": "ADDED", "object": o})).unwrap()
    );
    assert_eq!(json_frame("ADDED", &o), expected.as_bytes());
    // The frame written from the cache's bytes is the same, byte for byte.
    assert_eq!(
        raw_json_frame("ADDED", &cached(o.clone())),
        expected.as_bytes()
    );
    let yaml = format!(
        "{}---\n",
        serde_yaml::to_string(&json!({"type": "ADDED", "object": o})).unwrap()
    );
    assert_eq!(yaml_frame("ADDED", &o), yaml.as_bytes());
}

#[test]
fn plain_json_watchers_share_one_encoding_of_an_unchanged_event() {
    let e = ev(EventType::Modified, "a", Some("a"));
    let w = watcher(false, false, false);
    let first = w.encode_event(&e, EventType::Modified, &e.obj);
    let second = w.encode_event(&e, EventType::Modified, &e.obj);
    assert_eq!(first.as_ptr(), second.as_ptr());
    assert_eq!(first, w.encode("MODIFIED", &e.obj.value().unwrap()));
}

#[test]
fn transformed_events_and_forms_are_encoded_per_watcher() {
    let e = ev(EventType::Modified, "b", Some("a"));
    let shared = e.json_frame();
    // Leaving the selector: DELETED with the previous state, not the shared frame.
    let prev = e.prev.clone().unwrap();
    let leave = watcher(false, false, false).encode_event(&e, EventType::Deleted, &prev);
    assert_ne!(leave.as_ptr(), shared.as_ptr());
    let parsed: Value = serde_json::from_slice(&leave).unwrap();
    assert_eq!(parsed["type"], "DELETED");
    assert_eq!(parsed["object"]["metadata"]["labels"]["app"], "a");
    // Other forms never take the JSON frame.
    for w in [
        watcher(true, false, false),
        watcher(false, true, false),
        watcher(false, false, true),
    ] {
        let own = w.encode_event(&e, EventType::Modified, &e.obj);
        assert_ne!(own, shared);
        assert_eq!(own, w.encode("MODIFIED", &e.obj.value().unwrap()));
    }
}

#[test]
fn selector_enter_is_added_and_leave_is_deleted_with_the_previous_state() {
    let info = refkube_resources::registry::lookup("", "v1", "configmaps").unwrap();
    let f = filter("app=a");
    let enter = convert(info, &f, &ev(EventType::Modified, "a", Some("b"))).unwrap();
    assert_eq!(enter.0, EventType::Added);
    let leave = convert(info, &f, &ev(EventType::Modified, "b", Some("a"))).unwrap();
    assert_eq!(leave.0, EventType::Deleted);
    assert_eq!(leave.1.value().unwrap()["metadata"]["labels"]["app"], "a");
    assert_eq!(
        convert(info, &f, &ev(EventType::Modified, "a", Some("a")))
            .unwrap()
            .0,
        EventType::Modified
    );
    assert!(convert(info, &f, &ev(EventType::Modified, "b", Some("b"))).is_none());
    assert!(convert(info, &f, &ev(EventType::Added, "b", None)).is_none());
    assert_eq!(
        convert(info, &f, &ev(EventType::Deleted, "a", Some("a")))
            .unwrap()
            .0,
        EventType::Deleted
    );
}

/// A memory store with its watch caches, and a ConfigMap writer.
pub(super) async fn caches() -> (
    Arc<dyn refkube_store::Store>,
    crate::watchcache::WatchCaches,
) {
    let store: Arc<dyn refkube_store::Store> = Arc::new(refkube_store::MemoryStore::new());
    let caches = crate::watchcache::WatchCaches::start(store.clone(), 100)
        .await
        .unwrap();
    (store, caches)
}

pub(super) async fn write_configmap(store: &Arc<dyn refkube_store::Store>, name: &str) {
    let info = refkube_resources::registry::lookup("", "v1", "configmaps").unwrap();
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": name, "namespace": "default"}});
    let key = crate::keys::key(info, Some("default"), name);
    store
        .create(&key, crate::keys::encode(info, &obj).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn initial_events_wait_for_a_future_revision_then_time_out_with_504() {
    let (store, caches) = caches().await;
    let cache = caches
        .get(refkube_resources::registry::lookup("", "v1", "configmaps").unwrap())
        .unwrap();
    write_configmap(&store, "a").await;
    let now = store.current_revision().await.unwrap();
    let e = wait_fresh(&*store, &cache, now + 5, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(e.code, 504);
    assert_eq!(
        e.message,
        format!("Too large resource version: {}, current: {now}", now + 5)
    );
    assert_eq!(
        e.to_status()["details"]["causes"][0]["reason"],
        "ResourceVersionTooLarge"
    );
    // A revision reached during the wait ends it, by a write to this resource or to
    // any other (the revision is the store's).
    for other_resource in [false, true] {
        let want = store.current_revision().await.unwrap() + 1;
        let waiting = {
            let (store, cache) = (store.clone(), cache.clone());
            tokio::spawn(
                async move { wait_fresh(&*store, &cache, want, Duration::from_secs(10)).await },
            )
        };
        if other_resource {
            store
                .create(
                    "/registry/secrets/default/s",
                    bytes::Bytes::from_static(b"{}"),
                )
                .await
                .unwrap();
        } else {
            write_configmap(&store, "b").await;
        }
        waiting.await.unwrap().unwrap();
    }
}

#[test]
fn without_selectors_only_the_namespace_decides_and_kinds_pass_through() {
    let configmaps = refkube_resources::registry::lookup("", "v1", "configmaps").unwrap();
    let in_ns = |ns: &str| cached(json!({"metadata": {"name": "x", "namespace": ns}}));
    let mut f = filter("");
    f.namespace = Some("a".into());
    let modified = CacheEvent::new(2, EventType::Modified, in_ns("a"), Some(in_ns("a")));
    assert_eq!(
        convert(configmaps, &f, &modified).map(|(t, _)| t),
        Some(EventType::Modified)
    );
    let added = CacheEvent::new(2, EventType::Added, in_ns("a"), None);
    assert_eq!(
        convert(configmaps, &f, &added).map(|(t, _)| t),
        Some(EventType::Added)
    );
    let elsewhere = CacheEvent::new(2, EventType::Deleted, in_ns("b"), Some(in_ns("b")));
    assert!(convert(configmaps, &f, &elsewhere).is_none());
    // A cluster-scoped kind ignores the request's namespace, as `Filter::matches` does.
    let nodes = refkube_resources::registry::lookup("", "v1", "nodes").unwrap();
    let node = CacheEvent::new(2, EventType::Added, obj("n"), None);
    assert!(convert(nodes, &f, &node).is_some());
}

#[test]
fn field_selectors_match_on_the_fields_the_cache_kept() {
    let pods = refkube_resources::registry::lookup("", "v1", "pods").unwrap();
    let f = Filter {
        namespace: None,
        labels: Default::default(),
        fields: refkube_resources::fields::FieldSelector::parse(pods, "spec.nodeName=n1").unwrap(),
    };
    let pod = |node: &str| {
        let v = json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": node}});
        Arc::new(CachedObject::new(pods, &v).unwrap())
    };
    let bound = CacheEvent::new(2, EventType::Modified, pod("n1"), Some(pod("")));
    assert_eq!(
        convert(pods, &f, &bound).map(|(t, _)| t),
        Some(EventType::Added)
    );
    let moved = CacheEvent::new(3, EventType::Modified, pod("n2"), Some(pod("n1")));
    let (ty, shown) = convert(pods, &f, &moved).unwrap();
    assert_eq!(ty, EventType::Deleted);
    assert_eq!(shown.field(pods, "spec.nodeName"), Some("n1"));
    let elsewhere = CacheEvent::new(4, EventType::Added, pod("n2"), None);
    assert!(convert(pods, &f, &elsewhere).is_none());
}
