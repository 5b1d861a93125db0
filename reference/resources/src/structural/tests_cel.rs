//! Validation rules (`x-kubernetes-validations`) against upstream's cel `validation_test.go`
//! cases and error shapes.

use super::cel::validate_rules;
use serde_json::{Value, json};

fn msgs(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<String> {
    validate_rules(schema, obj, old)
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

fn spec_schema(rules: Value) -> Value {
    json!({"type": "object", "properties": {"spec": {
        "type": "object",
        "properties": {
            "minReplicas": {"type": "integer"},
            "maxReplicas": {"type": "integer"},
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "x-kubernetes-validations": rules,
    }}})
}

#[test]
fn failing_rule_reports_the_node_and_its_type() {
    let s = spec_schema(json!([{"rule": "self.minReplicas <= self.maxReplicas"}]));
    let bad = json!({"spec": {"minReplicas": 5, "maxReplicas": 3}});
    assert_eq!(
        msgs(&s, &bad, None),
        [r#"spec: Invalid value: "object": failed rule: self.minReplicas <= self.maxReplicas"#]
    );
    let good = json!({"spec": {"minReplicas": 1, "maxReplicas": 3}});
    assert!(msgs(&s, &good, None).is_empty());
}

#[test]
fn message_message_expression_and_reason() {
    let s = spec_schema(json!([
        {"rule": "self.minReplicas <= self.maxReplicas", "message": "  min above max "},
        {"rule": "self.name.startsWith('a')", "messageExpression": "'name ' + self.name + ' must start with a'", "reason": "FieldValueForbidden"},
        {"rule": "has(self.tags)", "message": "tags needed", "reason": "FieldValueRequired", "fieldPath": ".tags"},
        {"rule": "false", "reason": "FieldValueDuplicate"},
    ]));
    let obj = json!({"spec": {"minReplicas": 5, "maxReplicas": 3, "name": "bob"}});
    assert_eq!(
        msgs(&s, &obj, None),
        [
            r#"spec: Invalid value: "object": min above max"#,
            "spec: Forbidden: name bob must start with a",
            "spec.tags: Required value: tags needed",
            r#"spec: Duplicate value: "object""#,
        ]
    );
}

#[test]
fn string_and_list_functions() {
    let s = spec_schema(json!([
        {"rule": "self.tags.size() <= 2"},
        {"rule": "self.tags.all(t, t.matches('^[a-z]+$'))"},
        {"rule": "self.tags.exists(t, t == 'x')"},
    ]));
    let ok = json!({"spec": {"tags": ["x", "y"]}});
    assert!(msgs(&s, &ok, None).is_empty(), "{:?}", msgs(&s, &ok, None));
    let bad = json!({"spec": {"tags": ["A", "b", "c"]}});
    assert_eq!(msgs(&s, &bad, None).len(), 3);
}

#[test]
fn rules_on_leaves_items_and_the_root() {
    let s = json!({"type": "object",
    "x-kubernetes-validations": [{"rule": "self.metadata.name.startsWith('ok')"}],
    "properties": {"spec": {"type": "object", "properties": {
        "tags": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self.size() < 3"}]}},
        "count": {"type": "integer", "x-kubernetes-validations": [{"rule": "self >= 0", "message": "must be positive"}]},
    }}}});
    let obj = json!({"metadata": {"name": "bad"}, "spec": {"tags": ["ab", "abc"], "count": -1}});
    let got = msgs(&s, &obj, None);
    assert!(
        got.contains(
            &r#"<nil>: Invalid value: "object": failed rule: self.metadata.name.startsWith('ok')"#
                .to_string()
        ),
        "{got:?}"
    );
    assert!(
        got.contains(
            &r#"spec.tags[1]: Invalid value: "string": failed rule: self.size() < 3"#.to_string()
        ),
        "{got:?}"
    );
    assert!(
        got.contains(&r#"spec.count: Invalid value: "integer": must be positive"#.to_string()),
        "{got:?}"
    );
    assert_eq!(got.len(), 3);
}

#[test]
fn null_and_absent_values_are_not_validated() {
    let s = spec_schema(json!([{"rule": "false"}]));
    assert!(msgs(&s, &json!({}), None).is_empty());
    assert!(msgs(&s, &json!({"spec": null}), None).is_empty());
}

#[test]
fn transition_rules_need_an_old_value() {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "name": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "name is immutable"}]},
    }}}});
    let new = json!({"spec": {"name": "b"}});
    // Create: no old object, the rule is skipped.
    assert!(msgs(&s, &new, None).is_empty());
    // Update without the field before: still no old value to compare.
    assert!(msgs(&s, &new, Some(&json!({"spec": {}}))).is_empty());
    assert_eq!(
        msgs(&s, &new, Some(&json!({"spec": {"name": "a"}}))),
        [r#"spec.name: Invalid value: "string": name is immutable"#]
    );
    assert!(msgs(&s, &new, Some(&json!({"spec": {"name": "b"}}))).is_empty());
}

#[test]
fn optional_old_self_runs_on_create() {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object",
        "properties": {"name": {"type": "string"}},
        "x-kubernetes-validations": [{"rule": "!oldSelf.hasValue() || self.name == oldSelf.value().name", "optionalOldSelf": true, "message": "frozen"}],
    }}});
    let new = json!({"spec": {"name": "b"}});
    assert!(msgs(&s, &new, None).is_empty());
    assert_eq!(
        msgs(&s, &new, Some(&json!({"spec": {"name": "a"}}))),
        [r#"spec: Invalid value: "object": frozen"#]
    );
}

#[test]
fn map_lists_correlate_by_key_and_atomic_lists_do_not() {
    let item = json!({"type": "object", "properties": {"k": {"type": "string"}, "v": {"type": "string"}},
        "x-kubernetes-validations": [{"rule": "self.v == oldSelf.v", "message": "v is immutable"}]});
    let s = |list_type: &str| {
        json!({"type": "object", "properties": {"l": {
        "type": "array", "items": item, "x-kubernetes-list-type": list_type, "x-kubernetes-list-map-keys": ["k"]}}})
    };
    let old = json!({"l": [{"k": "a", "v": "1"}, {"k": "b", "v": "2"}]});
    let new = json!({"l": [{"k": "b", "v": "2"}, {"k": "a", "v": "9"}]});
    assert_eq!(
        msgs(&s("map"), &new, Some(&old)),
        [r#"l[1]: Invalid value: "object": v is immutable"#]
    );
    assert!(msgs(&s("atomic"), &new, Some(&old)).is_empty());
}

#[test]
fn runtime_errors_name_the_rule() {
    // Upstream: "no such key: ... evaluating rule: ..." (a missing optional field).
    let s =
        spec_schema(json!([{"rule": "self.missing > 0"}, {"rule": "self.minReplicas / 0 > 1"}]));
    let got = msgs(&s, &json!({"spec": {"name": "x", "minReplicas": 1}}), None);
    assert_eq!(
        got,
        [
            r#"spec: Invalid value: "object": no such key: missing evaluating rule: self.missing > 0"#,
            r#"spec: Invalid value: "object": division by zero evaluating rule: self.minReplicas / 0 > 1"#,
        ]
    );
}
