//! Subresources: binding, scale, eviction, pods/log through a fake kubelet, and
//! componentstatuses.

#![allow(clippy::unwrap_used)]

mod common;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Binding, ComponentStatus, Node, Pod};
use kube::api::{Api, EvictParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": "i"}]}})).unwrap()
}

fn binding(pod: &str, node: &str) -> Binding {
    serde_json::from_value(
        json!({"metadata": {"name": pod}, "target": {"kind": "Node", "name": node}}),
    )
    .unwrap()
}

#[tokio::test]
async fn binding_sets_the_node_and_pod_scheduled_once() {
    let s = common::start().await;
    let api: Api<Pod> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &pod("b")).await.unwrap();
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/pods/b/binding",
            serde_json::to_value(binding("b", "n1")).unwrap(),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let p = api.get("b").await.unwrap();
    assert_eq!(p.spec.unwrap().node_name.as_deref(), Some("n1"));
    let cond = p.status.unwrap().conditions.unwrap();
    assert!(
        cond.iter()
            .any(|c| c.type_ == "PodScheduled" && c.status == "True")
    );
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/pods/b/binding",
            serde_json::to_value(binding("b", "n2")).unwrap(),
        )
        .await;
    assert_eq!(code, 409);
    assert_eq!(
        body["message"],
        "Operation cannot be fulfilled on pods/binding \"b\": pod b is already assigned to node \"n1\""
    );
}

#[tokio::test]
async fn scale_reads_and_writes_replicas() {
    let s = common::start().await;
    let api: Api<Deployment> = Api::namespaced(s.client().await, "default");
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "d"}, "spec": {"replicas": 1,
        "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})).unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    let scale = api.get_scale("d").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(1));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=d"));
    api.patch_scale(
        "d",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"replicas": 4}})),
    )
    .await
    .unwrap();
    let after = api.get("d").await.unwrap();
    assert_eq!(after.spec.unwrap().replicas, Some(4));
    assert_eq!(after.metadata.generation, Some(2));
}

#[tokio::test]
async fn eviction_deletes_the_pod() {
    let s = common::start().await;
    let api: Api<Pod> = Api::namespaced(s.client().await, "default");
    api.create(&PostParams::default(), &pod("ev"))
        .await
        .unwrap();
    api.evict("ev", &EvictParams::default()).await.unwrap();
    assert!(api.get_opt("ev").await.unwrap().is_none());
}

/// A kubelet stand-in serving `/containerLogs/...` (echoing what it was asked) and
/// `/pods` over HTTPS with a self-signed certificate, as a kubelet does; its address and
/// the CA that signed its certificate.
async fn fake_kubelet() -> (std::net::SocketAddr, String) {
    use axum::extract::{Path, RawQuery};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let app = axum::Router::new()
        .route(
            "/containerLogs/{ns}/{pod}/{container}",
            axum::routing::get(
                |Path((ns, pod, c)): Path<(String, String, String)>, RawQuery(q): RawQuery| async move {
                    format!(
                        "line one\nlogs of {ns}/{pod}/{c} query={}\n",
                        q.unwrap_or_default()
                    )
                },
            ),
        )
        .route(
            "/pods",
            axum::routing::get(|| async {
                axum::Json(json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}))
            }),
        );
    let tls = refkube_apiserver::tls::self_signed(&["127.0.0.1".parse().unwrap()], &[]).unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let acceptor = tls.acceptor;
    tokio::spawn(async move {
        while let Ok((stream, _)) = l.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, tls.ca_pem)
}

/// Registers node `n1` whose kubelet listens at `kubelet`.
async fn register_node(c: kube::Client, kubelet: std::net::SocketAddr) {
    let node: Node = serde_json::from_value(json!({"metadata": {"name": "n1"}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet.port()}}}}))
    .unwrap();
    Api::<Node>::all(c)
        .create(&PostParams::default(), &node)
        .await
        .unwrap();
}

#[tokio::test]
async fn nodes_proxy_speaks_https_and_checks_the_kubelet_ca_only_when_given() {
    let (kubelet, ca) = fake_kubelet().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("kubelet-ca.pem");
    std::fs::write(&good, &ca).unwrap();
    let other = refkube_apiserver::tls::self_signed(&[], &[])
        .unwrap()
        .ca_pem;
    let bad = dir.path().join("other-ca.pem");
    std::fs::write(&bad, other).unwrap();
    for (ca_file, expected) in [(None, 200), (Some(good), 200), (Some(bad), 503)] {
        let mut cfg = common::config();
        cfg.kubelet_certificate_authority = ca_file.clone();
        let s =
            common::start_with(cfg, std::sync::Arc::new(refkube_store::MemoryStore::new())).await;
        register_node(s.client().await, kubelet).await;
        let (code, body) = s.get("/api/v1/nodes/n1/proxy/pods").await;
        assert_eq!(code, expected, "CA {ca_file:?}: {body}");
        if expected == 200 {
            assert_eq!(body["kind"], "PodList", "{body}");
        }
    }
}

#[tokio::test]
async fn pod_logs_are_proxied_from_the_nodes_kubelet() {
    let (kubelet, _) = fake_kubelet().await;
    let s = common::start().await;
    let c = s.client().await;
    register_node(c.clone(), kubelet).await;
    let pods: Api<Pod> = Api::namespaced(c, "default");
    pods.create(&PostParams::default(), &pod("lp"))
        .await
        .unwrap();
    let kube::Error::Api(e) = pods.logs("lp", &LogParams::default()).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "pod lp does not have a host assigned")
    );
    s.post_json(
        "/api/v1/namespaces/default/pods/lp/binding",
        serde_json::to_value(binding("lp", "n1")).unwrap(),
    )
    .await;
    let logs = pods
        .logs(
            "lp",
            &LogParams {
                tail_lines: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(logs.contains("logs of default/lp/app"), "{logs}");
    assert!(logs.contains("tailLines=5"), "{logs}");
}

#[tokio::test]
async fn component_statuses_report_the_store_and_leader_leases() {
    let s = common::start().await;
    let c = s.client().await;
    let cs: Api<ComponentStatus> = Api::all(c.clone());
    let list = cs.list(&ListParams::default()).await.unwrap();
    let names: Vec<String> = list
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["scheduler", "controller-manager", "etcd-0"]);
    let healthy = |c: &ComponentStatus| c.conditions.as_ref().unwrap()[0].status == "True";
    assert!(healthy(&list.items[2]));
    assert!(!healthy(&list.items[0]));
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "kube-scheduler"},
        "spec": {"holderIdentity": "s1", "leaseDurationSeconds": 15, "renewTime": now}});
    let (code, body) = s
        .post_json(
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
            lease,
        )
        .await;
    assert_eq!(code, 201, "{body}");
    assert!(healthy(&cs.get("scheduler").await.unwrap()));
    let (code, _) = s.post_json("/api/v1/componentstatuses", json!({})).await;
    assert_eq!(code, 405);
}

#[tokio::test]
async fn scale_put_honours_the_resource_version_precondition() {
    let s = common::start().await;
    let api: Api<Deployment> = Api::namespaced(s.client().await, "default");
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "sp"}, "spec": {"replicas": 1,
        "selector": {"matchLabels": {"app": "sp"}},
        "template": {"metadata": {"labels": {"app": "sp"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})).unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    let mut scale = api.get_scale("sp").await.unwrap();
    scale.spec.as_mut().unwrap().replicas = Some(3);
    let put = api
        .replace_scale("sp", &PostParams::default(), &scale)
        .await
        .unwrap();
    assert_eq!(put.spec.unwrap().replicas, Some(3));
    let kube::Error::Api(e) = api
        .replace_scale("sp", &PostParams::default(), &scale)
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(e.code, 409);
}
