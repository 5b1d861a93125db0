//! The parts of the structural check that look inside value validations: what a
//! junctor (allOf/anyOf/oneOf/not) may not say (`validateNestedValueValidation`) and
//! what it may only mention if the structural schema specifies it too (completeness).

use super::check::{forbidden, is_zero, list, props, required, value_validation};
use super::{child, index, key};
use crate::validation::Cause;
use serde_json::{Map, Value};

fn set(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).is_some_and(|v| !is_zero(v))
}

/// `validateNestedValueValidation`: inside a junctor nothing structural may be said.
pub(crate) fn nested(
    v: &Map<String, Value>,
    skip_any_of: bool,
    skip_all_of_any_of: bool,
    path: &str,
    errs: &mut Vec<Cause>,
) {
    value_validation(v, skip_any_of, skip_all_of_any_of, path, errs);
    if let Some(i) = v.get("items").and_then(Value::as_object) {
        nested(i, false, false, &child(path, "items"), errs);
    }
    for (k, p) in props(v) {
        nested(p, false, false, &key(&child(path, "properties"), k), errs);
    }
    let rules: [(&str, &str); 12] = [
        ("type", "must be empty to be structural"),
        ("additionalProperties", "must be undefined to be structural"),
        ("default", "must be undefined to be structural"),
        ("title", "must be empty to be structural"),
        ("description", "must be empty to be structural"),
        ("nullable", "must be false to be structural"),
        (
            "x-kubernetes-preserve-unknown-fields",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-embedded-resource",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-int-or-string",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        ),
        (
            "x-kubernetes-list-type",
            "must be undefined to be structural",
        ),
        (
            "x-kubernetes-map-type",
            "must be undefined to be structural",
        ),
    ];
    for (k, msg) in rules {
        // A present list-type or map-type counts even when empty (they are pointers).
        let present = match k {
            "x-kubernetes-list-type" | "x-kubernetes-map-type" => {
                v.get(k).is_some_and(|x| !x.is_null())
            }
            "default" => v.get(k).is_some_and(|x| !x.is_null()),
            "additionalProperties" => v
                .get(k)
                .is_some_and(|x| x.is_object() || x == &Value::Bool(true)),
            _ => set(v, k),
        };
        if present {
            errs.push(forbidden(&child(path, k), msg));
        }
    }
    if set(v, "x-kubernetes-validations") {
        errs.push(forbidden(
            &child(path, "x-kubernetes-validations"),
            "must be empty to be structural",
        ));
    }
    if props(v).iter().any(|(k, _)| *k == "metadata") {
        let p = key(&child(path, "properties"), "metadata");
        errs.push(forbidden(&p, "must not be specified in a nested context"));
    }
}

/// `validateStructuralCompleteness`: what the root's junctors mention must exist in the
/// structural part of the schema.
pub(crate) fn completeness(s: &Map<String, Value>, path: &str, errs: &mut Vec<Cause>) {
    value_completeness(s, Some(s), path, path, errs);
}

fn value_completeness(
    v: &Map<String, Value>,
    s: Option<&Map<String, Value>>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<Cause>,
) {
    if s.is_none() {
        errs.push(required(
            s_path,
            &format!("because it is defined in {v_path}"),
        ));
        return;
    }
    if let Some(n) = v.get("not").and_then(Value::as_object) {
        nested_completeness(n, s, s_path, &child(v_path, "not"), errs);
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for (i, a) in list(v, junctor).into_iter().enumerate() {
            nested_completeness(a, s, s_path, &index(&child(v_path, junctor), i), errs);
        }
    }
}

fn nested_completeness(
    v: &Map<String, Value>,
    s: Option<&Map<String, Value>>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<Cause>,
) {
    let Some(s) = s else {
        errs.push(required(
            s_path,
            &format!("because it is defined in {v_path}"),
        ));
        return;
    };
    value_completeness(v, Some(s), s_path, v_path, errs);
    if let Some(i) = v.get("items").and_then(Value::as_object) {
        let si = s.get("items").and_then(Value::as_object);
        nested_completeness(
            i,
            si,
            &child(s_path, "items"),
            &child(v_path, "items"),
            errs,
        );
    }
    let s_props = props(s);
    for (k, vf) in props(v) {
        let sp = key(&child(s_path, "properties"), k);
        let vp = key(&child(v_path, "properties"), k);
        match s_props.iter().find(|(sk, _)| *sk == k) {
            Some((_, sf)) => nested_completeness(vf, Some(sf), &sp, &vp, errs),
            None => errs.push(required(&sp, &format!("because it is defined in {vp}"))),
        }
    }
}
