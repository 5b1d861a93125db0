//! The renderer against upstream's own expectations, quoted verbatim from
//! `pkg/proxy/iptables/proxier_test.go` (TestInternalTrafficPolicyE2E and
//! TestTerminatingEndpointsTrafficPolicyLocal). Compared per chain, as upstream's
//! `assertIPTablesRulesEqual` does, and as whole text.

use std::collections::BTreeMap;

use serde_json::json;

use super::render;
use crate::config::{IpFamily, ProxyConfig};
use crate::fixtures::{ep, ready, service, service_with_status, slice};
use crate::model::build_model;

const TEST_HOSTNAME: &str = "test-hostname";

fn config() -> ProxyConfig {
    ProxyConfig::new(TEST_HOSTNAME).cluster_cidr("10.0.0.0/8".parse().unwrap())
}

/// table → chain → (declared, rules).
type Dump = BTreeMap<String, BTreeMap<String, (bool, Vec<String>)>>;

/// Parse restore input into per-chain rule lists (upstream's `ParseIPTablesDump`).
fn parse(text: &str) -> Dump {
    let mut dump = Dump::new();
    let mut table = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
            dump.entry(table.clone()).or_default();
        } else if let Some(c) = line.strip_prefix(':') {
            let name = c.split(' ').next().unwrap().to_string();
            dump.get_mut(&table).unwrap().entry(name).or_default().0 = true;
        } else if let Some(rest) = line.strip_prefix("-A ") {
            let chain = rest.split(' ').next().unwrap().to_string();
            dump.get_mut(&table)
                .unwrap()
                .entry(chain)
                .or_default()
                .1
                .push(line.to_string());
        } else {
            assert_eq!(line, "COMMIT", "unexpected line");
        }
    }
    dump
}

fn dedent(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

fn assert_rules_equal(expected: &str, got: &str) {
    let (e, g) = (parse(expected), parse(got));
    for (table, chains) in &e {
        for (chain, want) in chains {
            let have = g.get(table).and_then(|t| t.get(chain));
            assert_eq!(
                have,
                Some(want),
                "table {table} chain {chain} differs\n--- got:\n{got}"
            );
        }
    }
    assert_eq!(e, g, "extra chains in output:\n{got}");
    assert_eq!(dedent(expected), got, "whole text differs");
}

fn svc1(itp: &str) -> k8s_openapi::api::core::v1::Service {
    service(
        "ns1",
        "svc1",
        json!({"clusterIP": "172.30.1.1", "selector": {"foo": "bar"}, "internalTrafficPolicy": itp,
               "ports": [{"name": "", "port": 80, "protocol": "TCP"}]}),
    )
}

fn svc1_slice(nodes: [&str; 3]) -> k8s_openapi::api::discovery::v1::EndpointSlice {
    slice(
        "ns1",
        "svc1",
        "1",
        json!([{"name": "", "port": 80, "protocol": "TCP"}]),
        vec![
            ready("10.0.1.1", nodes[0]),
            ready("10.0.1.2", nodes[1]),
            ready("10.0.1.3", nodes[2]),
        ],
    )
}

const FILTER_HOUSEKEEPING: &str = r#"
    -A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
    -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
    -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
    -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
"#;

const FILTER_CHAINS: &str = r#"
    *filter
    :KUBE-NODEPORTS - [0:0]
    :KUBE-SERVICES - [0:0]
    :KUBE-EXTERNAL-SERVICES - [0:0]
    :KUBE-FIREWALL - [0:0]
    :KUBE-FORWARD - [0:0]
    :KUBE-PROXY-FIREWALL - [0:0]
"#;

const NAT_COMMON: &str = r#"
    -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
    -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
    -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
    -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
    -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
"#;

#[test]
fn cluster_policy_with_three_endpoints_matches_upstream_exactly() {
    let expected = format!(
        "{FILTER_CHAINS}{FILTER_HOUSEKEEPING}COMMIT\n{}",
        r#"
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-SEP-3JOIVZTXZZRGORX4 - [0:0]
        :KUBE-SEP-IO5XOSKPAXIFQXAJ - [0:0]
        :KUBE-SEP-XGJFVO3L2O5SRFNT - [0:0]
        :KUBE-SVC-AQI2S6QIMU7PVVRP - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j KUBE-SVC-AQI2S6QIMU7PVVRP
        -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
        -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
        -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
        -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
        -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
        -A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -s 10.0.1.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.1:80
        -A KUBE-SEP-IO5XOSKPAXIFQXAJ -m comment --comment ns1/svc1 -s 10.0.1.2 -j KUBE-MARK-MASQ
        -A KUBE-SEP-IO5XOSKPAXIFQXAJ -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.2:80
        -A KUBE-SEP-XGJFVO3L2O5SRFNT -m comment --comment ns1/svc1 -s 10.0.1.3 -j KUBE-MARK-MASQ
        -A KUBE-SEP-XGJFVO3L2O5SRFNT -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.3:80
        -A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-3JOIVZTXZZRGORX4
        -A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-IO5XOSKPAXIFQXAJ
        -A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.3:80" -j KUBE-SEP-XGJFVO3L2O5SRFNT
        COMMIT
        "#
    );
    let model = build_model(
        &[svc1("Cluster")],
        &[svc1_slice([TEST_HOSTNAME, "host1", "host2"])],
        TEST_HOSTNAME,
        IpFamily::V4,
    );
    assert_rules_equal(&expected, &render(&model, &config()));
}

#[test]
fn internal_local_policy_with_a_local_endpoint_matches_upstream() {
    let expected = format!(
        "{FILTER_CHAINS}{FILTER_HOUSEKEEPING}COMMIT\n{}",
        r#"
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-SEP-3JOIVZTXZZRGORX4 - [0:0]
        :KUBE-SVL-AQI2S6QIMU7PVVRP - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j KUBE-SVL-AQI2S6QIMU7PVVRP
        -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
        -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
        -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
        -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
        -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
        -A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -s 10.0.1.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.1:80
        -A KUBE-SVL-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVL-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -j KUBE-SEP-3JOIVZTXZZRGORX4
        COMMIT
        "#
    );
    let model = build_model(
        &[svc1("Local")],
        &[svc1_slice([TEST_HOSTNAME, "host1", "host2"])],
        TEST_HOSTNAME,
        IpFamily::V4,
    );
    assert_rules_equal(&expected, &render(&model, &config()));
}

#[test]
fn internal_local_policy_without_local_endpoints_drops_in_filter() {
    let expected = format!(
        "{FILTER_CHAINS}{}{FILTER_HOUSEKEEPING}COMMIT\n{}{NAT_COMMON}COMMIT\n",
        r#"-A KUBE-SERVICES -m comment --comment "ns1/svc1 has no local endpoints" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j DROP"#,
        r#"
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        "#
    );
    let model = build_model(
        &[svc1("Local")],
        &[svc1_slice(["host0", "host1", "host2"])],
        TEST_HOSTNAME,
        IpFamily::V4,
    );
    assert_rules_equal(&expected, &render(&model, &config()));
}

#[test]
fn a_service_without_endpoints_is_rejected_in_filter() {
    let model = build_model(&[svc1("Cluster")], &[], TEST_HOSTNAME, IpFamily::V4);
    let got = render(&model, &config());
    let dump = parse(&got);
    assert_eq!(
        dump["filter"]["KUBE-SERVICES"].1,
        [
            r#"-A KUBE-SERVICES -m comment --comment "ns1/svc1 has no endpoints" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j REJECT"#
        ]
    );
    assert!(
        !got.contains("KUBE-SVC-"),
        "no nat chains for a service without endpoints"
    );
}

fn lb_service() -> k8s_openapi::api::core::v1::Service {
    service_with_status(
        "ns1",
        "svc1",
        json!({
            "clusterIP": "172.30.1.1", "type": "LoadBalancer", "externalTrafficPolicy": "Local",
            "selector": {"foo": "bar"},
            "ports": [{"name": "", "targetPort": 80, "port": 80, "protocol": "TCP"}],
            "healthCheckNodePort": 30000, "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
        }),
        json!({"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}),
    )
}

#[test]
fn external_local_policy_with_only_terminating_local_endpoints_matches_upstream() {
    // TestTerminatingEndpointsTrafficPolicyLocal, "only terminating endpoints exist".
    let sl = slice(
        "ns1",
        "svc1",
        "1",
        json!([{"name": "", "port": 80, "protocol": "TCP"}]),
        vec![
            ep("10.0.1.2", TEST_HOSTNAME, false, true, true),
            ep("10.0.1.3", TEST_HOSTNAME, false, true, true),
            ep("10.0.1.4", TEST_HOSTNAME, false, false, true),
            ep("10.0.1.5", "host-1", true, true, false),
        ],
    );
    let expected = format!(
        "{FILTER_CHAINS}{}{FILTER_HOUSEKEEPING}COMMIT\n{}",
        r#"-A KUBE-NODEPORTS -m comment --comment "ns1/svc1 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT"#,
        r#"
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-EXT-AQI2S6QIMU7PVVRP - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-SEP-EQCHZ7S2PJ72OHAY - [0:0]
        :KUBE-SEP-IO5XOSKPAXIFQXAJ - [0:0]
        :KUBE-SEP-XGJFVO3L2O5SRFNT - [0:0]
        :KUBE-SVC-AQI2S6QIMU7PVVRP - [0:0]
        :KUBE-SVL-AQI2S6QIMU7PVVRP - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j KUBE-SVC-AQI2S6QIMU7PVVRP
        -A KUBE-SERVICES -m comment --comment "ns1/svc1 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-AQI2S6QIMU7PVVRP
        -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
        -A KUBE-EXT-AQI2S6QIMU7PVVRP -m comment --comment "pod traffic for ns1/svc1 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-AQI2S6QIMU7PVVRP
        -A KUBE-EXT-AQI2S6QIMU7PVVRP -m comment --comment "masquerade LOCAL traffic for ns1/svc1 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
        -A KUBE-EXT-AQI2S6QIMU7PVVRP -m comment --comment "route LOCAL traffic for ns1/svc1 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-AQI2S6QIMU7PVVRP
        -A KUBE-EXT-AQI2S6QIMU7PVVRP -j KUBE-SVL-AQI2S6QIMU7PVVRP
        -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
        -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
        -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
        -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
        -A KUBE-SEP-EQCHZ7S2PJ72OHAY -m comment --comment ns1/svc1 -s 10.0.1.5 -j KUBE-MARK-MASQ
        -A KUBE-SEP-EQCHZ7S2PJ72OHAY -m comment --comment ns1/svc1 -m recent --name KUBE-SEP-EQCHZ7S2PJ72OHAY --set -m tcp -p tcp -j DNAT --to-destination 10.0.1.5:80
        -A KUBE-SEP-IO5XOSKPAXIFQXAJ -m comment --comment ns1/svc1 -s 10.0.1.2 -j KUBE-MARK-MASQ
        -A KUBE-SEP-IO5XOSKPAXIFQXAJ -m comment --comment ns1/svc1 -m recent --name KUBE-SEP-IO5XOSKPAXIFQXAJ --set -m tcp -p tcp -j DNAT --to-destination 10.0.1.2:80
        -A KUBE-SEP-XGJFVO3L2O5SRFNT -m comment --comment ns1/svc1 -s 10.0.1.3 -j KUBE-MARK-MASQ
        -A KUBE-SEP-XGJFVO3L2O5SRFNT -m comment --comment ns1/svc1 -m recent --name KUBE-SEP-XGJFVO3L2O5SRFNT --set -m tcp -p tcp -j DNAT --to-destination 10.0.1.3:80
        -A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.5:80" -m recent --name KUBE-SEP-EQCHZ7S2PJ72OHAY --rcheck --seconds 10800 --reap -j KUBE-SEP-EQCHZ7S2PJ72OHAY
        -A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.5:80" -j KUBE-SEP-EQCHZ7S2PJ72OHAY
        -A KUBE-SVL-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m recent --name KUBE-SEP-IO5XOSKPAXIFQXAJ --rcheck --seconds 10800 --reap -j KUBE-SEP-IO5XOSKPAXIFQXAJ
        -A KUBE-SVL-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.3:80" -m recent --name KUBE-SEP-XGJFVO3L2O5SRFNT --rcheck --seconds 10800 --reap -j KUBE-SEP-XGJFVO3L2O5SRFNT
        -A KUBE-SVL-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-IO5XOSKPAXIFQXAJ
        -A KUBE-SVL-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.3:80" -j KUBE-SEP-XGJFVO3L2O5SRFNT
        COMMIT
        "#
    );
    let model = build_model(&[lb_service()], &[sl], TEST_HOSTNAME, IpFamily::V4);
    assert_rules_equal(&expected, &render(&model, &config()));
}

#[test]
fn probabilities_are_formatted_like_go_percent_0_10f() {
    assert_eq!(super::render::probability(3), "0.3333333333");
    assert_eq!(super::render::probability(2), "0.5000000000");
    assert_eq!(super::render::probability(7), "0.1428571429");
}

#[test]
fn without_a_local_detector_no_off_cluster_masquerade_rule_is_written() {
    let model = build_model(
        &[svc1("Cluster")],
        &[svc1_slice(["a", "b", "c"])],
        TEST_HOSTNAME,
        IpFamily::V4,
    );
    let got = render(&model, &ProxyConfig::new(TEST_HOSTNAME));
    assert!(
        !got.contains("-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment \"ns1/svc1 cluster IP\""),
        "{got}"
    );
    let masq_all = render(
        &model,
        &ProxyConfig::new(TEST_HOSTNAME).masquerade_all(true),
    );
    assert!(masq_all.contains(
        r#"-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j KUBE-MARK-MASQ"#
    ));
}

#[test]
fn without_localhost_nodeports_loopback_is_excluded_and_no_firewall_rule_is_written() {
    let model = build_model(&[], &[], TEST_HOSTNAME, IpFamily::V4);
    let got = render(&model, &config().localhost_node_ports(false));
    assert!(got.contains("-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS"));
    assert!(!got.contains("KUBE-FIREWALL"));
}

#[test]
fn a_different_masquerade_bit_changes_every_mark() {
    let got = render(&ProxyModel::default(), &config().masquerade_bit(0));
    assert!(got.contains("--or-mark 0x1\n") && got.contains("--mark 0x1/0x1"));
    assert!(!got.contains("0x4000"));
}

use crate::model::ProxyModel;

#[test]
fn large_clusters_drop_per_endpoint_comments() {
    let eps: Vec<_> = (0..1001)
        .map(|i| ready(&format!("10.1.{}.{}", i / 250, i % 250 + 1), "n"))
        .collect();
    let sl = slice(
        "ns1",
        "svc1",
        "1",
        json!([{"name": "", "port": 80, "protocol": "TCP"}]),
        eps,
    );
    let model = build_model(&[svc1("Cluster")], &[sl], TEST_HOSTNAME, IpFamily::V4);
    let got = render(&model, &config());
    assert!(
        !got.contains("--comment ns1/svc1 -s"),
        "SEP rules carry no comment"
    );
    assert!(
        got.contains("--comment \"ns1/svc1 cluster IP\""),
        "service rules keep theirs"
    );
}

#[test]
fn ipv6_services_bracket_endpoints_and_skip_the_ipv4_only_rules() {
    use crate::model::{EndpointInfo, Protocol, ServicePortInfo, ServicePortName, SessionAffinity};
    let name = ServicePortName::new("ns1", "svc1", "", Protocol::Tcp);
    let info = ServicePortInfo {
        name: name.clone(),
        cluster_ip: "fd00:10:96::1".parse().unwrap(),
        port: 80,
        node_port: 0,
        session_affinity: SessionAffinity::None,
        internal_policy_local: false,
        external_policy_local: false,
        external_ips: vec![],
        load_balancer_vips: vec![],
        load_balancer_source_ranges: vec![],
        health_check_node_port: 0,
        endpoints: vec![EndpointInfo {
            addr: "[fd00:10:244::5]:8080".parse().unwrap(),
            ready: true,
            serving: true,
            terminating: false,
            node_name: None,
            is_local: false,
        }],
    };
    let model = ProxyModel {
        services: [(name, info)].into_iter().collect(),
    };
    let config = ProxyConfig::new(TEST_HOSTNAME)
        .ip_family(IpFamily::V6)
        .cluster_cidr("fd00:10:244::/48".parse().unwrap());
    let got = render(&model, &config);
    let sep = crate::iptables::hash::sep_chain("ns1/svc1", "tcp", "[fd00:10:244::5]:8080");
    assert!(got.contains(&format!("-A {sep} -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination [fd00:10:244::5]:8080")), "{got}");
    assert!(
        got.contains("-d fd00:10:96::1 --dport 80 ! -s fd00:10:244::/48 -j KUBE-MARK-MASQ"),
        "{got}"
    );
    assert!(got.contains("-m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS"));
    assert!(
        !got.contains("KUBE-FIREWALL"),
        "the localnet rule is IPv4-only"
    );
}
