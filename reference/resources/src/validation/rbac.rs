//! `pkg/apis/rbac/validation`: Role and ClusterRole rules, the aggregation rule, and
//! the roleRef and subjects of RoleBindings and ClusterRoleBindings.

use serde_json::{Value, json};

use super::{Errs, arr_at, child, meta, str_at};
use crate::names::is_dns1123_subdomain;

pub const GROUP: &str = "rbac.authorization.k8s.io";

/// `path.IsValidPathSegmentName`: RBAC names only have to be usable in a URL path, so
/// `system:node` and upper case are fine.
pub fn path_segment_name(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|bad| name.contains(**bad))
        .map(|bad| format!("may not contain '{bad}'"))
        .collect()
}

/// `ValidateRole` / `ValidateClusterRole`.
pub fn role(obj: &Value, namespaced: bool, errs: &mut Errs) {
    for (i, rule) in arr_at(obj, "/rules").iter().enumerate() {
        policy_rule(rule, namespaced, &format!("rules[{i}]"), errs);
    }
    if !namespaced {
        aggregation_rule(obj, errs);
    }
}

fn strings(v: &Value, key: &str) -> Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn policy_rule(rule: &Value, namespaced: bool, path: &str, errs: &mut Errs) {
    let len = |key: &str| strings(rule, key).len();
    if len("verbs") == 0 {
        errs.required(
            &child(path, "verbs"),
            "verbs must contain at least one value",
        );
    }
    let urls = Value::Array(strings(rule, "nonResourceURLs"));
    if len("nonResourceURLs") > 0 {
        let at = child(path, "nonResourceURLs");
        if namespaced {
            errs.invalid(
                &at,
                &urls,
                "namespaced rules cannot apply to non-resource URLs",
            );
        }
        if len("apiGroups") > 0 || len("resources") > 0 || len("resourceNames") > 0 {
            errs.invalid(
                &at,
                &urls,
                "rules cannot apply to both regular resources and non-resource URLs",
            );
        }
        return;
    }
    if len("apiGroups") == 0 {
        errs.required(
            &child(path, "apiGroups"),
            "resource rules must supply at least one api group",
        );
    }
    if len("resources") == 0 {
        errs.required(
            &child(path, "resources"),
            "resource rules must supply at least one resource",
        );
    }
    if len("resourceNames") > 0 && len("resources") > 1 {
        // Upstream reports this as a Required error, odd as it reads.
        errs.required(
            &child(path, "resourceNames"),
            "resource names cannot apply to multiple resources",
        );
    }
}

fn aggregation_rule(obj: &Value, errs: &mut Errs) {
    let Some(rule) = obj.get("aggregationRule").filter(|r| !r.is_null()) else {
        return;
    };
    let path = "aggregationRule.clusterRoleSelectors";
    let selectors = arr_at(rule, "/clusterRoleSelectors");
    if selectors.is_empty() {
        errs.required(
            path,
            "at least one clusterRoleSelector required if aggregationRule is non-nil",
        );
    }
    for (i, sel) in selectors.iter().enumerate() {
        let at = format!("{path}[{i}]");
        meta::labels(sel.get("matchLabels"), &child(&at, "matchLabels"), errs);
        for (j, e) in arr_at(sel, "/matchExpressions").iter().enumerate() {
            let op = str_at(e, "/operator");
            if !matches!(op, "In" | "NotIn" | "Exists" | "DoesNotExist") {
                errs.invalid(
                    &format!("{at}.matchExpressions[{j}].operator"),
                    &json!(op),
                    "not a valid selector operator",
                );
            }
        }
    }
}

/// `ValidateRoleBinding` / `ValidateClusterRoleBinding`.
pub fn binding(obj: &Value, namespaced: bool, errs: &mut Errs) {
    let api_group = str_at(obj, "/roleRef/apiGroup");
    if api_group != GROUP {
        errs.not_supported("roleRef.apiGroup", &json!(api_group), &[GROUP]);
    }
    let kind = str_at(obj, "/roleRef/kind");
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&kind) {
        errs.not_supported("roleRef.kind", &json!(kind), kinds);
    }
    let name = str_at(obj, "/roleRef/name");
    if name.is_empty() {
        errs.required("roleRef.name", "");
    }
    for msg in path_segment_name(name)
        .into_iter()
        .filter(|_| !name.is_empty())
    {
        errs.invalid("roleRef.name", &json!(name), &msg);
    }
    for (i, s) in arr_at(obj, "/subjects").iter().enumerate() {
        subject(s, namespaced, &format!("subjects[{i}]"), errs);
    }
}

fn subject(s: &Value, namespaced: bool, path: &str, errs: &mut Errs) {
    let name = str_at(s, "/name");
    let api_group = str_at(s, "/apiGroup");
    if name.is_empty() {
        errs.required(&child(path, "name"), "");
    }
    match str_at(s, "/kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                for msg in is_dns1123_subdomain(name) {
                    errs.invalid(&child(path, "name"), &json!(name), &msg);
                }
            }
            if !api_group.is_empty() {
                errs.not_supported(&child(path, "apiGroup"), &json!(api_group), &[""]);
            }
            if !namespaced && str_at(s, "/namespace").is_empty() {
                errs.required(&child(path, "namespace"), "");
            }
        }
        kind @ ("User" | "Group") => {
            if name.is_empty() {
                let what = if kind == "User" { "user" } else { "group" };
                errs.invalid(
                    &child(path, "name"),
                    &json!(name),
                    &format!("{what} name cannot be empty"),
                );
            }
            if api_group != GROUP {
                errs.not_supported(&child(path, "apiGroup"), &json!(api_group), &[GROUP]);
            }
        }
        other => errs.not_supported(
            &child(path, "kind"),
            &json!(other),
            &["ServiceAccount", "User", "Group"],
        ),
    }
}

/// `ValidateRoleBindingUpdate`: the roleRef is fixed for the binding's life, since
/// changing it would silently change what every subject may do.
pub fn binding_update(old: &Value, new: &Value, errs: &mut Errs) {
    let field = |v: &Value, k: &str| str_at(v, &format!("/roleRef/{k}")).to_string();
    let changed = ["apiGroup", "kind", "name"]
        .iter()
        .any(|k| field(old, k) != field(new, k));
    if changed {
        // Go prints the struct with `%#v`.
        let shown = format!(
            "rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}",
            field(new, "apiGroup"),
            field(new, "kind"),
            field(new, "name")
        );
        errs.push_raw(
            "FieldValueInvalid",
            "roleRef",
            format!("Invalid value: {shown}: cannot change roleRef"),
        );
    }
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
