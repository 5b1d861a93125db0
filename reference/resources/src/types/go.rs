//! Go's JSON form of the served types: objects written the way upstream's encoding/json
//! writes its structs (fields in struct order, zero values of fields without `omitempty`,
//! nothing for empty `omitempty` ones), from the field table `go_fields.txt` that
//! `scripts/gen-go-fields` reads out of upstream's Go types.
//!
//! Entry points: [`normalize`] (an object of a served kind), [`normalize_as`] (a body of
//! a named Go type such as `meta/v1.Status`), [`set_meta_field`] (one metadata field, at
//! its place).
//!
//! Upstream stores objects as protobuf, which keeps no difference between an empty and a
//! missing list or map, so an empty list without `omitempty` is written `null`, as a real
//! API server answers it.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::ResourceInfo;

/// The table, as `scripts/gen-go-fields` wrote it.
const TABLE: &str = include_str!("go_fields.txt");

/// A Go field type, as far as its JSON form goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ty {
    Str,
    Int,
    Float,
    Bool,
    /// `[]byte`: a base64 string.
    Bytes,
    /// `interface{}`: written as it is.
    Any,
    /// `metav1.Time` / `MicroTime`: `null` when zero, whatever the tag says.
    Time,
    /// `metav1.Duration`: `"0s"` when zero.
    Duration,
    /// `resource.Quantity`: `"0"` when zero.
    Quantity,
    /// `intstr.IntOrString`: `0` when zero.
    IntOrString,
    /// `runtime.RawExtension`, `FieldsV1`: written as given, `null` when empty.
    Raw,
    Ptr(Box<Ty>),
    Slice(Box<Ty>),
    /// A map; the type is its values'.
    Map(Box<Ty>),
    /// Index into [`Table::structs`].
    Struct(usize),
    /// A union with its own MarshalJSON (`JSONSchemaPropsOrBool`): written as the first
    /// alternative the value's JSON shape fits, or as given when none does.
    OneOf(Vec<Ty>),
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    ty: Ty,
    omitempty: bool,
}

#[derive(Debug)]
struct Table {
    structs: Vec<Vec<Field>>,
    by_name: HashMap<&'static str, usize>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| parse(TABLE))
}

fn parse(text: &'static str) -> Table {
    let lines: Vec<&'static str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let by_name: HashMap<&'static str, usize> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.split_whitespace().next().map(|n| (n, i)))
        .collect();
    let structs = lines
        .iter()
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .filter_map(|f| {
                    let (name, ty) = f.split_once('=')?;
                    let (ty, omitempty) = match ty.strip_suffix('?') {
                        Some(t) => (t, true),
                        None => (ty, false),
                    };
                    Some(Field {
                        name,
                        ty: parse_ty(ty, &by_name),
                        omitempty,
                    })
                })
                .collect()
        })
        .collect();
    Table { structs, by_name }
}

fn parse_ty(s: &str, by_name: &HashMap<&'static str, usize>) -> Ty {
    if let Some(inner) = s.strip_prefix('*') {
        return Ty::Ptr(Box::new(parse_ty(inner, by_name)));
    }
    if let Some(inner) = s.strip_prefix("[]") {
        return Ty::Slice(Box::new(parse_ty(inner, by_name)));
    }
    if let Some(inner) = s.strip_prefix("map[").and_then(|r| r.strip_suffix(']')) {
        return Ty::Map(Box::new(parse_ty(inner, by_name)));
    }
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        return Ty::OneOf(inner.split('|').map(|a| parse_ty(a, by_name)).collect());
    }
    match s {
        "string" => Ty::Str,
        "int" => Ty::Int,
        "float" => Ty::Float,
        "bool" => Ty::Bool,
        "bytes" => Ty::Bytes,
        "time" => Ty::Time,
        "duration" => Ty::Duration,
        "quantity" => Ty::Quantity,
        "intorstring" => Ty::IntOrString,
        "raw" => Ty::Raw,
        // A struct the generator did not list would be a bug in the table; writing the
        // value as given is the harmless answer.
        other => by_name.get(other).map_or(Ty::Any, |i| Ty::Struct(*i)),
    }
}

/// The Go type of a served kind: `core/v1.Pod`, `apps/v1.Deployment`.
pub fn go_type(info: &ResourceInfo) -> String {
    let package = match info.group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    format!("{package}/{}.{}", info.version, info.kind)
}

/// Writes `obj` as Go would write an object of `info`'s kind. Kinds without an entry
/// in the table are left alone.
pub fn normalize(info: &ResourceInfo, obj: &mut Value) {
    if info.custom.is_some() {
        // Upstream holds custom resources as unstructured maps, which Go's encoder
        // writes with their keys sorted, at every level.
        sort_keys(obj);
        return;
    }
    normalize_as(&go_type(info), obj);
}

fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.sort_keys();
            m.values_mut().for_each(sort_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// Writes `v` as Go would write the named type (`meta/v1.Status`); false when the
/// table has no such type (then `v` is unchanged).
pub fn normalize_as(go_type: &str, v: &mut Value) -> bool {
    let t = table();
    let Some(&i) = t.by_name.get(go_type) else {
        return false;
    };
    if let Value::Object(m) = v {
        normalize_struct(t, m, i);
    }
    true
}

/// Sets one `metadata` field at its place in Go's ObjectMeta order (a field that is
/// already there keeps its place), so that adding a resourceVersion to a stored object
/// does not move it to the end.
pub fn set_meta_field(obj: &mut Value, key: &str, value: Value) {
    let Some(meta) = obj
        .as_object_mut()
        .map(|o| o.entry("metadata").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if let Some(slot) = meta.get_mut(key) {
        *slot = value;
        return;
    }
    let t = table();
    let fields = t
        .by_name
        .get("meta/v1.ObjectMeta")
        .map(|i| t.structs[*i].as_slice())
        .unwrap_or_default();
    let rank = |k: &str| fields.iter().position(|f| f.name == k);
    let at = match rank(key) {
        Some(r) => meta
            .keys()
            .filter(|k| rank(k).is_some_and(|kr| kr < r))
            .count(),
        None => meta.len(),
    };
    meta.shift_insert(at, key.to_string(), value);
}

fn normalize_struct(t: &Table, obj: &mut Map<String, Value>, i: usize) {
    let mut given = std::mem::take(obj);
    let mut out = Map::with_capacity(given.len());
    for f in &t.structs[i] {
        if let Some(v) = field(t, given.shift_remove(f.name), &f.ty, f.omitempty) {
            out.insert(f.name.to_string(), v);
        }
    }
    // Fields Go does not know (none after decoding) stay, after the known ones.
    out.extend(given);
    *obj = out;
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
    }
}

/// The JSON Go writes for a field holding `v` (`None`: absent), or `None` to leave it out.
fn field(t: &Table, v: Option<Value>, ty: &Ty, omitempty: bool) -> Option<Value> {
    let v = v.filter(|v| !v.is_null());
    let empty = || (!omitempty).then_some(Value::Null);
    match ty {
        Ty::Ptr(_) | Ty::OneOf(_) => match v {
            Some(mut v) => {
                value(t, &mut v, ty);
                Some(v)
            }
            None => empty(),
        },
        Ty::Slice(_) | Ty::Map(_) | Ty::Bytes => match v {
            Some(mut v) if !is_zero(&v) => {
                value(t, &mut v, ty);
                Some(v)
            }
            _ => empty(),
        },
        Ty::Struct(_) => {
            let mut v = v.unwrap_or_else(|| json!({}));
            value(t, &mut v, ty);
            Some(v)
        }
        Ty::Time | Ty::Raw => Some(v.unwrap_or(Value::Null)),
        Ty::Duration => Some(v.unwrap_or_else(|| json!("0s"))),
        Ty::Quantity => Some(v.unwrap_or_else(|| json!("0"))),
        Ty::IntOrString => Some(v.unwrap_or_else(|| json!(0))),
        Ty::Any => v.or_else(empty),
        Ty::Str | Ty::Int | Ty::Float | Ty::Bool => match v {
            Some(v) if !is_zero(&v) => Some(v),
            // A value of the wrong type is left for validation to name.
            _ if omitempty => None,
            _ => Some(match ty {
                Ty::Str => json!(""),
                Ty::Bool => json!(false),
                // Go writes a zero float as `0` too.
                _ => json!(0),
            }),
        },
    }
}

/// Normalises the inside of a present value of type `ty`.
fn value(t: &Table, v: &mut Value, ty: &Ty) {
    match (ty, v) {
        (Ty::Struct(i), Value::Object(m)) => normalize_struct(t, m, *i),
        (Ty::Struct(i), v @ Value::Null) => {
            let mut m = Map::new();
            normalize_struct(t, &mut m, *i);
            *v = Value::Object(m);
        }
        (Ty::Ptr(inner), v) => value(t, v, inner),
        (Ty::Slice(inner), Value::Array(a)) => a.iter_mut().for_each(|e| value(t, e, inner)),
        (Ty::Map(inner), Value::Object(m)) => m.values_mut().for_each(|e| value(t, e, inner)),
        (Ty::OneOf(alternatives), v) => {
            if let Some(a) = alternatives.iter().find(|a| fits(a, v)) {
                value(t, v, a);
            }
        }
        _ => {}
    }
}

/// Whether `v` has the JSON shape Go writes for `ty`, so a union can tell which of its
/// fields a value stands for.
fn fits(ty: &Ty, v: &Value) -> bool {
    match ty {
        Ty::Struct(_) | Ty::Map(_) => v.is_object(),
        Ty::Slice(_) => v.is_array(),
        Ty::Bool => v.is_boolean(),
        Ty::Str | Ty::Bytes => v.is_string(),
        Ty::Int | Ty::Float => v.is_number(),
        Ty::Ptr(inner) => fits(inner, v),
        Ty::OneOf(alternatives) => alternatives.iter().any(|a| fits(a, v)),
        Ty::Any | Ty::Time | Ty::Duration | Ty::Quantity | Ty::IntOrString | Ty::Raw => true,
    }
}

#[cfg(test)]
#[path = "go_tests.rs"]
mod tests;
