//! CRD defaulting (upstream `apiextensions/v1/defaults.go` plus the generated
//! `zz_generated.defaults.go`) and the registry strategy's `PrepareForCreate` /
//! `PrepareForUpdate` (`registry/customresourcedefinition/strategy.go`).

use serde_json::{Map, Value, json};

/// `SetObjectDefaults_CustomResourceDefinition`: names.singular (lower-case kind),
/// names.listKind (kind + "List"), conversion strategy `None`, the webhook service port
/// 443, the first storage version as `status.storedVersions`; and the fields Go always
/// serialises (a version's `served`/`storage`, `status.acceptedNames`).
pub fn apply_defaults(crd: &mut Value) {
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    let spec = obj
        .entry("spec")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(spec) = spec {
        spec_defaults(spec);
    }
    let storage = first_storage_version(crd);
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    let status = obj.entry("status").or_insert_with(|| json!({}));
    let Some(status) = status.as_object_mut() else {
        return;
    };
    let names = status
        .entry("acceptedNames")
        .or_insert_with(|| json!({"plural": "", "kind": ""}));
    if let Some(names) = names.as_object_mut() {
        names.entry("plural").or_insert_with(|| json!(""));
        names.entry("kind").or_insert_with(|| json!(""));
    }
    let stored_empty = status
        .get("storedVersions")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if stored_empty {
        // Go serialises a nil slice as null; an empty list means nothing was defaulted.
        let list = storage.map(|v| vec![json!(v)]).unwrap_or_default();
        status.insert("storedVersions".into(), Value::Array(list));
    }
}

fn spec_defaults(spec: &mut Map<String, Value>) {
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if is_empty_str(names.get("singular")) {
            names.insert("singular".into(), json!(kind.to_lowercase()));
        }
        if is_empty_str(names.get("listKind")) && !kind.is_empty() {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
    let conversion = spec
        .entry("conversion")
        .or_insert_with(|| json!({"strategy": "None"}));
    if conversion.is_null() {
        *conversion = json!({"strategy": "None"});
    }
    if let Some(port) = conversion
        .pointer_mut("/webhook/clientConfig/service")
        .and_then(Value::as_object_mut)
    {
        port.entry("port").or_insert_with(|| json!(443));
    }
    if let Some(versions) = spec.get_mut("versions").and_then(Value::as_array_mut) {
        for v in versions.iter_mut().filter_map(Value::as_object_mut) {
            v.entry("served").or_insert_with(|| json!(false));
            v.entry("storage").or_insert_with(|| json!(false));
        }
    }
}

fn is_empty_str(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_none_or(str::is_empty)
}

fn first_storage_version(crd: &Value) -> Option<String> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)?
        .iter()
        .find(|v| v["storage"] == true)
        .and_then(|v| v["name"].as_str())
        .map(str::to_string)
}

/// Appends the storage version to `status.storedVersions` unless already listed
/// (upstream's strategy does this on every create and update).
fn record_storage_version(crd: &mut Value) {
    let Some(storage) = first_storage_version(crd) else {
        return;
    };
    let Some(status) = crd.get_mut("status").and_then(Value::as_object_mut) else {
        return;
    };
    let stored = status.entry("storedVersions").or_insert_with(|| json!([]));
    if !stored.is_array() {
        *stored = json!([]);
    }
    if let Some(list) = stored.as_array_mut()
        && !list.iter().any(|v| v.as_str() == Some(&storage))
    {
        list.push(json!(storage));
    }
}

/// `PrepareForCreate`: the client's status is dropped, generation starts at 1, and the
/// storage version is recorded as stored. Call after [`apply_defaults`].
pub fn prepare_for_create(crd: &mut Value) {
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    obj.insert(
        "status".into(),
        json!({"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": []}),
    );
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("generation".into(), json!(1));
    }
    record_storage_version(crd);
}

/// `PrepareForUpdate`: status comes from the stored object (the main resource cannot
/// change it), generation increments when the spec changed, and a new storage version
/// is recorded as stored.
pub fn prepare_for_update(new: &mut Value, old: &Value) {
    let Some(obj) = new.as_object_mut() else {
        return;
    };
    obj.insert(
        "status".into(),
        old.get("status").cloned().unwrap_or_else(|| json!({})),
    );
    let old_generation = old
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let generation = if obj.get("spec") != old.get("spec") {
        old_generation + 1
    } else {
        old_generation
    };
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("generation".into(), json!(generation));
    }
    record_storage_version(new);
}

/// The status strategy's `PrepareForUpdate`: a `/status` write keeps the stored spec.
/// (Upstream's metadata reset there resets the new object from itself, so metadata
/// changes go through.)
pub fn prepare_for_status_update(new: &mut Value, old: &Value) {
    if let Some(obj) = new.as_object_mut() {
        obj.insert(
            "spec".into(),
            old.get("spec").cloned().unwrap_or_else(|| json!({})),
        );
    }
}
