//! The proxy's model of the cluster: one [`ServicePortInfo`] per `ServicePortName`, with its
//! endpoints. [`build_model`] is the pure function from (Services, EndpointSlices) to it,
//! following upstream's `pkg/proxy/{serviceport,servicechangetracker,endpointslicecache}.go`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::config::IpFamily;

/// The label tying an EndpointSlice to its Service.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Upstream's default ClientIP affinity timeout (`DefaultClientIPServiceAffinitySeconds`, 3 h).
pub const DEFAULT_AFFINITY_SECONDS: u32 = 10800;

/// A Service port's transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the API default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// Parse the API spelling (`TCP`, `UDP`, `SCTP`); `None` is the API default, TCP.
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s.unwrap_or("TCP") {
            "TCP" => Some(Self::Tcp),
            "UDP" => Some(Self::Udp),
            "SCTP" => Some(Self::Sctp),
            _ => None,
        }
    }
    /// The lower-case name iptables uses (`-p tcp`) and the chain hashes include.
    pub fn lower(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
        }
    }
}

/// Upstream's `ServicePortName`: namespace, service name, port name and protocol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServicePortName {
    /// Namespace of the Service.
    pub namespace: String,
    /// Name of the Service.
    pub name: String,
    /// `spec.ports[].name` (empty for a single unnamed port).
    pub port: String,
    /// The port's protocol.
    pub protocol: Protocol,
}

impl ServicePortName {
    /// A name; `port` may be empty.
    pub fn new(namespace: &str, name: &str, port: &str, protocol: Protocol) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            port: port.into(),
            protocol,
        }
    }
}

impl fmt::Display for ServicePortName {
    /// `ServicePortName.String()`: `ns/name`, plus `:port` only when the port is named.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)?;
        if !self.port.is_empty() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// `spec.sessionAffinity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAffinity {
    /// No stickiness.
    None,
    /// Same client IP → same endpoint while used within `timeout_seconds`.
    ClientIp {
        /// `sessionAffinityConfig.clientIP.timeoutSeconds` (default 10800).
        timeout_seconds: u32,
    },
}

/// One endpoint of a service port, as kube-proxy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The endpoint's address and (resolved) port.
    pub addr: SocketAddr,
    /// `conditions.ready` (nil means true).
    pub ready: bool,
    /// `conditions.serving` (nil means true).
    pub serving: bool,
    /// `conditions.terminating` (nil means false).
    pub terminating: bool,
    /// `nodeName`, if set.
    pub node_name: Option<String>,
    /// Whether `node_name` is this proxy's node.
    pub is_local: bool,
}

impl EndpointInfo {
    /// `ip:port` (`[ip]:port` for IPv6), the string upstream hashes and DNATs to.
    pub fn endpoint_string(&self) -> String {
        self.addr.to_string()
    }
}

/// Everything the proxy needs about one service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePortInfo {
    /// Its name.
    pub name: ServicePortName,
    /// The ClusterIP of this proxy's family.
    pub cluster_ip: IpAddr,
    /// `spec.ports[].port`.
    pub port: u16,
    /// `spec.ports[].nodePort` (0 when none).
    pub node_port: u16,
    /// Session affinity.
    pub session_affinity: SessionAffinity,
    /// `internalTrafficPolicy: Local`.
    pub internal_policy_local: bool,
    /// `externalTrafficPolicy: Local` on an externally accessible service.
    pub external_policy_local: bool,
    /// `spec.externalIPs` of this family.
    pub external_ips: Vec<IpAddr>,
    /// VIP-mode `status.loadBalancer.ingress[].ip` of this family.
    pub load_balancer_vips: Vec<IpAddr>,
    /// `spec.loadBalancerSourceRanges` of this family.
    pub load_balancer_source_ranges: Vec<IpNet>,
    /// `spec.healthCheckNodePort` when the service needs one (LoadBalancer + Local), else 0.
    pub health_check_node_port: u16,
    /// Endpoints, deduplicated by `ip:port` and sorted by that string (as upstream).
    pub endpoints: Vec<EndpointInfo>,
}

impl ServicePortInfo {
    /// Reachable other than by ClusterIP (NodePort, external IP or load balancer).
    pub fn externally_accessible(&self) -> bool {
        self.node_port != 0 || !self.load_balancer_vips.is_empty() || !self.external_ips.is_empty()
    }
    /// Whether traffic ever goes to "Cluster"-policy endpoints.
    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_policy_local || self.externally_accessible()
    }
    /// Whether traffic ever goes to "Local"-policy endpoints.
    pub fn uses_local_endpoints(&self) -> bool {
        self.internal_policy_local || (self.external_policy_local && self.externally_accessible())
    }
}

/// The whole snapshot: service ports keyed by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyModel {
    /// Service ports, in `ServicePortName` order.
    pub services: BTreeMap<ServicePortName, ServicePortInfo>,
}

impl ProxyModel {
    /// Total number of endpoints over all service ports (upstream's "large cluster" test).
    pub fn total_endpoints(&self) -> usize {
        self.services.values().map(|s| s.endpoints.len()).sum()
    }
}

/// The ClusterIP of `family`, or `None` when the service is not proxied
/// (headless, ExternalName, or no IP of this family) — upstream's `ShouldSkipService`.
fn cluster_ip_for(svc: &Service, family: IpFamily) -> Option<IpAddr> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    let primary = spec.cluster_ip.as_deref().unwrap_or("");
    if primary.is_empty() || primary == "None" {
        return None;
    }
    let mut candidates: Vec<&str> = vec![primary];
    if let Some(ips) = &spec.cluster_ips {
        candidates.extend(ips.iter().map(String::as_str));
    }
    candidates
        .into_iter()
        .filter_map(|s| s.parse::<IpAddr>().ok())
        .find(|ip| family.contains(ip))
}

fn service_ports(svc: &Service, family: IpFamily) -> Vec<ServicePortInfo> {
    let Some(cluster_ip) = cluster_ip_for(svc, family) else {
        return Vec::new();
    };
    let Some(spec) = svc.spec.as_ref() else {
        return Vec::new();
    };
    let namespace = svc.metadata.namespace.as_deref().unwrap_or("default");
    let name = svc.metadata.name.as_deref().unwrap_or("");
    let type_ = spec.type_.as_deref().unwrap_or("ClusterIP");
    let has_external_ips = spec.external_ips.as_ref().is_some_and(|v| !v.is_empty());
    // apiservice.ExternallyAccessible / ExternalPolicyLocal / InternalPolicyLocal.
    let externally_accessible = type_ == "LoadBalancer" || type_ == "NodePort" || has_external_ips;
    let external_policy_local =
        externally_accessible && spec.external_traffic_policy.as_deref() == Some("Local");
    let internal_policy_local = spec.internal_traffic_policy.as_deref() == Some("Local");
    let session_affinity = if spec.session_affinity.as_deref() == Some("ClientIP") {
        let timeout = spec
            .session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .and_then(|t| u32::try_from(t).ok())
            .filter(|t| *t > 0)
            .unwrap_or(DEFAULT_AFFINITY_SECONDS);
        SessionAffinity::ClientIp {
            timeout_seconds: timeout,
        }
    } else {
        SessionAffinity::None
    };
    let family_ips = |ips: Option<&Vec<String>>| -> Vec<IpAddr> {
        ips.into_iter()
            .flatten()
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .filter(|ip| family.contains(ip))
            .collect()
    };
    let external_ips = family_ips(spec.external_ips.as_ref());
    let lb_ips: Vec<String> = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter(|ing| ing.ip_mode.as_deref().is_none_or(|m| m == "VIP"))
        .filter_map(|ing| ing.ip.clone())
        .collect();
    let load_balancer_vips = family_ips(Some(&lb_ips));
    let load_balancer_source_ranges: Vec<IpNet> = spec
        .load_balancer_source_ranges
        .iter()
        .flatten()
        .filter_map(|s| s.trim().parse::<IpNet>().ok())
        .filter(|n| family.contains(&n.addr()))
        .collect();
    let needs_health_check = type_ == "LoadBalancer" && external_policy_local;
    let health_check_node_port = if needs_health_check {
        spec.health_check_node_port
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0)
    } else {
        0
    };

    spec.ports
        .iter()
        .flatten()
        .filter_map(|p| {
            let protocol = Protocol::parse(p.protocol.as_deref())?;
            let port = u16::try_from(p.port).ok()?;
            Some(ServicePortInfo {
                name: ServicePortName::new(
                    namespace,
                    name,
                    p.name.as_deref().unwrap_or(""),
                    protocol,
                ),
                cluster_ip,
                port,
                node_port: p.node_port.and_then(|n| u16::try_from(n).ok()).unwrap_or(0),
                session_affinity,
                internal_policy_local,
                external_policy_local,
                external_ips: external_ips.clone(),
                load_balancer_vips: load_balancer_vips.clone(),
                load_balancer_source_ranges: load_balancer_source_ranges.clone(),
                health_check_node_port,
                endpoints: Vec::new(),
            })
        })
        .collect()
}

/// Endpoints of every slice, grouped by `ServicePortName` and deduplicated by `ip:port`
/// (a local copy wins, as upstream's `addEndpoints`).
fn endpoints_by_port(
    slices: &[EndpointSlice],
    node_name: &str,
    family: IpFamily,
) -> HashMap<ServicePortName, BTreeMap<String, EndpointInfo>> {
    let mut out: HashMap<ServicePortName, BTreeMap<String, EndpointInfo>> = HashMap::new();
    for slice in slices {
        let wanted_type = match family {
            IpFamily::V4 => "IPv4",
            IpFamily::V6 => "IPv6",
        };
        if slice.address_type != wanted_type {
            continue;
        }
        let Some(service) = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_SERVICE_NAME))
        else {
            continue;
        };
        let namespace = slice.metadata.namespace.as_deref().unwrap_or("default");
        for port in slice.ports.iter().flatten() {
            // Upstream ignores a port without a name; the API always sets one ("" for an
            // unnamed port), but a client that omits "" would be dropped, so treat a missing
            // name as "" instead.
            let port_name = port.name.as_deref().unwrap_or("");
            let Some(port_num) = port
                .port
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 0)
            else {
                continue;
            };
            let Some(protocol) = Protocol::parse(port.protocol.as_deref()) else {
                continue;
            };
            let spn = ServicePortName::new(namespace, service, port_name, protocol);
            let set = out.entry(spn).or_default();
            for ep in &slice.endpoints {
                let Some(ip) = ep.addresses.first().and_then(|a| a.parse::<IpAddr>().ok()) else {
                    continue;
                };
                if !family.contains(&ip) {
                    continue;
                }
                let cond = ep.conditions.as_ref();
                let is_local = !node_name.is_empty() && ep.node_name.as_deref() == Some(node_name);
                let info = EndpointInfo {
                    addr: SocketAddr::new(ip, port_num),
                    ready: cond.and_then(|c| c.ready).unwrap_or(true),
                    serving: cond.and_then(|c| c.serving).unwrap_or(true),
                    terminating: cond.and_then(|c| c.terminating).unwrap_or(false),
                    node_name: ep.node_name.clone(),
                    is_local,
                };
                let key = info.endpoint_string();
                if !set.contains_key(&key) || is_local {
                    set.insert(key, info);
                }
            }
        }
    }
    out
}

/// Build the proxy's model from the current Services and EndpointSlices.
///
/// Service ports without a usable ClusterIP of `family` are left out (as upstream);
/// endpoints are sorted by their `ip:port` string, which fixes the rule order.
pub fn build_model(
    services: &[Service],
    slices: &[EndpointSlice],
    node_name: &str,
    family: IpFamily,
) -> ProxyModel {
    let mut eps = endpoints_by_port(slices, node_name, family);
    let mut model = ProxyModel::default();
    for svc in services {
        for mut info in service_ports(svc, family) {
            if let Some(set) = eps.remove(&info.name) {
                info.endpoints = set.into_values().collect();
            }
            model.services.insert(info.name.clone(), info);
        }
    }
    model
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
