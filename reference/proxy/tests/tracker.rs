//! The API-facing half against a fake API server (a tower service answering list and
//! watch requests for Services and EndpointSlices): the tracker's caches, and `run` in
//! userspace mode following watch events into the data path.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{tcp_backend, which_backend};
use http::{Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Channel, Full};
use refkube_proxy::tracker::Tracker;
use refkube_proxy::{IpFamily, ProxyConfig, ProxyMode, ServicePortName, run};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// The fake API: current lists and a watch broadcast per resource.
struct FakeApi {
    services: Mutex<Vec<Value>>,
    slices: Mutex<Vec<Value>>,
    service_events: broadcast::Sender<String>,
    slice_events: broadcast::Sender<String>,
}

impl FakeApi {
    fn new(services: Vec<Value>, slices: Vec<Value>) -> Arc<Self> {
        Arc::new(Self {
            services: Mutex::new(services),
            slices: Mutex::new(slices),
            service_events: broadcast::channel(64).0,
            slice_events: broadcast::channel(64).0,
        })
    }

    fn client(self: &Arc<Self>) -> kube::Client {
        let api = self.clone();
        let svc = tower::service_fn(move |req: Request<kube::client::Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.answer(&req)) }
        });
        kube::Client::new(svc, "default")
    }

    fn answer(&self, req: &Request<kube::client::Body>) -> Response<BoxBody<Bytes, Infallible>> {
        let path = req.uri().path();
        let watch = req.uri().query().unwrap_or("").contains("watch=true");
        let (items, events, kind, api_version) = if path == "/api/v1/services" {
            (&self.services, &self.service_events, "ServiceList", "v1")
        } else if path == "/apis/discovery.k8s.io/v1/endpointslices" {
            (
                &self.slices,
                &self.slice_events,
                "EndpointSliceList",
                "discovery.k8s.io/v1",
            )
        } else {
            let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404});
            return Response::builder()
                .status(404)
                .body(Full::from(body.to_string()).boxed())
                .unwrap();
        };
        if watch {
            let mut rx = events.subscribe();
            let (mut tx, body) = Channel::<Bytes, Infallible>::new(16);
            tokio::spawn(async move {
                while let Ok(line) = rx.recv().await {
                    if tx.send_data(Bytes::from(line)).await.is_err() {
                        break;
                    }
                }
            });
            return Response::new(body.boxed());
        }
        let list = json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": "1"}, "items": *items.lock().unwrap()});
        Response::new(Full::from(list.to_string()).boxed())
    }

    fn push_slice(&self, kind: &str, slice: Value) {
        let _ = self
            .slice_events
            .send(format!("{}\n", json!({"type": kind, "object": slice})));
    }
}

fn service(ip: &str, port: u16, rv: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"namespace": "default", "name": "echo", "resourceVersion": rv},
        "spec": {"clusterIP": ip, "ports": [{"port": port, "protocol": "TCP"}]},
    })
}

fn slice(backends: &[std::net::SocketAddr], rv: &str) -> Value {
    let port = backends.first().map(|b| b.port()).unwrap_or(80);
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"namespace": "default", "name": "echo-abc", "resourceVersion": rv,
                     "labels": {"kubernetes.io/service-name": "echo"}},
        "addressType": "IPv4",
        "ports": [{"name": "", "port": port, "protocol": "TCP"}],
        "endpoints": backends.iter().map(|b| json!({"addresses": [b.ip().to_string()], "conditions": {"ready": true}, "nodeName": "node-a"})).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn the_tracker_lists_then_follows_watch_events() {
    let backend: std::net::SocketAddr = "10.0.1.1:8080".parse().unwrap();
    let api = FakeApi::new(vec![service("172.30.1.1", 80, "1")], vec![]);
    let tracker = Tracker::start(api.client());
    tokio::time::timeout(Duration::from_secs(5), tracker.wait_synced())
        .await
        .expect("synced")
        .unwrap();
    let model = tracker.snapshot("node-a", IpFamily::V4);
    let name = ServicePortName::new("default", "echo", "", refkube_proxy::Protocol::Tcp);
    assert!(model.services[&name].endpoints.is_empty());

    // Give the watch a moment to be established, then send the slice until it lands.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        api.push_slice("ADDED", slice(&[backend], "2"));
        let _ = tokio::time::timeout(Duration::from_millis(200), tracker.changed()).await;
        let m = tracker.snapshot("node-a", IpFamily::V4);
        if m.services[&name].endpoints.len() == 1 {
            assert!(m.services[&name].endpoints[0].is_local);
            assert_eq!(m.services[&name].endpoints[0].addr, backend);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watched slice never reached the cache"
        );
    }
}

#[tokio::test]
async fn run_in_userspace_mode_proxies_what_the_api_says() {
    let (a, b) = (
        tcp_backend("127.0.0.1").await,
        tcp_backend("127.0.0.2").await,
    );
    // Each backend has its own random port; a slice carries the port of its one backend.
    let api = FakeApi::new(
        vec![service("127.77.30.1", 18080, "1")],
        vec![slice(&[a], "1")],
    );
    let config = ProxyConfig::new("node-a")
        .mode(ProxyMode::Userspace)
        .min_sync_period(Duration::from_millis(100))
        .endpoint_dial_timeout(Duration::from_millis(300));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let client = api.client();
    let driver = tokio::spawn(async move {
        run(config, client, async {
            let _ = stop_rx.await;
        })
        .await
    });
    let service = "127.77.30.1:18080".parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while which_backend(service, "127.0.0.1").await != Some(a.to_string()) {
        assert!(
            Instant::now() < deadline,
            "the service never became reachable"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The slice now points at `b`: traffic follows once the event arrives.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        api.push_slice("MODIFIED", slice(&[b], "2"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        if which_backend(service, "127.0.0.1").await == Some(b.to_string()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "traffic never moved to the new endpoint"
        );
    }
    stop_tx.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(2), driver)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn dry_run_render_lists_once_and_renders_the_rules() {
    let backend: std::net::SocketAddr = "10.0.1.1:80".parse().unwrap();
    let api = FakeApi::new(
        vec![service("172.30.1.1", 80, "1")],
        vec![slice(&[backend], "1")],
    );
    let config = ProxyConfig::new("node-a")
        .cluster_cidr("10.0.0.0/8".parse().unwrap())
        .dry_run(true);
    let text = refkube_proxy::dry_run_render(&config, api.client())
        .await
        .unwrap();
    // default/echo, unnamed TCP port: the chain names are upstream's hashes of "default/echotcp".
    let svc = refkube_proxy::iptables::hash::svc_chain("default/echo", "tcp");
    assert!(text.contains(&format!(
        "-A KUBE-SERVICES -m comment --comment \"default/echo cluster IP\" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j {svc}\n"
    )), "{text}");
    assert!(
        text.contains("-j DNAT --to-destination 10.0.1.1:80\n"),
        "{text}"
    );
}
