//! CRD-time checks of validation rules (rules that do not compile make the CRD invalid),
//! and what a custom kind built from a CRD enforces: its rules and its field selectors.

use super::tests_validate::{base, created, errors};
use serde_json::{Value, json};

fn with_rules(rules: Value) -> Value {
    let mut crd = created(base());
    crd["spec"]["versions"] = json!([
        {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
            "type": "object", "properties": {"spec": {"type": "object",
                "properties": {"a": {"type": "integer"}},
                "x-kubernetes-validations": rules}}}}}]);
    crd
}

#[test]
fn compiling_rules_pass() {
    let crd = with_rules(json!([
        {"rule": "self.a > 0", "message": "a must be positive", "reason": "FieldValueForbidden"},
        {"rule": "self.a == oldSelf.a", "optionalOldSelf": true, "fieldPath": ".a"},
    ]));
    assert!(errors(&crd).is_empty(), "{:?}", errors(&crd));
}

#[test]
fn a_rule_that_does_not_compile_is_invalid() {
    let crd = with_rules(json!([{"rule": "self.a >"}]));
    let errs = errors(&crd);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with(
            "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:\"self.a >\""
        ),
        "{errs:?}"
    );
    assert!(
        errs[0].contains(": compilation failed: ERROR: <input>:1:"),
        "{errs:?}"
    );
}

#[test]
fn reason_field_path_and_optional_old_self_are_checked() {
    let crd = with_rules(json!([
        {"rule": "self.a > 0", "reason": "Bogus"},
        {"rule": "self.a > 0", "optionalOldSelf": true},
        {"rule": "", "messageExpression": "'x' +"},
    ]));
    let p = "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations";
    assert_eq!(
        errors(&crd)[..3],
        [
            format!(
                "{p}[0].reason: Unsupported value: \"Bogus\": supported values: \"FieldValueDuplicate\", \"FieldValueForbidden\", \"FieldValueInvalid\", \"FieldValueRequired\""
            ),
            format!(
                "{p}[1].optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule"
            ),
            format!("{p}[2].rule: Required value: rule is not specified"),
        ]
    );
}

fn served(mut crd: Value, scope: &str) -> &'static crate::ResourceInfo {
    crd["spec"]["scope"] = json!(scope);
    crd["status"]["acceptedNames"] = json!({"plural": "foos", "kind": "Foo"});
    crate::custom::served_kinds(&crd)[0]
}

#[test]
fn custom_kinds_enforce_rules_on_create_and_transitions_on_update() {
    let mut crd = with_rules(json!([{"rule": "self.a > 0", "message": "a must be positive"}]));
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["a"]
        ["x-kubernetes-validations"] =
        json!([{"rule": "self >= oldSelf", "message": "a may not shrink"}]);
    let info = served(crd, "Namespaced");
    let msg = |causes: Vec<crate::validation::Cause>| -> Vec<String> {
        causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    };
    let obj = |a: i64| json!({"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": "x"}, "spec": {"a": a}});
    assert_eq!(
        msg(info.strategy.validate_create(&obj(0))),
        ["spec: Invalid value: \"object\": a must be positive"]
    );
    assert!(info.strategy.validate_create(&obj(3)).is_empty());
    assert_eq!(
        msg(info.strategy.validate_update(&obj(3), &obj(2))),
        ["spec.a: Invalid value: \"integer\": a may not shrink"]
    );
    // A type error blocks the rules, as upstream says.
    let bad = json!({"metadata": {"name": "x"}, "spec": {"a": "zero"}});
    let got = msg(info.strategy.validate_create(&bad));
    assert_eq!(
        got.last().map(String::as_str),
        Some(
            "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
        ),
        "{got:?}"
    );
}

#[test]
fn selectable_fields_become_field_labels() {
    let mut crd = with_rules(json!([]));
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["color"] =
        json!({"type": "string"});
    crd["spec"]["versions"][0]["selectableFields"] =
        json!([{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.a"}]);
    let info = served(crd.clone(), "Namespaced");
    let sel =
        crate::fields::FieldSelector::parse(info, "spec.color=red,spec.a=3").expect("selector");
    let obj = json!({"metadata": {"name": "x"}, "spec": {"color": "red", "a": 3}});
    assert!(sel.matches(info, &obj));
    let other = json!({"metadata": {"name": "x"}, "spec": {"color": "blue", "a": 3}});
    assert!(!sel.matches(info, &other));
    let err = crate::fields::FieldSelector::parse(info, "spec.size=1").expect_err("undeclared");
    assert_eq!(err.0, "field label not supported: spec.size");
    assert!(crate::fields::FieldSelector::parse(info, "metadata.namespace=a").is_ok());
    let cluster = served(crd, "Cluster");
    let err =
        crate::fields::FieldSelector::parse(cluster, "metadata.namespace=a").expect_err("cluster");
    assert_eq!(err.0, "field label not supported: metadata.namespace");
}
