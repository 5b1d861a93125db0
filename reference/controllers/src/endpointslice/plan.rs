//! The EndpointSlice decision (`pkg/controller/endpointslice`, `reconciler.go`): the
//! slices a selector service should have — endpoints grouped by resolved port set, at most
//! `max_per_slice` per slice, one address type — and which existing slices to update,
//! create or delete. Entry point: [`plan`].
//!
//! Upstream packs endpoints into existing slices to minimise churn; this reference fills
//! the service's existing slices (by name order) with the sorted endpoints of each port
//! set, which gives the same contents with a simpler placement.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::util::owner::Owner;
use crate::util::pods::{is_ready, node_name};
use crate::util::selector::matches;
use crate::util::service::{
    find_port, is_external_name, is_headless, pod_ips, protocol, publish_not_ready, service_family,
    service_selector, should_include, should_set_hostname,
};

/// Label naming the slice's service.
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Label naming the managing controller.
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's managed-by value.
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// Label on slices of headless services.
pub const HEADLESS: &str = "service.kubernetes.io/headless";
/// Node label giving an endpoint's zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// Writes to make.
#[derive(Debug, Default, PartialEq)]
pub struct SlicePlan {
    /// New slices (generateName `<service>-`).
    pub create: Vec<EndpointSlice>,
    /// Existing slices with new contents (name and resourceVersion kept).
    pub update: Vec<EndpointSlice>,
    /// Names of slices to delete.
    pub delete: Vec<String>,
}

/// `podToEndpoint`.
pub fn pod_to_endpoint(
    pod: &Pod,
    svc: &Service,
    zones: &HashMap<String, String>,
    family: &str,
) -> Endpoint {
    let serving = is_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let ready = publish_not_ready(svc) || (serving && !terminating);
    let node = node_name(pod);
    Endpoint {
        addresses: pod_ips(pod, family).into_iter().take(1).collect(),
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        }),
        node_name: (!node.is_empty()).then(|| node.to_string()),
        zone: zones.get(node).cloned(),
        hostname: should_set_hostname(pod, svc)
            .then(|| pod.spec.as_ref().and_then(|s| s.hostname.clone()))
            .flatten(),
        ..Default::default()
    }
}

fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.remove(HEADLESS);
    labels.insert(
        SERVICE_NAME.into(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    labels.insert(MANAGED_BY.into(), CONTROLLER_NAME.into());
    if is_headless(svc) {
        labels.insert(HEADLESS.into(), String::new());
    }
    labels
}

type Ports = Vec<EndpointPort>;

/// Endpoints of the service grouped by their resolved port list.
fn desired_groups(
    svc: &Service,
    pods: &[Arc<Pod>],
    zones: &HashMap<String, String>,
    family: &str,
) -> Option<BTreeMap<String, (Ports, Vec<Endpoint>)>> {
    let selector = service_selector(svc)?;
    let svc_ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let mut groups: BTreeMap<String, (Ports, Vec<Endpoint>)> = BTreeMap::new();
    for pod in pods
        .iter()
        .filter(|p| p.metadata.namespace == svc.metadata.namespace)
    {
        // The slice controller keeps terminating pods (with terminating=true).
        if !matches(Some(&selector), pod.metadata.labels.as_ref())
            || !should_include(pod, true)
            || pod_ips(pod, family).is_empty()
        {
            continue;
        }
        let ports: Ports = svc_ports
            .iter()
            .filter_map(|sp| {
                find_port(pod, sp).map(|port| EndpointPort {
                    name: Some(sp.name.clone().unwrap_or_default()),
                    port: Some(port),
                    protocol: Some(protocol(sp).to_string()),
                    app_protocol: sp.app_protocol.clone(),
                })
            })
            .collect();
        let key = serde_json::to_string(&ports).unwrap_or_default();
        groups
            .entry(key)
            .or_insert_with(|| (ports, Vec::new()))
            .1
            .push(pod_to_endpoint(pod, svc, zones, family));
    }
    for (_, eps) in groups.values_mut() {
        eps.sort_by(|a, b| {
            a.addresses.cmp(&b.addresses).then_with(|| {
                a.target_ref
                    .as_ref()
                    .and_then(|r| r.uid.clone())
                    .cmp(&b.target_ref.as_ref().and_then(|r| r.uid.clone()))
            })
        });
    }
    Some(groups)
}

/// Plans the service's slices given the existing slices this controller manages for it.
/// `None` when the service is not managed (no selector, ExternalName).
pub fn plan(
    svc: &Service,
    pods: &[Arc<Pod>],
    zones: &HashMap<String, String>,
    existing: &[Arc<EndpointSlice>],
    max_per_slice: usize,
) -> Option<SlicePlan> {
    if is_external_name(svc) {
        return None;
    }
    let family = service_family(svc);
    let mut groups = desired_groups(svc, pods, zones, family)?;
    if groups.is_empty() {
        // Upstream keeps one empty placeholder slice per service.
        groups.insert(String::new(), (Vec::new(), Vec::new()));
    }
    let labels = slice_labels(svc);
    let svc_name = svc.metadata.name.clone().unwrap_or_default();
    let owner = Owner::new(
        "v1",
        "Service",
        &svc_name,
        svc.metadata.uid.as_deref().unwrap_or_default(),
    );
    let mut reusable: Vec<Arc<EndpointSlice>> = existing
        .iter()
        .filter(|s| s.address_type == family)
        .cloned()
        .collect();
    reusable.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut out = SlicePlan {
        delete: existing
            .iter()
            .filter(|s| s.address_type != family)
            .filter_map(|s| s.metadata.name.clone())
            .collect(),
        ..Default::default()
    };
    for (ports, endpoints) in groups.into_values() {
        let chunks: Vec<Vec<Endpoint>> = if endpoints.is_empty() {
            vec![Vec::new()]
        } else {
            endpoints
                .chunks(max_per_slice.max(1))
                .map(<[Endpoint]>::to_vec)
                .collect()
        };
        for chunk in chunks {
            let wanted_ports = (!ports.is_empty()).then(|| ports.clone());
            let reuse = reusable
                .iter()
                .position(|s| s.ports.clone().unwrap_or_default() == ports);
            match reuse.map(|i| reusable.remove(i)) {
                Some(current) => {
                    let same = current.endpoints == chunk
                        && current.ports.clone().unwrap_or_default() == ports
                        && current.metadata.labels.as_ref() == Some(&labels);
                    if !same {
                        let mut next = (*current).clone();
                        next.endpoints = chunk;
                        next.ports = wanted_ports;
                        next.metadata.labels = Some(labels.clone());
                        out.update.push(next);
                    }
                }
                None => out.create.push(EndpointSlice {
                    metadata: ObjectMeta {
                        generate_name: Some(format!("{svc_name}-")),
                        namespace: svc.metadata.namespace.clone(),
                        labels: Some(labels.clone()),
                        owner_references: Some(vec![owner.controller_ref()]),
                        ..Default::default()
                    },
                    address_type: family.into(),
                    endpoints: chunk,
                    ports: wanted_ports,
                }),
            }
        }
    }
    out.delete
        .extend(reusable.into_iter().filter_map(|s| s.metadata.name.clone()));
    Some(out)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
