//! The walks over an object that field ownership needs, after structured-merge-diff's
//! `typed` package: the field set of a value (`ToFieldSet`), the comparison of two
//! values (`Compare`: added, modified, removed), the merge of an applied configuration
//! into a live object (`Merge`), and the removal of a set of items (`RemoveItems`).
//!
//! Entry points: [`to_set`], [`compare`], [`merge`], [`remove_items`].

use serde_json::{Map, Value};

use super::path::{Path, PathElement, Set, has_descendant};
use super::schema::{KEY_DEFAULTS, ListType, Shape, Ty};

/// The shape a value takes at `ty`: a value that does not fit its schema (or has none)
/// is deduced from itself, as structured-merge-diff deduces untyped values.
fn shape<'a>(ty: &Ty<'a>, v: &Value) -> Shape<'a> {
    match (ty.shape(), v) {
        (Shape::Deduced, Value::Object(_)) => Shape::Map,
        (Shape::Struct | Shape::Map, Value::Object(_)) => ty.shape(),
        (Shape::List(lt), Value::Array(_)) => Shape::List(lt),
        (Shape::Scalar, v) if !v.is_object() && !v.is_array() => Shape::Scalar,
        _ => Shape::Atomic,
    }
}

/// The path element naming `item` of a list of type `lt` (at `index`).
pub fn item_element(lt: ListType<'_>, item: &Value, index: usize) -> PathElement {
    match lt {
        ListType::Set => PathElement::Value(item.to_string()),
        ListType::Map(_) | ListType::MapKeys(_) => {
            let names: Vec<&str> = match lt {
                ListType::Map(keys) => keys.to_vec(),
                ListType::MapKeys(keys) => keys.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let fields: Vec<(&str, Value)> = names
                .iter()
                .filter_map(|k| {
                    let given = item.get(*k).filter(|v| !v.is_null()).cloned();
                    let default = || {
                        KEY_DEFAULTS
                            .iter()
                            .find(|(n, _)| n == k)
                            .map(|(_, d)| Value::String(d.to_string()))
                    };
                    given.or_else(default).map(|v| (*k, v))
                })
                .collect();
            PathElement::key(&fields)
        }
        ListType::Atomic => PathElement::Index(index),
    }
}

/// Adds the field set of `v` (at `path`, of type `ty`) to `set`.
pub fn to_set(v: &Value, ty: Ty<'_>, path: &mut Path, set: &mut Set) {
    match (shape(&ty, v), v) {
        (Shape::Struct | Shape::Map, Value::Object(m)) => {
            for (k, val) in m {
                path.push(PathElement::Field(k.clone()));
                to_set(val, ty.field(k), path, set);
                let empty = val.is_null() || val.as_object().is_some_and(Map::is_empty);
                if empty || !ty.declares(k) {
                    set.insert(path.clone());
                }
                path.pop();
            }
        }
        (
            Shape::List(lt @ (ListType::Set | ListType::Map(_) | ListType::MapKeys(_))),
            Value::Array(items),
        ) => {
            for (i, item) in items.iter().enumerate() {
                path.push(item_element(lt, item, i));
                if lt != ListType::Set {
                    to_set(item, ty.items(), path, set);
                }
                set.insert(path.clone());
                path.pop();
            }
        }
        _ => {
            if !path.is_empty() {
                set.insert(path.clone());
            }
        }
    }
}

/// What changed from one value to another, path by path.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub added: Set,
    pub modified: Set,
    pub removed: Set,
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// Compares `lhs` with `rhs` at `path` (at least one is present).
pub fn compare(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: Ty<'_>,
    path: &mut Path,
    c: &mut Comparison,
) {
    let Some(present) = rhs.or(lhs) else {
        return;
    };
    let s = shape(&ty, present);
    let other_fits = [lhs, rhs]
        .iter()
        .flatten()
        .all(|v| v.is_null() || shape(&ty, v) == s);
    let leaf = matches!(
        s,
        Shape::Scalar | Shape::Atomic | Shape::List(ListType::Atomic)
    ) || !other_fits
        || (is_empty(lhs) && is_empty(rhs));
    if leaf {
        compare_leaf(lhs, rhs, path, c);
    } else if let Shape::List(lt) = s {
        let items = |v: Option<&Value>| -> Vec<(PathElement, Value)> {
            let a = v
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            a.iter()
                .enumerate()
                .map(|(i, x)| (item_element(lt, x, i), x.clone()))
                .collect()
        };
        let (l, r) = (items(lhs), items(rhs));
        let find = |list: &[(PathElement, Value)], pe: &PathElement| {
            list.iter().find(|(p, _)| p == pe).map(|(_, v)| v.clone())
        };
        for (pe, lv) in &l {
            let rv = find(&r, pe);
            path.push(pe.clone());
            compare(Some(lv), rv.as_ref(), ty.items(), path, c);
            path.pop();
        }
        for (pe, rv) in r.iter().filter(|(pe, _)| find(&l, pe).is_none()) {
            path.push(pe.clone());
            compare(None, Some(rv), ty.items(), path, c);
            path.pop();
        }
    } else {
        let empty = Map::new();
        let lm = lhs.and_then(Value::as_object).unwrap_or(&empty);
        let rm = rhs.and_then(Value::as_object).unwrap_or(&empty);
        let keys = lm.keys().chain(rm.keys().filter(|k| !lm.contains_key(*k)));
        for k in keys {
            path.push(PathElement::Field(k.clone()));
            compare(lm.get(k), rm.get(k), ty.field(k), path, c);
            path.pop();
        }
    }
    if !path.is_empty() {
        if lhs.is_none() {
            c.added.insert(path.clone());
        } else if rhs.is_none() {
            c.removed.insert(path.clone());
        }
    }
}

fn compare_leaf(lhs: Option<&Value>, rhs: Option<&Value>, path: &Path, c: &mut Comparison) {
    if path.is_empty() {
        return;
    }
    match (lhs, rhs) {
        (None, Some(_)) => c.added.insert(path.clone()),
        (Some(_), None) => c.removed.insert(path.clone()),
        (Some(l), Some(r)) if l != r => c.modified.insert(path.clone()),
        _ => false,
    };
}

/// `lhs` with `rhs` merged in: rhs wins at leaves and atomic nodes, maps merge by key,
/// list maps by item key, sets by value (upstream's `TypedValue.Merge`).
pub fn merge(lhs: &Value, rhs: &Value, ty: Ty<'_>) -> Value {
    match (shape(&ty, rhs), lhs, rhs) {
        (Shape::Struct | Shape::Map, Value::Object(lm), Value::Object(rm)) => {
            let mut out = lm.clone();
            for (k, rv) in rm {
                let merged = match lm.get(k) {
                    Some(lv) => merge(lv, rv, ty.field(k)),
                    None => rv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (
            Shape::List(lt @ (ListType::Set | ListType::Map(_) | ListType::MapKeys(_))),
            Value::Array(la),
            Value::Array(ra),
        ) => {
            let key = |v: &Value, i| item_element(lt, v, i);
            let rkeys: Vec<PathElement> = ra.iter().enumerate().map(|(i, v)| key(v, i)).collect();
            let lkeys: Vec<PathElement> = la.iter().enumerate().map(|(i, v)| key(v, i)).collect();
            let mut out: Vec<Value> = la
                .iter()
                .zip(&lkeys)
                .map(|(lv, lk)| match rkeys.iter().position(|rk| rk == lk) {
                    Some(j) => merge(lv, &ra[j], ty.items()),
                    None => lv.clone(),
                })
                .collect();
            out.extend(
                ra.iter()
                    .zip(&rkeys)
                    .filter(|(_, rk)| !lkeys.contains(rk))
                    .map(|(rv, _)| rv.clone()),
            );
            Value::Array(out)
        }
        _ => rhs.clone(),
    }
}

/// `v` without the items and fields of `set` (paths below `path`); an atomic node is
/// removed whole or not at all (upstream's `TypedValue.RemoveItems`).
pub fn remove_items(v: &Value, set: &Set, ty: Ty<'_>, path: &mut Path) -> Value {
    match (shape(&ty, v), v) {
        (Shape::Struct | Shape::Map, Value::Object(m)) => {
            let mut out = Map::new();
            for (k, val) in m {
                path.push(PathElement::Field(k.clone()));
                if !set.contains(path) {
                    let kept = if has_descendant(set, path) {
                        remove_items(val, set, ty.field(k), path)
                    } else {
                        val.clone()
                    };
                    out.insert(k.clone(), kept);
                }
                path.pop();
            }
            Value::Object(out)
        }
        (
            Shape::List(lt @ (ListType::Set | ListType::Map(_) | ListType::MapKeys(_))),
            Value::Array(items),
        ) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                path.push(item_element(lt, item, i));
                if !set.contains(path) {
                    out.push(if has_descendant(set, path) {
                        remove_items(item, set, ty.items(), path)
                    } else {
                        item.clone()
                    });
                }
                path.pop();
            }
            Value::Array(out)
        }
        _ => v.clone(),
    }
}
