//! Which endpoints a service port uses on this node: upstream's `CategorizeEndpoints`
//! (`pkg/proxy/topology.go`), without topology hints. Entry point: [`categorize`].
//!
//! "Usable" means Ready; when no endpoint is Ready, Serving-and-Terminating endpoints are
//! used instead (independently for the Cluster and the Local policy).

use crate::model::{EndpointInfo, ServicePortInfo};

/// The endpoint sets of one service port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Categorized<'a> {
    /// Endpoints for "Cluster" traffic policy (empty if the policy is never used).
    pub cluster: Vec<&'a EndpointInfo>,
    /// Endpoints for "Local" traffic policy (empty if the policy is never used).
    pub local: Vec<&'a EndpointInfo>,
    /// Union of the two: every endpoint this node may send traffic to.
    pub all_reachable: Vec<&'a EndpointInfo>,
    /// Whether the service has a usable endpoint anywhere in the cluster.
    pub has_any: bool,
}

/// Split a service port's endpoints by traffic policy.
pub fn categorize(svc: &ServicePortInfo) -> Categorized<'_> {
    let eps = &svc.endpoints;
    let mut out = Categorized::default();
    if eps.is_empty() {
        return out;
    }
    if svc.uses_cluster_endpoints() {
        out.cluster = eps.iter().filter(|e| e.ready).collect();
        if out.cluster.is_empty() {
            out.cluster = eps.iter().filter(|e| e.serving && e.terminating).collect();
        }
        out.has_any = !out.cluster.is_empty();
    }
    if !svc.uses_local_endpoints() {
        out.all_reachable = out.cluster.clone();
        return out;
    }

    let mut local_ready = false;
    let mut local_serving_terminating = false;
    for e in eps {
        if e.ready {
            out.has_any = true;
            local_ready |= e.is_local;
        } else if e.serving && e.terminating {
            out.has_any = true;
            local_serving_terminating |= e.is_local;
        }
    }
    let mut use_terminating = false;
    if local_ready {
        out.local = eps.iter().filter(|e| e.is_local && e.ready).collect();
    } else if local_serving_terminating {
        use_terminating = true;
        out.local = eps
            .iter()
            .filter(|e| e.is_local && e.serving && e.terminating)
            .collect();
    }
    if !svc.uses_cluster_endpoints() {
        out.all_reachable = out.local.clone();
        return out;
    }
    if !use_terminating {
        // Cluster holds every Ready endpoint, so it is a superset of the Ready local ones.
        out.all_reachable = out.cluster.clone();
        return out;
    }
    // Upstream merges through a map (random order); we keep `ip:port` order.
    let mut merged = out.cluster.clone();
    for e in &out.local {
        if !merged.iter().any(|m| m.addr == e.addr) {
            merged.push(e);
        }
    }
    merged.sort_by_key(|e| e.endpoint_string());
    out.all_reachable = merged;
    out
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::model::{Protocol, ServicePortName, SessionAffinity};

    fn ep(ip: &str, local: bool, ready: bool, serving: bool, terminating: bool) -> EndpointInfo {
        EndpointInfo {
            addr: SocketAddr::new(ip.parse().unwrap(), 80),
            ready,
            serving,
            terminating,
            node_name: Some(if local { "me" } else { "other" }.into()),
            is_local: local,
        }
    }

    fn svc(
        internal_local: bool,
        node_port: u16,
        external_local: bool,
        eps: Vec<EndpointInfo>,
    ) -> ServicePortInfo {
        ServicePortInfo {
            name: ServicePortName::new("ns1", "svc1", "", Protocol::Tcp),
            cluster_ip: "172.30.1.1".parse().unwrap(),
            port: 80,
            node_port,
            session_affinity: SessionAffinity::None,
            internal_policy_local: internal_local,
            external_policy_local: external_local,
            external_ips: vec![],
            load_balancer_vips: vec![],
            load_balancer_source_ranges: vec![],
            health_check_node_port: 0,
            endpoints: eps,
        }
    }

    fn ips(v: &[&EndpointInfo]) -> Vec<String> {
        v.iter().map(|e| e.addr.ip().to_string()).collect()
    }

    #[test]
    fn cluster_policy_uses_every_ready_endpoint() {
        let s = svc(
            false,
            0,
            false,
            vec![
                ep("10.0.1.1", true, true, true, false),
                ep("10.0.1.2", false, false, false, false),
            ],
        );
        let c = categorize(&s);
        assert_eq!(ips(&c.cluster), ["10.0.1.1"]);
        assert!(c.local.is_empty());
        assert!(c.has_any);
    }

    #[test]
    fn cluster_policy_falls_back_to_serving_terminating_endpoints() {
        let s = svc(
            false,
            0,
            false,
            vec![
                ep("10.0.1.1", false, false, true, true),
                ep("10.0.1.2", false, false, false, true),
            ],
        );
        assert_eq!(ips(&categorize(&s).cluster), ["10.0.1.1"]);
    }

    #[test]
    fn internal_local_policy_uses_only_local_endpoints() {
        let s = svc(
            true,
            0,
            false,
            vec![
                ep("10.0.1.1", true, true, true, false),
                ep("10.0.1.2", false, true, true, false),
            ],
        );
        let c = categorize(&s);
        assert!(c.cluster.is_empty());
        assert_eq!(ips(&c.local), ["10.0.1.1"]);
        assert_eq!(ips(&c.all_reachable), ["10.0.1.1"]);
    }

    #[test]
    fn internal_local_policy_without_local_endpoints_still_has_endpoints_somewhere() {
        let s = svc(
            true,
            0,
            false,
            vec![ep("10.0.1.2", false, true, true, false)],
        );
        let c = categorize(&s);
        assert!(c.local.is_empty());
        assert!(c.has_any);
    }

    #[test]
    fn external_local_policy_merges_local_terminating_with_remote_ready_endpoints() {
        let s = svc(
            false,
            3001,
            true,
            vec![
                ep("10.0.1.2", true, false, true, true),
                ep("10.0.1.5", false, true, true, false),
            ],
        );
        let c = categorize(&s);
        assert_eq!(ips(&c.cluster), ["10.0.1.5"]);
        assert_eq!(ips(&c.local), ["10.0.1.2"]);
        assert_eq!(ips(&c.all_reachable), ["10.0.1.2", "10.0.1.5"]);
    }

    #[test]
    fn no_endpoints_means_nothing_anywhere() {
        let s = svc(false, 0, false, vec![]);
        let c = categorize(&s);
        assert!(!c.has_any && c.all_reachable.is_empty());
    }
}
