//! Service accounts end to end over HTTP: the admission plugin's volume on a new pod,
//! TokenRequest (and `kubectl create token`), the tokens authenticating as the account
//! until their pod goes, audience checks, TokenReview, and a server sharing the key.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use serde_json::{Value, json};

const SA_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

async fn setup(s: &common::TestServer) {
    let (code, _) = s
        .post_json("/api/v1/namespaces", json!({"metadata": {"name": "sa"}}))
        .await;
    assert_eq!(code, 201);
    // No controller manager here: the account is created by hand.
    let (code, _) = s
        .post_json(
            "/api/v1/namespaces/sa/serviceaccounts",
            json!({"metadata": {"name": "default"}}),
        )
        .await;
    assert_eq!(code, 201);
    let pod = json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    let (code, body) = s.post_json("/api/v1/namespaces/sa/pods", pod).await;
    assert_eq!(code, 201, "{body}");
}

async fn token(s: &common::TestServer, spec: Value) -> (u16, Value) {
    s.post_json(
        "/api/v1/namespaces/sa/serviceaccounts/default/token",
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}),
    )
    .await
}

/// Who `token` is, by SelfSubjectReview: (status code, username).
async fn whoami(s: &common::TestServer, token: &str) -> (u16, String) {
    let req = s
        .http
        .post(s.at("/apis/authentication.k8s.io/v1/selfsubjectreviews"))
        .bearer_auth(token)
        .json(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}));
    let (code, body) = s.send(req).await;
    let name = body["status"]["userInfo"]["username"]
        .as_str()
        .unwrap_or_default();
    (code, name.to_string())
}

fn pod_ref(uid: &Value) -> Value {
    json!({"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": uid})
}

#[tokio::test]
async fn a_new_pod_gets_the_projected_service_account_volume() {
    let s = common::start().await;
    setup(&s).await;
    let (_, pod) = s.get("/api/v1/namespaces/sa/pods/web").await;
    assert_eq!(pod["spec"]["serviceAccountName"], "default");
    let volume = &pod["spec"]["volumes"][0];
    let name = volume["name"].as_str().unwrap();
    assert!(
        name.starts_with("kube-api-access-") && name.len() == 21,
        "{name}"
    );
    assert_eq!(volume["projected"]["defaultMode"], 420);
    assert_eq!(
        volume["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        3607
    );
    assert_eq!(
        pod["spec"]["containers"][0]["volumeMounts"],
        json!([{"name": name, "readOnly": true, "mountPath": SA_PATH}])
    );
    let opted_out = json!({"metadata": {"name": "bare"}, "spec": {
        "automountServiceAccountToken": false, "containers": [{"name": "c", "image": "busybox"}]}});
    let (_, bare) = s.post_json("/api/v1/namespaces/sa/pods", opted_out).await;
    assert!(bare["spec"].get("volumes").is_none(), "{bare}");
}

#[tokio::test]
async fn a_pod_bound_token_authenticates_as_the_account_until_the_pod_is_gone() {
    let s = common::start().await;
    setup(&s).await;
    let (_, pod) = s.get("/api/v1/namespaces/sa/pods/web").await;
    let uid = pod["metadata"]["uid"].clone();
    let (code, tr) = token(
        &s,
        json!({"expirationSeconds": 3607, "boundObjectRef": pod_ref(&uid)}),
    )
    .await;
    assert_eq!(code, 201, "{tr}");
    assert_eq!(tr["kind"], "TokenRequest");
    assert_eq!(tr["spec"]["expirationSeconds"], 3607);
    assert_eq!(
        tr["spec"]["audiences"],
        json!(["https://kubernetes.default.svc.cluster.local"])
    );
    let jwt = tr["status"]["token"].as_str().unwrap().to_string();
    assert_eq!(
        whoami(&s, &jwt).await,
        (201, "system:serviceaccount:sa:default".to_string())
    );
    // Authenticated as the account, which no binding lets list pods.
    let (code, body) = s
        .send(
            s.http
                .get(s.at("/api/v1/namespaces/sa/pods"))
                .bearer_auth(&jwt),
        )
        .await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(
        body["message"],
        r#"pods is forbidden: User "system:serviceaccount:sa:default" cannot list resource "pods" in API group "" in the namespace "sa""#
    );

    // A TokenReview agrees, with the groups.
    let (code, review) = s
        .post_json(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            json!({"spec": {"token": jwt}}),
        )
        .await;
    assert_eq!(code, 201);
    assert_eq!(review["status"]["authenticated"], true);
    assert_eq!(
        review["status"]["user"]["groups"],
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:sa",
            "system:authenticated"
        ])
    );

    // Once the pod is deleted, its token is worthless.
    let (code, _) = s
        .send(
            s.http
                .delete(s.at("/api/v1/namespaces/sa/pods/web?gracePeriodSeconds=0")),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(whoami(&s, &jwt).await.0, 401);
    let (_, review) = s
        .post_json(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            json!({"spec": {"token": jwt}}),
        )
        .await;
    assert_eq!(review["status"]["authenticated"], false);
    assert_eq!(
        review["status"]["error"],
        "service account token has been invalidated"
    );
}

#[tokio::test]
async fn tokens_for_other_audiences_or_unknown_objects_are_refused() {
    let s = common::start().await;
    setup(&s).await;
    let (code, tr) = token(&s, json!({"audiences": ["vault"]})).await;
    assert_eq!(code, 201);
    let vault = tr["status"]["token"].as_str().unwrap();
    assert_eq!(
        whoami(&s, vault).await.0,
        401,
        "a vault token is not for the API"
    );

    let (code, body) = token(
        &s,
        json!({"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "nope"}}),
    )
    .await;
    assert_eq!(
        (code, body["message"].as_str()),
        (404, Some("pods \"nope\" not found"))
    );
    let (code, body) = token(&s, json!({"boundObjectRef": pod_ref(&json!("stale-uid"))})).await;
    assert_eq!(code, 409, "{body}");
    let (code, body) = token(&s, json!({"expirationSeconds": 60})).await;
    assert_eq!(code, 422, "{body}");
    let (code, _) = s
        .post_json(
            "/api/v1/namespaces/sa/serviceaccounts/ghost/token",
            json!({}),
        )
        .await;
    assert_eq!(code, 404);
    assert_eq!(
        whoami(&s, "not.a.jwt").await.0,
        201,
        "other tokens are not ours to refuse here"
    );
}

#[tokio::test]
async fn api_servers_sharing_the_key_file_accept_each_others_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pem) = refkube_apiserver::serviceaccount::keys::SigningKey::generate().unwrap();
    let key = dir.path().join("sa.key");
    std::fs::write(&key, pem).unwrap();
    let store: Arc<dyn refkube_store::Store> = Arc::new(refkube_store::MemoryStore::new());
    let cfg = || common::config().service_account_signing_key_file(key.clone());
    let a = common::start_with(cfg(), store.clone()).await;
    let b = common::start_with(cfg(), store.clone()).await;
    let stranger = common::start_with(common::config(), store).await;
    setup(&a).await;
    let (_, tr) = token(&a, json!({})).await;
    let jwt = tr["status"]["token"].as_str().unwrap();
    assert_eq!(whoami(&b, jwt).await.0, 201);
    assert_eq!(whoami(&stranger, jwt).await.0, 401);
}

#[tokio::test]
async fn kubectl_create_token_prints_a_token_for_the_account() {
    let s = common::start().await;
    setup(&s).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let url = &s.url;
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {url}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\ncurrent-context: t\nusers:\n- name: t\n  user: {{}}\n"),
    )
    .unwrap();
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--cache-dir", dir.path().join("cache").to_str().unwrap()])
        .args([
            "-n",
            "sa",
            "create",
            "token",
            "default",
            "--bound-object-kind",
            "Pod",
            "--bound-object-name",
            "web",
        ])
        .output()
        .await
        .expect("kubectl runs (is it on PATH?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        whoami(&s, stdout.trim()).await,
        (201, "system:serviceaccount:sa:default".to_string())
    );
}
