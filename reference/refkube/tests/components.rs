//! The components beside the API server: they run, they can be stopped and restarted
//! by name (the embedded target's fault injection), and they act only through the API.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use refkube::components::{Pace, SCHEDULER};
use refkube::{Cluster, ClusterConfig};
use refkube_kubelet::RuntimeKind;

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}]}
    }))
    .unwrap()
}

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

#[tokio::test]
async fn a_stopped_scheduler_leaves_pods_pending_until_it_is_restarted() {
    let c = Cluster::start(
        ClusterConfig::default()
            .nodes(1)
            .runtime(RuntimeKind::Sim)
            .pace(Pace::Fast),
    )
    .await
    .unwrap();
    let client = c.client().await.unwrap();
    let nodes: Api<Node> = Api::all(client.clone());
    within(
        "node-1 to register",
        await_condition(nodes, "node-1", |n: Option<&Node>| n.is_some()),
    )
    .await
    .unwrap();

    c.components().stop(SCHEDULER).await.unwrap();
    assert!(!c.components().is_running(SCHEDULER).await);
    let pods: Api<Pod> = Api::namespaced(client, "default");
    pods.create(&PostParams::default(), &pod("waits"))
        .await
        .unwrap();
    // Nothing else binds pods: after well over the scheduler's fast retry periods it
    // is still unassigned.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let p = pods.get("waits").await.unwrap();
    assert_eq!(
        p.spec.unwrap().node_name,
        None,
        "bound while the scheduler was stopped"
    );

    c.components().restart(SCHEDULER).await.unwrap();
    within(
        "the pod to run",
        await_condition(pods.clone(), "waits", conditions::is_pod_running()),
    )
    .await
    .unwrap();
    let p = pods.get("waits").await.unwrap();
    assert_eq!(p.spec.unwrap().node_name.as_deref(), Some("node-1"));
    c.shutdown().await;
}

#[tokio::test]
async fn unknown_component_names_are_refused_with_the_known_ones_listed() {
    let c = Cluster::start(ClusterConfig::default().control_plane(false))
        .await
        .unwrap();
    let err = c.components().stop("kubelet/node-9").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("no component named \"kubelet/node-9\""),
        "{err}"
    );
    c.shutdown().await;
}
