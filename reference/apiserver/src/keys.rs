//! Storage keys, laid out like kube-apiserver's etcd keys, and the JSON encoding of
//! stored objects.
//!
//! Entry points: [`key`], [`prefix`], [`decode_kv`], [`encode`].
//! `/registry/{resource}/{ns}/{name}` for core kinds, `/registry/{resource}/{name}` for
//! cluster-scoped ones; upstream's special names are kept (`minions` for nodes,
//! `services/specs` and `services/endpoints`); CRDs and custom resources are keyed
//! `/registry/{group}/{resource}/...`. events.k8s.io Events share
//! `/registry/events/` with core Events, converted by [`crate::conversion`].

use bytes::Bytes;
use refkube_resources::ResourceInfo;
use refkube_store::KeyValue;
use serde_json::Value;

use crate::status::ApiError;

/// The resource segment of the key (the kind's strategy knows upstream's special
/// names).
fn resource_dir(info: &ResourceInfo) -> String {
    info.strategy.storage_dir(info)
}

/// The key prefix (ending in `/`) of all objects of `info`, or those of one namespace.
pub fn prefix(info: &ResourceInfo, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if info.namespaced => format!("/registry/{}/{ns}/", resource_dir(info)),
        _ => format!("/registry/{}/", resource_dir(info)),
    }
}

/// The key of one object.
pub fn key(info: &ResourceInfo, namespace: Option<&str>, name: &str) -> String {
    format!("{}{name}", prefix(info, namespace))
}

/// Turns a stored value into the object clients see: `metadata.resourceVersion` is the
/// key's mod_revision, never what was written.
pub fn decode_kv(info: &ResourceInfo, kv: &KeyValue) -> Result<Value, ApiError> {
    let obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {} is corrupt: {e}", kv.key)))?;
    let mut obj = crate::conversion::from_storage(info, obj);
    set_resource_version(info, &mut obj, kv.mod_revision);
    Ok(obj)
}

/// Serialises an object for the store, in Go's form (see [`crate::conversion::to_storage`]),
/// without its resourceVersion (the store owns it).
pub fn encode(info: &ResourceInfo, obj: &Value) -> Result<Bytes, ApiError> {
    let mut o = crate::conversion::to_storage(info, obj);
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        // shift_remove: the rest keeps Go's field order.
        m.shift_remove("resourceVersion");
        m.shift_remove("selfLink");
    }
    serde_json::to_vec(&o)
        .map(Bytes::from)
        .map_err(ApiError::internal)
}

/// Sets `metadata.resourceVersion` at its place in Go's field order (for a custom
/// resource, which Go encodes as a map: in key order).
pub fn set_resource_version(info: &ResourceInfo, obj: &mut Value, rev: i64) {
    let value = Value::String(rev.to_string());
    if info.custom.is_some() {
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), value);
            meta.sort_keys();
        }
        return;
    }
    refkube_resources::types::go::set_meta_field(obj, "resourceVersion", value);
}

/// `metadata` as a mutable map, created when missing.
pub fn meta_mut(obj: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    let o = obj.as_object_mut()?;
    o.entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()
}

/// A string field of `metadata`, "" when absent.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The object's labels as a map (for label selectors).
pub fn labels(obj: &Value) -> std::collections::BTreeMap<String, String> {
    obj.get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The object's finalizers.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use refkube_resources::registry::lookup;

    #[test]
    fn keys_follow_kube_apiserver_layout() {
        let pods = lookup("", "v1", "pods").unwrap();
        let nodes = lookup("", "v1", "nodes").unwrap();
        let deploy = lookup("apps", "v1", "deployments").unwrap();
        let svc = lookup("", "v1", "services").unwrap();
        assert_eq!(key(pods, Some("ns"), "p"), "/registry/pods/ns/p");
        assert_eq!(key(nodes, None, "n"), "/registry/minions/n");
        assert_eq!(key(deploy, Some("d"), "x"), "/registry/deployments/d/x");
        assert_eq!(prefix(svc, None), "/registry/services/specs/");
        assert_eq!(prefix(pods, Some("a")), "/registry/pods/a/");
    }

    #[test]
    fn stored_resource_version_is_replaced_by_the_mod_revision() {
        let kv = KeyValue {
            key: "/registry/pods/a/b".into(),
            value: Bytes::from_static(br#"{"metadata":{"name":"b","resourceVersion":"1"}}"#),
            create_revision: 3,
            mod_revision: 7,
        };
        let pods = lookup("", "v1", "pods").unwrap();
        let obj = decode_kv(pods, &kv).unwrap();
        assert_eq!(obj["metadata"]["resourceVersion"], "7");
        assert!(!String::from_utf8_lossy(&encode(pods, &obj).unwrap()).contains("resourceVersion"));
    }
}
