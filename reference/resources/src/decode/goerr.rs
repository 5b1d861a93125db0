//! Upstream's wording for a value of the wrong JSON type, as Go's decoder reports it:
//! `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of
//! type int32`. The struct and the Go type come from the kind's schema.
//!
//! Entry point: [`describe`].

use super::tree::resolve;
use serde_json::Value;

/// One step of the failing path: a map key or a list index.
pub enum Step {
    Key(String),
    Index(usize),
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

/// The short Go type name of a schema definition: `v1.PodSpec`, `resource.Quantity`.
fn go_def(name: &str) -> String {
    let mut parts = name.rsplit('.');
    let ty = parts.next().unwrap_or(name);
    let pkg = parts.next().unwrap_or("v1");
    let pkg = match pkg {
        "resource" | "intstr" | "runtime" => pkg,
        _ => "v1",
    };
    format!("{pkg}.{ty}")
}

/// The Go type a schema decodes into.
fn go_type(schema: &Value, root: &Value) -> String {
    if let Some(r) = ref_name(schema) {
        return go_def(r);
    }
    let s = resolve(schema, root);
    match (
        s.get("type").and_then(Value::as_str),
        s.get("format").and_then(Value::as_str),
    ) {
        (Some("integer"), Some("int64")) => "int64".into(),
        (Some("integer"), _) => "int32".into(),
        (Some("number"), _) => "float64".into(),
        (Some("boolean"), _) => "bool".into(),
        (Some("string"), _) => "string".into(),
        (Some("array"), _) => format!(
            "[]{}",
            s.get("items")
                .map_or_else(|| "interface {}".into(), |i| go_type(i, root))
        ),
        (Some("object"), _) => match s.get("additionalProperties").filter(|a| a.is_object()) {
            Some(a) => format!("map[string]{}", go_type(a, root)),
            None => "map[string]interface {}".into(),
        },
        _ => "interface {}".into(),
    }
}

fn ref_name(schema: &Value) -> Option<&str> {
    let r = schema
        .get("$ref")
        .or_else(|| {
            schema
                .get("allOf")
                .and_then(|a| a.get(0))
                .and_then(|a| a.get("$ref"))
        })
        .and_then(Value::as_str)?;
    r.rsplit('/').next()
}

/// Builds the Go message for a type mismatch at `path` in `object`, or `None` when the
/// path cannot be followed through the schema.
pub fn describe(object: &Value, path: &[Step], root: &Value) -> Option<String> {
    let title = root
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut struct_name = title.rsplit('.').next().unwrap_or(title).to_string();
    let mut schema = root;
    let mut value = object;
    let mut fields: Vec<&str> = Vec::new();
    for step in path {
        let resolved = resolve(schema, root);
        match step {
            Step::Key(k) => {
                if let Some(prop) = resolved.get("properties").and_then(|p| p.get(k.as_str())) {
                    if let Some(r) = ref_name(schema) {
                        struct_name = r.rsplit('.').next().unwrap_or(r).to_string();
                    }
                    fields.push(k);
                    schema = prop;
                } else {
                    schema = resolved
                        .get("additionalProperties")
                        .filter(|a| a.is_object())?;
                }
                value = value.get(k.as_str())?;
            }
            Step::Index(i) => {
                schema = resolved.get("items")?;
                value = value.get(*i)?;
            }
        }
    }
    Some(format!(
        "json: cannot unmarshal {} into Go struct field {struct_name}.{} of type {}",
        json_type(value),
        fields.join("."),
        go_type(schema, root)
    ))
}
