//! Tests for validation, asserting upstream's field paths and messages.

use super::*;
use crate::defaults::{DefaultsConfig, apply_defaults};
use crate::registry::lookup;
use serde_json::json;

fn info(group: &str, plural: &str) -> &'static ResourceInfo {
    lookup(group, "v1", plural).unwrap()
}

/// Defaults then validates, as the API server does on create.
fn create(group: &str, plural: &str, mut obj: Value) -> Vec<String> {
    let i = info(group, plural);
    apply_defaults(i, &mut obj, &DefaultsConfig::default());
    validate_create(i, &obj)
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

fn pod(spec: Value) -> Value {
    json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec})
}

fn deployment(selector: Value, labels: Value) -> Value {
    json!({"metadata": {"name": "d", "namespace": "default"},
           "spec": {"selector": selector, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a", "image": "x"}]}}}})
}

#[test]
fn a_valid_pod_has_no_errors() {
    assert_eq!(
        create(
            "",
            "pods",
            pod(json!({"containers": [{"name": "a", "image": "nginx"}]}))
        ),
        Vec::<String>::new()
    );
}

#[test]
fn an_uppercase_name_is_rejected_with_upstreams_message() {
    let mut p = pod(json!({"containers": [{"name": "a", "image": "nginx"}]}));
    p["metadata"]["name"] = json!("Foo");
    assert_eq!(
        create("", "pods", p),
        [
            "metadata.name: Invalid value: \"Foo\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ]
    );
}

#[test]
fn service_names_are_dns1035_labels() {
    let errs = create(
        "",
        "services",
        json!({"metadata": {"name": "1web", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}),
    );
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(
            "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of"
        ),
        "{errs:?}"
    );
}

#[test]
fn a_missing_name_requires_name_or_generate_name() {
    let errs = create(
        "",
        "configmaps",
        json!({"metadata": {"namespace": "default"}}),
    );
    assert_eq!(
        errs,
        ["metadata.name: Required value: name or generateName is required"]
    );
    assert!(
        create(
            "",
            "configmaps",
            json!({"metadata": {"generateName": "web-", "namespace": "default"}})
        )
        .is_empty()
    );
}

#[test]
fn a_pod_without_containers_is_invalid() {
    assert_eq!(
        create("", "pods", pod(json!({}))),
        ["spec.containers: Required value"]
    );
}

#[test]
fn container_names_images_and_duplicates() {
    let errs = create(
        "",
        "pods",
        pod(json!({"containers": [{"name": "a", "image": "x"}, {"name": "a"}, {"image": "y"}]})),
    );
    assert_eq!(
        errs,
        [
            "spec.containers[1].name: Duplicate value: \"a\"",
            "spec.containers[1].image: Required value",
            "spec.containers[2].name: Required value"
        ]
    );
}

#[test]
fn ports_and_protocols_are_checked() {
    let errs = create(
        "",
        "pods",
        pod(
            json!({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 70000, "protocol": "HTTP"}]}]}),
        ),
    );
    assert_eq!(
        errs,
        [
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""
        ]
    );
}

#[test]
fn restart_policy_must_be_supported() {
    let errs = create(
        "",
        "pods",
        pod(json!({"restartPolicy": "Sometimes", "containers": [{"name": "a", "image": "x"}]})),
    );
    assert_eq!(
        errs,
        [
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
        ]
    );
}

#[test]
fn requests_may_not_exceed_limits() {
    let errs = create(
        "",
        "pods",
        pod(
            json!({"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1500m", "memory": "-1"}}}]}),
        ),
    );
    assert!(errs.contains(&"spec.containers[0].resources.requests: Invalid value: \"1500m\": must be less than or equal to cpu limit of 1".to_string()), "{errs:?}");
    assert!(errs.contains(&"spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0".to_string()), "{errs:?}");
}

#[test]
fn volume_mounts_must_name_a_volume() {
    let errs = create(
        "",
        "pods",
        pod(
            json!({"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}]}),
        ),
    );
    assert_eq!(
        errs,
        ["spec.containers[0].volumeMounts[0].name: Not found: \"data\""]
    );
}

#[test]
fn labels_are_checked() {
    let errs = create(
        "",
        "configmaps",
        json!({"metadata": {"name": "c", "namespace": "default", "labels": {"a b": "c d"}}}),
    );
    assert_eq!(errs.len(), 2);
    assert!(errs[0].starts_with("metadata.labels: Invalid value: \"a b\": name part must consist of alphanumeric characters"), "{errs:?}");
    assert!(
        errs[1].starts_with(
            "metadata.labels: Invalid value: \"c d\": a valid label must be an empty string"
        ),
        "{errs:?}"
    );
}

#[test]
fn a_deployment_selector_must_match_the_template_labels() {
    let errs = create(
        "apps",
        "deployments",
        deployment(json!({"matchLabels": {"app": "web"}}), json!({"app": "db"})),
    );
    assert_eq!(
        errs,
        [
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"db\"}: `selector` does not match template `labels`"
        ]
    );
}

#[test]
fn a_deployment_needs_a_non_empty_selector() {
    let errs = create(
        "apps",
        "deployments",
        deployment(json!(null), json!({"app": "web"})),
    );
    assert_eq!(errs, ["spec.selector: Required value"]);
    let errs = create(
        "apps",
        "deployments",
        deployment(json!({}), json!({"app": "web"})),
    );
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].ends_with("empty selector is invalid for deployment"),
        "{errs:?}"
    );
}

#[test]
fn replicas_must_not_be_negative_and_rollouts_must_make_progress() {
    let mut d = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
    );
    d["spec"]["replicas"] = json!(-1);
    d["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}});
    assert_eq!(
        create("apps", "deployments", d),
        [
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": may not be 0 when `maxSurge` is 0"
        ]
    );
}

#[test]
fn a_replica_set_template_must_restart_always() {
    let mut rs = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
    );
    rs["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    assert_eq!(
        create("apps", "replicasets", rs),
        [
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""
        ]
    );
}

#[test]
fn jobs_need_on_failure_or_never() {
    let job = json!({"metadata": {"name": "j", "namespace": "default", "uid": "u"}, "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
    assert_eq!(
        create("batch", "jobs", job.clone()),
        [
            "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
        ]
    );
    let mut ok = job;
    ok["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    assert!(create("batch", "jobs", ok).is_empty());
}

#[test]
fn services_need_ports_and_valid_types() {
    let errs = create(
        "",
        "services",
        json!({"metadata": {"name": "s", "namespace": "default"}, "spec": {"type": "Magic"}}),
    );
    assert_eq!(
        errs,
        [
            "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            "spec.ports: Required value"
        ]
    );
    let errs = create(
        "",
        "services",
        json!({"metadata": {"name": "s", "namespace": "default"}, "spec": {"ports": [{"port": 80}, {"port": 81}]}}),
    );
    assert_eq!(
        errs,
        [
            "spec.ports[0].name: Required value",
            "spec.ports[1].name: Required value"
        ]
    );
}

#[test]
fn a_pod_spec_is_immutable_except_images() {
    let i = info("", "pods");
    let mut old = pod(json!({"containers": [{"name": "a", "image": "x:1"}]}));
    apply_defaults(i, &mut old, &DefaultsConfig::default());
    let mut image = old.clone();
    image["spec"]["containers"][0]["image"] = json!("x:2");
    assert!(validate_update(i, &old, &image).is_empty());
    let mut node = old.clone();
    node["spec"]["restartPolicy"] = json!("Never");
    let errs = validate_update(i, &old, &node);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec");
    assert_eq!(errs[0].reason, "FieldValueForbidden");
    assert!(errs[0].message.starts_with(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
    ));
    let mut tol = old.clone();
    tol["spec"]["tolerations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "k", "operator": "Exists"}));
    assert!(validate_update(i, &old, &tol).is_empty());
}

#[test]
fn a_service_cluster_ip_may_not_change() {
    let i = info("", "services");
    let old = json!({"metadata": {"name": "s", "namespace": "default"}, "spec": {"type": "ClusterIP", "sessionAffinity": "None", "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80, "protocol": "TCP"}]}});
    let mut new = old.clone();
    new["spec"]["clusterIP"] = json!("10.0.0.2");
    new["spec"]["clusterIPs"] = json!(["10.0.0.2"]);
    let errs = validate_update(i, &old, &new);
    assert_eq!(errs.len(), 1);
    assert_eq!(
        format!("{}: {}", errs[0].field, errs[0].message),
        "spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.2\"}: may not change once set"
    );
}

#[test]
fn a_deployment_selector_is_immutable() {
    let i = info("apps", "deployments");
    let mut old = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web", "v": "1"}),
    );
    apply_defaults(i, &mut old, &DefaultsConfig::default());
    let mut new = old.clone();
    new["spec"]["selector"] = json!({"matchLabels": {"v": "1"}});
    let errs = validate_update(i, &old, &new);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.selector");
    assert!(errs[0].message.ends_with("field is immutable"));
}

#[test]
fn names_and_namespaces_are_immutable() {
    let i = info("", "namespaces");
    let errs = validate_update(
        i,
        &json!({"metadata": {"name": "a"}}),
        &json!({"metadata": {"name": "b"}}),
    );
    assert_eq!(errs.len(), 1);
    assert_eq!(
        format!("{}: {}", errs[0].field, errs[0].message),
        "metadata.name: Invalid value: \"b\": field is immutable"
    );
}

#[test]
fn statefulset_spec_is_mostly_immutable() {
    let i = info("apps", "statefulsets");
    let old = json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"serviceName": "a", "replicas": 1}});
    let mut scaled = old.clone();
    scaled["spec"]["replicas"] = json!(3);
    assert!(
        validate_update(i, &old, &scaled)
            .iter()
            .all(|c| c.field != "spec")
    );
    let mut renamed = old.clone();
    renamed["spec"]["serviceName"] = json!("b");
    assert!(
        validate_update(i, &old, &renamed)
            .iter()
            .any(|c| c.field == "spec" && c.reason == "FieldValueForbidden")
    );
}

#[test]
fn config_map_keys_must_be_valid() {
    let errs = create(
        "",
        "configmaps",
        json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a b": "x"}}),
    );
    assert_eq!(
        errs,
        [
            "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        ]
    );
}

#[test]
fn cluster_scoped_objects_may_not_have_a_namespace() {
    let errs = create(
        "",
        "nodes",
        json!({"metadata": {"name": "n", "namespace": "x"}}),
    );
    assert_eq!(
        errs,
        ["metadata.namespace: Forbidden: not allowed on this type"]
    );
}

#[test]
fn invalid_messages_aggregate_like_upstream() {
    let i = info("", "pods");
    let one = vec![Cause {
        reason: "FieldValueRequired",
        message: "Required value".into(),
        field: "spec.containers".into(),
    }];
    assert_eq!(
        invalid_message(i, "p", &one),
        "Pod \"p\" is invalid: spec.containers: Required value"
    );
    let mut two = one.clone();
    two.push(Cause {
        reason: "FieldValueRequired",
        message: "Required value".into(),
        field: "metadata.name".into(),
    });
    assert_eq!(
        invalid_message(i, "p", &two),
        "Pod \"p\" is invalid: [spec.containers: Required value, metadata.name: Required value]"
    );
    assert!(
        invalid_message(info("apps", "deployments"), "d", &one)
            .starts_with("Deployment.apps \"d\" is invalid")
    );
}

#[test]
fn malformed_objects_do_not_panic() {
    for bad in [
        json!(null),
        json!([]),
        json!({"spec": 5}),
        json!({"metadata": 5, "spec": {"containers": [5, {"ports": [5]}]}}),
    ] {
        for r in crate::registry::all() {
            let _ = validate_create(r, &bad);
            let _ = validate_update(r, &bad, &bad);
        }
    }
}

#[test]
fn service_port_names_are_dns1123_labels_so_kubectl_create_service_names_pass() {
    let svc = |name: &str| {
        json!({"metadata": {"name": "s", "namespace": "default"},
               "spec": {"type": "ClusterIP", "ports": [{"name": name, "port": 80}]}})
    };
    assert!(create("", "services", svc("80-8080")).is_empty());
    let errs = create("", "services", svc("Web_Port"));
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(
            "spec.ports[0].name: Invalid value: \"Web_Port\": a lowercase RFC 1123 label"
        ),
        "{errs:?}"
    );
}
