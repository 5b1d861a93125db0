//! The pieces of upstream's CRD validation that `crd/validate.rs` applies per version or
//! at the top level: names, printer columns, the scale subresource, the schema root with
//! the status subresource (conversion, stored versions and API approval are in
//! `crd/validate_tail.rs`).

use crate::names::is_dns1035_label;
use crate::validation::Errs;
use serde_json::{Value, json};

/// `validateEnumStrings` for a required field.
pub(super) fn enum_string(value: &str, field: &str, accepted: &[&str], errs: &mut Errs) {
    if value.is_empty() {
        errs.required(field, "");
    } else if !accepted.contains(&value) {
        errs.not_supported(field, &json!(value), accepted);
    }
}

fn label_errs(value: &str, field: &str, prefix: &str, errs: &mut Errs) {
    let msgs = is_dns1035_label(value);
    if !msgs.is_empty() {
        errs.invalid(field, &json!(value), &format!("{prefix}{}", msgs.join(",")));
    }
}

pub(super) fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn list_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// `ValidateCustomResourceDefinitionNames` (spec.names and status.acceptedNames).
pub(super) fn names(names: Option<&Value>, path: &str, errs: &mut Errs) {
    let empty = json!({});
    let n = names.unwrap_or(&empty);
    for key in ["plural", "singular"] {
        let v = str_of(n, key);
        if !v.is_empty() {
            label_errs(v, &format!("{path}.{key}"), "", errs);
        }
    }
    for key in ["kind", "listKind"] {
        let v = str_of(n, key);
        if !v.is_empty() && !is_dns1035_label(&v.to_lowercase()).is_empty() {
            let msgs = is_dns1035_label(&v.to_lowercase()).join(",");
            errs.invalid(
                &format!("{path}.{key}"),
                &json!(v),
                &format!("may have mixed case, but should otherwise match: {msgs}"),
            );
        }
    }
    for (i, short) in list_of(n, "shortNames").iter().enumerate() {
        let v = short.as_str().unwrap_or_default();
        label_errs(v, &format!("{path}.shortNames[{i}]"), "", errs);
    }
    let kind = str_of(n, "kind");
    if !kind.is_empty() && kind == str_of(n, "listKind") {
        errs.invalid(
            &format!("{path}.listKind"),
            &json!(kind),
            "kind and listKind may not be the same",
        );
    }
    for (i, cat) in list_of(n, "categories").iter().enumerate() {
        let v = cat.as_str().unwrap_or_default();
        label_errs(v, &format!("{path}.categories[{i}]"), "", errs);
    }
}

/// `validateDeprecationWarning` for one version.
pub(super) fn deprecation_warning(version: &Value, field: &str, errs: &mut Errs) {
    let Some(warning) = version.get("deprecationWarning").and_then(Value::as_str) else {
        return;
    };
    let mut msgs: Vec<String> = Vec::new();
    if version["deprecated"] != true {
        msgs.push("can only be set for deprecated versions".into());
    } else {
        if warning.len() > 256 {
            msgs.push("must be <= 256 characters long".into());
        }
        if warning.is_empty() {
            msgs.push("must not be an empty string".into());
        }
        // Go's unicode.IsPrint admits the ASCII space only; control characters are
        // not printable either, so they report as non-printable.
        if let Some((i, _)) = warning
            .char_indices()
            .find(|(_, c)| c.is_control() || (c.is_whitespace() && *c != ' '))
        {
            msgs.push(format!(
                "must only contain printable UTF-8 characters; non-printable character found at index {i}"
            ));
        }
    }
    for m in msgs {
        errs.invalid(field, &json!(warning), &m);
    }
}

/// `JSONSchemaProps` fields in Go declaration order, with their JSON names; the root
/// check with the status subresource walks them in this order.
const ROOT_FIELDS: &[(&str, &str)] = &[
    ("id", "ID"),
    ("$schema", "Schema"),
    ("$ref", "Ref"),
    ("description", "Description"),
    ("type", "Type"),
    ("format", "Format"),
    ("title", "Title"),
    ("default", "Default"),
    ("maximum", "Maximum"),
    ("exclusiveMaximum", "ExclusiveMaximum"),
    ("minimum", "Minimum"),
    ("exclusiveMinimum", "ExclusiveMinimum"),
    ("maxLength", "MaxLength"),
    ("minLength", "MinLength"),
    ("pattern", "Pattern"),
    ("maxItems", "MaxItems"),
    ("minItems", "MinItems"),
    ("uniqueItems", "UniqueItems"),
    ("multipleOf", "MultipleOf"),
    ("enum", "Enum"),
    ("maxProperties", "MaxProperties"),
    ("minProperties", "MinProperties"),
    ("required", "Required"),
    ("items", "Items"),
    ("allOf", "AllOf"),
    ("oneOf", "OneOf"),
    ("anyOf", "AnyOf"),
    ("not", "Not"),
    ("properties", "Properties"),
    ("additionalProperties", "AdditionalProperties"),
    ("patternProperties", "PatternProperties"),
    ("dependencies", "Dependencies"),
    ("additionalItems", "AdditionalItems"),
    ("definitions", "Definitions"),
    ("externalDocs", "ExternalDocs"),
    ("example", "Example"),
    ("nullable", "Nullable"),
    (
        "x-kubernetes-preserve-unknown-fields",
        "XPreserveUnknownFields",
    ),
    ("x-kubernetes-embedded-resource", "XEmbeddedResource"),
    ("x-kubernetes-int-or-string", "XIntOrString"),
    ("x-kubernetes-list-map-keys", "XListMapKeys"),
    ("x-kubernetes-list-type", "XListType"),
    ("x-kubernetes-map-type", "XMapType"),
    ("x-kubernetes-validations", "XValidations"),
];

const ALLOWED_AT_ROOT: &[&str] = &[
    "Description",
    "Type",
    "Format",
    "Title",
    "Maximum",
    "ExclusiveMaximum",
    "Minimum",
    "ExclusiveMinimum",
    "MaxLength",
    "MinLength",
    "Pattern",
    "MaxItems",
    "MinItems",
    "UniqueItems",
    "MultipleOf",
    "Required",
    "Items",
    "Properties",
    "ExternalDocs",
    "Example",
    "XPreserveUnknownFields",
    "XValidations",
];

/// Go's zero value test for a decoded field: plain strings and bools are zero when
/// empty/false, pointers, slices and maps whenever set.
fn is_zero(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(false)) || v.as_str() == Some("")
}

/// The root-level part of `validateCustomResourceDefinitionValidation` (the rest of the
/// schema is `crate::structural`'s): with the status subresource only some fields may
/// appear at the root, and the root may not be nullable.
pub(super) fn schema_root(validation: &Value, status: bool, path: &str, errs: &mut Errs) {
    let Some(schema) = validation.get("openAPIV3Schema").filter(|s| s.is_object()) else {
        return;
    };
    let field = format!("{path}.openAPIV3Schema");
    if status {
        for (key, go_name) in ROOT_FIELDS {
            let Some(v) = schema.get(*key).filter(|v| !is_zero(v)) else {
                continue;
            };
            if *go_name == "Type" {
                if v.as_str() != Some("object") {
                    errs.invalid(
                        &format!("{field}.type"),
                        v,
                        "only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled",
                    );
                    break;
                }
                continue;
            }
            if !ALLOWED_AT_ROOT.contains(go_name) {
                errs.push_raw(
                    "FieldValueInvalid",
                    &field,
                    format!(
                        "Invalid value: {}: only [{}] fields are allowed at the root of the schema if the status subresource is enabled",
                        go_schema(schema),
                        ALLOWED_AT_ROOT.join(" ")
                    ),
                );
                break;
            }
        }
    }
    if schema.get("nullable") == Some(&json!(true)) {
        errs.forbidden(
            &format!("{field}.nullable"),
            "nullable cannot be true at the root",
        );
    }
    super::rules::schema_rules(schema, &field, errs);
}

/// Go prints the internal `JSONSchemaProps` struct here; its pointers are addresses no
/// client can match, so only the type name and the set fields' names are rendered.
fn go_schema(schema: &Value) -> String {
    let set: Vec<&str> = ROOT_FIELDS
        .iter()
        .filter(|(k, _)| schema.get(*k).is_some_and(|v| !is_zero(v)))
        .map(|(_, g)| *g)
        .collect();
    format!("apiextensions.JSONSchemaProps{{{}}}", set.join(", "))
}

/// `SchemaHas(s, has default)`: whether any schema node carries a `default`.
pub(super) fn schema_has_default(schema: &Value) -> bool {
    let Some(obj) = schema.as_object() else {
        return false;
    };
    if obj.get("default").is_some_and(|d| !d.is_null()) {
        return true;
    }
    let maps = [
        "properties",
        "patternProperties",
        "definitions",
        "dependencies",
    ];
    let in_maps = maps.iter().any(|k| {
        obj.get(*k)
            .and_then(Value::as_object)
            .is_some_and(|m| m.values().any(schema_has_default))
    });
    let lists = ["allOf", "anyOf", "oneOf"];
    let in_lists = lists.iter().any(|k| {
        obj.get(*k)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(schema_has_default))
    });
    let singles = ["not", "additionalProperties", "additionalItems"];
    let in_singles = singles
        .iter()
        .any(|k| obj.get(*k).is_some_and(schema_has_default));
    let in_items = match obj.get("items") {
        Some(Value::Array(a)) => a.iter().any(schema_has_default),
        Some(v) => schema_has_default(v),
        None => false,
    };
    in_maps || in_lists || in_singles || in_items
}

/// `validateSimpleJSONPath`.
fn simple_json_path(value: &str, field: &str, errs: &mut Errs) -> bool {
    let detail = if value.is_empty() {
        "must not be empty"
    } else if !value.starts_with('.') {
        "must be a simple json path starting with ."
    } else {
        return true;
    };
    errs.invalid(field, &json!(value), detail);
    false
}

/// `ValidateCustomResourceDefinitionSubresources`.
pub(super) fn subresources(sub: &Value, path: &str, errs: &mut Errs) {
    let Some(scale) = sub.get("scale").filter(|s| !s.is_null()) else {
        return;
    };
    for (key, prefix, under) in [
        ("specReplicasPath", ".spec.", ".spec"),
        ("statusReplicasPath", ".status.", ".status"),
    ] {
        let field = format!("{path}.scale.{key}");
        let value = str_of(scale, key);
        if value.is_empty() {
            errs.required(&field, "");
        } else if simple_json_path(value, &field, errs) && !value.starts_with(prefix) {
            errs.invalid(
                &field,
                &json!(value),
                &format!("should be a json path under {under}"),
            );
        }
    }
    let selector = str_of(scale, "labelSelectorPath");
    let field = format!("{path}.scale.labelSelectorPath");
    if !selector.is_empty()
        && simple_json_path(selector, &field, errs)
        && !selector.starts_with(".spec.")
        && !selector.starts_with(".status.")
    {
        errs.invalid(
            &field,
            &json!(selector),
            "should be a json path under either .spec or .status",
        );
    }
}

const COLUMN_TYPES: &str = "boolean,date,integer,number,string";
const COLUMN_FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";

/// `ValidateCustomResourceColumnDefinition` for each column.
pub(super) fn columns(cols: &Value, path: &str, errs: &mut Errs) {
    for (i, col) in cols.as_array().into_iter().flatten().enumerate() {
        let p = format!("{path}[{i}]");
        if str_of(col, "name").is_empty() {
            errs.required(&format!("{p}.name"), "");
        }
        let ty = str_of(col, "type");
        let must = format!("must be one of {COLUMN_TYPES}");
        if ty.is_empty() {
            errs.required(&format!("{p}.type"), &must);
        } else if !COLUMN_TYPES.split(',').any(|t| t == ty) {
            errs.invalid(&format!("{p}.type"), &json!(ty), &must);
        }
        let format = str_of(col, "format");
        if !format.is_empty() && !COLUMN_FORMATS.split(',').any(|f| f == format) {
            errs.invalid(
                &format!("{p}.format"),
                &json!(format),
                &format!("must be one of {COLUMN_FORMATS}"),
            );
        }
        let json_path = str_of(col, "jsonPath");
        if json_path.is_empty() {
            errs.required(&format!("{p}.JSONPath"), "");
        } else {
            simple_json_path(json_path, &format!("{p}.JSONPath"), errs);
        }
    }
}
