//! The structural-schema check a CRD version's `openAPIV3Schema` must pass
//! (`ValidateStructural`: invariants and completeness), and [`structural_errors`],
//! which runs it together with the OpenAPI rules and default checks in upstream's order.

use super::check_nested::{completeness, nested};
use super::check_openapi::{defaults_errors, init_error, openapi_errors};
use super::gofmt::bad_value;
use super::{child, index, key};
use crate::validation::Cause;
use serde_json::{Map, Value};

/// Every error a CRD's schema gets when the CRD is created or updated; `field_path` is
/// the path of the schema itself, e.g. `spec.versions[0].schema.openAPIV3Schema`.
pub fn structural_errors(schema: &Value, field_path: &str) -> Vec<Cause> {
    let mut all = Vec::new();
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        all.push(forbidden(
            &child(field_path, "nullable"),
            "nullable cannot be true at the root",
        ));
    }
    // Upstream only reports a schema it cannot even convert when nothing else is wrong.
    let init = init_error(schema);
    if init.is_none() {
        let mut errs = Vec::new();
        if let Some(m) = schema.as_object() {
            invariants(m, Level::Root, field_path, &mut errs);
            completeness(m, field_path, &mut errs);
        }
        // Go sorts by `field: body` because map order is random.
        errs.sort_by_key(|c| format!("{}: {}", c.field, c.message));
        if errs.is_empty() {
            errs = defaults_errors(schema, field_path);
        }
        all.extend(errs);
    }
    all.extend(openapi_errors(schema, field_path));
    if let (true, Some(msg)) = (all.is_empty(), init) {
        all.push(invalid(field_path, &Value::String(String::new()), &msg));
    }
    all
}

pub(crate) fn required(field: &str, detail: &str) -> Cause {
    let message = if detail.is_empty() {
        "Required value".to_string()
    } else {
        format!("Required value: {detail}")
    };
    Cause {
        reason: "FieldValueRequired",
        message,
        field: field.to_string(),
    }
}

pub(crate) fn forbidden(field: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueForbidden",
        message: format!("Forbidden: {detail}"),
        field: field.to_string(),
    }
}

pub(crate) fn invalid(field: &str, value: &Value, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("Invalid value: {}: {detail}", bad_value(value)),
        field: field.to_string(),
    }
}

/// Go's `regexp` error text, for the common mistakes (`error parsing regexp: ...`).
pub(crate) fn regexp_error(e: &regex::Error, pattern: &str) -> String {
    let text = e.to_string();
    let code = if text.contains("repetition operator missing expression") {
        "missing argument to repetition operator"
    } else if text.contains("unclosed group") {
        "missing closing )"
    } else if text.contains("unclosed character class") {
        "missing closing ]"
    } else if text.contains("unopened group") {
        "unexpected )"
    } else {
        "invalid syntax"
    };
    format!("error parsing regexp: {code}: `{pattern}`")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

pub(crate) fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

pub(crate) fn flag(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

pub(crate) fn props(m: &Map<String, Value>) -> Vec<(&String, &Map<String, Value>)> {
    let mut out: Vec<_> = m
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter_map(|(k, v)| v.as_object().map(|o| (k, o)))
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

pub(crate) fn list<'a>(m: &'a Map<String, Value>, k: &str) -> Vec<&'a Map<String, Value>> {
    m.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default()
}

/// A keyword set to its Go zero value counts as unset.
pub(crate) fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

/// Exactly `anyOf: [{type: integer}, {type: string}]`, the int-or-string idiom.
fn int_or_string_any_of(m: &Map<String, Value>) -> bool {
    let any = list(m, "anyOf");
    let only_type = |o: &Map<String, Value>, t: &str| {
        str_of(o, "type") == t && o.iter().all(|(k, v)| k == "type" || is_zero(v))
    };
    any.len() == 2 && only_type(any[0], "integer") && only_type(any[1], "string")
}

fn invariants(s: &Map<String, Value>, lvl: Level, path: &str, errs: &mut Vec<Cause>) {
    let ty = str_of(s, "type");
    let items = s.get("items").and_then(Value::as_object);
    if ty == "array" && items.is_none() {
        errs.push(required(&child(path, "items"), "must be specified"));
    }
    if let Some(i) = items {
        invariants(i, Level::Item, &child(path, "items"), errs);
    }
    for (k, p) in props(s) {
        invariants(p, Level::Field, &key(&child(path, "properties"), k), errs);
    }
    let additional = s
        .get("additionalProperties")
        .filter(|v| v.is_boolean() || v.is_object());
    if additional.is_some() && lvl == Level::Root {
        errs.push(forbidden(
            &child(path, "additionalProperties"),
            "must not be used at the root",
        ));
    }
    if let Some(a) = additional.and_then(Value::as_object) {
        invariants(a, Level::Field, &child(path, "additionalProperties"), errs);
    }
    let (ios, preserve, embedded) = (
        flag(s, "x-kubernetes-int-or-string"),
        flag(s, "x-kubernetes-preserve-unknown-fields"),
        flag(s, "x-kubernetes-embedded-resource"),
    );
    let if_ios = "must be false if x-kubernetes-int-or-string is true";
    if ios && preserve {
        errs.push(invalid(
            &child(path, "x-kubernetes-preserve-unknown-fields"),
            &true.into(),
            if_ios,
        ));
    }
    if ios && embedded {
        errs.push(invalid(
            &child(path, "x-kubernetes-embedded-resource"),
            &true.into(),
            if_ios,
        ));
    }
    let skip_all_of_any_of = list(s, "allOf")
        .first()
        .is_some_and(|a| int_or_string_any_of(a));
    value_validation(s, int_or_string_any_of(s), skip_all_of_any_of, path, errs);

    let check_metadata = lvl == Level::Root || embedded;
    let type_path = child(path, "type");
    let must_object = "must be object if x-kubernetes-embedded-resource is true";
    if embedded && ty != "object" {
        if ty.is_empty() {
            errs.push(required(&type_path, must_object));
        } else {
            errs.push(invalid(&type_path, &ty.into(), must_object));
        }
    } else if ty.is_empty() && !ios && !preserve {
        errs.push(required(
            &type_path,
            match lvl {
                Level::Root => "must not be empty at the root",
                Level::Item => "must not be empty for specified array items",
                Level::Field => "must not be empty for specified object fields",
            },
        ));
    }
    if embedded && additional.is_some() {
        let msg = "must not be used if x-kubernetes-embedded-resource is set";
        errs.push(forbidden(&child(path, "additionalProperties"), msg));
    }
    if lvl == Level::Root && !ty.is_empty() && ty != "object" {
        errs.push(invalid(
            &type_path,
            &ty.into(),
            "must be object at the root",
        ));
    }
    let properties = props(s);
    let prop_path = |k: &str| key(&child(path, "properties"), k);
    for (k, p) in &properties {
        let pty = str_of(p, "type");
        if check_metadata && (*k == "kind" || *k == "apiVersion") && pty != "string" {
            errs.push(invalid(
                &child(&prop_path(k), "type"),
                &pty.into(),
                "must be string",
            ));
        }
        if *k == "metadata" {
            metadata_invariants(p, check_metadata, lvl, &prop_path(k), errs);
        }
    }
    if embedded && !preserve && properties.is_empty() {
        let msg = "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields";
        errs.push(required(&child(path, "properties"), msg));
    }
}

/// Root metadata may only restrict name and generateName (plus type and default).
fn metadata_invariants(
    s: &Map<String, Value>,
    check: bool,
    lvl: Level,
    path: &str,
    errs: &mut Vec<Cause>,
) {
    let ty = str_of(s, "type");
    if check && ty != "object" {
        errs.push(invalid(&child(path, "type"), &ty.into(), "must be object"));
    }
    if lvl != Level::Root {
        return;
    }
    let names: Vec<&String> = props(s).into_iter().map(|(k, _)| k).collect();
    let has = |n: &str| names.iter().any(|k| *k == n);
    let props_ok = names.is_empty()
        || (has("name") && has("generateName") && names.len() == 2)
        || ((has("name") || has("generateName")) && names.len() == 1);
    let others = s
        .iter()
        .any(|(k, v)| !matches!(k.as_str(), "type" | "default" | "properties") && !is_zero(v));
    if !props_ok || others {
        let msg = "must not specify anything other than name and generateName, but metadata is implicitly specified";
        errs.push(forbidden(path, msg));
    }
}

/// `validateValueValidation`: the junctors of a schema and its pattern.
pub(crate) fn value_validation(
    s: &Map<String, Value>,
    skip_any_of: bool,
    skip_first: bool,
    path: &str,
    errs: &mut Vec<Cause>,
) {
    if !skip_any_of {
        for (i, a) in list(s, "anyOf").into_iter().enumerate() {
            nested(a, false, false, &index(&child(path, "anyOf"), i), errs);
        }
    }
    for (i, a) in list(s, "allOf").into_iter().enumerate() {
        nested(
            a,
            skip_first && i == 0,
            false,
            &index(&child(path, "allOf"), i),
            errs,
        );
    }
    for (i, a) in list(s, "oneOf").into_iter().enumerate() {
        nested(a, false, false, &index(&child(path, "oneOf"), i), errs);
    }
    if let Some(n) = s.get("not").and_then(Value::as_object) {
        nested(n, false, false, &child(path, "not"), errs);
    }
    let pattern = str_of(s, "pattern");
    if let (false, Err(e)) = (pattern.is_empty(), regex::Regex::new(pattern)) {
        let msg = format!(
            "must be a valid regular expression, but isn't: {}",
            regexp_error(&e, pattern)
        );
        errs.push(invalid(&child(path, "pattern"), &pattern.into(), &msg));
    }
}
