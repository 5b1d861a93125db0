//! The `rbac.authorization.k8s.io/v1` API end to end: discovery, the bootstrap policy
//! and its reconciliation when an API server starts over an existing store, the fixed
//! roleRef of bindings, and the tables `kubectl get` prints.

#![allow(clippy::unwrap_used)]

mod common;

use serde_json::{Value, json};

const G: &str = "/apis/rbac.authorization.k8s.io/v1";

#[tokio::test]
async fn discovery_lists_the_four_kinds_with_their_scope() {
    let s = common::start().await;
    let (code, doc) = s.get(G).await;
    assert_eq!(code, 200);
    let found: Vec<(String, bool)> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["namespaced"] == true,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("clusterrolebindings".to_string(), false),
            ("clusterroles".to_string(), false),
            ("rolebindings".to_string(), true),
            ("roles".to_string(), true),
        ]
    );
}

async fn cluster_role(s: &common::TestServer, name: &str) -> Value {
    let (code, role) = s.get(&format!("{G}/clusterroles/{name}")).await;
    assert_eq!(code, 200, "{name}: {role}");
    role
}

async fn put(s: &common::TestServer, path: &str, body: &Value) -> (u16, Value) {
    s.send(s.http.put(s.at(path)).json(body)).await
}

#[tokio::test]
async fn a_restart_restores_bootstrap_rules_and_keeps_what_users_added() {
    let s = common::start().await;
    let mut proxier = cluster_role(&s, "system:node-proxier").await;
    assert_eq!(
        proxier["metadata"]["labels"]["kubernetes.io/bootstrapping"],
        "rbac-defaults"
    );
    let user_rule = json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]});
    proxier["rules"] = json!([user_rule]);
    let (code, body) = put(
        &s,
        &format!("{G}/clusterroles/system:node-proxier"),
        &proxier,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    // A user turned reconciliation off for this one: it must stay as they left it.
    let mut dns = cluster_role(&s, "system:kube-dns").await;
    dns["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"] = json!("false");
    dns["rules"] = json!([]);
    let (code, body) = put(&s, &format!("{G}/clusterroles/system:kube-dns"), &dns).await;
    assert_eq!(code, 200, "{body}");

    // A second API server over the same store reconciles as it starts.
    let again = common::start_with(common::config(), s.store.clone()).await;
    let rules = cluster_role(&again, "system:node-proxier").await["rules"].clone();
    let rules = rules.as_array().unwrap();
    assert_eq!(rules[0], user_rule, "the user's rule is kept, first");
    assert_eq!(
        rules.len(),
        5,
        "the four bootstrap rules are back: {rules:?}"
    );
    // Go writes an empty rules list as null, as after protobuf storage.
    assert_eq!(
        cluster_role(&again, "system:kube-dns").await["rules"],
        Value::Null
    );
}

#[tokio::test]
async fn a_bindings_role_ref_cannot_change() {
    let s = common::start().await;
    let path = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings";
    let (code, created) = s
        .post_json(
            path,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "read-pods"},
                "roleRef": {"kind": "Role", "name": "pod-reader"},
                "subjects": [{"kind": "User", "name": "jane"}]}),
        )
        .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(
        created["subjects"][0]["apiGroup"],
        "rbac.authorization.k8s.io"
    );
    let mut changed = created.clone();
    changed["roleRef"]["name"] = json!("view");
    changed["roleRef"]["kind"] = json!("ClusterRole");
    let (code, status) = put(&s, &format!("{path}/read-pods"), &changed).await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "RoleBinding.rbac.authorization.k8s.io \"read-pods\" is invalid: roleRef: Invalid value: \
         rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"ClusterRole\", Name:\"view\"}: \
         cannot change roleRef"
    );
    assert_eq!(status["details"]["causes"][0]["field"], "roleRef");
}

#[tokio::test]
async fn bindings_print_role_and_subjects_for_kubectl() {
    let s = common::start().await;
    let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (code, t) = s
        .send(
            s.http
                .get(s.at(&format!("{G}/clusterrolebindings/system:node-proxier")))
                .header("Accept", table),
        )
        .await;
    assert_eq!(code, 200, "{t}");
    let cells = &t["rows"][0]["cells"];
    assert_eq!(cells[0], "system:node-proxier");
    assert_eq!(cells[1], "ClusterRole/system:node-proxier");
    assert_eq!(cells[3], "system:kube-proxy");
    assert_eq!(t["columnDefinitions"][3]["priority"], 1);
}
