//! Table tests of the RBAC validation against upstream's field paths and messages.

use serde_json::json;

use crate::registry::by_kind;
use crate::validation::{invalid_message, validate_create, validate_update};

const G: &str = "rbac.authorization.k8s.io";

fn errors(kind: &str, obj: serde_json::Value) -> Vec<String> {
    let info = by_kind(G, "v1", kind).unwrap();
    validate_create(info, &obj)
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

fn role(rules: serde_json::Value) -> serde_json::Value {
    json!({"metadata": {"name": "r", "namespace": "ns"}, "rules": rules})
}

#[test]
fn rule_errors_match_upstream() {
    let cases = [
        (
            json!([{"apiGroups": [""], "resources": ["pods"]}]),
            vec!["rules[0].verbs: Required value: verbs must contain at least one value"],
        ),
        (
            json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]),
            vec![
                "rules[0].nonResourceURLs: Invalid value: []string{\"/healthz\"}: namespaced rules cannot apply to non-resource URLs",
            ],
        ),
        (
            json!([{"verbs": ["get"]}]),
            vec![
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[0].resources: Required value: resource rules must supply at least one resource",
            ],
        ),
        (
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods", "secrets"], "resourceNames": ["a"]}]),
            vec![
                "rules[0].resourceNames: Required value: resource names cannot apply to multiple resources",
            ],
        ),
        (
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]),
            vec![],
        ),
    ];
    for (rules, want) in cases {
        assert_eq!(errors("Role", role(rules.clone())), want, "{rules}");
    }
}

#[test]
fn cluster_roles_may_name_urls_but_not_mix_them_with_resources() {
    let ok = json!({"metadata": {"name": "system:x"}, "rules": [{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*"]}]});
    assert!(errors("ClusterRole", ok).is_empty());
    let mixed = json!({"metadata": {"name": "m"}, "rules": [{"verbs": ["get"], "resources": ["pods"], "nonResourceURLs": ["/api"]}]});
    assert_eq!(
        errors("ClusterRole", mixed),
        [
            "rules[0].nonResourceURLs: Invalid value: []string{\"/api\"}: rules cannot apply to both regular resources and non-resource URLs"
        ]
    );
    let empty_aggregation = json!({"metadata": {"name": "a"}, "aggregationRule": {}});
    assert_eq!(
        errors("ClusterRole", empty_aggregation),
        [
            "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"
        ]
    );
}

#[test]
fn names_are_path_segments() {
    let named = |n: &str| json!({"metadata": {"name": n}, "rules": []});
    assert!(errors("ClusterRole", named("system:Node-Proxier")).is_empty());
    assert_eq!(
        errors("ClusterRole", named("..")),
        ["metadata.name: Invalid value: \"..\": may not be '..'"]
    );
    assert_eq!(
        errors("ClusterRole", named("a/b%c")),
        [
            "metadata.name: Invalid value: \"a/b%c\": may not contain '/'",
            "metadata.name: Invalid value: \"a/b%c\": may not contain '%'"
        ]
    );
}

fn binding(role_ref: serde_json::Value, subjects: serde_json::Value) -> serde_json::Value {
    json!({"metadata": {"name": "b", "namespace": "ns"}, "roleRef": role_ref, "subjects": subjects})
}

#[test]
fn role_refs_and_subjects_are_checked_as_upstream() {
    let good_ref = json!({"apiGroup": G, "kind": "Role", "name": "r"});
    assert!(
        errors(
            "RoleBinding",
            binding(
                good_ref.clone(),
                json!([
                    {"kind": "User", "apiGroup": G, "name": "jane"},
                    {"kind": "Group", "apiGroup": G, "name": "devs"},
                    {"kind": "ServiceAccount", "name": "default", "namespace": "ns"}
                ])
            )
        )
        .is_empty()
    );
    assert_eq!(
        errors(
            "RoleBinding",
            binding(
                json!({"apiGroup": "", "kind": "Pod", "name": ""}),
                json!([])
            )
        ),
        [
            "roleRef.apiGroup: Unsupported value: \"\": supported values: \"rbac.authorization.k8s.io\"",
            "roleRef.kind: Unsupported value: \"Pod\": supported values: \"Role\", \"ClusterRole\"",
            "roleRef.name: Required value",
        ]
    );
    assert_eq!(
        errors(
            "RoleBinding",
            binding(
                good_ref.clone(),
                json!([
                    {"kind": "User", "name": "jane"},
                    {"kind": "ServiceAccount", "apiGroup": G, "name": "Bad_Name"},
                    {"kind": "Robot", "name": "r2"}
                ])
            )
        ),
        [
            "subjects[0].apiGroup: Unsupported value: \"\": supported values: \"rbac.authorization.k8s.io\"",
            "subjects[1].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "subjects[1].apiGroup: Unsupported value: \"rbac.authorization.k8s.io\": supported values: \"\"",
            "subjects[2].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
        ]
    );
}

#[test]
fn cluster_role_bindings_need_cluster_roles_and_service_account_namespaces() {
    let crb = json!({"metadata": {"name": "b"},
        "roleRef": {"apiGroup": G, "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "default"}]});
    assert_eq!(
        errors("ClusterRoleBinding", crb),
        [
            "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
            "subjects[0].namespace: Required value",
        ]
    );
}

#[test]
fn the_role_ref_cannot_change() {
    let info = by_kind(G, "v1", "RoleBinding").unwrap();
    let old = binding(
        json!({"apiGroup": G, "kind": "Role", "name": "a"}),
        json!([]),
    );
    let new = binding(
        json!({"apiGroup": G, "kind": "Role", "name": "b"}),
        json!([]),
    );
    let causes = validate_update(info, &old, &new);
    assert_eq!(
        invalid_message(info, "b", &causes),
        "RoleBinding.rbac.authorization.k8s.io \"b\" is invalid: roleRef: Invalid value: \
         rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"b\"}: cannot change roleRef"
    );
    assert!(validate_update(info, &old, &old).is_empty());
}
