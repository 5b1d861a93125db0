//! The field and label selectors of an access review's `resourceAttributes`
//! (`AuthorizeWithSelectors`, beta and on since 1.32): validated as upstream's
//! `validateFieldSelectorAttributes` / `validateLabelSelectorAttributes` do, and turned
//! into the authorizer's field requirements as `pkg/registry/authorization/util` does.
//! RBAC ignores selectors; the Node authorizer reads `spec.nodeName=<node>` from them,
//! so a review answers what the same list or watch would get.
//!
//! Entry points: [`validate`], [`field_requirements`].

use refkube_resources::validation::Cause;
use serde_json::Value;

const BASE: &str = "spec.resourceAttributes";

fn text(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

fn requirements(selector: &Value) -> &[Value] {
    selector["requirements"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn values(r: &Value) -> usize {
    r["values"].as_array().map_or(0, Vec::len)
}

fn cause(reason: &'static str, field: String, message: String) -> Cause {
    Cause {
        reason,
        message,
        field,
    }
}

/// What upstream's `ValidateFieldSelectorRequirement` / `ValidateLabelSelectorRequirement`
/// say of one requirement, unknown operators allowed (newer clients may send them).
fn requirement(label: bool, r: &Value, path: &str, out: &mut Vec<Cause>) {
    let key = text(r, "key");
    if !label && key.is_empty() {
        out.push(cause(
            "FieldValueRequired",
            format!("{path}.key"),
            "Required value: must be specified".into(),
        ));
    }
    match r["operator"].as_str().unwrap_or_default() {
        "In" | "NotIn" if values(r) == 0 => out.push(cause(
            "FieldValueRequired",
            format!("{path}.values"),
            "Required value: must be specified when `operator` is 'In' or 'NotIn'".into(),
        )),
        "Exists" | "DoesNotExist" if values(r) > 0 => out.push(cause(
            "FieldValueForbidden",
            format!("{path}.values"),
            "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'".into(),
        )),
        _ => {}
    }
    if label {
        for msg in refkube_resources::names::is_qualified_name(&key) {
            out.push(cause(
                "FieldValueInvalid",
                format!("{path}.key"),
                format!("Invalid value: {key:?}: {msg}"),
            ));
        }
    }
}

/// The 422 causes of `resourceAttributes`' selectors (none when they are fine).
pub fn validate(res: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    for (name, label) in [("fieldSelector", false), ("labelSelector", true)] {
        let selector = &res[name];
        if selector.is_null() {
            continue;
        }
        let path = format!("{BASE}.{name}");
        let raw = text(selector, "rawSelector");
        let reqs = requirements(selector);
        if !raw.is_empty() && !reqs.is_empty() {
            out.push(cause(
                "FieldValueInvalid",
                format!("{path}.rawSelector"),
                format!(
                    "Invalid value: {raw:?}: may not specified at the same time as requirements"
                ),
            ));
        }
        if raw.is_empty() && reqs.is_empty() {
            out.push(cause(
                "FieldValueRequired",
                format!("{path}.requirements"),
                format!(
                    "Required value: when {path} is specified, requirements or rawSelector is required"
                ),
            ));
        }
        for (i, r) in reqs.iter().enumerate() {
            requirement(label, r, &format!("{path}.requirements[{i}]"), &mut out);
        }
    }
    out
}

/// The equality requirements the authorizer sees. A requirement upstream cannot turn
/// into a field selector (several values, `Exists`, an unknown operator) drops all of
/// them, as upstream's conversion error does; `NotIn` becomes `!=`, which grants
/// nothing and so is left out.
pub fn field_requirements(res: &Value) -> Vec<(String, String)> {
    let selector = &res["fieldSelector"];
    let raw = text(selector, "rawSelector");
    if !raw.is_empty() {
        return super::attributes::field_requirements(&raw);
    }
    let mut out = Vec::new();
    for r in requirements(selector) {
        let one = r["values"][0].as_str().unwrap_or_default().to_string();
        match r["operator"].as_str().unwrap_or_default() {
            "In" if values(r) == 1 => out.push((text(r, "key"), one)),
            "NotIn" if values(r) == 1 => {}
            _ => return Vec::new(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_are_validated_as_upstream() {
        let both = json!({"fieldSelector": {"rawSelector": "a=b",
            "requirements": [{"key": "a", "operator": "In", "values": ["b"]}]}});
        let c = validate(&both);
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].field,
            "spec.resourceAttributes.fieldSelector.rawSelector"
        );
        assert_eq!(
            c[0].message,
            "Invalid value: \"a=b\": may not specified at the same time as requirements"
        );
        let empty = json!({"labelSelector": {}});
        assert_eq!(
            validate(&empty)[0].message,
            "Required value: when spec.resourceAttributes.labelSelector is specified, requirements or rawSelector is required"
        );
        let bad = json!({"fieldSelector": {"requirements": [{"key": "", "operator": "In"}]},
            "labelSelector": {"requirements": [{"key": "a b", "operator": "Exists", "values": ["x"]}]}});
        let fields: Vec<String> = validate(&bad).into_iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            [
                "spec.resourceAttributes.fieldSelector.requirements[0].key",
                "spec.resourceAttributes.fieldSelector.requirements[0].values",
                "spec.resourceAttributes.labelSelector.requirements[0].values",
                "spec.resourceAttributes.labelSelector.requirements[0].key",
            ]
        );
        let unknown =
            json!({"labelSelector": {"requirements": [{"key": "a", "operator": "Near"}]}});
        assert!(validate(&unknown).is_empty());
        assert!(validate(&json!({"verb": "list"})).is_empty());
    }

    #[test]
    fn raw_and_structured_field_selectors_give_the_same_requirements() {
        let raw = json!({"fieldSelector": {"rawSelector": "spec.nodeName=n1"}});
        let want = vec![("spec.nodeName".to_string(), "n1".to_string())];
        assert_eq!(field_requirements(&raw), want);
        let reqs = json!({"fieldSelector": {"requirements": [
            {"key": "spec.nodeName", "operator": "In", "values": ["n1"]},
            {"key": "status.phase", "operator": "NotIn", "values": ["Failed"]}]}});
        assert_eq!(field_requirements(&reqs), want);
        let two = json!({"fieldSelector": {"requirements": [
            {"key": "spec.nodeName", "operator": "In", "values": ["n1"]},
            {"key": "x", "operator": "In", "values": ["a", "b"]}]}});
        assert!(field_requirements(&two).is_empty());
    }
}
