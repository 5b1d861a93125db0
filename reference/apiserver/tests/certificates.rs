//! CertificateSigningRequests over HTTP: the requestor recorded from the token, the
//! `/approval` and `/status` subresources each changing only their part, and the
//! approval admission's `approve` check on the signer.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

const TOKENS: &str = "adm,admin,0,\"system:masters\"\njt,jane,1,\"dev\"\n";
const CSRS: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
const SIGNER: &str = "kubernetes.io/kube-apiserver-client";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn request_pem() -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "jane");
    let key = rcgen::KeyPair::generate().unwrap();
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn certificate_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["jane".to_string()]).unwrap();
    params.self_signed(&key).unwrap().pem()
}

async fn call(
    s: &common::TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s.http.request(method, s.at(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    s.send(req).await
}

/// Lets jane create and read requests and write `/approval`, but not approve for any
/// signer.
async fn grant_jane(s: &common::TestServer) {
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "csr-user"},
        "rules": [{"apiGroups": ["certificates.k8s.io"], "verbs": ["create", "get", "update"],
                   "resources": ["certificatesigningrequests",
                                 "certificatesigningrequests/approval"]}]});
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "csr-user"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "csr-user"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}]});
    let rbac = "/apis/rbac.authorization.k8s.io/v1";
    let (c, b) = call(
        s,
        "adm",
        Method::POST,
        &format!("{rbac}/clusterroles"),
        Some(role),
    )
    .await;
    assert_eq!(c, 201, "{b}");
    let path = format!("{rbac}/clusterrolebindings");
    let (c, b) = call(s, "adm", Method::POST, &path, Some(binding)).await;
    assert_eq!(c, 201, "{b}");
}

#[tokio::test]
async fn create_approve_and_issue() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, TOKENS).unwrap();
    let cfg = common::config().token_auth_file(tokens);
    let s = common::start_with(cfg, Arc::new(refkube_store::MemoryStore::new())).await;
    grant_jane(&s).await;

    let csr = json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": "jane"},
        "spec": {"request": b64(&request_pem()), "signerName": SIGNER, "usages": ["client auth"],
                 "username": "forged", "groups": ["system:masters"]},
        "status": {"conditions": [{"type": "Approved", "status": "True"}]}});
    // The new binding reaches the authorizer's caches shortly.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let created = loop {
        let (code, body) = call(&s, "jt", Method::POST, CSRS, Some(csr.clone())).await;
        if code != 403 || tokio::time::Instant::now() > deadline {
            assert_eq!(code, 201, "{body}");
            break body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(created["spec"]["username"], "jane");
    assert_eq!(created["spec"]["uid"], "1");
    assert_eq!(
        created["spec"]["groups"],
        json!(["dev", "system:authenticated"])
    );
    assert_eq!(created["status"], json!({}));

    // /status may not approve: that is /approval's, with its permission check.
    let mut sneaky = created.clone();
    sneaky["status"]["conditions"] = json!([{"type": "Approved", "status": "True"}]);
    let status = format!("{CSRS}/jane/status");
    let (code, body) = call(&s, "adm", Method::PUT, &status, Some(sneaky)).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        body["details"]["causes"][0]["message"],
        "Forbidden: updates may not add a condition of type \"Approved\""
    );

    let mut approving = created.clone();
    approving["status"]["conditions"] = json!([{"type": "Approved", "status": "True",
        "reason": "KubectlApprove", "message": "ok"}]);
    let approval = format!("{CSRS}/jane/approval");
    let (code, body) = call(&s, "jt", Method::PUT, &approval, Some(approving.clone())).await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(
        body["message"],
        format!(
            "certificatesigningrequests.certificates.k8s.io \"jane\" is forbidden: \
             user not permitted to approve requests with signerName \"{SIGNER}\""
        )
    );

    approving["status"]["certificate"] = json!(b64("ignored on /approval"));
    let (code, approved) = call(&s, "adm", Method::PUT, &approval, Some(approving)).await;
    assert_eq!(code, 200, "{approved}");
    assert_eq!(
        approved["status"]["conditions"][0]["reason"],
        "KubectlApprove"
    );
    assert!(approved["status"].get("certificate").is_none());

    // The main resource changes neither spec nor status.
    let mut edit = approved.clone();
    edit["spec"]["signerName"] = json!("example.com/other");
    edit["status"] = json!({});
    let (code, same) = call(&s, "adm", Method::PUT, &format!("{CSRS}/jane"), Some(edit)).await;
    assert_eq!(code, 200, "{same}");
    assert_eq!(same["spec"]["signerName"], SIGNER);
    assert_eq!(same["status"]["conditions"][0]["type"], "Approved");

    // /status sets the certificate; the approval it sends back is the stored one.
    let mut issuing = same.clone();
    issuing["status"]["certificate"] = json!(b64(&certificate_pem()));
    let (code, issued) = call(&s, "adm", Method::PUT, &status, Some(issuing)).await;
    assert_eq!(code, 200, "{issued}");
    assert_eq!(issued["status"]["conditions"][0]["type"], "Approved");
    assert!(issued["status"]["certificate"].as_str().is_some());

    // Removing the approval is refused with upstream's message.
    let mut unapprove = issued.clone();
    unapprove["status"]["conditions"] = json!([]);
    let (code, body) = call(&s, "adm", Method::PUT, &approval, Some(unapprove)).await;
    assert_eq!(code, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains(
            "status.conditions: Forbidden: updates may not remove a condition of type \"Approved\""
        ),
        "{body}"
    );

    let (_, disc) = call(&s, "adm", Method::GET, "/apis/certificates.k8s.io/v1", None).await;
    let names: Vec<&str> = disc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "certificatesigningrequests",
            "certificatesigningrequests/approval",
            "certificatesigningrequests/status"
        ]
    );
}
