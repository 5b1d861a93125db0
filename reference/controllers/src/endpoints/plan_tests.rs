//! Tests of the Endpoints plan.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, Pod, PodIP, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::util::pods::fixtures::{labels, on, pod, ready};
use crate::util::time::from_unix;

fn svc(target: IntOrString) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            labels: Some([("team".into(), "a".into())].into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            selector: Some([("app".into(), "web".into())].into()),
            cluster_ip: Some("10.96.0.10".into()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(target),
                protocol: Some("TCP".into()),
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
    let s = p.status.get_or_insert_with(Default::default);
    s.pod_ip = Some(ip.into());
    s.pod_ips = Some(vec![PodIP { ip: ip.into() }]);
    Arc::new(p)
}

fn with_port(p: &Arc<Pod>, name: &str, port: i32) -> Arc<Pod> {
    let mut p = (**p).clone();
    p.spec.as_mut().unwrap().containers = vec![Container {
        name: "c".into(),
        ports: Some(vec![ContainerPort {
            name: Some(name.into()),
            container_port: port,
            ..Default::default()
        }]),
        ..Default::default()
    }];
    Arc::new(p)
}

fn ips(v: &Option<Vec<k8s_openapi::api::core::v1::EndpointAddress>>) -> Vec<String> {
    v.iter().flatten().map(|a| a.ip.clone()).collect()
}

#[test]
fn ready_pods_go_to_addresses_and_unready_ones_to_not_ready_addresses() {
    let e = desired_endpoints(
        &svc(IntOrString::Int(8080)),
        &[
            web_pod("a", "10.0.0.2", true),
            web_pod("b", "10.0.0.3", false),
        ],
    )
    .unwrap();
    let subsets = e.subsets.unwrap();
    assert_eq!(subsets.len(), 1);
    assert_eq!(ips(&subsets[0].addresses), vec!["10.0.0.2"]);
    assert_eq!(ips(&subsets[0].not_ready_addresses), vec!["10.0.0.3"]);
    let port = &subsets[0].ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.port, port.protocol.as_deref()),
        (Some("http"), 8080, Some("TCP"))
    );
    let a = &subsets[0].addresses.as_ref().unwrap()[0];
    assert_eq!(a.node_name.as_deref(), Some("node-1"));
    let r = a.target_ref.as_ref().unwrap();
    assert_eq!(
        (r.kind.as_deref(), r.name.as_deref(), r.uid.as_deref()),
        (Some("Pod"), Some("a"), Some("uid-a"))
    );
    assert_eq!(
        e.metadata.labels.unwrap().get("team").map(String::as_str),
        Some("a")
    );
}

#[test]
fn publish_not_ready_addresses_puts_every_pod_in_addresses() {
    let mut s = svc(IntOrString::Int(8080));
    s.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
    let e = desired_endpoints(&s, &[web_pod("b", "10.0.0.3", false)]).unwrap();
    assert_eq!(ips(&e.subsets.unwrap()[0].addresses), vec!["10.0.0.3"]);
}

#[test]
fn a_named_target_port_resolves_per_pod_and_pods_without_it_are_skipped() {
    let a = with_port(&web_pod("a", "10.0.0.2", true), "http", 8080);
    let b = with_port(&web_pod("b", "10.0.0.3", true), "http", 9090);
    let c = with_port(&web_pod("c", "10.0.0.4", true), "other", 7070);
    let e = desired_endpoints(&svc(IntOrString::String("http".into())), &[a, b, c]).unwrap();
    let subsets = e.subsets.unwrap();
    assert_eq!(subsets.len(), 2, "different ports make different subsets");
    let mut by_port: Vec<(i32, Vec<String>)> = subsets
        .iter()
        .map(|s| (s.ports.as_ref().unwrap()[0].port, ips(&s.addresses)))
        .collect();
    by_port.sort();
    assert_eq!(
        by_port,
        vec![
            (8080, vec!["10.0.0.2".to_string()]),
            (9090, vec!["10.0.0.3".to_string()])
        ]
    );
}

#[test]
fn addresses_sort_by_ip_as_a_string() {
    let e = desired_endpoints(
        &svc(IntOrString::Int(80)),
        &[
            web_pod("a", "10.0.0.9", true),
            web_pod("b", "10.0.0.10", true),
        ],
    )
    .unwrap();
    assert_eq!(
        ips(&e.subsets.unwrap()[0].addresses),
        vec!["10.0.0.10", "10.0.0.9"]
    );
}

#[test]
fn a_headless_service_gets_the_headless_label_and_portless_addresses() {
    let mut s = svc(IntOrString::Int(80));
    s.spec.as_mut().unwrap().cluster_ip = Some("None".into());
    s.spec.as_mut().unwrap().ports = None;
    let e = desired_endpoints(&s, &[web_pod("a", "10.0.0.2", true)]).unwrap();
    assert_eq!(
        e.metadata.labels.unwrap().get(HEADLESS).map(String::as_str),
        Some("")
    );
    let subsets = e.subsets.unwrap();
    assert_eq!(ips(&subsets[0].addresses), vec!["10.0.0.2"]);
    assert!(subsets[0].ports.is_none());
}

#[test]
fn the_hostname_is_set_only_for_pods_in_the_services_subdomain() {
    let mut p = (*web_pod("a", "10.0.0.2", true)).clone();
    p.spec.as_mut().unwrap().hostname = Some("host-a".into());
    p.spec.as_mut().unwrap().subdomain = Some("web".into());
    let e = desired_endpoints(&svc(IntOrString::Int(80)), &[Arc::new(p)]).unwrap();
    assert_eq!(
        e.subsets.unwrap()[0].addresses.as_ref().unwrap()[0]
            .hostname
            .as_deref(),
        Some("host-a")
    );
}

#[test]
fn services_without_a_selector_are_not_managed() {
    let mut s = svc(IntOrString::Int(80));
    s.spec.as_mut().unwrap().selector = None;
    assert!(desired_endpoints(&s, &[web_pod("a", "10.0.0.2", true)]).is_none());
}

#[test]
fn more_than_a_thousand_addresses_are_truncated_and_annotated() {
    let pods: Vec<Arc<Pod>> = (0..1001)
        .map(|i| {
            web_pod(
                &format!("p{i}"),
                &format!("10.1.{}.{}", i / 250, i % 250),
                true,
            )
        })
        .collect();
    let e = desired_endpoints(&svc(IntOrString::Int(80)), &pods).unwrap();
    assert_eq!(
        e.subsets.unwrap()[0].addresses.as_ref().unwrap().len(),
        1000
    );
    assert_eq!(
        e.metadata
            .annotations
            .unwrap()
            .get(OVER_CAPACITY)
            .map(String::as_str),
        Some("truncated")
    );
}

#[test]
fn not_ready_addresses_are_truncated_before_ready_ones() {
    let mut pods: Vec<Arc<Pod>> = (0..990)
        .map(|i| {
            web_pod(
                &format!("r{i}"),
                &format!("10.1.{}.{}", i / 250, i % 250),
                true,
            )
        })
        .collect();
    pods.extend((0..20).map(|i| web_pod(&format!("n{i}"), &format!("10.2.0.{i}"), false)));
    let e = desired_endpoints(&svc(IntOrString::Int(80)), &pods).unwrap();
    let s = &e.subsets.unwrap()[0];
    assert_eq!(
        (
            s.addresses.as_ref().unwrap().len(),
            s.not_ready_addresses.as_ref().unwrap().len()
        ),
        (990, 10)
    );
}
