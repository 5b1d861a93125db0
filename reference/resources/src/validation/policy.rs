//! PodDisruptionBudget validation (upstream `pkg/apis/policy/validation`): minAvailable
//! and maxUnavailable exclusive, each a non-negative int or a percent up to 100%, the
//! selector, the eviction policy, and non-negative status counts.

use super::{Errs, child, meta, str_at};
use crate::names::is_qualified_name;
use serde_json::{Value, json};

const POLICIES: &[&str] = &["AlwaysAllow", "IfHealthyBudget"];

pub fn pod_disruption_budget(obj: &Value, errs: &mut Errs) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let set = |k: &str| spec.get(k).filter(|v| !v.is_null());
    if set("minAvailable").is_some() && set("maxUnavailable").is_some() {
        // Go prints the whole spec struct with its pointers; the reference elides it as
        // it does other struct values.
        errs.push_raw(
            "FieldValueInvalid",
            "spec",
            "Invalid value: policy.PodDisruptionBudgetSpec{...}: minAvailable and maxUnavailable cannot be both set".into(),
        );
    }
    for k in ["minAvailable", "maxUnavailable"] {
        if let Some(v) = set(k) {
            positive_int_or_percent(v, &child("spec", k), errs);
        }
    }
    if let Some(sel) = set("selector") {
        label_selector(sel, "spec.selector", errs);
    }
    if let Some(p) = set("unhealthyPodEvictionPolicy")
        && !p.as_str().is_some_and(|p| POLICIES.contains(&p))
    {
        errs.not_supported("spec.unhealthyPodEvictionPolicy", p, POLICIES);
    }
    for f in [
        "disruptionsAllowed",
        "currentHealthy",
        "desiredHealthy",
        "expectedPods",
    ] {
        errs.non_negative(obj, &format!("/status/{f}"), &child("status", f));
    }
}

/// `ValidatePositiveIntOrPercent` and `IsNotMoreThan100Percent`.
fn positive_int_or_percent(v: &Value, path: &str, errs: &mut Errs) {
    match v {
        Value::Number(n) => {
            if n.as_i64().is_none_or(|n| n < 0) {
                errs.invalid(path, v, "must be greater than or equal to 0");
            }
        }
        Value::String(s) => {
            let digits = s.strip_suffix('%').unwrap_or_default();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                errs.invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
            } else if digits.parse::<u64>().is_ok_and(|p| p > 100) {
                errs.invalid(path, v, "must not be greater than 100%");
            }
        }
        _ => errs.invalid(path, v, "must be an integer or percentage (e.g '5%')"),
    }
}

/// `ValidateLabelSelector`: valid matchLabels, and each expression's key, operator and
/// values agreeing.
pub(crate) fn label_selector(sel: &Value, path: &str, errs: &mut Errs) {
    meta::labels(sel.get("matchLabels"), &child(path, "matchLabels"), errs);
    let exprs = sel.get("matchExpressions").and_then(Value::as_array);
    for (i, e) in exprs.into_iter().flatten().enumerate() {
        let at = format!("{path}.matchExpressions[{i}]");
        let values = e
            .get("values")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        match str_at(e, "/operator") {
            "In" | "NotIn" if values == 0 => errs.required(
                &child(&at, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            ),
            "Exists" | "DoesNotExist" if values > 0 => errs.forbidden(
                &child(&at, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            op => errs.invalid(
                &child(&at, "operator"),
                &json!(op),
                "not a valid selector operator",
            ),
        }
        let key = str_at(e, "/key");
        for msg in is_qualified_name(key) {
            errs.invalid(&child(&at, "key"), &json!(key), &msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: Value) -> Vec<String> {
        let mut errs = Errs::default();
        pod_disruption_budget(&json!({ "spec": spec }), &mut errs);
        errs.0
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn min_available_and_max_unavailable_are_exclusive() {
        let got = check(json!({"minAvailable": 1, "maxUnavailable": 1}));
        assert_eq!(got.len(), 1);
        assert!(got[0].ends_with("minAvailable and maxUnavailable cannot be both set"));
        assert!(check(json!({"minAvailable": 1, "selector": {}})).is_empty());
    }

    #[test]
    fn int_or_percent_values_follow_upstream() {
        assert!(check(json!({"minAvailable": "50%"})).is_empty());
        assert_eq!(
            check(json!({"minAvailable": -1})),
            ["spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"]
        );
        assert_eq!(
            check(json!({"maxUnavailable": "101%"})),
            ["spec.maxUnavailable: Invalid value: \"101%\": must not be greater than 100%"]
        );
        assert!(check(json!({"maxUnavailable": "ten"}))[0].contains("a valid percent string"));
    }

    #[test]
    fn selectors_and_policies_are_checked() {
        let got =
            check(json!({"selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}));
        assert_eq!(
            got,
            [
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
            ]
        );
        let got = check(json!({"unhealthyPodEvictionPolicy": "Never"}));
        assert_eq!(
            got,
            [
                "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\""
            ]
        );
    }
}
