//! A whole kubelet with no reachable API server: static pods still run (real processes
//! on their pod IP), their logs are served on the kubelet port, and removing the
//! manifest stops them.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use refkube_kubelet::{Kubelet, KubeletConfig, Timings};

const MANIFEST: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: netexec
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [netexec, --http-port=8080, --udp-port=-1]
"#;

async fn get(url: &str) -> Option<String> {
    // The kubelet's certificate is self-signed, as upstream's without --tls-cert-file.
    let resp = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .ok()?
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    resp.text().await.ok()
}

/// Polls `f` until it returns `Some`, or panics after a deadline.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_static_pod_runs_without_the_api_server_and_stops_when_its_file_goes() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("web.yaml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let config = KubeletConfig::for_node(77)
        .static_pod_dir(dir.path())
        .agnhost_command(vec![PathBuf::from(env!("CARGO_BIN_EXE_agnhost"))])
        .timings(Timings {
            static_pod_poll: Duration::from_millis(100),
            pod_resync: Duration::from_millis(100),
            ..Timings::default()
        });
    // Nothing listens on port 1: every API call fails, as with an API server that is down.
    let client =
        kube::Client::try_from(kube::Config::new("http://127.0.0.1:1".parse().unwrap())).unwrap();
    let kubelet = Kubelet::start(config, client).await.unwrap();
    assert_eq!(kubelet.addr().ip().to_string(), "127.0.1.77");

    let hostname = eventually("the static pod to serve", || {
        get("http://127.100.77.2:8080/hostname")
    })
    .await;
    assert_eq!(hostname, "web-node-77");

    let logs_url = format!(
        "https://{}/containerLogs/default/web-node-77/netexec",
        kubelet.addr()
    );
    let logs = eventually("logs", || async {
        get(&logs_url).await.filter(|l| !l.is_empty())
    })
    .await;
    assert!(logs.contains("Started HTTP server on port 8080"), "{logs}");

    std::fs::remove_file(&manifest).unwrap();
    eventually("the static pod to stop", || async {
        get("http://127.100.77.2:8080/hostname")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    kubelet.shutdown().await;
}
