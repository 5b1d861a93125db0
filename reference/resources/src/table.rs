//! Server-side printing: the `meta.k8s.io/v1 Table` responses `kubectl get` asks for,
//! with upstream's column definitions per kind (priority 1 columns are `-o wide`).
//!
//! Entry point: [`to_table`]. Each kind's strategy picks its printer from
//! `table/workloads.rs`, `table/cluster.rs` and the others, mirroring upstream's `pkg/printers/internalversion/printers.go`.
//! As upstream's server does, every row carries all cells (wide ones included); kubectl
//! hides priority-1 columns unless `-o wide`.

pub(crate) mod certificates;
pub(crate) mod cluster;
pub(crate) mod cronjob;
pub(crate) mod events;
pub(crate) mod pdb;
pub(crate) mod pods;
pub(crate) mod rbac;
pub(crate) mod storage;
pub(crate) mod workloads;

use crate::ResourceInfo;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// What each row's `object` carries (`?includeObject=`; upstream's default is Metadata).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}

/// One column definition as `TableColumnDefinition` serialises it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: &'static str,
    pub format: &'static str,
    pub priority: u8,
    pub description: String,
}

/// Builds a column; `description` is upstream's text (usually a field's swagger doc).
pub(crate) fn col(
    name: &'static str,
    kind: &'static str,
    priority: u8,
    description: impl Into<String>,
) -> Column {
    Column {
        name,
        kind,
        format: "",
        priority,
        description: description.into(),
    }
}

/// The leading NAME column every printer has.
pub(crate) fn name_col() -> Column {
    Column {
        format: "name",
        ..col("Name", "string", 0, meta_doc("name"))
    }
}

/// The AGE column (creationTimestamp).
pub(crate) fn age_col() -> Column {
    col("Age", "string", 0, meta_doc("creationTimestamp"))
}

/// A field's description from the k8s-openapi schema of `T`: the same swagger text
/// upstream's printers take from `SwaggerDoc()`.
pub(crate) fn doc<T: schemars::JsonSchema>(field: &str) -> String {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    schema
        .as_value()
        .pointer(&format!("/properties/{field}/description"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn meta_doc(field: &str) -> String {
    doc::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(field)
}

/// Context handed to per-kind printers.
pub struct Ctx {
    pub now: DateTime<Utc>,
}

impl Ctx {
    /// Upstream's `translateTimestampSince`: `<unknown>` for a missing timestamp.
    pub fn since(&self, ts: Option<&str>) -> String {
        match ts.and_then(parse_time) {
            Some(t) => human_duration(self.now - t),
            None => "<unknown>".to_string(),
        }
    }

    pub fn age(&self, obj: &Value) -> String {
        self.since(
            obj.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str),
        )
    }
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A printed row: its cells and optional row conditions (pods use `Completed`).
pub struct Row {
    pub cells: Vec<Value>,
    pub conditions: Option<Value>,
}

impl From<Vec<Value>> for Row {
    fn from(cells: Vec<Value>) -> Self {
        Self {
            cells,
            conditions: None,
        }
    }
}

/// A kind's row function.
pub type Printer = fn(&Value, &Ctx) -> Row;

/// The columns and row printer for a resource, as upstream registers them. Column
/// descriptions come from generated schemas, so each kind's set is built once.
fn printer_for(info: &ResourceInfo) -> (Arc<Vec<Column>>, Printer) {
    type Cache = Mutex<HashMap<(&'static str, &'static str), (Arc<Vec<Column>>, Printer)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (info.group, info.plural);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    let (columns, print) = info
        .strategy
        .printer()
        .unwrap_or_else(|| (vec![name_col(), age_col()], default_row as Printer));
    let entry = (Arc::new(columns), print);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, entry.clone());
    }
    entry
}

/// Upstream's `DefaultTableConvertor` as the CRD store uses it: the name and the
/// creation time.
pub(crate) fn created_at() -> (Vec<Column>, Printer) {
    let created = col("Created At", "date", 0, meta_doc("creationTimestamp"));
    (vec![name_col(), created], created_at_row as Printer)
}

/// Upstream's `DefaultTableConvertor` row: the name and the creation time (RFC 3339, UTC).
fn created_at_row(obj: &Value, _: &Ctx) -> Row {
    let created = obj
        .pointer("/metadata/creationTimestamp")
        .cloned()
        .unwrap_or(Value::Null);
    vec![json!(name(obj)), created].into()
}

fn default_row(obj: &Value, ctx: &Ctx) -> Row {
    vec![json!(name(obj)), json!(ctx.age(obj))].into()
}

/// Adds the row's `object` as `?includeObject=` asks.
pub(crate) fn include_object(row: &mut Value, item: &Value, include: IncludeObject) {
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            row["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": item.get("metadata").cloned().unwrap_or_else(|| json!({})),
            });
        }
        IncludeObject::Object => row["object"] = item.clone(),
    }
}

/// Renders `items` as a Table. `now` is the reference time for AGE columns.
/// The result has `kind: Table`, `apiVersion: meta.k8s.io/v1`, `columnDefinitions`
/// and `rows`; the caller sets `metadata.resourceVersion` / `continue`.
pub fn to_table(
    info: &ResourceInfo,
    items: &[Value],
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    if let Some(table) = info.strategy.table(items, include, now) {
        return table;
    }
    let (columns, print) = printer_for(info);
    let ctx = Ctx { now };
    let column_defs: Vec<Value> = columns
        .iter()
        .map(|c| {
            json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|item| {
            let row = print(item, &ctx);
            let mut out = json!({ "cells": row.cells });
            if let Some(conditions) = row.conditions {
                out["conditions"] = conditions;
            }
            include_object(&mut out, item, include);
            out
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": column_defs,
        "rows": rows,
    })
}

/// Upstream's `duration.HumanDuration` (`k8s.io/apimachinery/pkg/util/duration`).
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{}h", hours / 24, h)
        };
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{}d", hours / 24 / 365, dy)
        };
    }
    format!("{}y", hours / 24 / 365)
}

// Small accessors over JSON objects, shared by the printers.

pub(crate) fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

pub(crate) fn str_at<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

pub(crate) fn int_at(obj: &Value, ptr: &str) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or_default()
}

pub(crate) fn arr_at<'a>(obj: &'a Value, ptr: &str) -> &'a [Value] {
    obj.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Upstream's `labels.FormatLabels`: sorted `k=v` joined by commas, `<none>` if empty.
pub(crate) fn format_labels(map: Option<&Value>) -> String {
    let s = map_pairs(map).join(",");
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s
    }
}

/// Sorted `k=v` pairs of a string map (a `labels.Set`'s `String()` order).
pub(crate) fn map_pairs(map: Option<&Value>) -> Vec<String> {
    let mut pairs: Vec<String> = map
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
}

#[cfg(test)]
mod tests;
