//! Unit tests of [`super::build_model`].

use serde_json::json;

use super::*;
use crate::fixtures::{ep, ready, service, service_with_status, slice};

fn build(services: &[Service], slices: &[EndpointSlice]) -> ProxyModel {
    build_model(services, slices, "node-a", IpFamily::V4)
}

#[test]
fn service_port_names_print_the_port_only_when_named() {
    assert_eq!(
        ServicePortName::new("ns1", "svc1", "", Protocol::Tcp).to_string(),
        "ns1/svc1"
    );
    assert_eq!(
        ServicePortName::new("ns1", "svc1", "p80", Protocol::Udp).to_string(),
        "ns1/svc1:p80"
    );
}

#[test]
fn a_cluster_ip_service_gets_one_entry_per_port_with_its_endpoints() {
    let svc = service(
        "ns1",
        "svc1",
        json!({"clusterIP": "172.30.0.41", "ports": [
            {"name": "http", "port": 80, "protocol": "TCP"},
            {"name": "dns", "port": 53, "protocol": "UDP"},
        ]}),
    );
    let sl = slice(
        "ns1",
        "svc1",
        "abc",
        json!([{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "dns", "port": 5353, "protocol": "UDP"}]),
        vec![ready("10.180.0.2", "node-b"), ready("10.180.0.1", "node-a")],
    );
    let model = build(&[svc], &[sl]);
    assert_eq!(model.services.len(), 2);
    let http = &model.services[&ServicePortName::new("ns1", "svc1", "http", Protocol::Tcp)];
    assert_eq!(http.cluster_ip.to_string(), "172.30.0.41");
    assert_eq!(http.port, 80);
    let addrs: Vec<String> = http.endpoints.iter().map(|e| e.endpoint_string()).collect();
    assert_eq!(
        addrs,
        ["10.180.0.1:8080", "10.180.0.2:8080"],
        "sorted by ip:port string"
    );
    assert!(http.endpoints[0].is_local);
    assert!(!http.endpoints[1].is_local);
    let dns = &model.services[&ServicePortName::new("ns1", "svc1", "dns", Protocol::Udp)];
    assert_eq!(dns.endpoints[0].addr.port(), 5353);
}

#[test]
fn headless_and_external_name_services_are_not_proxied() {
    let headless = service(
        "ns1",
        "h",
        json!({"clusterIP": "None", "ports": [{"port": 80}]}),
    );
    let ext = service(
        "ns1",
        "e",
        json!({"type": "ExternalName", "externalName": "example.com"}),
    );
    assert!(build(&[headless, ext], &[]).services.is_empty());
}

#[test]
fn endpoints_of_a_port_with_another_protocol_do_not_match() {
    let svc = service(
        "ns1",
        "svc1",
        json!({"clusterIP": "172.30.0.41", "ports": [{"port": 80}]}),
    );
    let sl = slice(
        "ns1",
        "svc1",
        "x",
        json!([{"name": "", "port": 80, "protocol": "UDP"}]),
        vec![ready("10.0.0.1", "n")],
    );
    let model = build(&[svc], &[sl]);
    assert!(model.services.values().next().unwrap().endpoints.is_empty());
}

#[test]
fn missing_conditions_mean_ready_serving_and_not_terminating() {
    let svc = service(
        "ns1",
        "svc1",
        json!({"clusterIP": "172.30.0.41", "ports": [{"port": 80}]}),
    );
    let sl = slice(
        "ns1",
        "svc1",
        "x",
        json!([{"port": 80}]),
        vec![
            json!({"addresses": ["10.0.0.1"]}),
            ep("10.0.0.2", "n", false, true, true),
        ],
    );
    let model = build(&[svc], &[sl]);
    let eps = &model.services.values().next().unwrap().endpoints;
    assert!(eps[0].ready && eps[0].serving && !eps[0].terminating);
    assert!(!eps[1].ready && eps[1].serving && eps[1].terminating);
}

#[test]
fn endpoints_in_two_slices_are_merged_and_deduplicated() {
    let svc = service(
        "ns1",
        "svc1",
        json!({"clusterIP": "172.30.0.41", "ports": [{"port": 80}]}),
    );
    let ports = json!([{"name": "", "port": 80, "protocol": "TCP"}]);
    let a = slice(
        "ns1",
        "svc1",
        "a",
        ports.clone(),
        vec![ready("10.0.0.1", "n1"), ready("10.0.0.2", "n1")],
    );
    let b = slice(
        "ns1",
        "svc1",
        "b",
        ports,
        vec![ready("10.0.0.2", "n1"), ready("10.0.0.3", "n1")],
    );
    let model = build(&[svc], &[a, b]);
    assert_eq!(model.total_endpoints(), 3);
}

#[test]
fn session_affinity_defaults_its_timeout_to_three_hours() {
    let svc = service(
        "ns1",
        "svc1",
        json!({"clusterIP": "172.30.0.41", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]}),
    );
    let model = build(&[svc], &[]);
    let info = model.services.values().next().unwrap();
    assert_eq!(
        info.session_affinity,
        SessionAffinity::ClientIp {
            timeout_seconds: 10800
        }
    );
}

#[test]
fn traffic_policies_and_external_addresses_are_captured() {
    let svc = service_with_status(
        "ns1",
        "lb",
        json!({
            "clusterIP": "172.30.0.42", "type": "LoadBalancer",
            "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Local",
            "healthCheckNodePort": 30000, "externalIPs": ["192.168.99.11", "fd00::1"],
            "loadBalancerSourceRanges": [" 203.0.113.0/25 "],
            "ports": [{"name": "p80", "port": 80, "nodePort": 3001}],
        }),
        json!({"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"ip": "5.6.7.8", "ipMode": "Proxy"}]}}),
    );
    let model = build(&[svc], &[]);
    let info = model.services.values().next().unwrap();
    assert!(info.internal_policy_local && info.external_policy_local);
    assert_eq!(info.node_port, 3001);
    assert_eq!(info.health_check_node_port, 30000);
    assert_eq!(
        info.external_ips,
        vec!["192.168.99.11".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        info.load_balancer_vips,
        vec!["1.2.3.4".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        info.load_balancer_source_ranges,
        vec!["203.0.113.0/25".parse::<IpNet>().unwrap()]
    );
}

#[test]
fn external_traffic_policy_local_on_a_cluster_ip_service_is_ignored() {
    let svc = service(
        "ns1",
        "svc1",
        json!({"clusterIP": "172.30.0.41", "externalTrafficPolicy": "Local", "ports": [{"port": 80}]}),
    );
    let model = build(&[svc], &[]);
    assert!(
        !model
            .services
            .values()
            .next()
            .unwrap()
            .external_policy_local
    );
}

#[test]
fn slices_without_the_service_name_label_are_ignored() {
    let svc = service(
        "ns1",
        "svc1",
        json!({"clusterIP": "172.30.0.41", "ports": [{"port": 80}]}),
    );
    let mut sl = slice(
        "ns1",
        "svc1",
        "x",
        json!([{"port": 80}]),
        vec![ready("10.0.0.1", "n")],
    );
    sl.metadata.labels = None;
    assert_eq!(build(&[svc], &[sl]).total_endpoints(), 0);
}
