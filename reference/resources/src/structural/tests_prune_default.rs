//! Tests for [`prune`] and [`apply_defaults`], mostly rows of upstream's table tests
//! `TestPrune` (schema/pruning/algorithm_test.go), `TestDefault`
//! (schema/defaulting/algorithm_test.go) and `TestPruneNonNullableNullsWithoutDefaults`
//! (schema/defaulting/prunenulls_test.go), with Go's Structural literals written as the
//! JSON schemas they come from.

use super::default::{default, prune_non_nullable_nulls};
use super::{Schema, apply_defaults, prune};
use serde_json::{Value, json};

fn pruned(schema: Value, mut obj: Value, root: bool) -> (Value, Vec<String>) {
    let paths = prune(&mut obj, &Schema::from_value(&schema), root);
    (obj, paths)
}

#[test]
fn prune_arrays() {
    // TestPrune "scalar array", "object array", "object array with nil schema".
    assert_eq!(
        pruned(json!({"items": {}}), json!([1, 2]), false),
        (json!([1, 2]), vec![])
    );
    let s = json!({"items": {"properties": {"a": {}, "c": {}}}});
    let obj = json!([{"a": 1}, {"b": 1}, {"a": 1, "b": 2, "c": 3}]);
    assert_eq!(
        pruned(s, obj.clone(), false),
        (
            json!([{"a": 1}, {}, {"a": 1, "c": 3}]),
            vec!["[1].b".into(), "[2].b".into()]
        )
    );
    let (got, paths) = pruned(json!({}), obj, false);
    assert_eq!(got, json!([{}, {}, {}]));
    assert_eq!(paths, vec!["[0].a", "[1].b", "[2].a", "[2].b", "[2].c"]);
}

#[test]
fn prune_object_array_object() {
    // TestPrune "object array object".
    let s = json!({"properties": {
        "array": {"items": {"properties": {"a": {}, "c": {}}}},
        "specified": {"properties": {"a": {}, "c": {}}}}});
    let obj = json!({"array": [{"a": 1}, {"b": 1}, {"a": 1, "b": 2, "c": 3}],
        "unspecified": {"a": 1}, "specified": {"a": 1, "b": 2, "c": 3}});
    let (got, paths) = pruned(s, obj, false);
    assert_eq!(
        got,
        json!({"array": [{"a": 1}, {}, {"a": 1, "c": 3}], "specified": {"a": 1, "c": 3}})
    );
    assert_eq!(
        paths,
        vec!["array[1].b", "array[2].b", "specified.b", "unspecified"]
    );
}

#[test]
fn prune_nested_preserve_unknown_fields() {
    // TestPrune "nested x-kubernetes-preserve-unknown-fields".
    let keep = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    let obj_with = |extra: Value| {
        json!({"type": "object", "additionalProperties": {"type": "object",
        "properties": {"specified": {"type": "object"}}}, "x-kubernetes-preserve-unknown-fields": extra})
    };
    let s = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
        "alpha": {"type": "string"}, "beta": {"type": "number"},
        "pruning": {"type": "object", "properties": {"preserving": keep, "pruning": {"type": "object"}}},
        "preserving": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
            "preserving": keep, "pruning": {"type": "object"},
            "preservingUnknownType": {"x-kubernetes-preserve-unknown-fields": true}}},
        "preservingAdditionalPropertiesNotInheritingXPreserveUnknownFields": obj_with(json!(true)),
        "preservingAdditionalPropertiesKeyPruneValues": obj_with(Value::Null)}});
    let foo = json!({"foo": {"specified": {"unspecified": "bar"}, "unspecified": "bar"}});
    let obj = json!({"unspecified": "bar", "alpha": "abc", "beta": 42.0,
        "unspecifiedObject": {"unspecified": "bar"},
        "pruning": {"unspecified": "bar", "unspecifiedObject": {"unspecified": "bar"},
            "pruning": {"unspecified": "bar"}, "apiVersion": "unknown", "preserving": {"unspecified": "bar"}},
        "preserving": {"unspecified": "bar", "unspecifiedObject": {"unspecified": "bar"},
            "pruning": {"unspecified": "bar"}, "preserving": {"unspecified": "bar"},
            "preservingUnknownType": [{"foo": true}, {"bar": true}]},
        "preservingAdditionalPropertiesNotInheritingXPreserveUnknownFields": foo.clone(),
        "preservingAdditionalPropertiesKeyPruneValues": foo});
    let (got, paths) = pruned(s, obj, false);
    let foo = json!({"foo": {"specified": {}}});
    assert_eq!(
        got,
        json!({"unspecified": "bar", "alpha": "abc", "beta": 42.0,
            "unspecifiedObject": {"unspecified": "bar"},
            "pruning": {"pruning": {}, "preserving": {"unspecified": "bar"}},
            "preserving": {"unspecified": "bar", "unspecifiedObject": {"unspecified": "bar"},
                "pruning": {}, "preserving": {"unspecified": "bar"},
                "preservingUnknownType": [{"foo": true}, {"bar": true}]},
            "preservingAdditionalPropertiesNotInheritingXPreserveUnknownFields": foo.clone(),
            "preservingAdditionalPropertiesKeyPruneValues": foo})
    );
    assert_eq!(
        paths,
        vec![
            "preserving.pruning.unspecified",
            "preservingAdditionalPropertiesKeyPruneValues.foo.specified.unspecified",
            "preservingAdditionalPropertiesKeyPruneValues.foo.unspecified",
            "preservingAdditionalPropertiesNotInheritingXPreserveUnknownFields.foo.specified.unspecified",
            "preservingAdditionalPropertiesNotInheritingXPreserveUnknownFields.foo.unspecified",
            "pruning.apiVersion",
            "pruning.pruning.unspecified",
            "pruning.unspecified",
            "pruning.unspecifiedObject",
        ]
    );
}

#[test]
fn prune_additional_properties() {
    // TestPrune "additionalProperties with schema" and "additionalProperties with bool".
    let obj = json!({"a": 1, "b": 1, "c": {"a": 1, "b": 2, "c": {"a": 1}}});
    let s = json!({"properties": {"a": {}, "c": {"additionalProperties": {"type": "integer"}}}});
    let (got, paths) = pruned(s, obj, false);
    assert_eq!(got, json!({"a": 1, "c": {"a": 1, "b": 2, "c": {}}}));
    assert_eq!(paths, vec!["b", "c.c.a"]);
    let obj =
        json!({"a": 1, "b": 1, "c": {"a": 1, "b": 2, "c": {"a": 1, "apiVersion": "unknown"}}});
    let s = json!({"properties": {"a": {}, "c": {"additionalProperties": false}}});
    let (got, paths) = pruned(s, obj, false);
    assert_eq!(got, json!({"a": 1, "c": {"a": 1, "b": 2, "c": {}}}));
    assert_eq!(paths, vec!["b", "c.c.a", "c.c.apiVersion"]);
}

#[test]
fn prune_resource_root_and_embedded_resources() {
    // The shape of TestPrune "x-kubernetes-embedded-resource, with root=true".
    let s = json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
        "embedded": {"type": "object", "x-kubernetes-embedded-resource": true,
            "properties": {"spec": {"type": "object"}}}}});
    let obj = json!({"apiVersion": "a/v1", "kind": "A", "metadata": {"name": "x", "unspecified": 1},
        "spec": {"replicas": 1, "foo": 2}, "status": {},
        "embedded": {"apiVersion": "b/v1", "kind": "B", "metadata": {"name": "y"}, "spec": {"z": 1}, "other": 1}});
    let (got, paths) = pruned(s.clone(), obj.clone(), true);
    assert_eq!(
        got,
        json!({"apiVersion": "a/v1", "kind": "A", "metadata": {"name": "x", "unspecified": 1},
            "spec": {"replicas": 1},
            "embedded": {"apiVersion": "b/v1", "kind": "B", "metadata": {"name": "y"}, "spec": {}}})
    );
    assert_eq!(
        paths,
        vec!["embedded.other", "embedded.spec.z", "spec.foo", "status"]
    );
    // Not a resource root: meta fields go, but unknown ones at the top are not reported.
    let (got, paths) = pruned(s, obj, false);
    assert!(got.get("apiVersion").is_none() && got.get("metadata").is_none());
    assert!(!paths.iter().any(|p| p == "apiVersion" || p == "metadata"));
}

fn defaulted(schema: Value, mut obj: Value) -> Value {
    default(&mut obj, Some(&Schema::from_value(&schema)));
    obj
}

#[test]
fn default_table() {
    // TestDefault rows.
    assert_eq!(defaulted(json!({"default": "foo"}), json!(4)), json!(4));
    assert_eq!(
        defaulted(json!({"items": {"default": "foo"}}), json!([1, 2])),
        json!([1, 2])
    );
    let s = json!({"items": {"properties": {"a": {"default": "A"}, "b": {"default": "B"}, "c": {"default": "C"}}}});
    assert_eq!(
        defaulted(s, json!([{"a": 1}, {"b": 1}, {"c": 1}])),
        json!([{"a": 1, "b": "B", "c": "C"}, {"a": "A", "b": 1, "c": "C"}, {"a": "A", "b": "B", "c": 1}])
    );
    let s = json!({"properties": {
        "array": {"items": {"properties": {"a": {"default": "A"}, "b": {"default": "B"}}}},
        "object": {"properties": {"a": {"default": "N"}, "b": {"default": "O"}}},
        "additionalProperties": {"additionalProperties": {"properties": {"a": {"default": "alpha"}, "b": {"default": "beta"}}}},
        "foo": {"default": "bar"}}});
    let obj = json!({"array": [{"a": 1}, {"b": 2}], "object": {"a": 1},
        "additionalProperties": {"x": {"a": 1}, "y": {"b": 2}}});
    assert_eq!(
        defaulted(s, obj),
        json!({"array": [{"a": 1, "b": "B"}, {"a": "A", "b": 2}], "object": {"a": 1, "b": "O"},
            "additionalProperties": {"x": {"a": 1, "b": "beta"}, "y": {"a": "alpha", "b": 2}}, "foo": "bar"})
    );
    let s = json!({"items": {"properties": {"a": {"default": "A"}}}});
    assert_eq!(
        defaulted(
            s,
            json!([{}, {"a": 1}, {"a": 0}, {"a": 0.0}, {"a": ""}, {"a": null}, {"a": []}, {"a": {}}])
        ),
        json!([{"a": "A"}, {"a": 1}, {"a": 0}, {"a": 0.0}, {"a": ""}, {"a": "A"}, {"a": []}, {"a": {}}])
    );
}

#[test]
fn default_nulls() {
    // TestDefault "null in ..." rows.
    let s = json!({"nullable": true, "items": {"properties": {"a": {"default": "A"}}}});
    assert_eq!(defaulted(s, json!([null])), json!([null]));
    assert_eq!(
        defaulted(json!({"items": {"default": "A"}}), json!([null])),
        json!(["A"])
    );
    let s = json!({"properties": {"a": {"nullable": true, "default": "A"}}});
    assert_eq!(defaulted(s, json!({"a": null})), json!({"a": null}));
    let s = json!({"properties": {"a": {"default": "A"}}});
    assert_eq!(defaulted(s, json!({"a": null})), json!({"a": "A"}));
    let s = json!({"additionalProperties": {"nullable": true, "default": "A"}});
    assert_eq!(defaulted(s, json!({"a": null})), json!({"a": null}));
    let s = json!({"additionalProperties": {"default": "A"}});
    assert_eq!(defaulted(s, json!({"a": null})), json!({"a": "A"}));
    assert_eq!(
        defaulted(json!({"additionalProperties": true}), json!({"a": null})),
        json!({"a": null})
    );
}

#[test]
fn prune_non_nullable_nulls_table() {
    // TestPruneNonNullableNullsWithoutDefaults rows.
    let mut v = json!(4);
    prune_non_nullable_nulls(
        &mut v,
        Some(&Schema::from_value(&json!({"default": "foo"}))),
    );
    assert_eq!(v, json!(4));
    let mut v = json!([1, null]);
    prune_non_nullable_nulls(&mut v, None);
    assert_eq!(v, json!([1, null]));
    let s = json!({"items": {"properties": {"a": {"default": "A"}, "b": {"nullable": true},
        "c": {"default": "C", "nullable": true}, "d": {}}}});
    let mut v = json!([{"a": null}, {"b": null}, {"c": null}, {"d": null}, {"e": null}]);
    prune_non_nullable_nulls(&mut v, Some(&Schema::from_value(&s)));
    assert_eq!(
        v,
        json!([{"a": null}, {"b": null}, {"c": null}, {}, {"e": null}])
    );
}

#[test]
fn apply_defaults_drops_then_defaults() {
    let s = Schema::from_value(
        &json!({"type": "object", "properties": {"spec": {"type": "object",
        "default": {}, "properties": {"replicas": {"type": "integer", "default": 1},
        "paused": {"type": "boolean"}, "mode": {"type": "string", "default": "fast"}}}}}),
    );
    let mut obj = json!({"apiVersion": "a/v1", "kind": "A"});
    apply_defaults(&mut obj, &s);
    // A defaulted object gets its own properties' defaults too.
    assert_eq!(
        obj,
        json!({"apiVersion": "a/v1", "kind": "A", "spec": {"replicas": 1, "mode": "fast"}})
    );
    let mut obj = json!({"spec": {"paused": null, "mode": null}});
    apply_defaults(&mut obj, &s);
    assert_eq!(obj, json!({"spec": {"replicas": 1, "mode": "fast"}}));
}

#[test]
fn prune_embedded_resources_table_row() {
    // TestPrune "x-kubernetes-embedded-resource".
    let res = |extra: Value| {
        let mut r = json!({"apiVersion": "foo/v1", "kind": "Foo", "unspecified": "bar",
            "metadata": {"name": "instance", "unspecified": "bar"}, "spec": {"unspecified": "bar"}});
        if let (Some(spec), Value::Object(extra)) = (r["spec"].as_object_mut(), extra) {
            spec.extend(extra);
        }
        r
    };
    let obj = json!({"apiVersion": "foo/v1", "kind": "Foo",
        "metadata": {"name": "instance", "unspecified": "bar"}, "unspecified": "bar",
        "pruned": res(json!({})), "preserving": res(json!({})),
        "nested": res(json!({"embedded": res(json!({}))}))});
    let embedded_with_spec = json!({"type": "object", "x-kubernetes-embedded-resource": true,
        "properties": {"spec": {"type": "object"}}});
    let s = json!({"type": "object", "properties": {
        "pruned": embedded_with_spec,
        "preserving": {"type": "object", "x-kubernetes-embedded-resource": true,
            "x-kubernetes-preserve-unknown-fields": true},
        "nested": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {
            "spec": {"type": "object", "properties": {"embedded": embedded_with_spec}}}}}});
    let (got, paths) = pruned(s, obj, false);
    let kept = |spec: Value| {
        json!({"apiVersion": "foo/v1", "kind": "Foo",
        "metadata": {"name": "instance", "unspecified": "bar"}, "spec": spec})
    };
    assert_eq!(
        got,
        json!({"pruned": kept(json!({})), "preserving": res(json!({})),
            "nested": kept(json!({"embedded": kept(json!({}))}))})
    );
    assert_eq!(
        paths,
        vec![
            "nested.spec.embedded.spec.unspecified",
            "nested.spec.embedded.unspecified",
            "nested.spec.unspecified",
            "nested.unspecified",
            "pruned.spec.unspecified",
            "pruned.unspecified",
            "unspecified",
        ]
    );
}
