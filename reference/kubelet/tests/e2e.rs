//! The kubelet against a live API server (any: refkube's or a real kube-apiserver with
//! no other kubelet using these node names). Opt-in: set
//! `REFKUBE_KUBELET_E2E_KUBECONFIG` and run `cargo test -p refkube-kubelet --test e2e --
//! --ignored`. Pods are bound by setting `spec.nodeName`, so no scheduler is needed.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use refkube_kubelet::{Kubelet, KubeletConfig, Timings};

async fn client() -> kube::Client {
    let path = std::env::var("REFKUBE_KUBELET_E2E_KUBECONFIG")
        .expect("REFKUBE_KUBELET_E2E_KUBECONFIG must name a kubeconfig for this test");
    let kubeconfig = kube::config::Kubeconfig::read_from(path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn timings() -> Timings {
    Timings {
        node_status_update: Duration::from_millis(500),
        node_lease_renew: Duration::from_millis(500),
        static_pod_poll: Duration::from_millis(200),
        pod_resync: Duration::from_millis(200),
        spec_second: Duration::from_millis(100),
        ..Timings::default()
    }
}

fn condition(pod: &Pod, type_: &str) -> Option<String> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
}

/// What a controller manager keeps in `default` and the kubelet needs to fill a pod's
/// service account volume: the `default` account and the `kube-root-ca.crt` ConfigMap
/// (made here when the API server runs alone).
async fn in_cluster_objects(client: &kube::Client) {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let account: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "default"}})).unwrap();
    let _ = accounts.create(&PostParams::default(), &account).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let ca: ConfigMap = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": ""}}),
    )
    .unwrap();
    let _ = config_maps.create(&PostParams::default(), &ca).await;
}

#[tokio::test]
#[ignore = "needs a live API server: set REFKUBE_KUBELET_E2E_KUBECONFIG"]
async fn the_kubelet_registers_runs_pods_serves_logs_and_mirrors_static_pods() {
    let client = client().await;
    let static_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        static_dir.path().join("static-web.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: static-web}\nspec:\n  containers:\n  - {name: pause, image: registry.k8s.io/pause:3.10}\n",
    )
    .unwrap();
    let config = KubeletConfig::for_node(91)
        .node_name("e2e-node-91")
        .static_pod_dir(static_dir.path())
        .agnhost_command(vec![PathBuf::from(env!("CARGO_BIN_EXE_agnhost"))])
        .timings(timings());
    let kubelet = Kubelet::start(config, client.clone()).await.unwrap();

    // Registration: Ready with the upstream reason, kubelet port published, Lease held.
    let nodes: Api<Node> = Api::all(client.clone());
    let node = eventually("node Ready", || async {
        let n = nodes.get_opt("e2e-node-91").await.ok()??;
        let ready = n
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == "Ready")?
            .clone();
        (ready.status == "True").then_some(n)
    })
    .await;
    let status = node.status.unwrap();
    assert_eq!(
        status
            .daemon_endpoints
            .unwrap()
            .kubelet_endpoint
            .unwrap()
            .port,
        i32::from(kubelet.addr().port())
    );
    assert_eq!(
        node.spec.unwrap().pod_cidr.as_deref(),
        Some("127.100.91.0/24")
    );
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let lease = eventually("lease", || async {
        leases.get_opt("e2e-node-91").await.ok()?
    })
    .await;
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some("e2e-node-91")
    );

    // A pod bound to the node runs as a real process on its pod IP.
    in_cluster_objects(&client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_yaml::from_str(
        r#"
metadata: {name: e2e-web}
spec:
  nodeName: e2e-node-91
  terminationGracePeriodSeconds: 5
  containers:
  - name: netexec
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [netexec, --http-port=8080, --udp-port=-1]
    readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
"#,
    )
    .unwrap();
    let _ = pods
        .delete(
            "e2e-web",
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..DeleteParams::default()
            },
        )
        .await;
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let running = eventually("pod Ready", || async {
        let p = pods.get("e2e-web").await.ok()?;
        (condition(&p, "Ready").as_deref() == Some("True")).then_some(p)
    })
    .await;
    let status = running.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(status.host_ip.as_deref(), Some("127.0.1.91"));
    let ip = status.pod_ip.unwrap();
    let hostname = reqwest::get(format!("http://{ip}:8080/hostname"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(hostname, "e2e-web");

    // Events and logs through the API server.
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let reasons = eventually("Started event", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        let reasons: Vec<String> = list
            .items
            .into_iter()
            .filter(|e| e.involved_object.name.as_deref() == Some("e2e-web"))
            .filter_map(|e| e.reason)
            .collect();
        reasons.iter().any(|r| r == "Started").then_some(reasons)
    })
    .await;
    assert!(
        reasons.iter().any(|r| r == "Created") && reasons.iter().any(|r| r == "Pulled"),
        "{reasons:?}"
    );
    let logs = pods
        .logs(
            "e2e-web",
            &LogParams {
                container: Some("netexec".into()),
                ..LogParams::default()
            },
        )
        .await
        .unwrap();
    assert!(logs.contains("Started HTTP server on port 8080"), "{logs}");

    // Graceful delete: the kubelet stops the container and removes the object.
    pods.delete("e2e-web", &DeleteParams::default())
        .await
        .unwrap();
    eventually("pod gone", || async {
        pods.get_opt("e2e-web").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(
        reqwest::get(format!("http://{ip}:8080/hostname"))
            .await
            .is_err()
    );

    // The static pod's mirror: published, and recreated when deleted.
    let mirror = eventually("mirror pod", || async {
        pods.get_opt("static-web-e2e-node-91").await.ok()?
    })
    .await;
    let annotations = mirror.metadata.annotations.clone().unwrap();
    assert_eq!(
        annotations
            .get("kubernetes.io/config.source")
            .map(String::as_str),
        Some("file")
    );
    assert_eq!(
        annotations.get("kubernetes.io/config.mirror"),
        annotations.get("kubernetes.io/config.hash")
    );
    assert_eq!(mirror.metadata.owner_references.unwrap()[0].kind, "Node");
    let first_uid = mirror.metadata.uid.clone().unwrap();
    eventually("mirror status Running", || async {
        let p = pods.get("static-web-e2e-node-91").await.ok()?;
        (p.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;
    pods.delete("static-web-e2e-node-91", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "mirror recreated, with the running static pod's status",
        || async {
            let p = pods.get_opt("static-web-e2e-node-91").await.ok()??;
            let fresh = p.metadata.uid.as_deref() != Some(&first_uid)
                && p.metadata.deletion_timestamp.is_none();
            (fresh && p.status?.phase.as_deref() == Some("Running")).then_some(())
        },
    )
    .await;

    // A pod bound past the scheduler that does not fit is rejected by admission.
    let big: Pod = serde_yaml::from_str(
        "metadata: {name: e2e-big}\nspec:\n  nodeName: e2e-node-91\n  containers:\n  - {name: c, image: busybox, resources: {requests: {cpu: '100'}}}\n",
    )
    .unwrap();
    pods.create(&PostParams::default(), &big).await.unwrap();
    let rejected = eventually("pod rejected", || async {
        let s = pods.get("e2e-big").await.ok()?.status?;
        (s.phase.as_deref() == Some("Failed")).then_some(s)
    })
    .await;
    assert_eq!(rejected.reason.as_deref(), Some("OutOfcpu"));
    assert_eq!(
        rejected.message.as_deref(),
        Some(
            "Pod was rejected: Node didn't have enough resource: cpu, requested: 100000, used: 0, capacity: 4000"
        )
    );
    pods.delete("e2e-big", &DeleteParams::default())
        .await
        .unwrap();
    eventually("rejected pod gone", || async {
        pods.get_opt("e2e-big").await.ok()?.is_none().then_some(())
    })
    .await;

    // A finished pod is not run again by a restarted kubelet, and deleting it completes.
    let done: Pod = serde_yaml::from_str(
        "metadata: {name: e2e-done}\nspec:\n  nodeName: e2e-node-91\n  restartPolicy: Never\n  containers:\n  - {name: c, image: busybox, command: [echo, done]}\n",
    )
    .unwrap();
    pods.create(&PostParams::default(), &done).await.unwrap();
    eventually("pod Succeeded", || async {
        let p = pods.get("e2e-done").await.ok()?;
        (p.status?.phase.as_deref() == Some("Succeeded")).then_some(())
    })
    .await;
    kubelet.shutdown().await;
    let config = KubeletConfig::for_node(91)
        .node_name("e2e-node-91")
        .static_pod_dir(static_dir.path())
        .agnhost_command(vec![PathBuf::from(env!("CARGO_BIN_EXE_agnhost"))])
        .timings(timings());
    let kubelet = Kubelet::start(config, client.clone()).await.unwrap();
    eventually("static pod running again after the restart", || async {
        let p = pods.get("static-web-e2e-node-91").await.ok()?;
        let c = p.status?.container_statuses?.into_iter().next()?;
        c.state?.running.map(|_| ())
    })
    .await;
    let after = pods.get("e2e-done").await.unwrap().status.unwrap();
    assert_eq!(after.phase.as_deref(), Some("Succeeded"));
    assert_eq!(after.container_statuses.unwrap()[0].restart_count, 0);
    pods.delete("e2e-done", &DeleteParams::default())
        .await
        .unwrap();
    eventually("finished pod gone", || async {
        pods.get_opt("e2e-done").await.ok()?.is_none().then_some(())
    })
    .await;

    // Removing the manifest stops the static pod and removes its mirror.
    std::fs::remove_file(static_dir.path().join("static-web.yaml")).unwrap();
    eventually("mirror pod removed", || async {
        pods.get_opt("static-web-e2e-node-91")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;

    // A deleted Node object is registered again.
    let old_uid = nodes.get("e2e-node-91").await.unwrap().metadata.uid;
    nodes
        .delete("e2e-node-91", &DeleteParams::default())
        .await
        .unwrap();
    eventually("node registered again", || async {
        let n = nodes.get_opt("e2e-node-91").await.ok()??;
        (n.metadata.uid != old_uid).then_some(())
    })
    .await;

    kubelet.shutdown().await;
    let _ = nodes.delete("e2e-node-91", &DeleteParams::default()).await;
}
