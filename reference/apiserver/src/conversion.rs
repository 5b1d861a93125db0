//! Storage conversion: `events.k8s.io/v1` Events share storage with core `v1` Events,
//! as upstream does, so `kubectl get events` shows what components record with either
//! API. Custom resources are stored at their CRD's storage version and served at any
//! of its versions with only `apiVersion` changed (conversion strategy `None`). Every
//! other kind is stored as served.
//!
//! Entry points: [`to_storage`], [`from_storage`] (field pairs from upstream's
//! `pkg/apis/events/v1` conversion). Both write the object in Go's form (field order and
//! zero values, `refkube_resources::types::go`), so what is stored and served is what
//! upstream's encoder writes.

use refkube_resources::ResourceInfo;
use refkube_resources::types::go;
use serde_json::{Map, Value, json};

/// (events.k8s.io field, core field).
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn is_events_v1(info: &ResourceInfo) -> bool {
    info.group == "events.k8s.io" && info.plural == "events"
}

fn rename(obj: &Value, to_core: bool, api_version: &str) -> Value {
    let Some(src) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    for (k, v) in src {
        let renamed = EVENT_FIELDS.iter().find_map(|(ev, core)| {
            let (from, to) = if to_core { (ev, core) } else { (core, ev) };
            (*from == k.as_str()).then_some(*to)
        });
        out.insert(renamed.unwrap_or(k).to_string(), v.clone());
    }
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!("Event"));
    let mut out = Value::Object(out);
    let go_type = if to_core {
        "core/v1.Event"
    } else {
        "events/v1.Event"
    };
    go::normalize_as(go_type, &mut out);
    out
}

/// The stored form of an object served as `info`.
pub fn to_storage(info: &ResourceInfo, obj: &Value) -> Value {
    if let Some(custom) = info.custom {
        let mut o = obj.clone();
        o["apiVersion"] = json!(custom.storage_api_version);
        return o;
    }
    if is_events_v1(info) {
        rename(obj, true, "v1")
    } else {
        let mut o = obj.clone();
        go::normalize(info, &mut o);
        o
    }
}

/// The served form of a stored object.
pub fn from_storage(info: &ResourceInfo, mut obj: Value) -> Value {
    if info.custom.is_some() {
        obj["apiVersion"] = json!(info.api_version());
        return obj;
    }
    if is_events_v1(info) {
        rename(&obj, false, "events.k8s.io/v1")
    } else {
        obj
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_v1_round_trip_through_core_storage() {
        let info = refkube_resources::registry::lookup("events.k8s.io", "v1", "events").unwrap();
        let ev = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "Started", "reason": "Started",
            "reportingController": "kubelet", "deprecatedCount": 2});
        let stored = to_storage(info, &ev);
        assert_eq!(stored["apiVersion"], "v1");
        assert_eq!(stored["involvedObject"]["name"], "p");
        assert_eq!(stored["message"], "Started");
        assert_eq!(stored["reportingComponent"], "kubelet");
        assert_eq!(stored["count"], 2);
        let back = from_storage(info, stored);
        assert_eq!(back["metadata"]["name"], "e");
        for k in ["regarding", "note", "reason", "reportingController"] {
            assert_eq!(back[k], ev[k], "{k}");
        }
        assert_eq!(back["deprecatedCount"], 2);
        // Go's form of an events.k8s.io Event: its field order, and the zero times
        // Go writes as null.
        let keys: Vec<&str> = back
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(&keys[..4], ["kind", "apiVersion", "metadata", "eventTime"]);
        assert_eq!(back["eventTime"], Value::Null);
        assert_eq!(back["deprecatedFirstTimestamp"], Value::Null);
    }
}
