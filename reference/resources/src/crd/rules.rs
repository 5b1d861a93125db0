//! The CRD-time checks of validation rules (`x-kubernetes-validations`) in a schema:
//! every `rule` and `messageExpression` must compile, `reason` must be one of upstream's
//! four, `fieldPath` must parse, and `optionalOldSelf` needs a transition rule, as
//! upstream's `ValidateCustomResourceDefinitionOpenAPISchema` reports them.

use cel::Program;
use serde_json::{Value, json};

use crate::structural::cel::{normalized_field_path, uses_old_self};
use crate::validation::Errs;

const REASONS: &[&str] = &[
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

/// Walks `schema` (reported under `path`, e.g. `spec.validation.openAPIV3Schema`).
pub(super) fn schema_rules(schema: &Value, path: &str, errs: &mut Errs) {
    let Some(m) = schema.as_object() else {
        return;
    };
    if let Some(rules) = m.get("x-kubernetes-validations").and_then(Value::as_array) {
        for (i, rule) in rules.iter().enumerate() {
            one(rule, &format!("{path}.x-kubernetes-validations[{i}]"), errs);
        }
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            schema_rules(p, &format!("{path}.properties[{k}]"), errs);
        }
    }
    if let Some(items) = m.get("items") {
        schema_rules(items, &format!("{path}.items"), errs);
    }
    if let Some(ap) = m.get("additionalProperties") {
        schema_rules(ap, &format!("{path}.additionalProperties"), errs);
    }
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// Go's `%#v` of the internal `ValidationRule` a compile error names as its value
/// (pointer fields print as nil or as an address, which no client can match).
fn go_rule(rule: &Value) -> String {
    let ptr = |k: &str, ty: &str| match rule.get(k) {
        None | Some(Value::Null) => format!("({ty})(nil)"),
        Some(_) => format!("({ty})(0xc000000000)"),
    };
    format!(
        "apiextensions.ValidationRule{{Rule:{:?}, Message:{:?}, MessageExpression:{:?}, Reason:{}, FieldPath:{:?}, OptionalOldSelf:{}}}",
        str_of(rule, "rule"),
        str_of(rule, "message"),
        str_of(rule, "messageExpression"),
        ptr("reason", "*apiextensions.FieldValueErrorReason"),
        str_of(rule, "fieldPath"),
        ptr("optionalOldSelf", "*bool"),
    )
}

fn one(rule: &Value, path: &str, errs: &mut Errs) {
    let src = str_of(rule, "rule");
    let rule_path = format!("{path}.rule");
    let mut transition = false;
    if src.trim().is_empty() {
        errs.required(&rule_path, "rule is not specified");
    } else {
        match Program::compile(src) {
            Ok(p) => transition = uses_old_self(&p),
            Err(e) => errs.push_raw(
                "FieldValueInvalid",
                &rule_path,
                format!("Invalid value: {}: compilation failed: {e}", go_rule(rule)),
            ),
        }
    }
    let message = str_of(rule, "message");
    if !message.is_empty() && message.trim().is_empty() {
        errs.invalid(
            &format!("{path}.message"),
            &json!(message),
            "message must be non-empty if specified",
        );
    } else if message.contains('\n') {
        errs.invalid(
            &format!("{path}.message"),
            &json!(message),
            "message must not contain line breaks",
        );
    }
    let expr = str_of(rule, "messageExpression");
    if rule.get("messageExpression").is_some() && expr.trim().is_empty() {
        errs.required(
            &format!("{path}.messageExpression"),
            "messageExpression must be non-empty if specified",
        );
    } else if !expr.trim().is_empty()
        && let Err(e) = Program::compile(expr)
    {
        errs.invalid(
            &format!("{path}.messageExpression"),
            &json!(expr),
            &format!("messageExpression compilation failed: {e}"),
        );
    }
    if let Some(reason) = rule.get("reason").and_then(Value::as_str)
        && !REASONS.contains(&reason)
    {
        errs.not_supported(&format!("{path}.reason"), &json!(reason), REASONS);
    }
    let fp = str_of(rule, "fieldPath");
    if !fp.is_empty() && normalized_field_path(fp).is_none() {
        errs.invalid(
            &format!("{path}.fieldPath"),
            &json!(fp),
            "fieldPath must be a valid path",
        );
    }
    if rule.get("optionalOldSelf") == Some(&json!(true)) && !transition && !src.trim().is_empty() {
        errs.invalid(
            &format!("{path}.optionalOldSelf"),
            &json!(true),
            "may not be set if oldSelf is not used in rule",
        );
    }
}
