//! Tests of the EndpointSlice plan.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodIP, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::util::pods::fixtures::{labels, on, pod, ready};
use crate::util::time::from_unix;

fn svc() -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("svc-uid".into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            selector: Some([("app".into(), "web".into())].into()),
            cluster_ip: Some("10.96.0.10".into()),
            ip_families: Some(vec!["IPv4".into()]),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(IntOrString::Int(8080)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

fn web_pod(name: &str, ip: &str, is_ready: bool) -> Arc<Pod> {
    let mut p = on(labels(pod(name), &[("app", "web")]), "node-1");
    if is_ready {
        p = ready(p, from_unix(1));
    }
    p.status.get_or_insert_with(Default::default).pod_ips = Some(vec![PodIP { ip: ip.into() }]);
    Arc::new(p)
}

fn zones() -> HashMap<String, String> {
    HashMap::from([("node-1".to_string(), "zone-a".to_string())])
}

#[test]
fn a_new_slice_carries_labels_owner_address_type_ports_and_conditions() {
    let p = plan(
        &svc(),
        &[
            web_pod("a", "10.0.0.2", true),
            web_pod("b", "10.0.0.3", false),
        ],
        &zones(),
        &[],
        100,
    )
    .unwrap();
    assert_eq!(p.create.len(), 1);
    let s = &p.create[0];
    assert_eq!(s.metadata.generate_name.as_deref(), Some("web-"));
    let l = s.metadata.labels.as_ref().unwrap();
    assert_eq!(l.get(SERVICE_NAME).map(String::as_str), Some("web"));
    assert_eq!(
        l.get(MANAGED_BY).map(String::as_str),
        Some("endpointslice-controller.k8s.io")
    );
    let o = &s.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (o.kind.as_str(), o.controller, o.block_owner_deletion),
        ("Service", Some(true), Some(true))
    );
    assert_eq!(s.address_type, "IPv4");
    assert_eq!(s.ports.as_ref().unwrap()[0].port, Some(8080));
    let a = &s.endpoints[0];
    assert_eq!(a.addresses, vec!["10.0.0.2"]);
    assert_eq!(a.zone.as_deref(), Some("zone-a"));
    assert_eq!(a.node_name.as_deref(), Some("node-1"));
    let c = a.conditions.as_ref().unwrap();
    assert_eq!(
        (c.ready, c.serving, c.terminating),
        (Some(true), Some(true), Some(false))
    );
    let c = s.endpoints[1].conditions.as_ref().unwrap();
    assert_eq!((c.ready, c.serving), (Some(false), Some(false)));
}

#[test]
fn terminating_pods_stay_with_terminating_true_and_ready_false() {
    let mut t = (*web_pod("a", "10.0.0.2", true)).clone();
    t.metadata.deletion_timestamp = Some(Time(from_unix(5)));
    let p = plan(&svc(), &[Arc::new(t)], &zones(), &[], 100).unwrap();
    let c = p.create[0].endpoints[0].conditions.clone().unwrap();
    assert_eq!(
        (c.ready, c.serving, c.terminating),
        (Some(false), Some(true), Some(true))
    );
}

#[test]
fn endpoints_are_split_into_slices_of_at_most_the_limit() {
    let pods: Vec<Arc<Pod>> = (0..250)
        .map(|i| {
            web_pod(
                &format!("p{i}"),
                &format!("10.1.{}.{}", i / 200, i % 200),
                true,
            )
        })
        .collect();
    let p = plan(&svc(), &pods, &zones(), &[], 100).unwrap();
    assert_eq!(
        p.create
            .iter()
            .map(|s| s.endpoints.len())
            .collect::<Vec<_>>(),
        vec![100, 100, 50]
    );
}

#[test]
fn an_up_to_date_slice_is_left_alone_and_surplus_slices_are_deleted() {
    let first = plan(
        &svc(),
        &[web_pod("a", "10.0.0.2", true)],
        &zones(),
        &[],
        100,
    )
    .unwrap();
    let mut existing = first.create[0].clone();
    existing.metadata.name = Some("web-abcde".into());
    let mut extra = existing.clone();
    extra.metadata.name = Some("web-zzzzz".into());
    let again = plan(
        &svc(),
        &[web_pod("a", "10.0.0.2", true)],
        &zones(),
        &[Arc::new(existing), Arc::new(extra)],
        100,
    )
    .unwrap();
    assert!(again.create.is_empty() && again.update.is_empty());
    assert_eq!(again.delete, vec!["web-zzzzz"]);
}

#[test]
fn a_service_with_no_pods_keeps_one_empty_placeholder_slice() {
    let p = plan(&svc(), &[], &zones(), &[], 100).unwrap();
    assert_eq!(p.create.len(), 1);
    assert!(p.create[0].endpoints.is_empty());
}

#[test]
fn slices_of_a_headless_service_are_labelled_headless() {
    let mut s = svc();
    s.spec.as_mut().unwrap().cluster_ip = Some("None".into());
    let p = plan(
        &s,
        &[web_pod("a", "10.0.0.2", true)],
        &zones(),
        &[EndpointSlice::default()].map(Arc::new),
        100,
    )
    .unwrap();
    let slice = p.create.first().or(p.update.first()).unwrap();
    assert_eq!(
        slice
            .metadata
            .labels
            .as_ref()
            .unwrap()
            .get(HEADLESS)
            .map(String::as_str),
        Some("")
    );
}
