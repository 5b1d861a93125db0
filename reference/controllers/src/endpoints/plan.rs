//! The Endpoints decision (`endpoints_controller.go` syncService, `RepackSubsets`,
//! `truncateEndpoints`): the subsets, labels and annotations a service's Endpoints object
//! should have. Entry point: [`desired_endpoints`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::util::pods::{is_ready, node_name};
use crate::util::selector::matches;
use crate::util::service::{
    find_port, is_external_name, is_headless, pod_ips, protocol, publish_not_ready, service_family,
    service_selector, should_include, should_set_hostname,
};

/// Most addresses an Endpoints object holds (`maxCapacity`).
pub const MAX_CAPACITY: usize = 1000;
/// Annotation set when addresses were dropped.
pub const OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";
/// Label marking a headless service's endpoints.
pub const HEADLESS: &str = "service.kubernetes.io/headless";

/// The Endpoints object a service should have, or `None` if the service is not managed
/// (no selector, or ExternalName).
pub fn desired_endpoints(svc: &Service, pods: &[Arc<Pod>]) -> Option<Endpoints> {
    if is_external_name(svc) {
        return None;
    }
    let selector = service_selector(svc)?;
    let publish = publish_not_ready(svc);
    let family = service_family(svc);
    let ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let mut subsets = Vec::new();
    for pod in pods
        .iter()
        .filter(|p| p.metadata.namespace == svc.metadata.namespace)
    {
        if !matches(Some(&selector), pod.metadata.labels.as_ref()) || !should_include(pod, publish)
        {
            continue;
        }
        let Some(ip) = pod_ips(pod, family).into_iter().next() else {
            continue;
        };
        let node = node_name(pod);
        let address = EndpointAddress {
            ip,
            node_name: (!node.is_empty()).then(|| node.to_string()),
            hostname: should_set_hostname(pod, svc)
                .then(|| pod.spec.as_ref().and_then(|s| s.hostname.clone()))
                .flatten(),
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                namespace: pod.metadata.namespace.clone(),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
                ..Default::default()
            }),
        };
        let ready = publish || is_ready(pod);
        let mut add = |port: Option<EndpointPort>| {
            let ports = port.map(|p| vec![p]);
            subsets.push(if ready {
                EndpointSubset {
                    addresses: Some(vec![address.clone()]),
                    ports,
                    not_ready_addresses: None,
                }
            } else {
                EndpointSubset {
                    not_ready_addresses: Some(vec![address.clone()]),
                    ports,
                    addresses: None,
                }
            });
        };
        if ports.is_empty() {
            // A headless service without ports still lists its pods.
            if is_headless(svc) {
                add(None);
            }
            continue;
        }
        for sp in &ports {
            if let Some(port) = find_port(pod, sp) {
                add(Some(EndpointPort {
                    name: sp.name.clone(),
                    port,
                    protocol: Some(protocol(sp).to_string()),
                    app_protocol: sp.app_protocol.clone(),
                }));
            }
        }
    }
    let mut subsets = repack(subsets);
    let truncated = truncate(&mut subsets);
    let mut labels: BTreeMap<String, String> = svc.metadata.labels.clone().unwrap_or_default();
    if is_headless(svc) {
        labels.insert(HEADLESS.into(), String::new());
    } else {
        labels.remove(HEADLESS);
    }
    let annotations =
        truncated.then(|| BTreeMap::from([(OVER_CAPACITY.to_string(), "truncated".to_string())]));
    Some(Endpoints {
        metadata: ObjectMeta {
            name: svc.metadata.name.clone(),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(labels),
            annotations,
            ..Default::default()
        },
        subsets: Some(subsets),
    })
}

type AddrKey = (String, String);
type PortKey = (String, i32, String, String);

fn addr_key(a: &EndpointAddress) -> AddrKey {
    (
        a.ip.clone(),
        a.target_ref
            .as_ref()
            .and_then(|r| r.uid.clone())
            .unwrap_or_default(),
    )
}

fn port_key(p: &EndpointPort) -> PortKey {
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        p.protocol.clone().unwrap_or_default(),
        p.app_protocol.clone().unwrap_or_default(),
    )
}

/// `RepackSubsets`: group addresses by the exact set of ports they offer; "not ready"
/// wins over "ready" for the same address and port. Addresses sort by IP as a string,
/// then UID. (Upstream orders ports and subsets by a hash; here by value, so the order is
/// deterministic but not byte-identical.)
pub fn repack(subsets: Vec<EndpointSubset>) -> Vec<EndpointSubset> {
    let mut all: HashMap<AddrKey, EndpointAddress> = HashMap::new();
    let sentinel = EndpointPort {
        port: -1,
        ..Default::default()
    };
    let mut by_port: BTreeMap<PortKey, (EndpointPort, BTreeMap<AddrKey, bool>)> = BTreeMap::new();
    for s in &subsets {
        let ports = s
            .ports
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| vec![sentinel.clone()]);
        for port in ports {
            let entry = by_port
                .entry(port_key(&port))
                .or_insert_with(|| (port.clone(), BTreeMap::new()));
            let tagged = s
                .addresses
                .iter()
                .flatten()
                .map(|a| (a, true))
                .chain(s.not_ready_addresses.iter().flatten().map(|a| (a, false)));
            for (addr, ready) in tagged {
                let key = addr_key(addr);
                all.entry(key.clone()).or_insert_with(|| addr.clone());
                let slot = entry.1.entry(key).or_insert(ready);
                *slot = *slot && ready;
            }
        }
    }
    // Group ports by identical address sets.
    let mut groups: Vec<(BTreeMap<AddrKey, bool>, Vec<EndpointPort>)> = Vec::new();
    for (port, addrs) in by_port.into_values() {
        let real_port = (port.port > 0).then_some(port);
        match groups.iter_mut().find(|(a, _)| *a == addrs) {
            Some((_, ports)) => ports.extend(real_port),
            None => groups.push((addrs, real_port.into_iter().collect())),
        }
    }
    let mut out: Vec<EndpointSubset> = groups
        .into_iter()
        .map(|(addrs, ports)| {
            let mut ready = Vec::new();
            let mut not_ready = Vec::new();
            for (key, is_ready) in addrs {
                let a = all[&key].clone();
                if is_ready {
                    ready.push(a)
                } else {
                    not_ready.push(a)
                }
            }
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect();
    out.sort_by_key(|s| {
        s.addresses
            .iter()
            .chain(s.not_ready_addresses.iter())
            .flatten()
            .map(addr_key)
            .min()
    });
    out
}

fn count(v: &Option<Vec<EndpointAddress>>) -> usize {
    v.as_ref().map_or(0, Vec::len)
}

/// `truncateEndpoints`: keep at most [`MAX_CAPACITY`] addresses, dropping not-ready ones
/// first, each subset keeping its (rounded-up) share. True if anything was dropped.
pub fn truncate(subsets: &mut [EndpointSubset]) -> bool {
    let total_ready: usize = subsets.iter().map(|s| count(&s.addresses)).sum();
    let total_not_ready: usize = subsets.iter().map(|s| count(&s.not_ready_addresses)).sum();
    if total_ready + total_not_ready <= MAX_CAPACITY {
        return false;
    }
    let truncate_ready = total_ready > MAX_CAPACITY;
    let (max, num_total) = if truncate_ready {
        (MAX_CAPACITY, total_ready)
    } else {
        (MAX_CAPACITY - total_ready, total_not_ready)
    };
    let mut can_be_added = max;
    for s in subsets.iter_mut() {
        let in_subset = if truncate_ready {
            count(&s.addresses)
        } else {
            count(&s.not_ready_addresses)
        };
        let to_add = (in_subset * max).div_ceil(num_total).min(can_be_added);
        if truncate_ready {
            if let Some(a) = s.addresses.as_mut() {
                a.truncate(to_add);
            }
            s.not_ready_addresses = None;
            can_be_added -= count(&s.addresses);
        } else {
            if let Some(a) = s.not_ready_addresses.as_mut() {
                a.truncate(to_add);
            }
            can_be_added -= count(&s.not_ready_addresses);
        }
    }
    true
}

/// Does the stored object already say what we want (subsets, labels, capacity flag)?
pub fn up_to_date(current: &Endpoints, desired: &Endpoints) -> bool {
    let subsets = |e: &Endpoints| e.subsets.clone().unwrap_or_default();
    let over = |e: &Endpoints| {
        e.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(OVER_CAPACITY))
            .cloned()
    };
    subsets(current) == subsets(desired)
        && current.metadata.labels.clone().unwrap_or_default()
            == desired.metadata.labels.clone().unwrap_or_default()
        && over(current) == over(desired)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
