//! Authentication (token file, 401), the audit log, TLS, and refusing to listen beyond
//! loopback without authentication.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

#[tokio::test]
async fn tokens_authenticate_and_unknown_ones_get_401() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "secret,alice,1,\"devs\"\n").unwrap();
    let audit = dir.path().join("audit.log");
    // Authentication alone is under test: every authenticated user may read.
    let cfg = common::config()
        .token_auth_file(tokens)
        .authorization_modes(vec![refkube_apiserver::authz::Mode::AlwaysAllow])
        .audit_log_path(audit.clone());
    let s = common::start_with(cfg, std::sync::Arc::new(refkube_store::MemoryStore::new())).await;
    let (code, body) = s.get("/api/v1/namespaces").await;
    assert_eq!(code, 401);
    assert_eq!(body["reason"], "Unauthorized");
    let (code, _) = s
        .send(s.http.get(s.at("/api/v1/namespaces")).bearer_auth("wrong"))
        .await;
    assert_eq!(code, 401);
    let (code, _) = s
        .send(
            s.http
                .get(s.at("/api/v1/namespaces/default"))
                .bearer_auth("secret")
                .header("user-agent", "tester/1.0"),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = s.get("/healthz").await;
    assert_eq!(code, 200, "health is public");
    // The audit writer is asynchronous: poll for the line.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let line = loop {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.contains("tester/1.0")) {
            break l.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no audit line in {text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let ev: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ev["user"]["username"], "alice");
    assert_eq!(ev["verb"], "get");
    assert_eq!(ev["objectRef"]["resource"], "namespaces");
    assert_eq!(ev["objectRef"]["name"], "default");
    assert_eq!(ev["responseStatus"]["code"], 200);
    assert_eq!(ev["apiVersion"], "audit.k8s.io/v1");
    assert_eq!(ev["sourceIPs"][0], "127.0.0.1");
}

#[tokio::test]
async fn listening_beyond_loopback_without_tokens_is_refused() {
    let cfg = common::config().listen("0.0.0.0:0".parse().unwrap());
    let err = refkube_apiserver::ApiServer::bind(
        cfg,
        std::sync::Arc::new(refkube_store::MemoryStore::new()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, refkube_apiserver::ServerError::AuthRequired(_)),
        "{err}"
    );
}

#[tokio::test]
async fn self_signed_tls_serves_https_trusted_by_its_ca() {
    let cfg = common::config().self_signed_tls(true);
    let server = refkube_apiserver::ApiServer::bind(
        cfg,
        std::sync::Arc::new(refkube_store::MemoryStore::new()),
    )
    .await
    .unwrap();
    assert!(server.url().starts_with("https://"));
    let ca = reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/version", server.local_addr().port());
    let v: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["major"], "1");
    server.shutdown().await;
}

#[tokio::test]
async fn a_shut_down_server_frees_its_port_for_a_restart() {
    let s = common::start().await;
    let addr = s.server.local_addr();
    s.server.shutdown().await;
    let cfg = common::config().listen(addr);
    let again = refkube_apiserver::ApiServer::bind(cfg, s.store.clone())
        .await
        .unwrap();
    let (code, _) = common::TestServer {
        url: again.url(),
        server: again,
        store: s.store,
        http: reqwest::Client::new(),
    }
    .get("/healthz")
    .await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn on_plain_loopback_a_tokenless_request_may_act_as_admin_while_tokens_still_identify() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "sched,system:kube-scheduler,s\n").unwrap();
    let mut cfg = common::config().token_auth_file(tokens);
    cfg.anonymous_loopback_admin = true;
    let s = common::start_with(cfg, std::sync::Arc::new(refkube_store::MemoryStore::new())).await;
    let (code, _) = s.get("/api/v1/namespaces").await;
    assert_eq!(code, 200, "kubectl sends no token over plain HTTP");
    let (code, _) = s
        .send(s.http.get(s.at("/api/v1/namespaces")).bearer_auth("wrong"))
        .await;
    assert_eq!(code, 401, "a wrong token is never promoted");
    let (code, who) = s
        .send(
            s.http
                .post(s.at("/apis/authentication.k8s.io/v1/selfsubjectreviews"))
                .bearer_auth("sched")
                .json(&serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})),
        )
        .await;
    assert_eq!(code, 201, "{who}");
    assert_eq!(
        who["status"]["userInfo"]["username"],
        "system:kube-scheduler"
    );
}
