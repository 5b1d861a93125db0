//! Printer columns, JSONPath and the scale subresource, after upstream's
//! `tableconvertor_test.go` (`Test_cellForJSONValue`) and `etcd_test.go` scale cases.

use super::columns::typed_cell;
use super::*;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-02T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn col(ty: &str, path: &str) -> Column {
    Column::from_definition(&json!({"name": "C", "type": ty, "jsonPath": path}))
        .unwrap_or_else(|| panic!("{path} should parse"))
}

#[test]
fn cell_for_json_value_table() {
    // Test_cellForJSONValue, minus the string rows (string columns print via jsonpath).
    let ts = |d: TimeDelta| (now() - d).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let cases: Vec<(&str, Value, Value)> = vec![
        ("integer", json!(42), json!(42)),
        ("integer", json!(2.75), json!(2)),
        ("integer", json!(true), Value::Null),
        ("integer", json!("foo"), Value::Null),
        ("number", json!(42), json!(42)),
        ("number", json!(2.75), json!(2.75)),
        ("number", json!(true), Value::Null),
        ("number", json!("foo"), Value::Null),
        ("boolean", json!(42), Value::Null),
        ("boolean", json!(2.75), Value::Null),
        ("boolean", json!(true), json!(true)),
        ("boolean", json!("foo"), Value::Null),
        ("date", json!(42), Value::Null),
        ("date", json!(2.75), Value::Null),
        ("date", json!(true), Value::Null),
        (
            "date",
            json!(ts(TimeDelta::minutes(12 * 60 + 30))),
            json!("12h"),
        ),
        (
            "date",
            json!(ts(TimeDelta::minutes(-(12 * 60 + 30)))),
            json!("<invalid>"),
        ),
        ("date", json!(""), json!("<unknown>")),
        ("date", json!("yesterday"), json!("<invalid>")),
        ("unknown", json!("foo"), Value::Null),
        ("integer", Value::Null, Value::Null),
    ];
    for (ty, value, want) in cases {
        assert_eq!(typed_cell(ty, &value, now()), want, "{ty} {value}");
    }
}

#[test]
fn string_columns_print_like_jsonpath() {
    let obj = json!({"spec": {"s": "x", "i": 42, "f": 1000000.0, "g": 3.5, "b": false, "n": null,
        "m": {"z": 1, "a": "<b>"}, "l": [1, 2]}});
    let cases = [
        (".spec.s", json!("x")),
        (".spec.i", json!("42")),
        (".spec.f", json!("1e+06")),
        (".spec.g", json!("3.5")),
        (".spec.b", json!("false")),
        (".spec.n", json!("<no value>")),
        (".spec.m", json!("{\"a\":\"\\u003cb\\u003e\",\"z\":1}")),
        (".spec.l", json!("[1,2]")),
        (".spec.missing", Value::Null),
    ];
    for (path, want) in cases {
        assert_eq!(cell(&obj, &col("string", path), now()), want, "{path}");
    }
}

#[test]
fn jsonpath_subset() {
    let obj = json!({"metadata": {"labels": {"app.kubernetes.io/name": "web", "tier": "fe"}},
        "spec": {"containers": [{"name": "a", "image": "i1"}, {"name": "b", "image": "i2"}], "empty": []}});
    let cases = [
        (".metadata.labels.tier", json!("fe")),
        (".metadata.labels.app\\.kubernetes\\.io/name", json!("web")),
        (".spec.containers[0].image", json!("i1")),
        (".spec.containers[1].name", json!("b")),
        (".spec.containers[-1].name", json!("b")),
        // Only the first match becomes the cell.
        (".spec.containers[*].name", json!("a")),
        (".spec.containers[1:].name", json!("b")),
        (".spec['containers'][0].name", json!("a")),
        (".spec.containers[5].name", Value::Null),
        (".spec.empty[*].name", Value::Null),
        (".spec.containers.name", Value::Null),
        (".metadata.labels[0]", Value::Null),
    ];
    for (path, want) in cases {
        assert_eq!(cell(&obj, &col("string", path), now()), want, "{path}");
    }
}

fn crd_with(columns: Value) -> Value {
    json!({"spec": {"versions": [
        {"name": "v1", "additionalPrinterColumns": columns,
         "subresources": {"scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}}},
        {"name": "v2"}]}})
}

#[test]
fn default_and_declared_columns() {
    let crd = crd_with(json!([
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas", "priority": 1},
        {"name": "Bad", "type": "string", "jsonPath": ".spec[?(@.x)]"},
        {"name": "After", "type": "string", "jsonPath": ".spec.after"}]));
    let cols = printer_columns(&crd, "v1");
    // The unparsable column ends the list, as upstream's convertor does.
    assert_eq!(cols.len(), 1);
    assert_eq!(cols[0].priority, 1);
    assert_eq!(
        cols[0].description,
        "Custom resource definition column (in JSONPath format): .spec.replicas"
    );
    let defs = column_definitions(&cols);
    assert_eq!(defs[0]["name"], "Name");
    assert_eq!(defs[0]["format"], "name");
    assert_eq!(defs[1]["name"], "Replicas");
    let v2 = printer_columns(&crd, "v2");
    assert_eq!(v2.len(), 1);
    assert_eq!((v2[0].name.as_str(), v2[0].type_.as_str()), ("Age", "date"));
    assert!(
        v2[0]
            .description
            .starts_with("CreationTimestamp is a timestamp")
    );
    let obj = json!({"metadata": {"name": "x", "creationTimestamp": "2026-01-01T23:55:00Z"}});
    assert_eq!(row_cells(&obj, &v2, now()), [json!("x"), json!("5m")]);
    let scale = scale_columns(&crd, "v1");
    let names: Vec<&str> = scale.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Desired", "Available", "Age"]);
    assert!(printer_columns(&crd, "v9").is_empty());
}

fn spec() -> ScaleSpec {
    ScaleSpec {
        spec_replicas_path: ".spec.replicas".into(),
        status_replicas_path: ".status.replicas".into(),
        label_selector_path: ".status.selector".into(),
    }
}

#[test]
fn read_scale_builds_an_autoscaling_v1_scale() {
    let obj = json!({"metadata": {"name": "n", "namespace": "ns", "uid": "u", "resourceVersion": "7",
        "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "a=b"}});
    assert_eq!(
        read_scale(&obj, &spec()),
        Ok(json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": "n", "namespace": "ns", "uid": "u", "resourceVersion": "7",
                "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "a=b"}}))
    );
    let crd = crd_with(json!([]));
    assert_eq!(
        scale_spec(&crd, "v1").map(|s| s.spec_replicas_path),
        Some(".spec.replicas".to_string())
    );
    assert_eq!(scale_spec(&crd, "v2"), None);
}

#[test]
fn read_scale_errors_match_upstream() {
    let missing = json!({"metadata": {"name": "n"}, "spec": {}});
    assert_eq!(
        read_scale(&missing, &spec()),
        Err(ScaleError::Internal(
            "the spec replicas field \".spec.replicas\" does not exist".into()
        ))
    );
    let float = json!({"spec": {"replicas": 1.5}});
    assert_eq!(
        read_scale(&float, &spec()),
        Err(ScaleError::Internal(
            ".spec.replicas accessor error: 1.5 is of the type float64, expected int64".into()
        ))
    );
    let not_map = json!({"spec": "x"});
    assert_eq!(
        read_scale(&not_map, &spec()),
        Err(ScaleError::Internal(
            ".spec.replicas accessor error: x is of the type string, expected map[string]interface{}"
                .into()
        ))
    );
    let old = scale_for_update(&missing, &spec()).expect("scale");
    assert_eq!(old["spec"]["replicas"], UNSET_SPEC_REPLICAS);
    assert_eq!(old["status"], json!({"replicas": 0}));
}

#[test]
fn write_scale_sets_replicas_creating_maps() {
    let mut obj = json!({"metadata": {"name": "n"}});
    assert_eq!(write_scale(&mut obj, &spec(), 4), Ok(()));
    assert_eq!(obj["spec"]["replicas"], 4);
    assert_eq!(
        write_scale(&mut obj, &spec(), UNSET_SPEC_REPLICAS),
        Err(ScaleError::BadRequest(
            "the spec replicas field \".spec.replicas\" cannot be empty".into()
        ))
    );
    let mut bad = json!({"spec": 5});
    assert_eq!(
        write_scale(&mut bad, &spec(), 1),
        Err(ScaleError::Internal(
            "value cannot be set because .spec is not a map[string]interface{}".into()
        ))
    );
}
