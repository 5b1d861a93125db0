//! Client certificate authentication over TLS (`--client-ca-file`): a certificate the
//! cluster CA issued logs in as its CommonName in its Organizations, a foreign or
//! expired one is a 401 unless a bearer token speaks for the request, token clients
//! keep working, and the audit log names the certificate's user.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use serde_json::{Value, json};

const TOKENS: &str = "adm,admin,0,\"system:masters\"\n";
const REVIEWS: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::default();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    Ca {
        cert: p.self_signed(&key).unwrap(),
        key,
    }
}

/// A client certificate and key (one PEM, as reqwest's identity takes it) for
/// CN=`user`, O=`group`, valid between the starts of the years given.
fn client_pem(ca: &Ca, user: &str, group: &str, years: (i32, i32)) -> String {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, user);
    p.distinguished_name.push(DnType::OrganizationName, group);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    p.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    format!("{}{}", cert.pem(), key.serialize_pem())
}

struct Cluster {
    server: refkube_apiserver::ApiServer,
    audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A TLS server with the token file and, when `client_ca` is given, that CA as
/// `--client-ca-file`.
async fn start(client_ca: Option<&Ca>) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, TOKENS).unwrap();
    let audit = dir.path().join("audit.log");
    let mut cfg = common::config()
        .self_signed_tls(true)
        .token_auth_file(tokens)
        .audit_log_path(audit.clone());
    if let Some(ca) = client_ca {
        let path = dir.path().join("client-ca.crt");
        std::fs::write(&path, ca.cert.pem()).unwrap();
        cfg = cfg.client_ca_file(path);
    }
    let server =
        refkube_apiserver::ApiServer::bind(cfg, Arc::new(refkube_store::MemoryStore::new()))
            .await
            .unwrap();
    Cluster {
        server,
        audit,
        _dir: dir,
    }
}

impl Cluster {
    /// An HTTPS client trusting the server, presenting `identity` when given.
    fn client(&self, identity: Option<&str>) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.server.ca_pem().unwrap().as_bytes()).unwrap();
        let mut b = reqwest::Client::builder().add_root_certificate(ca);
        if let Some(pem) = identity {
            b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        b.build().unwrap()
    }

    /// Who the server says the client is: (status, userInfo).
    async fn whoami(&self, client: &reqwest::Client, token: Option<&str>) -> (u16, Value) {
        let url = format!(
            "https://localhost:{}{REVIEWS}",
            self.server.local_addr().port()
        );
        let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
        let mut req = client.post(url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let code = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap();
        (code, v["status"]["userInfo"].clone())
    }
}

#[tokio::test]
async fn an_issued_certificate_logs_in_as_its_common_name_and_organizations() {
    let cluster_ca = ca("cluster-ca");
    let c = start(Some(&cluster_ca)).await;
    let jane = c.client(Some(&client_pem(&cluster_ca, "jane", "devs", (2000, 2100))));
    let (code, who) = c.whoami(&jane, None).await;
    assert_eq!(code, 201, "{who}");
    assert_eq!(who["username"], "jane");
    assert_eq!(who["groups"], json!(["devs", "system:authenticated"]));
    // Upstream asks the certificate first: a wrong token beside it is not looked at.
    let (code, who) = c.whoami(&jane, Some("wrong")).await;
    assert_eq!((code, &who["username"]), (201, &json!("jane")));
    // Token clients keep working beside certificates.
    let (code, who) = c.whoami(&c.client(None), Some("adm")).await;
    assert_eq!((code, &who["username"]), (201, &json!("admin")));
    // The audit log names the certificate's user.
    let mut logged = Vec::new();
    for _ in 0..50 {
        logged = std::fs::read_to_string(&c.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["requestURI"] == REVIEWS)
            .map(|e| e["user"].clone())
            .collect();
        if logged.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        logged[0],
        json!({"username": "jane", "groups": ["devs", "system:authenticated"]})
    );
    c.server.shutdown().await;
}

#[tokio::test]
async fn foreign_and_expired_certificates_are_unauthorized_unless_a_token_speaks() {
    let cluster_ca = ca("cluster-ca");
    let c = start(Some(&cluster_ca)).await;
    let foreign = c.client(Some(&client_pem(
        &ca("other-ca"),
        "jane",
        "devs",
        (2000, 2100),
    )));
    let expired = c.client(Some(&client_pem(&cluster_ca, "jane", "devs", (2000, 2001))));
    for (what, client) in [("foreign", &foreign), ("expired", &expired)] {
        let (code, _) = c.whoami(client, None).await;
        assert_eq!(code, 401, "{what}");
        // As upstream's authenticator union, a valid token still authenticates.
        let (code, who) = c.whoami(client, Some("adm")).await;
        assert_eq!((code, &who["username"]), (201, &json!("admin")), "{what}");
    }
    c.server.shutdown().await;
}

#[tokio::test]
async fn without_a_client_ca_certificates_identify_no_one() {
    let cluster_ca = ca("cluster-ca");
    let c = start(None).await;
    let jane = c.client(Some(&client_pem(&cluster_ca, "jane", "devs", (2000, 2100))));
    let (code, _) = c.whoami(&jane, None).await;
    assert_eq!(code, 401);
    c.server.shutdown().await;
}
