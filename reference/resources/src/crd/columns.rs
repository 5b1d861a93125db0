//! Printer columns of custom resources: upstream's `registry/customresource/
//! tableconvertor` (cells per column type) and `apiserver/helpers.go` (the default `Age`
//! column, the scale subresource's columns).

use super::jsonpath::{self, Step};
use crate::structural::gofmt;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// One `additionalPrinterColumns` entry, its JSONPath parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `integer`, `number`, `string`, `boolean` or `date`.
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
    steps: Vec<Step>,
}

impl Column {
    /// Builds a column from its CRD definition; `None` when the JSONPath does not parse.
    pub fn from_definition(def: &Value) -> Option<Column> {
        let s = |k: &str| {
            def.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let json_path = s("jsonPath");
        let steps = jsonpath::parse(&json_path).ok()?;
        let description = match s("description") {
            d if d.is_empty() => {
                format!("Custom resource definition column (in JSONPath format): {json_path}")
            }
            d => d,
        };
        Some(Column {
            name: s("name"),
            type_: s("type"),
            format: s("format"),
            description,
            priority: def.get("priority").and_then(Value::as_i64).unwrap_or(0),
            json_path,
            steps,
        })
    }
}

fn version<'a>(crd: &'a Value, name: &str) -> Option<&'a Value> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)?
        .iter()
        .find(|v| v["name"] == name)
}

fn age_definition() -> Value {
    json!({
        "name": "Age",
        "type": "date",
        "description": crate::table::age_col().description,
        "jsonPath": ".metadata.creationTimestamp",
    })
}

/// Upstream's `tableconvertor.New`: a column whose JSONPath fails to parse ends the list
/// (the convertor built so far is what gets served).
fn build(defs: &[Value]) -> Vec<Column> {
    defs.iter().map_while(Column::from_definition).collect()
}

/// The columns served for `version` after `Name`: its `additionalPrinterColumns`, or a
/// single `Age` column when it has none (`serveDefaultColumnsIfEmpty`).
pub fn printer_columns(crd: &Value, version_name: &str) -> Vec<Column> {
    let Some(v) = version(crd, version_name) else {
        return Vec::new();
    };
    match v.get("additionalPrinterColumns").and_then(Value::as_array) {
        Some(defs) if !defs.is_empty() => build(defs),
        _ => build(&[age_definition()]),
    }
}

/// The columns of the scale subresource's table (`getScaleColumnsForVersion`).
pub fn scale_columns(crd: &Value, version_name: &str) -> Vec<Column> {
    let Some(v) = version(crd, version_name) else {
        return Vec::new();
    };
    let mut defs = Vec::new();
    if let Some(scale) = v.pointer("/subresources/scale").filter(|s| s.is_object()) {
        let set = |k: &str| {
            scale
                .get(k)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        if set("specReplicasPath") {
            defs.push(json!({"name": "Desired", "type": "integer",
                "description": "Number of desired replicas", "jsonPath": ".spec.replicas"}));
        }
        if set("statusReplicasPath") {
            defs.push(json!({"name": "Available", "type": "integer",
                "description": "Number of actual replicas", "jsonPath": ".status.replicas"}));
        }
    }
    defs.push(age_definition());
    build(&defs)
}

/// The table's `columnDefinitions`: `Name` first, then `columns`.
pub fn column_definitions(columns: &[Column]) -> Vec<Value> {
    let name = crate::table::name_col();
    let mut out = vec![json!({
        "name": "Name", "type": "string", "format": "name",
        "description": name.description, "priority": 0,
    })];
    out.extend(columns.iter().map(|c| {
        json!({
            "name": c.name, "type": c.type_, "format": c.format,
            "description": c.description, "priority": c.priority,
        })
    }));
    out
}

/// A row's cells: the object's name, then each column's cell.
pub fn row_cells(obj: &Value, columns: &[Column], now: DateTime<Utc>) -> Vec<Value> {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut cells = vec![json!(name)];
    cells.extend(columns.iter().map(|c| cell(obj, c, now)));
    cells
}

/// One cell: the first value the column's JSONPath finds (null when none or on an
/// evaluation error), printed as text for `string` columns (`<no value>` for a null,
/// JSON for lists and maps), kept as a JSON value for `integer`, `number` and
/// `boolean`, and as an age (`5m`) for `date`. `now` is the reference time for ages.
pub fn cell(obj: &Value, column: &Column, now: DateTime<Utc>) -> Value {
    let Ok(found) = jsonpath::find(obj, &column.steps) else {
        return Value::Null;
    };
    let Some(value) = found.first() else {
        return Value::Null;
    };
    if column.type_ == "string" {
        return json!(go_text(value));
    }
    typed_cell(&column.type_, value, now)
}

/// `cellForJSONValue`.
pub(super) fn typed_cell(kind: &str, value: &Value, now: DateTime<Utc>) -> Value {
    match (kind, value) {
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => json!(i),
            // Go converts a float64 to int64 by truncation.
            None => json!(n.as_f64().unwrap_or_default() as i64),
        },
        ("number", Value::Number(n)) => go_float_value(n.as_f64().unwrap_or_default()),
        ("boolean", Value::Bool(b)) => json!(b),
        ("date", Value::String(s)) => json!(age(s, now)),
        _ => Value::Null,
    }
}

/// A float64 cell as Go's encoder writes it: integral values without a fraction.
fn go_float_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// `metav1.Time.UnmarshalQueryParameter` then `ConvertToHumanReadableDateType`.
fn age(s: &str, now: DateTime<Utc>) -> String {
    if s.is_empty() || s == "null" {
        return "<unknown>".into();
    }
    match crate::table::parse_time(s) {
        None => "<invalid>".into(),
        Some(t) if t.timestamp() == -62_135_596_800 => "<unknown>".into(),
        Some(t) => crate::table::human_duration(now - t),
    }
}

/// What client-go's `PrintResults` writes for one value: `fmt.Fprint` for scalars,
/// `json.Marshal` for lists and maps.
pub(crate) fn go_text(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => gofmt::float(n.as_f64().unwrap_or_default()),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => gofmt::json(v),
    }
}
