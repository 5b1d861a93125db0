//! Unit tests of the proxy decisions: path parsing, id splitting and target choice.

use serde_json::json;

use super::*;

#[test]
fn proxy_paths_with_and_without_a_tail_are_recognised() {
    let p = route("/api/v1/namespaces/ns/pods/web:8080/proxy/dial").unwrap();
    assert_eq!(p.kind, Kind::Pod);
    assert_eq!((p.namespace.as_str(), p.id.as_str()), ("ns", "web:8080"));
    assert_eq!(p.rest, "/dial");
    assert_eq!(
        route("/api/v1/namespaces/ns/services/s/proxy")
            .unwrap()
            .rest,
        ""
    );
    assert_eq!(
        route("/api/v1/namespaces/ns/services/s/proxy/")
            .unwrap()
            .rest,
        "/"
    );
    assert_eq!(
        route("/api/v1/namespaces/ns/pods/p/proxy/a/b/")
            .unwrap()
            .rest,
        "/a/b/"
    );
    assert!(route("/api/v1/namespaces/ns/pods/p/log").is_none());
    assert!(route("/api/v1/namespaces/ns/configmaps/p/proxy").is_none());
    assert!(route("/apis/apps/v1/namespaces/ns/pods/p/proxy").is_none());
}

#[test]
fn ids_split_like_upstream_split_scheme_name_port() {
    assert_eq!(split_scheme_name_port("p"), Some(("", "p", "")));
    assert_eq!(split_scheme_name_port("p:80"), Some(("", "p", "80")));
    assert_eq!(
        split_scheme_name_port("https:p:443"),
        Some(("https", "p", "443"))
    );
    assert_eq!(split_scheme_name_port("ftp:p:21"), None);
    assert_eq!(split_scheme_name_port(":80"), None);
    assert_eq!(split_scheme_name_port("a:b:c:d"), None);
}

fn pod(ip: Option<&str>) -> Value {
    let mut p = json!({"spec": {"containers": [
        {"name": "a"},
        {"name": "b", "ports": [{"containerPort": 9376, "name": "serve"}, {"containerPort": 1}]},
    ]}});
    if let Some(ip) = ip {
        p["status"] = json!({"podIP": ip, "podIPs": [{"ip": ip}]});
    }
    p
}

fn policy(loopback: bool) -> Policy {
    Policy {
        loopback_pod_network: loopback,
        own: vec!["127.0.0.1:6443".parse().unwrap()],
    }
}

fn loopback_node() -> Value {
    json!({"spec": {"podCIDR": "127.100.1.0/24"}})
}

#[test]
fn a_pod_port_is_a_number_a_named_container_port_or_the_first_declared_one() {
    let p = pod(Some("10.1.2.3"));
    let at = |id: &str| pod_location(&p, None, id, &policy(false));
    assert_eq!(at("p").unwrap().authority, "10.1.2.3:9376");
    assert_eq!(at("p").unwrap().scheme, "http");
    assert_eq!(at("p:serve").unwrap().authority, "10.1.2.3:9376");
    let loc = at("https:p:443").unwrap();
    assert_eq!(
        (loc.scheme.as_str(), loc.authority.as_str()),
        ("https", "10.1.2.3:443")
    );
    let bare = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"podIP": "fd00::1"}});
    assert_eq!(
        pod_location(&bare, None, "p", &policy(false))
            .unwrap()
            .authority,
        "[fd00::1]"
    );
}

#[test]
fn a_port_part_that_is_not_a_port_never_reaches_the_url() {
    let p = pod(Some("10.1.2.3"));
    for id in [
        "http:p:18081@127.0.0.3",
        "p:80@10.9.9.9",
        "p:80/x",
        "p:0",
        "p:nosuch",
    ] {
        let e = pod_location(&p, None, id, &policy(true)).unwrap_err();
        assert_eq!(e.code, 400, "{id}: {}", e.message);
        assert!(
            e.message.starts_with("invalid pod request"),
            "{id}: {}",
            e.message
        );
    }
}

#[test]
fn a_pod_without_a_usable_ip_is_a_bad_request() {
    let node = loopback_node();
    let e = pod_location(&pod(None), None, "p:80", &policy(true)).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (400, "address not allowed"));
    let looped = pod(Some("127.100.1.2"));
    assert_eq!(
        pod_location(&looped, Some(&node), "p:80", &policy(false))
            .unwrap_err()
            .code,
        400
    );
    assert_eq!(
        pod_location(&looped, None, "p:80", &policy(true))
            .unwrap_err()
            .code,
        400,
        "loopback without a loopback node"
    );
    assert_eq!(
        pod_location(&looped, Some(&node), "p:80", &policy(true))
            .unwrap()
            .authority,
        "127.100.1.2:80"
    );
    assert!(pod_location(&pod(Some("0.0.0.0")), None, "p:80", &policy(true)).is_err());
    assert!(pod_location(&pod(Some("169.254.169.254")), None, "p:80", &policy(true)).is_err());
}

fn service() -> Value {
    json!({"spec": {"ports": [
        {"name": "http", "port": 80, "targetPort": 8080},
        {"name": "udp", "port": 53, "protocol": "UDP"},
    ]}})
}

fn endpoints() -> Value {
    let pod_ref = |n: &str| json!({"kind": "Pod", "namespace": "ns", "name": n});
    json!({"subsets": [
        {"addresses": [{"ip": "10.0.0.5", "targetRef": pod_ref("a")}, {"ip": "10.0.0.6"}],
         "notReadyAddresses": [{"ip": "10.0.0.7"}],
         "ports": [{"name": "http", "port": 8080}]},
        {"addresses": [{"ip": "10.0.0.9", "targetRef": pod_ref("b")}], "ports": [{"name": "udp", "port": 53}]},
    ]})
}

fn authorities(c: &[Candidate]) -> Vec<String> {
    c.iter().map(|c| format!("{}:{}", c.ip, c.port)).collect()
}

#[test]
fn a_service_proxies_to_the_ready_addresses_of_the_named_port() {
    let eps = endpoints();
    for (id, want) in [
        ("s:http", vec!["10.0.0.5:8080", "10.0.0.6:8080"]),
        ("s:80", vec!["10.0.0.5:8080", "10.0.0.6:8080"]),
        ("s:udp", vec!["10.0.0.9:53"]),
        ("s:53", vec!["10.0.0.9:53"]),
    ] {
        let c = service_candidates(&service(), &eps, id, "ns").unwrap();
        assert_eq!(authorities(&c), want, "{id}");
    }
    let c = service_candidates(&service(), &eps, "s:http", "ns").unwrap();
    assert_eq!(c[0].pod.as_deref(), Some("a"));
    assert_eq!(c[1].pod, None, "no targetRef: cannot be proven a pod's");
    let other_ns = service_candidates(&service(), &eps, "s:http", "elsewhere").unwrap();
    assert_eq!(other_ns[0].pod, None);
    let unnamed = json!({"spec": {"ports": [{"port": 80}]}});
    let eps = json!({"subsets": [{"addresses": [{"ip": "10.0.0.5"}], "ports": [{"port": 8080}]}]});
    let c = service_candidates(&unnamed, &eps, "https:s:", "ns").unwrap();
    assert_eq!(authorities(&c), vec!["10.0.0.5:8080"]);
}

#[test]
fn an_endpoint_address_counts_only_when_its_pod_has_that_ip() {
    let c = Candidate {
        ip: "10.0.0.5".parse().unwrap(),
        port: 80,
        pod: Some("a".into()),
    };
    assert!(address_of_pod(&c, &pod(Some("10.0.0.5"))));
    assert!(!address_of_pod(&c, &pod(Some("10.0.0.6"))));
    assert!(!address_of_pod(&c, &pod(None)));
}

#[test]
fn a_service_without_a_ready_matching_endpoint_is_unavailable() {
    let unready = json!({"subsets": [{"notReadyAddresses": [{"ip": "10.0.0.7"}], "ports": [{"name": "http", "port": 8080}]}]});
    let cases = [
        (
            unready,
            "s:http",
            "no endpoints available for service \"s\"",
        ),
        (
            json!({}),
            "s:http",
            "no endpoints available for service \"s\"",
        ),
        (
            endpoints(),
            "s:nope",
            "no endpoints available for service \"s\"",
        ),
        (endpoints(), "s", "no endpoints available for service \"s\""),
        (
            endpoints(),
            "s:9999",
            "no service port 9999 found for service \"s\"",
        ),
    ];
    for (eps, id, want) in cases {
        let e = service_candidates(&service(), &eps, id, "ns").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (503, want), "{id:?}");
    }
    let e = service_candidates(&service(), &endpoints(), "s:80@evil", "ns").unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "invalid service request \"s:80@evil\"")
    );
}

#[test]
fn proxy_verbs_follow_the_http_method() {
    assert_eq!(verb(&Method::GET), "get");
    assert_eq!(verb(&Method::POST), "create");
    assert_eq!(verb(&Method::DELETE), "delete");
}
