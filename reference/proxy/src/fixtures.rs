//! Test fixtures: Services and EndpointSlices written the way the API returns them
//! (JSON), so tests read like the upstream table tests they mirror.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{Value, json};

/// A Service from its `spec` (and optional `status`) JSON.
pub fn service(ns: &str, name: &str, spec: Value) -> Service {
    service_with_status(ns, name, spec, json!({}))
}

/// A Service with a status (load-balancer ingress).
pub fn service_with_status(ns: &str, name: &str, spec: Value, status: Value) -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"namespace": ns, "name": name},
        "spec": spec,
        "status": status,
    }))
    .expect("fixture service must decode")
}

/// One endpoint: address, node, and (ready, serving, terminating).
pub fn ep(ip: &str, node: &str, ready: bool, serving: bool, terminating: bool) -> Value {
    json!({
        "addresses": [ip],
        "nodeName": node,
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
    })
}

/// A ready endpoint on `node`.
pub fn ready(ip: &str, node: &str) -> Value {
    ep(ip, node, true, true, false)
}

/// An IPv4 EndpointSlice for service `ns/svc`.
pub fn slice(
    ns: &str,
    svc: &str,
    suffix: &str,
    ports: Value,
    endpoints: Vec<Value>,
) -> EndpointSlice {
    serde_json::from_value(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {
            "namespace": ns, "name": format!("{svc}-{suffix}"),
            "labels": {"kubernetes.io/service-name": svc},
        },
        "addressType": "IPv4",
        "ports": ports,
        "endpoints": endpoints,
    }))
    .expect("fixture slice must decode")
}
