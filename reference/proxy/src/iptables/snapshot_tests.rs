//! Golden rulesets (insta snapshots under `snapshots/refkube-proxy/`) for fixed services:
//! one endpoint, several, none; named and unnamed ports; session affinity; NodePort;
//! Local traffic policy. Review changes with `cargo insta review`.

use serde_json::{Value, json};

use super::render;
use crate::config::{IpFamily, ProxyConfig};
use crate::fixtures::{ready, service, slice};
use crate::model::build_model;

const NODE: &str = "node-a";

fn check(
    name: &str,
    services: Vec<k8s_openapi::api::core::v1::Service>,
    slices: Vec<k8s_openapi::api::discovery::v1::EndpointSlice>,
) {
    let model = build_model(&services, &slices, NODE, IpFamily::V4);
    let config = ProxyConfig::new(NODE).cluster_cidr("10.244.0.0/16".parse().unwrap());
    let text = render(&model, &config);
    insta::with_settings!({snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots/refkube-proxy"), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, text);
    });
}

fn web(extra: Value, ports: Value) -> k8s_openapi::api::core::v1::Service {
    let mut spec = json!({"clusterIP": "10.96.0.10", "selector": {"app": "web"}, "ports": ports});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    service("default", "web", spec)
}

fn unnamed_80() -> Value {
    json!([{"port": 80, "targetPort": 8080, "protocol": "TCP"}])
}

fn web_slice(ports: Value, ips: &[(&str, &str)]) -> k8s_openapi::api::discovery::v1::EndpointSlice {
    slice(
        "default",
        "web",
        "x1",
        ports,
        ips.iter().map(|(ip, node)| ready(ip, node)).collect(),
    )
}

fn slice_80() -> Value {
    json!([{"name": "", "port": 8080, "protocol": "TCP"}])
}

#[test]
fn one_endpoint() {
    check(
        "one_endpoint",
        vec![web(json!({}), unnamed_80())],
        vec![web_slice(slice_80(), &[("10.244.1.5", "node-b")])],
    );
}

#[test]
fn several_endpoints() {
    check(
        "several_endpoints",
        vec![web(json!({}), unnamed_80())],
        vec![web_slice(
            slice_80(),
            &[
                ("10.244.1.5", "node-b"),
                ("10.244.2.7", "node-a"),
                ("10.244.3.9", "node-c"),
            ],
        )],
    );
}

#[test]
fn no_endpoints() {
    check("no_endpoints", vec![web(json!({}), unnamed_80())], vec![]);
}

#[test]
fn named_ports() {
    let ports = json!([
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
        {"name": "dns", "port": 53, "targetPort": 5353, "protocol": "UDP"},
    ]);
    let sl_ports = json!([{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "dns", "port": 5353, "protocol": "UDP"}]);
    check(
        "named_ports",
        vec![web(json!({}), ports)],
        vec![web_slice(
            sl_ports,
            &[("10.244.1.5", "node-b"), ("10.244.2.7", "node-a")],
        )],
    );
}

#[test]
fn session_affinity() {
    check(
        "session_affinity",
        vec![web(
            json!({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}}}),
            unnamed_80(),
        )],
        vec![web_slice(
            slice_80(),
            &[("10.244.1.5", "node-b"), ("10.244.2.7", "node-a")],
        )],
    );
}

#[test]
fn node_port() {
    let ports = json!([{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]);
    check(
        "node_port",
        vec![web(json!({"type": "NodePort"}), ports)],
        vec![web_slice(
            slice_80(),
            &[("10.244.1.5", "node-b"), ("10.244.2.7", "node-a")],
        )],
    );
}

#[test]
fn node_port_without_endpoints() {
    let ports = json!([{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]);
    check(
        "node_port_without_endpoints",
        vec![web(json!({"type": "NodePort"}), ports)],
        vec![],
    );
}

#[test]
fn local_external_traffic_policy() {
    let ports = json!([{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]);
    check(
        "local_external_traffic_policy",
        vec![web(
            json!({"type": "NodePort", "externalTrafficPolicy": "Local"}),
            ports,
        )],
        vec![web_slice(
            slice_80(),
            &[("10.244.1.5", "node-b"), ("10.244.2.7", "node-a")],
        )],
    );
}

#[test]
fn local_external_traffic_policy_without_local_endpoints() {
    let ports = json!([{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]);
    check(
        "local_external_traffic_policy_without_local_endpoints",
        vec![web(
            json!({"type": "NodePort", "externalTrafficPolicy": "Local"}),
            ports,
        )],
        vec![web_slice(slice_80(), &[("10.244.1.5", "node-b")])],
    );
}

#[test]
fn local_internal_traffic_policy() {
    check(
        "local_internal_traffic_policy",
        vec![web(json!({"internalTrafficPolicy": "Local"}), unnamed_80())],
        vec![web_slice(
            slice_80(),
            &[("10.244.1.5", "node-b"), ("10.244.2.7", "node-a")],
        )],
    );
}

#[test]
fn two_services_sorted_by_name() {
    let other = service(
        "kube-system",
        "kube-dns",
        json!({"clusterIP": "10.96.0.2", "ports": [{"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}),
    );
    let other_slice = slice(
        "kube-system",
        "kube-dns",
        "a",
        json!([{"name": "dns-tcp", "port": 53, "protocol": "TCP"}]),
        vec![ready("10.244.0.3", "node-a")],
    );
    check(
        "two_services_sorted_by_name",
        vec![other, web(json!({}), unnamed_80())],
        vec![
            other_slice,
            web_slice(slice_80(), &[("10.244.1.5", "node-b")]),
        ],
    );
}
