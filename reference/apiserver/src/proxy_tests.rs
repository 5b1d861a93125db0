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
        {"name": "b", "ports": [{"containerPort": 9376}, {"containerPort": 1}]},
    ]}});
    if let Some(ip) = ip {
        p["status"] = json!({"podIP": ip, "podIPs": [{"ip": ip}]});
    }
    p
}

#[test]
fn a_pod_port_defaults_to_the_first_declared_container_port() {
    let loc = pod_location(&pod(Some("10.1.2.3")), "", "", false).unwrap();
    assert_eq!(loc.authority, "10.1.2.3:9376");
    assert_eq!(loc.scheme, "http");
    let loc = pod_location(&pod(Some("10.1.2.3")), "https", "443", false).unwrap();
    assert_eq!(
        (loc.scheme.as_str(), loc.authority.as_str()),
        ("https", "10.1.2.3:443")
    );
    let bare = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"podIP": "fd00::1"}});
    assert_eq!(
        pod_location(&bare, "", "", false).unwrap().authority,
        "[fd00::1]"
    );
}

#[test]
fn a_pod_without_a_usable_ip_is_a_bad_request() {
    let e = pod_location(&pod(None), "", "80", true).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (400, "address not allowed"));
    assert_eq!(
        pod_location(&pod(Some("127.100.1.2")), "", "80", false)
            .unwrap_err()
            .code,
        400
    );
    assert_eq!(
        pod_location(&pod(Some("127.100.1.2")), "", "80", true)
            .unwrap()
            .authority,
        "127.100.1.2:80"
    );
    assert!(pod_location(&pod(Some("0.0.0.0")), "", "80", true).is_err());
}

fn service() -> Value {
    json!({"spec": {"ports": [
        {"name": "http", "port": 80, "targetPort": 8080},
        {"name": "udp", "port": 53, "protocol": "UDP"},
    ]}})
}

fn endpoints() -> Value {
    json!({"subsets": [
        {"addresses": [{"ip": "10.0.0.5"}, {"ip": "10.0.0.6"}],
         "notReadyAddresses": [{"ip": "10.0.0.7"}],
         "ports": [{"name": "http", "port": 8080}]},
        {"addresses": [{"ip": "10.0.0.9"}], "ports": [{"name": "udp", "port": 53}]},
    ]})
}

#[test]
fn a_service_proxies_to_a_ready_address_of_the_named_port() {
    let eps = endpoints();
    let pick = |i| move |_| i;
    for (port, i, want) in [
        ("http", 0, "10.0.0.5:8080"),
        ("80", 1, "10.0.0.6:8080"),
        ("udp", 0, "10.0.0.9:53"),
        ("53", 7, "10.0.0.9:53"),
    ] {
        let loc = service_location(&service(), &eps, "s", "", port, false, pick(i)).unwrap();
        assert_eq!(loc.authority, want, "port {port:?}");
    }
    let unnamed = json!({"spec": {"ports": [{"port": 80}]}});
    let eps = json!({"subsets": [{"addresses": [{"ip": "10.0.0.5"}], "ports": [{"port": 8080}]}]});
    let loc = service_location(&unnamed, &eps, "s", "https", "", false, |_| 0).unwrap();
    assert_eq!(
        (loc.scheme.as_str(), loc.authority.as_str()),
        ("https", "10.0.0.5:8080")
    );
}

#[test]
fn a_service_without_a_ready_matching_endpoint_is_unavailable() {
    let unready = json!({"subsets": [{"notReadyAddresses": [{"ip": "10.0.0.7"}], "ports": [{"name": "http", "port": 8080}]}]});
    let cases = [
        (unready, "http", "no endpoints available for service \"s\""),
        (
            json!({}),
            "http",
            "no endpoints available for service \"s\"",
        ),
        (
            endpoints(),
            "nope",
            "no endpoints available for service \"s\"",
        ),
        (endpoints(), "", "no endpoints available for service \"s\""),
        (
            endpoints(),
            "9999",
            "no service port 9999 found for service \"s\"",
        ),
    ];
    for (eps, port, want) in cases {
        let e = service_location(&service(), &eps, "s", "", port, false, |_| 0).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (503, want), "port {port:?}");
    }
}

#[test]
fn proxy_verbs_follow_the_http_method() {
    assert_eq!(verb(&Method::GET), "get");
    assert_eq!(verb(&Method::POST), "create");
    assert_eq!(verb(&Method::DELETE), "delete");
}
