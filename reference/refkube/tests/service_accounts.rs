//! A pod talks to the API server as in-cluster clients do: in a `netns` cluster serving
//! TLS, a container finds its bound token, the CA and its namespace at
//! `/var/run/secrets/kubernetes.io/serviceaccount` and `KUBERNETES_SERVICE_HOST` in its
//! environment, and the real `kubectl` in it (no kubeconfig: `rest.InClusterConfig`)
//! reaches the API through the `kubernetes` Service as `system:serviceaccount:...`; the
//! token read from the file authenticates the same way from outside
//! (SelfSubjectReview), and a second pod sees a token of its own.
//!
//! Needs root and `kubectl`. The test moves its thread into a fresh network namespace
//! first, so nothing it creates touches the machine's network. Without root: fails when
//! `CI` is set, otherwise prints SKIPPED and passes.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, LogParams, PostParams};
use refkube::components::Pace;
use refkube::{Cluster, ClusterConfig};
use refkube_kubelet::PodNetwork;
use refkube_kubelet::network;

fn isolated() -> bool {
    if let Err(e) = network::preflight() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the in-cluster client test cannot run in CI: {e}"
        );
        eprintln!("SKIPPED: the in-cluster client test: {e}");
        return false;
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
    let up = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap();
    assert!(up.success());
    true
}

const SA: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A busybox pod printing what an in-cluster client reads, then what kubectl says.
fn pod(name: &str, kubectl: &str) -> Pod {
    let script = format!(
        "echo TOKEN=$(cat {SA}/token); echo NAMESPACE=$(cat {SA}/namespace); \
         grep -q 'BEGIN CERTIFICATE' {SA}/ca.crt && echo CA=yes; \
         echo HOST=$KUBERNETES_SERVICE_HOST PORT=$KUBERNETES_SERVICE_PORT; \
         for i in 1 2 3 4 5 6 7 8 9 10; do \
           who=$({kubectl} auth whoami -o jsonpath='{{.status.userInfo.username}}' 2>&1) && break; sleep 1; \
         done; echo WHO=$who; sleep 3600"
    );
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox",
            "command": ["sh", "-c", script]}]},
    }))
    .unwrap()
}

/// The `KEY=value` lines the pod printed, once it printed `WHO=`.
async fn printed(pods: &Api<Pod>, name: &str) -> std::collections::BTreeMap<String, String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let log = pods
            .logs(name, &LogParams::default())
            .await
            .unwrap_or_default();
        if log.contains("WHO=") {
            return log
                .lines()
                .flat_map(|l| l.split(' '))
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pod {name} printed no WHO= line: {log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_pod_reaches_the_api_server_as_its_service_account() {
    if !isolated() {
        return;
    }
    let kubectl = which("kubectl").expect("kubectl must be installed for this test");
    let cluster = Cluster::start(
        ClusterConfig::default()
            .listen("0.0.0.0:0".parse().unwrap())
            .nodes(1)
            .pod_network(PodNetwork::Netns)
            .pace(Pace::Fast),
    )
    .await
    .unwrap();
    let client = cluster.client().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let kubernetes: Service = Api::namespaced(client.clone(), "default")
        .get("kubernetes")
        .await
        .unwrap();
    let service_ip = kubernetes.spec.unwrap().cluster_ip.unwrap();
    // The default account and the CA ConfigMap come from the controller manager.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let made = pods
            .create(&PostParams::default(), &pod("first", &kubectl))
            .await;
        match made {
            Ok(_) => break,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pods.create(&PostParams::default(), &pod("second", &kubectl))
        .await
        .unwrap();

    let first = printed(&pods, "first").await;
    assert_eq!(first["NAMESPACE"], "default");
    assert_eq!(first["CA"], "yes");
    assert_eq!(first["HOST"], service_ip);
    assert_eq!(first["PORT"], "443");
    assert_eq!(
        first["WHO"], "system:serviceaccount:default:default",
        "kubectl in the pod with the in-cluster configuration"
    );

    // The token the pod read authenticates from outside too.
    let token = first["TOKEN"].clone();
    let mut config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&cluster.kubeconfig_yaml()).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    config.auth_info.token = Some(token.clone().into());
    let as_pod = kube::Client::try_from(config).unwrap();
    let review: SelfSubjectReview = Api::all(as_pod)
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .unwrap();
    let user = review.status.unwrap().user_info.unwrap();
    assert_eq!(
        user.username.as_deref(),
        Some("system:serviceaccount:default:default")
    );
    assert_eq!(
        user.groups.unwrap(),
        [
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ]
    );

    let second = printed(&pods, "second").await;
    assert_eq!(second["WHO"], "system:serviceaccount:default:default");
    assert_ne!(second["TOKEN"], token, "each pod has a token of its own");
    cluster.shutdown().await;
}

fn which(program: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}
