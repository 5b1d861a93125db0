//! pods/proxy and services/proxy end to end: a small HTTP server on a 127.0.0.x address
//! stands in for the pod, and requests reach it through the API server. The pods run on
//! a Node whose pod CIDR is loopback, as with refkube's `loopback` pod network; that is
//! what lets the proxy connect to loopback at all.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use serde_json::{Value, json};

/// Answers every request with what it received, as JSON with its own content type;
/// POSTs answer 201 so the status is seen to pass through.
async fn echo(
    method: Method,
    uri: Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let code = if method == Method::POST {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let seen = json!({
        "method": method.as_str(), "path": uri.path(), "query": q,
        "body": String::from_utf8_lossy(&body),
        "authorization": headers.get("authorization").is_some(),
        "x-test": headers.get("x-test").and_then(|v| v.to_str().ok()),
    });
    (
        code,
        [("content-type", "application/x-echo+json")],
        seen.to_string(),
    )
}

/// Starts the stand-in pod on `ip` and returns its address.
async fn backend(ip: &str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app = Router::new().fallback(any(echo));
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A port on `ip` where nothing listens.
async fn closed_port(ip: &str) -> u16 {
    let l = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    l.local_addr().unwrap().port()
}

/// The Node the test pods run on: its pod CIDR is loopback (`127.0.0.0/24`).
const NODE: &str = "loopback-node";

async fn make_node(s: &common::TestServer) {
    let (code, body) = s
        .post_json(
            "/api/v1/nodes",
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE},
                   "spec": {"podCIDR": "127.0.0.0/24", "podCIDRs": ["127.0.0.0/24"]}}),
        )
        .await;
    assert!(code == 201 || code == 409, "{body}");
}

async fn make_pod(s: &common::TestServer, name: &str, ip: Option<&str>, port: Option<u16>) {
    make_pod_on(s, name, Some(NODE), ip, port).await;
}

async fn make_pod_on(
    s: &common::TestServer,
    name: &str,
    node: Option<&str>,
    ip: Option<&str>,
    port: Option<u16>,
) {
    let mut c = json!({"name": "web", "image": "agnhost"});
    if let Some(p) = port {
        c["ports"] = json!([{"containerPort": p, "name": "http"}]);
    }
    let mut spec = json!({"containers": [c]});
    if let Some(n) = node {
        make_node(s).await;
        spec["nodeName"] = json!(n);
    }
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    if let Some(ip) = ip {
        let patch = json!({"status": {"podIP": ip, "podIPs": [{"ip": ip}]}});
        let req = s
            .http
            .patch(s.at(&format!("/api/v1/namespaces/default/pods/{name}/status")))
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string());
        let (code, body) = s.send(req).await;
        assert_eq!(code, 200, "{body}");
    }
}

#[tokio::test]
async fn a_get_reaches_the_pod_with_its_path_and_query_and_the_answer_comes_back() {
    let s = common::start().await;
    let addr = backend("127.0.0.61").await;
    make_pod(&s, "web", Some("127.0.0.61"), None).await;
    let resp = s
        .http
        .get(s.at(&format!(
            "/api/v1/namespaces/default/pods/web:{}/proxy/dial?request=hostname&tries=2",
            addr.port()
        )))
        .header("x-test", "kept")
        .bearer_auth("not-for-the-pod")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/x-echo+json",
        "the backend's content type is passed through"
    );
    let seen: Value = resp.json().await.unwrap();
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["path"], "/dial");
    assert_eq!(seen["query"], "request=hostname&tries=2");
    assert_eq!(seen["x-test"], "kept");
    assert_eq!(
        seen["authorization"], false,
        "credentials stay at the API server"
    );
}

#[tokio::test]
async fn a_post_body_is_forwarded_and_the_port_defaults_to_the_first_container_port() {
    let s = common::start().await;
    let addr = backend("127.0.0.62").await;
    make_pod(&s, "web", Some("127.0.0.62"), Some(addr.port())).await;
    let req = s
        .http
        .post(s.at("/api/v1/namespaces/default/pods/http:web:/proxy"))
        .body("hello pod");
    let (code, seen) = s.send(req).await;
    assert_eq!(code, 201, "{seen}");
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/");
    assert_eq!(seen["body"], "hello pod");
}

#[tokio::test]
async fn a_get_without_a_trailing_slash_is_redirected_to_add_it() {
    let s = common::start().await;
    let addr = backend("127.0.0.65").await;
    make_pod(&s, "web", Some("127.0.0.65"), Some(addr.port())).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let path = "/api/v1/namespaces/default/pods/web/proxy";
    let resp = no_redirects
        .get(s.at(&format!("{path}?a=b")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 301);
    assert_eq!(resp.headers()["location"], format!("{path}/?a=b"));
    let (code, seen) = s.send(s.http.get(s.at(&format!("{path}/?a=b")))).await;
    assert_eq!(code, 200, "{seen}");
    assert_eq!(
        (seen["path"].as_str(), seen["query"].as_str()),
        (Some("/"), Some("a=b"))
    );
}

#[tokio::test]
async fn proxy_failures_are_kubernetes_status_errors() {
    let s = common::start().await;
    let (code, body) = s
        .get("/api/v1/namespaces/default/pods/ghost:80/proxy/")
        .await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["reason"], "NotFound");
    assert_eq!(body["message"], "pods \"ghost\" not found");

    make_pod(&s, "pending", None, Some(80)).await;
    let (code, body) = s
        .get("/api/v1/namespaces/default/pods/pending/proxy/")
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["message"], "address not allowed");

    let (code, body) = s
        .get("/api/v1/namespaces/default/pods/ftp:pending:21/proxy/")
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["message"], "invalid pod request \"ftp:pending:21\"");

    let port = closed_port("127.0.0.63").await;
    make_pod(&s, "down", Some("127.0.0.63"), None).await;
    let (code, body) = s
        .get(&format!(
            "/api/v1/namespaces/default/pods/down:{port}/proxy/hostname"
        ))
        .await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["reason"], "ServiceUnavailable");
    assert_eq!(
        body["message"],
        format!(
            "error trying to reach service: dial tcp 127.0.0.63:{port}: connect: connection refused"
        )
    );
}

#[tokio::test]
async fn a_service_proxy_reaches_a_ready_endpoint() {
    let s = common::start().await;
    let addr = backend("127.0.0.64").await;
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"ports": [{"name": "http", "port": 80, "targetPort": addr.port()}]}}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = s
        .get("/api/v1/namespaces/default/services/web:http/proxy/x")
        .await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["message"], "endpoints \"web\" not found");
    let (code, body) = s
        .post_json(
            "/api/v1/namespaces/default/endpoints",
            json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"}}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = s
        .get("/api/v1/namespaces/default/services/web:http/proxy/x")
        .await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(
        body["message"],
        "no endpoints available for service \"web\""
    );

    // An address must belong to a pod of the namespace (upstream's isValidAddress):
    // without a targetRef, or naming a pod with another IP, it is skipped.
    make_pod(&s, "web-0", Some("127.0.0.64"), None).await;
    let eps_url = s.at("/api/v1/namespaces/default/endpoints/web");
    let endpoints = |ip: &str, target: Value| {
        let mut address = json!({"ip": ip});
        if !target.is_null() {
            address["targetRef"] = target;
        }
        json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"},
               "subsets": [{"addresses": [address],
                            "ports": [{"name": "http", "port": addr.port()}]}]})
    };
    let pod_ref = json!({"kind": "Pod", "namespace": "default", "name": "web-0"});
    for unproven in [
        endpoints("127.0.0.64", Value::Null),
        endpoints("127.0.0.1", pod_ref.clone()),
    ] {
        let (code, body) = s.send(s.http.put(&eps_url).json(&unproven)).await;
        assert_eq!(code, 200, "{body}");
        let (code, body) = s
            .get("/api/v1/namespaces/default/services/web:http/proxy/x")
            .await;
        assert_eq!(code, 503, "{body}");
    }
    let (code, body) = s
        .send(s.http.put(&eps_url).json(&endpoints("127.0.0.64", pod_ref)))
        .await;
    assert_eq!(code, 200, "{body}");
    let (code, seen) = s
        .get("/api/v1/namespaces/default/services/web:80/proxy/x?y=1")
        .await;
    assert_eq!(code, 200, "{seen}");
    assert_eq!(
        (seen["path"].as_str(), seen["query"].as_str()),
        (Some("/x"), Some("y=1"))
    );
}

#[tokio::test]
async fn a_port_that_smuggles_in_another_host_is_refused() {
    let s = common::start().await;
    let other = backend("127.0.0.73").await;
    make_pod(&s, "x", Some("127.0.0.74"), None).await;
    for id in [
        format!("http:x:{}@127.0.0.73", other.port()),
        format!("x:{}@127.0.0.73", other.port()),
        "x:80%2f..".to_string(),
        "x:99999".to_string(),
        "x:0".to_string(),
        "x:nosuchport".to_string(),
    ] {
        let (code, body) = s
            .get(&format!("/api/v1/namespaces/default/pods/{id}/proxy/"))
            .await;
        assert_eq!(code, 400, "{id}: {body}");
        assert_eq!(body["reason"], "BadRequest", "{id}: {body}");
    }
}

#[tokio::test]
async fn a_named_container_port_is_resolved() {
    let s = common::start().await;
    let addr = backend("127.0.0.76").await;
    make_pod(&s, "named", Some("127.0.0.76"), Some(addr.port())).await;
    let (code, seen) = s
        .get("/api/v1/namespaces/default/pods/named:http/proxy/p")
        .await;
    assert_eq!(code, 200, "{seen}");
    assert_eq!(seen["path"], "/p");
}

#[tokio::test]
async fn the_proxy_never_connects_to_the_api_server_itself_or_to_loopback_off_a_loopback_node() {
    let s = common::start().await;
    let own = s.url.rsplit(':').next().unwrap().to_string();
    // 127.0.0.1 lies in the node's loopback pod CIDR, but it is where the API server
    // listens: a request relayed there would come back without credentials.
    make_pod(&s, "self", Some("127.0.0.1"), None).await;
    let (code, body) = s
        .get(&format!(
            "/api/v1/namespaces/default/pods/self:{own}/proxy/api"
        ))
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["message"], "address not allowed");

    let addr = backend("127.0.0.75").await;
    make_pod_on(&s, "nodeless", None, Some("127.0.0.75"), None).await;
    let (code, body) = s
        .get(&format!(
            "/api/v1/namespaces/default/pods/nodeless:{}/proxy/",
            addr.port()
        ))
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["message"], "address not allowed");
}

#[tokio::test]
async fn discovery_lists_the_proxy_subresources() {
    let s = common::start().await;
    let (code, body) = s.get("/api/v1").await;
    assert_eq!(code, 200);
    let find = |name: &str| {
        body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(find("pods/proxy")["kind"], "PodProxyOptions");
    assert_eq!(find("services/proxy")["kind"], "ServiceProxyOptions");
    assert_eq!(
        find("pods/proxy")["verbs"],
        json!(["create", "delete", "get", "patch", "update"])
    );
}
