//! Unit tests of the watch event filter and frame encoding (`watch.rs`).

use super::*;
use refkube_resources::selector::LabelSelector;

fn filter(sel: &str) -> Filter {
    Filter {
        namespace: None,
        labels: LabelSelector::parse(sel).unwrap(),
        fields: Default::default(),
    }
}

fn obj(app: &str) -> Arc<Value> {
    Arc::new(json!({"metadata": {"name": "x", "labels": {"app": app}}}))
}

fn ev(kind: EventType, cur: &str, prev: Option<&str>) -> CacheEvent {
    CacheEvent::new(2, kind, obj(cur), prev.map(obj))
}

fn watcher(table: bool, yaml: bool, metadata_only: bool) -> Watcher {
    Watcher {
        info: refkube_resources::registry::lookup("", "v1", "configmaps").unwrap(),
        filter: filter(""),
        table: table.then_some(refkube_resources::table::IncludeObject::Metadata),
        yaml,
        metadata_only,
        tx: mpsc::channel(1).0,
    }
}

#[test]
fn a_json_frame_is_the_type_and_object_envelope_on_one_line() {
    let o = obj("a");
    let expected = format!(
        "{}\n",
        serde_json::to_string(&json!({"type": "ADDED", "object": *o})).unwrap()
    );
    assert_eq!(json_frame("ADDED", &o), expected.as_bytes());
    let yaml = format!(
        "{}---\n",
        serde_yaml::to_string(&json!({"type": "ADDED", "object": *o})).unwrap()
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
    assert_eq!(first, w.encode("MODIFIED", &e.obj));
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
        assert_eq!(own, w.encode("MODIFIED", &e.obj));
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
    assert_eq!(leave.1["metadata"]["labels"]["app"], "a");
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
