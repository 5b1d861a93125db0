//! More tests for [`validate`]: string formats, the allOf/anyOf/oneOf/not messages,
//! and Go's rendering of values in messages.

use super::gofmt::{bad_value, float, json as go_json, quote};
use super::tests_validate::{errs, field, reasons};
use serde_json::json;

#[test]
fn date_time_and_other_formats() {
    let s = field(json!({"type": "string", "format": "date-time"}));
    assert!(errs(s.clone(), json!({"field": "2024-01-02T03:04:05Z"})).is_empty());
    assert_eq!(
        errs(s.clone(), json!({"field": "yesterday"})),
        vec![
            r#"field: Invalid value: "yesterday": field in body must be of type date-time: "yesterday""#
        ]
    );
    assert_eq!(
        reasons(s, json!({"field": "x"})),
        vec!["FieldValueTypeInvalid"]
    );
    for (format, good, bad) in [
        ("uuid", "123e4567-e89b-12d3-a456-426614174000", "123"),
        ("ipv4", "10.0.0.1", "10.0.0"),
        ("ipv6", "::1", "1::2::3"),
        ("cidr", "10.0.0.0/8", "10.0.0.0/33"),
        ("date", "2024-02-29", "2023-02-29"),
        ("byte", "aGk=", "a"),
        ("hostname", "example.com", "-bad-"),
    ] {
        let s = field(json!({"type": "string", "format": format}));
        assert!(
            errs(s.clone(), json!({"field": good})).is_empty(),
            "{format} {good}"
        );
        assert_eq!(errs(s, json!({"field": bad})).len(), 1, "{format} {bad}");
    }
    // Unsupported formats are ignored, as upstream strips them.
    let s = field(json!({"type": "string", "format": "no-such-format"}));
    assert!(errs(s, json!({"field": "anything"})).is_empty());
}

#[test]
fn junctors() {
    let s = field(json!({"type": "string", "anyOf": [{"pattern": "^a"}, {"pattern": "^b"}]}));
    assert!(errs(s.clone(), json!({"field": "bx"})).is_empty());
    assert_eq!(
        errs(s, json!({"field": "c"})),
        vec![
            r#"<nil>: Invalid value: "": "field" must validate at least one schema (anyOf)"#,
            r#"field: Invalid value: "c": field in body should match '^a'"#,
        ]
    );
    let s = field(json!({"type": "integer", "oneOf": [{"minimum": 1}, {"minimum": 2}]}));
    assert_eq!(
        errs(s.clone(), json!({"field": 5})),
        vec![
            r#"<nil>: Invalid value: "": "field" must validate one and only one schema (oneOf). Found 2 valid alternatives"#
        ]
    );
    assert!(errs(s, json!({"field": 1})).is_empty());
    let s = field(json!({"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]}));
    assert_eq!(
        errs(s, json!({"field": 5})),
        vec![
            "field: Invalid value: 5: field in body should be less than or equal to 3",
            r#"<nil>: Invalid value: "": "field" must validate all the schemas (allOf)"#,
        ]
    );
    let s = field(json!({"type": "string", "not": {"enum": ["x"]}}));
    assert_eq!(
        errs(s.clone(), json!({"field": "x"})),
        vec![r#"<nil>: Invalid value: "": "field" must not validate the schema (not)"#]
    );
    assert!(errs(s, json!({"field": "y"})).is_empty());
}

#[test]
fn go_value_rendering() {
    // fmt's %v for float64: shortest digits, exponent from 1e6 and below 1e-4.
    assert_eq!(float(1.5), "1.5");
    assert_eq!(float(3.0), "3");
    assert_eq!(float(100000.0), "100000");
    assert_eq!(float(1000000.0), "1e+06");
    assert_eq!(float(1234567.0), "1.234567e+06");
    assert_eq!(float(0.0001), "0.0001");
    assert_eq!(float(0.00001), "1e-05");
    assert_eq!(float(-2.5e-7), "-2.5e-07");
    // encoding/json: no exponent below 1e21, keys sorted.
    assert_eq!(
        go_json(&json!({"b": 1.0, "a": [1e6, "x"]})),
        r#"{"a":[1000000,"x"],"b":1}"#
    );
    // json.Marshal escapes HTML characters by default; strconv keeps a zero's sign.
    assert_eq!(
        go_json(&json!({"<a>": "x&y"})),
        r#"{"\u003ca\u003e":"x\u0026y"}"#
    );
    assert_eq!(go_json(&json!(-0.0)), "-0");
    assert_eq!(float(-0.0), "-0");
    assert_eq!(quote("a\"b\n"), r#""a\"b\n""#);
    assert_eq!(bad_value(&json!(null)), "null");
    assert_eq!(bad_value(&json!(true)), "true");
    assert_eq!(bad_value(&json!(0.5)), "0.5");
    assert_eq!(bad_value(&json!(["a"])), r#"["a"]"#);
}

#[test]
fn float_bounds_print_like_go() {
    let s = field(json!({"type": "number", "maximum": 1000000.5}));
    assert_eq!(
        errs(s, json!({"field": 2e6})),
        vec![
            "field: Invalid value: 2e+06: field in body should be less than or equal to 1.0000005e+06"
        ]
    );
}
