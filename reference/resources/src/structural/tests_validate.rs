//! Tests for [`validate`]: rows from upstream's `TestValidateCustomResource`
//! (apiextensions-apiserver `pkg/apiserver/validation/validation_test.go`) plus one per
//! message kind a client can see.

use super::{Schema, validate};
use serde_json::{Value, json};

/// Each error as a client reads it, `field: message`.
pub(super) fn errs(schema: Value, obj: Value) -> Vec<String> {
    validate(&obj, &Schema::from_value(&schema))
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

pub(super) fn reasons(schema: Value, obj: Value) -> Vec<&'static str> {
    validate(&obj, &Schema::from_value(&schema))
        .into_iter()
        .map(|c| c.reason)
        .collect()
}

/// An object schema whose one property, `field`, has schema `s`.
pub(super) fn field(s: Value) -> Value {
    json!({"type": "object", "properties": {"field": s}})
}

#[test]
fn type_errors_name_the_json_type() {
    // TestValidateCustomResource "!nullable against non-null" rows.
    let s = field(json!({"type": "object"}));
    for (v, t) in [
        (json!("foo"), "string"),
        (json!(42), "integer"),
        (json!(true), "boolean"),
        (json!(1.2), "number"),
        (json!([]), "array"),
        (Value::Null, "null"),
    ] {
        assert_eq!(
            errs(s.clone(), json!({"field": v})),
            vec![format!(
                r#"field: Invalid value: "{t}": field in body must be of type object: "{t}""#
            )]
        );
    }
    assert_eq!(
        reasons(s, json!({"field": 1})),
        vec!["FieldValueTypeInvalid"]
    );
}

#[test]
fn nullable_accepts_null() {
    let s = field(json!({"type": "object", "nullable": true}));
    assert!(errs(s, json!({"field": null})).is_empty());
}

#[test]
fn int_or_string() {
    // TestValidateCustomResource "x-kubernetes-int-or-string" rows.
    let s = field(json!({"x-kubernetes-int-or-string": true}));
    assert!(errs(s.clone(), json!({"field": 42})).is_empty());
    assert!(errs(s.clone(), json!({"field": "foo"})).is_empty());
    assert_eq!(
        errs(s.clone(), json!({"field": 1.2})),
        vec![
            r#"field: Invalid value: "number": field in body must be of type integer,string: "number""#
        ]
    );
    assert_eq!(
        errs(s, json!({"field": null})),
        vec![
            r#"field: Invalid value: "null": field in body must be of type integer,string: "null""#
        ]
    );
}

#[test]
fn replicas_as_string() {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}});
    assert_eq!(
        errs(s, json!({"spec": {"replicas": "string"}})),
        vec![
            r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#
        ]
    );
}

#[test]
fn integral_float_is_an_integer_but_a_fraction_is_not() {
    let s = field(json!({"type": "integer"}));
    assert!(errs(s.clone(), json!({"field": 3.0})).is_empty());
    assert_eq!(
        errs(s, json!({"field": 1.5})),
        vec![
            r#"field: Invalid value: "number": field in body must be of type integer: "number""#,
            r#"<nil>: Invalid value: "": Checked value must be of type integer (default format) in field"#,
        ]
    );
}

#[test]
fn required_and_enum() {
    // TestValidateCustomResource "required field" and "enum".
    let s = json!({"type": "object", "required": ["field"], "properties": {
        "field": {"type": "object", "required": ["nested"], "properties": {"nested": {}}}}});
    assert_eq!(
        errs(s.clone(), json!({"test": "a"})),
        vec!["field: Required value"]
    );
    assert_eq!(
        errs(s.clone(), json!({"field": {}})),
        vec!["field.nested: Required value"]
    );
    assert_eq!(reasons(s, json!({})), vec!["FieldValueRequired"]);

    let s = field(
        json!({"type": "object", "required": ["nestedint", "nestedstring"], "properties": {
        "nestedint": {"type": "integer", "enum": [1, 2]},
        "nestedstring": {"type": "string", "enum": ["a", "b"]}}}),
    );
    let mut got = errs(
        s.clone(),
        json!({"field": {"nestedint": "x", "nestedstring": true}}),
    );
    got.sort();
    assert_eq!(
        got,
        vec![
            r#"field.nestedint: Invalid value: "string": field.nestedint in body must be of type integer: "string""#,
            r#"field.nestedint: Unsupported value: "x": supported values: "1", "2""#,
            r#"field.nestedstring: Invalid value: "boolean": field.nestedstring in body must be of type string: "boolean""#,
            r#"field.nestedstring: Unsupported value: true: supported values: "a", "b""#,
        ]
    );
    assert!(
        errs(
            s.clone(),
            json!({"field": {"nestedint": 2.0, "nestedstring": "a"}})
        )
        .is_empty()
    );
    assert!(
        reasons(s, json!({"field": {"nestedint": 3, "nestedstring": "a"}}))
            .contains(&"FieldValueNotSupported")
    );
}

#[test]
fn too_many_and_too_long() {
    // TestValidateCustomResource "maxProperties", "maxItems", "maxLength".
    let s =
        json!({"type": "object", "properties": {"fieldX": {"type": "object", "maxProperties": 2}}});
    assert_eq!(
        errs(
            s.clone(),
            json!({"fieldX": {"a": true, "b": true, "c": true}})
        ),
        vec!["fieldX: Too many: 3: must have at most 2 items"]
    );
    assert_eq!(
        reasons(s, json!({"fieldX": {"a": 1, "b": 1, "c": 1}})),
        vec!["FieldValueTooMany"]
    );
    let s = json!({"type": "object", "properties": {"fieldX": {"type": "array", "maxItems": 2, "items": {"type": "string"}}}});
    assert_eq!(
        errs(s, json!({"fieldX": ["a", "b", "c"]})),
        vec!["fieldX: Too many: 3: must have at most 2 items"]
    );
    let s = json!({"type": "object", "properties": {"fieldX": {"type": "string", "maxLength": 2}}});
    assert_eq!(
        errs(s.clone(), json!({"fieldX": "abc"})),
        vec!["fieldX: Too long: may not be more than 2 bytes"]
    );
    assert_eq!(
        reasons(s, json!({"fieldX": "abc"})),
        vec!["FieldValueTooLong"]
    );
}

#[test]
fn k8s_name_formats() {
    // TestValidateCustomResource "k8sLongName" and "k8sShortName".
    let s = json!({"type": "object", "properties": {"fieldX": {"type": "string", "format": "k8s-long-name"}}});
    assert_eq!(
        errs(s, json!({"fieldX": "a.-"})),
        vec![
            r#"fieldX: Invalid value: "a.-": fieldX in body must be of type k8s-long-name: "a.-""#
        ]
    );
    let s = json!({"type": "object", "properties": {"fieldX": {"type": "string", "format": "k8s-short-name"}}});
    assert_eq!(
        errs(s.clone(), json!({"fieldX": "a-"})),
        vec![r#"fieldX: Invalid value: "a-": fieldX in body must be of type k8s-short-name: "a-""#]
    );
    assert!(errs(s, json!({"fieldX": "a-b"})).is_empty());
}

#[test]
fn numeric_formats() {
    // TestValidateCustomResource "numeric formats valid" / "numeric formats invalid".
    let s = json!({"type": "object", "properties": {
        "intThirtyTwo": {"type": "integer", "format": "int32"},
        "intSixtyFour": {"type": "integer", "format": "int64"},
        "floatThreeTwo": {"type": "number", "format": "float"},
        "floatSixFour": {"type": "number", "format": "double"}}});
    let ok = json!({"intThirtyTwo": i32::MIN, "intSixtyFour": i64::MIN, "floatThreeTwo": -(f32::MAX as f64), "floatSixFour": -f64::MAX});
    assert!(errs(s.clone(), ok).is_empty());
    let ok = json!({"intThirtyTwo": i32::MAX, "intSixtyFour": i64::MAX, "floatThreeTwo": f32::MAX as f64, "floatSixFour": f64::MAX});
    assert!(errs(s.clone(), ok).is_empty());
    assert_eq!(
        errs(s.clone(), json!({"intThirtyTwo": i32::MAX as i64 + 1})),
        vec![
            r#"<nil>: Invalid value: "": Checked value must be of type integer with format int32 in intThirtyTwo"#
        ]
    );
    assert_eq!(
        errs(s.clone(), json!({"intSixtyFour": i64::MAX as f64 * 1.1})),
        vec![
            r#"intSixtyFour: Invalid value: "float64": intSixtyFour in body must be of type int64: "float64""#,
            r#"<nil>: Invalid value: "": Checked value must be of type integer with format int64 in intSixtyFour"#,
        ]
    );
    assert_eq!(
        errs(s, json!({"floatThreeTwo": f32::MAX as f64 * 1.1})),
        vec![
            r#"<nil>: Invalid value: "": Checked value must be of type number with format float in floatThreeTwo"#
        ]
    );
}

#[test]
fn invalid_pattern_is_reported_on_the_value() {
    // TestValidateCustomResource "invalid regex".
    let s = field(json!({"type": "string", "pattern": "+"}));
    assert_eq!(
        errs(s, json!({"field": "foo"})),
        vec![
            "field: Invalid value: \"foo\": field in body should match '+, but pattern is invalid: error parsing regexp: missing argument to repetition operator: `+`'"
        ]
    );
}

#[test]
fn bounds_and_multiples() {
    let s = field(json!({"type": "integer", "minimum": 1, "maximum": 10, "multipleOf": 2}));
    assert_eq!(
        errs(s.clone(), json!({"field": 12})),
        vec!["field: Invalid value: 12: field in body should be less than or equal to 10"]
    );
    assert_eq!(
        errs(s.clone(), json!({"field": 0})),
        vec!["field: Invalid value: 0: field in body should be greater than or equal to 1"]
    );
    assert_eq!(
        errs(s.clone(), json!({"field": 3})),
        vec!["field: Invalid value: 3: field in body should be a multiple of 2"]
    );
    assert_eq!(reasons(s, json!({"field": 3})), vec!["FieldValueInvalid"]);
    let s = field(
        json!({"type": "number", "exclusiveMinimum": true, "minimum": 0.5,
        "exclusiveMaximum": true, "maximum": 2.5}),
    );
    assert_eq!(
        errs(s.clone(), json!({"field": 0.5})),
        vec!["field: Invalid value: 0.5: field in body should be greater than 0.5"]
    );
    assert_eq!(
        errs(s, json!({"field": 2.5})),
        vec!["field: Invalid value: 2.5: field in body should be less than 2.5"]
    );
}

#[test]
fn string_lengths_and_pattern() {
    let s = field(json!({"type": "string", "minLength": 2, "pattern": "^a"}));
    assert_eq!(
        errs(s.clone(), json!({"field": "b"})),
        vec![r#"field: Invalid value: "b": field in body should be at least 2 chars long"#]
    );
    assert_eq!(
        errs(s, json!({"field": "bcd"})),
        vec![r#"field: Invalid value: "bcd": field in body should match '^a'"#]
    );
    // maxLength counts characters, not bytes.
    let s = field(json!({"type": "string", "maxLength": 1}));
    assert!(errs(s.clone(), json!({"field": "é"})).is_empty());
    assert_eq!(
        errs(s, json!({"field": "ab"})),
        vec!["field: Too long: may not be more than 1 byte"]
    );
}

#[test]
fn list_and_object_sizes() {
    let s = field(
        json!({"type": "array", "minItems": 2, "uniqueItems": true, "items": {"type": "integer"}}),
    );
    assert_eq!(
        errs(s.clone(), json!({"field": [1]})),
        vec!["field: Invalid value: 1: field in body should have at least 2 items"]
    );
    assert_eq!(
        errs(s.clone(), json!({"field": [1, 1]})),
        vec![r#"field: Invalid value: "": field in body shouldn't contain duplicates"#]
    );
    assert_eq!(
        errs(s, json!({"field": [1, "x"]})),
        vec![
            r#"field[1]: Invalid value: "string": field[1] in body must be of type integer: "string""#
        ]
    );
    let s = field(json!({"type": "object", "minProperties": 1}));
    assert_eq!(
        errs(s, json!({"field": {}})),
        vec!["field: Invalid value: 0: field in body should have at least 1 properties"]
    );
}

#[test]
fn additional_properties_schema_and_root_paths() {
    let s = json!({"type": "object", "properties": {"labels": {"type": "object",
        "additionalProperties": {"type": "string"}}}});
    assert_eq!(
        errs(s, json!({"labels": {"a": 1}})),
        vec![
            r#"labels.a: Invalid value: "integer": labels.a in body must be of type string: "integer""#
        ]
    );
    // At the root kube-openapi joins keys with a leading dot; the field path drops it.
    let s = json!({"type": "object", "additionalProperties": {"type": "string"}});
    assert_eq!(
        errs(s, json!({"a": 1})),
        vec![r#"a: Invalid value: "integer": .a in body must be of type string: "integer""#]
    );
}
