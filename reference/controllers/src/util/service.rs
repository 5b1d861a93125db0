//! Service ↔ pod helpers shared by the Endpoints and EndpointSlice controllers
//! (`staging/src/k8s.io/endpointslice/util`, `pkg/api/v1/pod` FindPort).

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::core::Selector;

use super::pods::is_terminal;
use super::selector::from_map;

/// `ShouldPodBeInEndpoints`: not terminal, has an IP, and not terminating unless
/// `include_terminating`.
pub fn should_include(pod: &Pod, include_terminating: bool) -> bool {
    if is_terminal(pod) {
        return false;
    }
    let status = pod.status.as_ref();
    let has_ip = status
        .and_then(|s| s.pod_ip.as_deref())
        .is_some_and(|ip| !ip.is_empty())
        || status
            .and_then(|s| s.pod_ips.as_ref())
            .is_some_and(|ips| ips.iter().any(|i| !i.ip.is_empty()));
    if !has_ip {
        return false;
    }
    include_terminating || pod.metadata.deletion_timestamp.is_none()
}

/// The service's pod selector; `None` (no `spec.selector`) means "not managed".
/// An empty selector map selects every pod, as in Go (`labels.Set{}` matches all).
pub fn service_selector(svc: &Service) -> Option<Selector> {
    let map = svc.spec.as_ref()?.selector.as_ref()?;
    if map.is_empty() {
        return Some(Selector::default());
    }
    from_map(Some(map))
}

/// True for `type: ExternalName`, which has no endpoints.
pub fn is_external_name(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("ExternalName")
}

/// True for `clusterIP: None`.
pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// `spec.publishNotReadyAddresses`.
pub fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

/// `ShouldSetHostname`: the pod names a hostname and this service as its subdomain.
pub fn should_set_hostname(pod: &Pod, svc: &Service) -> bool {
    let spec = pod.spec.as_ref();
    spec.and_then(|s| s.hostname.as_deref())
        .is_some_and(|h| !h.is_empty())
        && spec.and_then(|s| s.subdomain.as_deref()) == svc.metadata.name.as_deref()
        && pod.metadata.namespace == svc.metadata.namespace
}

/// The service's IP family (`IPv4` / `IPv6`): `spec.ipFamilies[0]`, else the clusterIP's.
pub fn service_family(svc: &Service) -> &'static str {
    let spec = svc.spec.as_ref();
    if let Some(f) = spec
        .and_then(|s| s.ip_families.as_ref())
        .and_then(|f| f.first())
    {
        return if f == "IPv6" { "IPv6" } else { "IPv4" };
    }
    match spec.and_then(|s| s.cluster_ip.as_deref()) {
        Some(ip) if ip.contains(':') => "IPv6",
        _ => "IPv4",
    }
}

/// The pod's IPs of one family (`podIPs`, else `podIP`).
pub fn pod_ips(pod: &Pod, family: &str) -> Vec<String> {
    let status = pod.status.as_ref();
    let mut ips: Vec<String> = status
        .and_then(|s| s.pod_ips.as_ref())
        .map(|v| v.iter().map(|i| i.ip.clone()).collect())
        .unwrap_or_default();
    if ips.is_empty()
        && let Some(ip) = status.and_then(|s| s.pod_ip.clone())
    {
        ips.push(ip);
    }
    ips.retain(|ip| !ip.is_empty() && ip.contains(':') == (family == "IPv6"));
    ips
}

/// A service port's protocol (default TCP).
pub fn protocol(port: &ServicePort) -> &str {
    port.protocol.as_deref().unwrap_or("TCP")
}

/// `FindPort`: a numeric targetPort as is; a named one is the first container port with
/// that name and the same protocol (regular containers, then restartable init containers).
pub fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    match port.target_port.as_ref() {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            let spec = pod.spec.as_ref()?;
            let sidecars = spec
                .init_containers
                .iter()
                .flatten()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find_map(|p| {
                    (p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol(port))
                    .then_some(p.container_port)
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::pods::fixtures::{phase, pod};
    use k8s_openapi::api::core::v1::{Container, ContainerPort, PodIP};

    fn with_ip(mut p: Pod, ip: &str) -> Pod {
        let s = p.status.get_or_insert_with(Default::default);
        s.pod_ip = Some(ip.into());
        s.pod_ips = Some(vec![PodIP { ip: ip.into() }]);
        p
    }

    #[test]
    fn terminal_ipless_and_terminating_pods_are_left_out() {
        assert!(should_include(&with_ip(pod("a"), "10.0.0.1"), false));
        assert!(!should_include(&pod("a"), false));
        assert!(!should_include(
            &with_ip(phase(pod("a"), "Failed"), "10.0.0.1"),
            true
        ));
        let mut t = with_ip(pod("a"), "10.0.0.1");
        t.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            crate::util::time::from_unix(1),
        ));
        assert!(!should_include(&t, false));
        assert!(should_include(&t, true));
    }

    #[test]
    fn a_named_target_port_needs_the_same_name_and_protocol() {
        let mut p = pod("a");
        p.spec.as_mut().unwrap().containers = vec![Container {
            name: "c".into(),
            ports: Some(vec![
                ContainerPort {
                    name: Some("dns".into()),
                    container_port: 53,
                    protocol: Some("UDP".into()),
                    ..Default::default()
                },
                ContainerPort {
                    name: Some("http".into()),
                    container_port: 8080,
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }];
        let named = |name: &str, proto: &str| ServicePort {
            port: 80,
            target_port: Some(IntOrString::String(name.into())),
            protocol: Some(proto.into()),
            ..Default::default()
        };
        assert_eq!(find_port(&p, &named("http", "TCP")), Some(8080));
        assert_eq!(find_port(&p, &named("dns", "TCP")), None);
        assert_eq!(find_port(&p, &named("dns", "UDP")), Some(53));
        assert_eq!(
            find_port(
                &p,
                &ServicePort {
                    port: 80,
                    target_port: Some(IntOrString::Int(9376)),
                    ..Default::default()
                }
            ),
            Some(9376)
        );
    }

    #[test]
    fn pod_ips_are_filtered_by_family() {
        let p = with_ip(pod("a"), "10.0.0.1");
        assert_eq!(pod_ips(&p, "IPv4"), vec!["10.0.0.1"]);
        assert!(pod_ips(&p, "IPv6").is_empty());
    }
}
