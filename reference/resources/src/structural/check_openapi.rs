//! The OpenAPI rules upstream applies to every node of a CRD schema
//! (`ValidateCustomResourceDefinitionOpenAPISchema`: unsupported keywords, defaults
//! where they cannot work, list and map types), the conversion errors of
//! `NewStructural`, and `ValidateDefaults` (defaults must be pruned and valid).

use super::check::{flag, forbidden, invalid, is_zero, list, props, required, str_of};
use super::gofmt::quote;
use super::schema::Schema;
use super::{child, index, key};
use crate::validation::Cause;
use serde_json::{Map, Value};

const OPENAPI_V3_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// `NewStructural`'s error for a schema it cannot convert, if any.
pub(crate) fn init_error(v: &Value) -> Option<String> {
    let m = v.as_object()?;
    let unsupported = [
        ("id", "id"),
        ("$schema", "schema"),
        ("$ref", "$ref"),
        ("patternProperties", "patternProperties"),
        ("dependencies", "dependencies"),
        ("additionalItems", "additionalItems"),
        ("definitions", "definitions"),
    ];
    for (k, name) in unsupported {
        let present = match k {
            "additionalItems" => m.get(k).is_some_and(|x| !x.is_null()),
            _ => m.get(k).is_some_and(|x| !is_zero(x)),
        };
        if present {
            return Some(format!("OpenAPIV3Schema '{name}' is not supported"));
        }
    }
    let nested = ["allOf", "anyOf", "oneOf"]
        .iter()
        .flat_map(|j| m.get(*j).and_then(Value::as_array).into_iter().flatten())
        .chain(m.get("not"));
    for n in nested {
        if let Some(e) = init_error(n) {
            return Some(e);
        }
    }
    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        return Some(
            "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined"
                .into(),
        );
    }
    match m.get("items") {
        Some(Value::Array(a)) if !a.is_empty() => {
            return Some("OpenAPIV3Schema 'items' must be a schema, but is an array".into());
        }
        Some(i) => {
            if let Some(e) = init_error(i) {
                return Some(e);
            }
        }
        None => {}
    }
    let children = m
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.values())
        .chain(m.get("additionalProperties"));
    children.filter_map(init_error).next()
}

/// The context a node is checked in (`specStandardValidatorV3`).
#[derive(Clone)]
struct Ctx {
    /// Why defaults are forbidden here, if they are.
    no_defaults: Option<String>,
    inside_meta: bool,
}

/// Every node's OpenAPI rules, starting at the schema root.
pub(crate) fn openapi_errors(schema: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    if let Some(m) = schema.as_object() {
        let ctx = Ctx {
            no_defaults: None,
            inside_meta: false,
        };
        node(m, path, &ctx, true, &mut errs);
    }
    errs
}

fn node(s: &Map<String, Value>, path: &str, ctx: &Ctx, is_root: bool, errs: &mut Vec<Cause>) {
    standard(s, path, ctx, errs);
    if flag(s, "uniqueItems") {
        let msg =
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic";
        errs.push(forbidden(&child(path, "uniqueItems"), msg));
    }
    let embedded = flag(s, "x-kubernetes-embedded-resource");
    let properties = props(s);
    if let Some(a) = s
        .get("additionalProperties")
        .filter(|a| a.is_boolean() || a.is_object())
    {
        if !properties.is_empty() && a != &Value::Bool(true) {
            let msg = "additionalProperties and properties are mutual exclusive";
            errs.push(forbidden(&child(path, "additionalProperties"), msg));
        }
        let mut sub = ctx.clone();
        if ctx.inside_meta {
            sub.no_defaults =
                Some("inside additionalProperties applying to object metadata".into());
        }
        if let Some(a) = a.as_object() {
            node(a, &child(path, "additionalProperties"), &sub, false, errs);
        }
    }
    for (k, p) in &properties {
        let mut sub = ctx.clone();
        if (is_root || embedded) && META_FIELDS.contains(&k.as_str()) {
            sub.inside_meta = true;
            if is_root {
                sub.no_defaults = Some(format!("in top-level {k}"));
            }
        }
        node(p, &key(&child(path, "properties"), k), &sub, false, errs);
    }
    if let Some(n) = s.get("not").and_then(Value::as_object) {
        node(n, &child(path, "not"), ctx, false, errs);
    }
    for junctor in ["allOf", "oneOf", "anyOf"] {
        for (i, a) in list(s, junctor).into_iter().enumerate() {
            node(a, &index(&child(path, junctor), i), ctx, false, errs);
        }
    }
    match s.get("items") {
        Some(Value::Object(i)) => node(i, &child(path, "items"), ctx, false, errs),
        Some(Value::Array(a)) => {
            for (i, item) in a.iter().filter_map(Value::as_object).enumerate() {
                node(item, &index(&child(path, "items"), i), ctx, false, errs);
            }
        }
        _ => {}
    }
    if s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        let p = child(path, "x-kubernetes-preserve-unknown-fields");
        errs.push(invalid(&p, &false.into(), "must be true or undefined"));
    }
    list_and_map_types(s, path, errs);
}

/// `specStandardValidatorV3.validate`: keywords a CRD schema may not use.
fn standard(s: &Map<String, Value>, path: &str, ctx: &Ctx, errs: &mut Vec<Cause>) {
    let ty = str_of(s, "type");
    if !ty.is_empty() && !OPENAPI_V3_TYPES.contains(&ty) {
        errs.push(not_supported(&child(path, "type"), ty, &OPENAPI_V3_TYPES));
    }
    if let (Some(reason), true) = (
        &ctx.no_defaults,
        s.get("default").is_some_and(|d| !d.is_null()),
    ) {
        errs.push(forbidden(
            &child(path, "default"),
            &format!("must not be set {reason}"),
        ));
    }
    let present = |k: &str| s.get(k).is_some_and(|v| !is_zero(v));
    if present("id") {
        errs.push(forbidden(&child(path, "id"), "id is not supported"));
    }
    if s.get("additionalItems").is_some_and(|v| !v.is_null()) {
        errs.push(forbidden(
            &child(path, "additionalItems"),
            "additionalItems is not supported",
        ));
    }
    for k in ["patternProperties", "definitions"] {
        if present(k) {
            errs.push(forbidden(&child(path, k), &format!("{k} is not supported")));
        }
    }
    if s.get("dependencies").is_some_and(|v| !v.is_null()) {
        errs.push(forbidden(
            &child(path, "dependencies"),
            "dependencies is not supported",
        ));
    }
    if s.get("$ref").is_some_and(|v| !v.is_null()) {
        errs.push(forbidden(&child(path, "$ref"), "$ref is not supported"));
    }
    if ty == "null" {
        let msg = "type cannot be set to null, use nullable as an alternative";
        errs.push(forbidden(&child(path, "type"), msg));
    }
    if s.get("items")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        let msg = "items must be a schema object and not an array";
        errs.push(forbidden(&child(path, "items"), msg));
    }
    if ctx.inside_meta && flag(s, "x-kubernetes-embedded-resource") {
        let msg = "must not be used inside of resource meta";
        errs.push(forbidden(
            &child(path, "x-kubernetes-embedded-resource"),
            msg,
        ));
    }
}

fn not_supported(field: &str, value: &str, supported: &[&str]) -> Cause {
    let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
    Cause {
        reason: "FieldValueNotSupported",
        message: format!(
            "Unsupported value: {}: supported values: {}",
            quote(value),
            list.join(", ")
        ),
        field: field.to_string(),
    }
}

/// x-kubernetes-map-type, x-kubernetes-list-type and x-kubernetes-list-map-keys.
fn list_and_map_types(s: &Map<String, Value>, path: &str, errs: &mut Vec<Cause>) {
    let ty = str_of(s, "type");
    let type_path = child(path, "type");
    let need = |errs: &mut Vec<Cause>, want: &str, ext: &str| {
        let msg = format!("must be {want} if {ext} is specified");
        if ty.is_empty() {
            errs.push(required(&type_path, &msg));
        } else {
            errs.push(invalid(&type_path, &ty.into(), &msg));
        }
    };
    if let Some(mt) = s.get("x-kubernetes-map-type").and_then(Value::as_str) {
        if ty != "object" {
            need(errs, "object", "x-kubernetes-map-type");
        }
        if mt != "atomic" && mt != "granular" {
            errs.push(not_supported(
                &child(path, "x-kubernetes-map-type"),
                mt,
                &["atomic", "granular"],
            ));
        }
    }
    let lt = s.get("x-kubernetes-list-type").and_then(Value::as_str);
    if let Some(lt) = lt {
        if ty != "array" {
            need(errs, "array", "x-kubernetes-list-type");
        }
        if !matches!(lt, "atomic" | "set" | "map") {
            errs.push(not_supported(
                &child(path, "x-kubernetes-list-type"),
                lt,
                &["atomic", "set", "map"],
            ));
        }
    }
    let keys: Vec<&str> = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let lt_path = child(path, "x-kubernetes-list-type");
    let keys_path = child(path, "x-kubernetes-list-map-keys");
    let map_keys_msg = "must be map if x-kubernetes-list-map-keys is non-empty";
    match lt {
        None if !keys.is_empty() => errs.push(required(&lt_path, map_keys_msg)),
        Some(l) if !keys.is_empty() && l != "map" => {
            errs.push(invalid(&lt_path, &l.into(), map_keys_msg))
        }
        _ => {}
    }
    if lt != Some("map") {
        return;
    }
    if keys.is_empty() {
        errs.push(required(
            &keys_path,
            "must not be empty if x-kubernetes-list-type is map",
        ));
    }
    let Some(items) = s.get("items").and_then(Value::as_object) else {
        if s.get("items").is_none() {
            errs.push(required(
                &child(path, "items"),
                "must have a schema if x-kubernetes-list-type is map",
            ));
        }
        return;
    };
    let ity = str_of(items, "type");
    if ity != "object" {
        let msg = "must be object if parent array's x-kubernetes-list-type is map";
        errs.push(invalid(
            &child(&child(path, "items"), "type"),
            &ity.into(),
            msg,
        ));
        return;
    }
    let item_props = props(items);
    let keys_value = Value::from(keys.clone());
    for (i, k) in keys.iter().enumerate() {
        match item_props.iter().find(|(n, _)| n.as_str() == *k) {
            Some((_, p)) if matches!(str_of(p, "type"), "array" | "object") => {
                let p = child(&key(&child(&child(path, "items"), "properties"), k), "type");
                let msg = "must be a scalar type if parent array's x-kubernetes-list-type is map";
                errs.push(invalid(&p, &ity.into(), msg));
            }
            Some(_) => {}
            None => errs.push(invalid(
                &keys_path,
                &keys_value,
                "entries must all be names of item properties",
            )),
        }
        if keys[..i].contains(k) {
            errs.push(invalid(
                &keys_path,
                &keys_value,
                "must not contain duplicate entries",
            ));
        }
    }
}

/// `ValidateDefaults`: every default (outside metadata) must survive pruning unchanged
/// and pass the schema it belongs to. The root counts as an embedded resource.
pub(crate) fn defaults_errors(schema: &Value, path: &str) -> Vec<Cause> {
    let s = Schema::from_value(schema);
    let mut errs = Vec::new();
    walk_defaults(&s, path, false, true, &mut errs);
    errs
}

fn walk_defaults(s: &Schema, path: &str, inside_meta: bool, is_root: bool, errs: &mut Vec<Cause>) {
    let embedded = s.embedded_resource || is_root;
    let inside_meta = inside_meta && !embedded;
    if let (Some(d), false) = (&s.default, inside_meta) {
        let default_path = child(path, "default");
        let mut pruned = d.clone();
        super::prune::prune(&mut pruned, s, embedded);
        if &pruned != d {
            errs.push(invalid(&default_path, d, "must not have unknown fields"));
        }
        errs.extend(super::validate::validate_under(d, s, &default_path));
    }
    // additionalProperties is not followed: defaults are forbidden there.
    if let Some(items) = &s.items {
        walk_defaults(items, &child(path, "items"), inside_meta, false, errs);
    }
    for (k, p) in &s.properties {
        let sub_meta = inside_meta || (embedded && META_FIELDS.contains(&k.as_str()));
        walk_defaults(
            p,
            &key(&child(path, "properties"), k),
            sub_meta,
            false,
            errs,
        );
    }
}
