//! Authorization end to end over HTTP: 403s worded as upstream's, RBAC bindings taking
//! effect, impersonation, access reviews, the escalation check and NodeRestriction.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

const TOKENS: &str =
    "adm,admin,0,\"system:masters\"\njt,jane,1\nnt,system:node:n1,2,\"system:nodes\"\n";

async fn server() -> (common::TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, TOKENS).unwrap();
    let cfg = common::config().token_auth_file(tokens);
    let s = common::start_with(cfg, Arc::new(refkube_store::MemoryStore::new())).await;
    (s, dir)
}

async fn call(
    s: &common::TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = s.http.request(method, s.at(path)).bearer_auth(token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    s.send(req).await
}

/// Retries until the answer's code is `want` (a new binding reaches the caches).
async fn eventually(
    s: &common::TestServer,
    token: &str,
    path: &str,
    headers: &[(&str, &str)],
    want: u16,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (code, body) = call(s, token, reqwest::Method::GET, path, None, headers).await;
        if code == want || tokio::time::Instant::now() > deadline {
            assert_eq!(code, want, "{body}");
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_user_without_bindings_is_forbidden_until_a_role_binding_grants_it() {
    let (s, _dir) = server().await;
    let (code, body) = call(
        &s,
        "jt",
        reqwest::Method::GET,
        "/api/v1/namespaces/default/pods",
        None,
        &[],
    )
    .await;
    assert_eq!(code, 403);
    assert_eq!(body["reason"], "Forbidden");
    assert_eq!(
        body["message"],
        r#"pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default""#
    );
    assert_eq!(body["details"], json!({"kind": "pods"}));
    let role = json!({"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]});
    let (code, _) = call(
        &s,
        "adm",
        reqwest::Method::POST,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
        Some(role),
        &[],
    )
    .await;
    assert_eq!(code, 201);
    let binding = json!({"metadata": {"name": "jane-reads"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}]});
    let (code, _) = call(
        &s,
        "adm",
        reqwest::Method::POST,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
        Some(binding),
        &[],
    )
    .await;
    assert_eq!(code, 201);
    eventually(&s, "jt", "/api/v1/namespaces/default/pods", &[], 200).await;
    // The admin acts as jane; jane may not act as anyone.
    eventually(
        &s,
        "adm",
        "/api/v1/namespaces/default/pods",
        &[("Impersonate-User", "jane")],
        200,
    )
    .await;
    let body = eventually(
        &s,
        "adm",
        "/api/v1/namespaces/other/pods",
        &[("Impersonate-User", "jane")],
        403,
    )
    .await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(r#"User "jane" cannot list"#),
        "{body}"
    );
    let body = eventually(
        &s,
        "jt",
        "/api/v1/namespaces/default/pods",
        &[("Impersonate-User", "bob")],
        403,
    )
    .await;
    assert_eq!(
        body["message"],
        r#"users "bob" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope"#
    );
}

#[tokio::test]
async fn access_reviews_answer_from_the_rules() {
    let (s, _dir) = server().await;
    let sar = json!({"spec": {"user": "jane", "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": "default"}}});
    let (code, out) = call(
        &s,
        "adm",
        reqwest::Method::POST,
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        Some(sar),
        &[],
    )
    .await;
    assert_eq!(code, 201, "{out}");
    assert_eq!(out["status"]["allowed"], false);
    let ssar = json!({"spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}});
    let (_, out) = call(
        &s,
        "adm",
        reqwest::Method::POST,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        Some(ssar.clone()),
        &[],
    )
    .await;
    assert_eq!(out["status"]["allowed"], true);
    // jane may ask about herself (system:basic-user), and is told no.
    let (code, out) = call(
        &s,
        "jt",
        reqwest::Method::POST,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        Some(ssar),
        &[],
    )
    .await;
    assert_eq!(code, 201, "{out}");
    assert_eq!(out["status"]["allowed"], false);
    let ssrr = json!({"spec": {"namespace": "default"}});
    let (code, out) = call(
        &s,
        "jt",
        reqwest::Method::POST,
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        Some(ssrr),
        &[],
    )
    .await;
    assert_eq!(code, 201, "{out}");
    let rules = out["status"]["resourceRules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["resources"]
                == json!(["selfsubjectaccessreviews", "selfsubjectrulesreviews"])),
        "{out}"
    );
}

/// The review kinds are in discovery as create-only resources, and any other method on
/// them is 405 MethodNotAllowed, as upstream answers.
#[tokio::test]
async fn reviews_are_discovered_as_create_only() {
    let (s, _dir) = server().await;
    for (gv, plurals) in [
        (
            "authorization.k8s.io/v1",
            &[
                "localsubjectaccessreviews",
                "selfsubjectaccessreviews",
                "selfsubjectrulesreviews",
                "subjectaccessreviews",
            ][..],
        ),
        (
            "authentication.k8s.io/v1",
            &["selfsubjectreviews", "tokenreviews"][..],
        ),
    ] {
        let (code, doc) = call(
            &s,
            "adm",
            reqwest::Method::GET,
            &format!("/apis/{gv}"),
            None,
            &[],
        )
        .await;
        assert_eq!(code, 200, "{doc}");
        let mut listed: Vec<&str> = doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["verbs"], json!(["create"]), "{r}");
                r["name"].as_str().unwrap()
            })
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, plurals, "{doc}");
    }
    for path in [
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        "/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews?watch=true",
    ] {
        let (code, out) = call(&s, "adm", reqwest::Method::GET, path, None, &[]).await;
        assert_eq!(code, 405, "GET {path}: {out}");
        assert_eq!(out["reason"], "MethodNotAllowed", "GET {path}: {out}");
    }
    // The create path still answers.
    let (code, out) = call(
        &s,
        "jt",
        reqwest::Method::POST,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        Some(json!({})),
        &[],
    )
    .await;
    assert_eq!(code, 201, "{out}");
    assert_eq!(out["status"]["userInfo"]["username"], "jane");
}

#[tokio::test]
async fn nobody_binds_rights_they_do_not_hold() {
    let (s, _dir) = server().await;
    let role = json!({"metadata": {"name": "binder"}, "rules": [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}]});
    call(
        &s,
        "adm",
        reqwest::Method::POST,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
        Some(role),
        &[],
    )
    .await;
    let binding = json!({"metadata": {"name": "jane-binds"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "binder"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}]});
    call(
        &s,
        "adm",
        reqwest::Method::POST,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
        Some(binding),
        &[],
    )
    .await;
    let admin = json!({"metadata": {"name": "jane-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}]});
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let body = loop {
        let (code, body) = call(
            &s,
            "jt",
            reqwest::Method::POST,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            Some(admin.clone()),
            &[],
        )
        .await;
        assert_eq!(code, 403, "{body}");
        let msg = body["message"].as_str().unwrap().to_string();
        if msg.contains("attempting to grant") || tokio::time::Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        body["message"],
        "rolebindings.rbac.authorization.k8s.io \"jane-admin\" is forbidden: user \"jane\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n\
         {APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}\n{NonResourceURLs:[\"*\"], Verbs:[\"*\"]}"
    );
}

#[tokio::test]
async fn a_node_changes_only_its_own_node() {
    let (s, _dir) = server().await;
    for n in ["n1", "n2"] {
        let (code, _) = call(
            &s,
            "adm",
            reqwest::Method::POST,
            "/api/v1/nodes",
            Some(json!({"metadata": {"name": n}})),
            &[],
        )
        .await;
        assert_eq!(code, 201);
    }
    let patch = |name: &str| {
        s.http
            .patch(s.at(&format!("/api/v1/nodes/{name}")))
            .bearer_auth("nt")
            .header("content-type", "application/merge-patch+json")
            .body(r#"{"metadata":{"labels":{"topology.kubernetes.io/zone":"z"}}}"#)
    };
    let (code, body) = s.send(patch("n1")).await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = s.send(patch("n2")).await;
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        r#"nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2""#
    );
    let (code, body) = call(
        &s,
        "nt",
        reqwest::Method::DELETE,
        "/api/v1/nodes/n2",
        None,
        &[],
    )
    .await;
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        r#"nodes "n2" is forbidden: User "system:node:n1" cannot delete resource "nodes" in API group "" at the cluster scope"#
    );
    let (code, body) = call(
        &s,
        "nt",
        reqwest::Method::GET,
        "/api/v1/namespaces/default/secrets",
        None,
        &[],
    )
    .await;
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        "secrets is forbidden: User \"system:node:n1\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\": No Object name found"
    );
}
