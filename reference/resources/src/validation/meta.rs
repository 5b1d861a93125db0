//! `ValidateObjectMeta` and `ValidateObjectMetaUpdate`: names (by the kind's strategy's
//! rule), generateName,
//! namespace, labels and annotations.

use super::{Errs, child, str_at};
use crate::ResourceInfo;
use crate::names::{is_dns1123_label, is_qualified_name, is_valid_label_value};
use serde_json::Value;

/// Upstream's total annotation size limit (256 KiB).
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// Upstream's `maskTrailingDash`: a generateName prefix may end with `-`.
fn mask_trailing_dash(s: &str) -> String {
    match s.strip_suffix('-') {
        Some(rest) if !rest.is_empty() => format!("{rest}a"),
        _ => s.to_string(),
    }
}

pub fn object_meta(info: &ResourceInfo, obj: &Value, errs: &mut Errs) {
    let name = str_at(obj, "/metadata/name");
    let generate = str_at(obj, "/metadata/generateName");
    let rule = info.strategy.name_rule();
    if !generate.is_empty() {
        for msg in rule(&mask_trailing_dash(generate)) {
            errs.invalid("metadata.generateName", &Value::from(generate), &msg);
        }
    }
    if name.is_empty() {
        if generate.is_empty() {
            errs.required("metadata.name", "name or generateName is required");
        }
    } else {
        for msg in rule(name) {
            errs.invalid("metadata.name", &Value::from(name), &msg);
        }
    }
    let namespace = str_at(obj, "/metadata/namespace");
    if info.namespaced {
        if namespace.is_empty() {
            errs.required("metadata.namespace", "");
        } else {
            for msg in is_dns1123_label(namespace) {
                errs.invalid("metadata.namespace", &Value::from(namespace), &msg);
            }
        }
    } else if !namespace.is_empty() {
        errs.forbidden("metadata.namespace", "not allowed on this type");
    }
    labels(obj.pointer("/metadata/labels"), "metadata.labels", errs);
    annotations(
        obj.pointer("/metadata/annotations"),
        "metadata.annotations",
        errs,
    );
}

/// `ValidateLabels`: keys are qualified names, values valid label values.
pub fn labels(labels: Option<&Value>, path: &str, errs: &mut Errs) {
    let Some(map) = labels.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in map {
        for msg in is_qualified_name(k) {
            errs.invalid(path, &Value::from(k.as_str()), &msg);
        }
        let v = v.as_str().unwrap_or_default();
        for msg in is_valid_label_value(v) {
            errs.invalid(path, &Value::from(v), &msg);
        }
    }
}

/// `ValidateAnnotations`: keys are (lowercased) qualified names; total size bounded.
pub fn annotations(annotations: Option<&Value>, path: &str, errs: &mut Errs) {
    let Some(map) = annotations.and_then(Value::as_object) else {
        return;
    };
    let mut total = 0;
    for (k, v) in map {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.invalid(path, &Value::from(k.as_str()), &msg);
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT);
    }
}

/// `ValidateObjectMetaUpdate`: identity fields never change.
pub fn object_meta_update(old: &Value, new: &Value, errs: &mut Errs) {
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        let ptr = format!("/metadata/{field}");
        let (o, n) = (old.pointer(&ptr), new.pointer(&ptr));
        // An unset value on the update keeps the stored one (the server fills it in).
        if n.is_some_and(|n| !n.is_null()) {
            errs.immutable(o, n, &child("metadata", field));
        }
    }
}
