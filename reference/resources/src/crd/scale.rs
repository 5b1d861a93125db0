//! The scale subresource of custom resources (upstream `registry/customresource/etcd.go`:
//! `scaleFromCustomResource`, `ScaleREST.Get`, `scaleUpdatedObjectInfo`), with
//! `unstructured.NestedInt64` / `SetNestedField` semantics and error texts.

use serde_json::{Map, Value, json};

/// A version's `subresources.scale`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleSpec {
    pub spec_replicas_path: String,
    pub status_replicas_path: String,
    /// Empty when unset.
    pub label_selector_path: String,
}

impl ScaleSpec {
    /// Reads a `subresources.scale` object.
    pub fn from_value(v: &Value) -> Option<ScaleSpec> {
        let obj = v.as_object()?;
        let s = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some(ScaleSpec {
            spec_replicas_path: s("specReplicasPath"),
            status_replicas_path: s("statusReplicasPath"),
            label_selector_path: s("labelSelectorPath"),
        })
    }
}

/// The scale subresource of `version`, when it has one.
pub fn scale_spec(crd: &Value, version: &str) -> Option<ScaleSpec> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)?
        .iter()
        .find(|v| v["name"] == version)?
        .pointer("/subresources/scale")
        .and_then(ScaleSpec::from_value)
}

/// The sentinel upstream puts in the old Scale handed to an update when the object has
/// no spec replicas yet (the smallest int32); an update that keeps it is rejected.
pub const UNSET_SPEC_REPLICAS: i64 = -2147483648;

/// How a scale request fails, as upstream's status errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScaleError {
    /// 500 InternalError (accessor errors, a missing spec replicas field on GET).
    Internal(String),
    /// 400 BadRequest.
    BadRequest(String),
}

/// `strings.Split(strings.TrimPrefix(path, "."), ".")`.
fn split(path: &str) -> Vec<&str> {
    path.strip_prefix('.').unwrap_or(path).split('.').collect()
}

fn json_path(fields: &[&str]) -> String {
    format!(".{}", fields.join("."))
}

/// Go's `%v` and `%T` of a decoded JSON value, for accessor errors.
fn go_value_and_type(v: &Value) -> (String, &'static str) {
    match v {
        Value::Null => ("<nil>".into(), "<nil>"),
        Value::Bool(b) => (b.to_string(), "bool"),
        Value::String(s) => (s.clone(), "string"),
        Value::Number(n) if n.is_f64() => (super::columns::go_text(v), "float64"),
        Value::Number(n) => (n.to_string(), "int64"),
        Value::Array(_) => (crate::structural::gofmt::json(v), "[]interface {}"),
        Value::Object(_) => (crate::structural::gofmt::json(v), "map[string]interface {}"),
    }
}

/// `unstructured.NestedFieldNoCopy`.
fn nested<'a>(obj: &'a Value, fields: &[&str]) -> Result<Option<&'a Value>, String> {
    let mut val = obj;
    for (i, field) in fields.iter().enumerate() {
        match val {
            Value::Null => return Ok(None),
            Value::Object(m) => match m.get(*field) {
                Some(v) => val = v,
                None => return Ok(None),
            },
            other => {
                let (v, t) = go_value_and_type(other);
                return Err(format!(
                    "{} accessor error: {v} is of the type {t}, expected map[string]interface{{}}",
                    json_path(&fields[..=i])
                ));
            }
        }
    }
    Ok(Some(val))
}

/// `unstructured.NestedInt64`.
fn nested_i64(obj: &Value, path: &str) -> Result<Option<i64>, String> {
    let fields = split(path);
    match nested(obj, &fields)? {
        None => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(other) => {
            let (v, t) = go_value_and_type(other);
            Err(format!(
                "{} accessor error: {v} is of the type {t}, expected int64",
                json_path(&fields)
            ))
        }
    }
}

/// `unstructured.NestedString`.
fn nested_string(obj: &Value, path: &str) -> Result<String, String> {
    let fields = split(path);
    match nested(obj, &fields)? {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => {
            let (v, t) = go_value_and_type(other);
            Err(format!(
                "{} accessor error: {v} is of the type {t}, expected string",
                json_path(&fields)
            ))
        }
    }
}

/// `scaleFromCustomResource`: the `autoscaling/v1` Scale of `obj`, and whether the spec
/// replicas field was found (missing replicas read as 0).
pub fn scale_from_object(obj: &Value, spec: &ScaleSpec) -> Result<(Value, bool), String> {
    let spec_replicas = nested_i64(obj, &spec.spec_replicas_path)?;
    let status_replicas = nested_i64(obj, &spec.status_replicas_path)?.unwrap_or(0);
    let selector = if spec.label_selector_path.is_empty() {
        String::new()
    } else {
        nested_string(obj, &spec.label_selector_path)?
    };
    let mut meta = Map::new();
    for key in ["name", "namespace", "uid", "resourceVersion"] {
        if let Some(v) = obj
            .pointer(&format!("/metadata/{key}"))
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        {
            meta.insert(key.into(), v.clone());
        }
    }
    meta.insert(
        "creationTimestamp".into(),
        obj.pointer("/metadata/creationTimestamp")
            .cloned()
            .unwrap_or(Value::Null),
    );
    // Both replicas are int32 in the Scale; `replicas` in the spec is omitempty.
    let desired = spec_replicas.unwrap_or(0) as i32;
    let mut scale_spec = Map::new();
    if desired != 0 {
        scale_spec.insert("replicas".into(), json!(desired));
    }
    let mut status = Map::new();
    status.insert("replicas".into(), json!(status_replicas as i32));
    if !selector.is_empty() {
        status.insert("selector".into(), json!(selector));
    }
    let scale = json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": scale_spec,
        "status": status,
    });
    Ok((scale, spec_replicas.is_some()))
}

/// `ScaleREST.Get`: the Scale, or an internal error when the spec replicas field does
/// not exist.
pub fn read_scale(obj: &Value, spec: &ScaleSpec) -> Result<Value, ScaleError> {
    let (scale, found) = scale_from_object(obj, spec).map_err(ScaleError::Internal)?;
    if !found {
        return Err(ScaleError::Internal(format!(
            "the spec replicas field {:?} does not exist",
            spec.spec_replicas_path
        )));
    }
    Ok(scale)
}

/// The old Scale an update (PUT or patch) applies to: `spec.replicas` is
/// [`UNSET_SPEC_REPLICAS`] when the object has no spec replicas yet.
pub fn scale_for_update(obj: &Value, spec: &ScaleSpec) -> Result<Value, ScaleError> {
    let (mut scale, found) = scale_from_object(obj, spec).map_err(ScaleError::Internal)?;
    if !found {
        scale["spec"] = json!({"replicas": UNSET_SPEC_REPLICAS});
    }
    Ok(scale)
}

/// Writes the updated Scale's `spec.replicas` into `obj` at `specReplicasPath`
/// (`SetNestedField`: missing maps on the way are created).
pub fn write_scale(obj: &mut Value, spec: &ScaleSpec, replicas: i64) -> Result<(), ScaleError> {
    if replicas == UNSET_SPEC_REPLICAS {
        return Err(ScaleError::BadRequest(format!(
            "the spec replicas field {:?} cannot be empty",
            spec.spec_replicas_path
        )));
    }
    let fields = split(&spec.spec_replicas_path);
    let Some((last, parents)) = fields.split_last() else {
        return Ok(());
    };
    let mut m = obj;
    for (i, field) in parents.iter().enumerate() {
        let Some(map) = m.as_object_mut() else {
            return Err(not_a_map(&fields[..i]));
        };
        let entry = map.entry(*field).or_insert(Value::Null);
        if entry.is_null() {
            *entry = json!({});
        }
        if !entry.is_object() {
            return Err(not_a_map(&fields[..=i]));
        }
        m = entry;
    }
    let Some(map) = m.as_object_mut() else {
        return Err(not_a_map(parents));
    };
    map.insert((*last).to_string(), json!(replicas));
    Ok(())
}

fn not_a_map(fields: &[&str]) -> ScaleError {
    ScaleError::Internal(format!(
        "value cannot be set because {} is not a map[string]interface{{}}",
        json_path(fields)
    ))
}
