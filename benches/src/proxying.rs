//! kube-proxy fixtures: `n` ClusterIP Services with one named TCP port each and one
//! EndpointSlice per Service with `endpoints` ready endpoints spread over 10 nodes
//! ([`services`], [`slices`]).

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

/// The ClusterIP of Service `i` (in 10.96.0.0/12).
fn cluster_ip(i: usize) -> String {
    format!("10.96.{}.{}", i / 250, i % 250 + 1)
}

/// Services `svc-{i}` in namespace `ns-{i%10}`, each `80/TCP` named `http`.
pub fn services(n: usize) -> Result<Vec<Service>, serde_json::Error> {
    (0..n)
        .map(|i| {
            serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"namespace": format!("ns-{}", i % 10), "name": format!("svc-{i}")},
                "spec": {"type": "ClusterIP", "clusterIP": cluster_ip(i), "clusterIPs": [cluster_ip(i)],
                         "selector": {"app": format!("app-{i}")},
                         "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
            }))
        })
        .collect()
}

/// One EndpointSlice per Service of [`services`] with `endpoints` ready endpoints on
/// nodes `node-0` .. `node-9`.
pub fn slices(n: usize, endpoints: usize) -> Result<Vec<EndpointSlice>, serde_json::Error> {
    (0..n)
        .map(|i| {
            let eps: Vec<_> = (0..endpoints)
                .map(|e| {
                    let k = i * endpoints + e;
                    json!({"addresses": [format!("10.244.{}.{}", k / 250, k % 250 + 2)],
                           "nodeName": format!("node-{}", e % 10),
                           "conditions": {"ready": true, "serving": true, "terminating": false}})
                })
                .collect();
            serde_json::from_value(json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"namespace": format!("ns-{}", i % 10), "name": format!("svc-{i}-abcde"),
                             "labels": {"kubernetes.io/service-name": format!("svc-{i}")}},
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": eps,
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use refkube_proxy::{IpFamily, ProxyConfig, build_model, render};

    #[test]
    fn every_service_gets_its_endpoints_and_rules() {
        let model = build_model(
            &services(20).unwrap(),
            &slices(20, 10).unwrap(),
            "node-0",
            IpFamily::V4,
        );
        assert_eq!(model.services.len(), 20);
        assert_eq!(model.total_endpoints(), 200);
        let rules = render(&model, &ProxyConfig::new("node-0"));
        assert_eq!(rules.matches("-j KUBE-SEP-").count(), 200, "{rules}");
    }
}
