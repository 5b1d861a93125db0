//! The in-process cluster the harness embeds: starts, serves a kube client and a
//! kubeconfig, and with a non-loopback listen address turns on TLS and a token.

#![allow(clippy::unwrap_used)]

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use refkube::{Cluster, ClusterConfig};

async fn namespaces(c: &Cluster) -> Vec<String> {
    let api: Api<Namespace> = Api::all(c.client().await.unwrap());
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| n.metadata.name.unwrap())
        .collect()
}

#[tokio::test]
async fn a_default_cluster_serves_a_client_and_a_kubeconfig() {
    let c = Cluster::start(ClusterConfig::default()).await.unwrap();
    assert!(c.api_url().starts_with("http://127.0.0.1:"));
    assert!(namespaces(&c).await.contains(&"kube-system".to_string()));
    let kc = c.kubeconfig_yaml();
    assert!(
        kc.contains("current-context: refkube") && kc.contains(&c.api_url()),
        "{kc}"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn beyond_loopback_the_cluster_uses_tls_and_a_generated_token() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ClusterConfig::default()
        .listen("0.0.0.0:0".parse().unwrap())
        .state_dir(dir.path().to_path_buf())
        .audit(true);
    let c = Cluster::start(cfg).await.unwrap();
    assert!(c.api_url().starts_with("https://"), "{}", c.api_url());
    let kc = c.kubeconfig_yaml();
    assert!(
        kc.contains("certificate-authority-data") && kc.contains("token:"),
        "{kc}"
    );
    assert!(namespaces(&c).await.contains(&"default".to_string()));
    let anonymous = reqwest_like_get(&c).await;
    assert_eq!(anonymous, 401);
    c.shutdown().await;
    assert!(dir.path().join("audit.log").exists());
}

/// A request without the token, trusting the cluster's CA, must be refused.
async fn reqwest_like_get(c: &Cluster) -> u16 {
    let mut kc = kube::config::Kubeconfig::from_yaml(&c.kubeconfig_yaml()).unwrap();
    for u in &mut kc.auth_infos {
        if let Some(a) = u.auth_info.as_mut() {
            a.token = None;
        }
    }
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(cfg).unwrap();
    let api: Api<Namespace> = Api::all(client);
    match api.list(&ListParams::default()).await {
        Err(kube::Error::Api(e)) => e.code,
        other => panic!("expected 401, got {other:?}"),
    }
}
