//! Tests for body decoding and field validation, with upstream's messages.

use super::*;
use crate::registry::lookup;
use serde_json::json;

fn deployments() -> &'static ResourceInfo {
    lookup("apps", "v1", "deployments").unwrap()
}

fn pods() -> &'static ResourceInfo {
    lookup("", "v1", "pods").unwrap()
}

fn body(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn a_valid_deployment_decodes_and_gets_type_meta() {
    let d = decode(
        deployments(),
        &body(json!({"metadata": {"name": "web"}, "spec": {"replicas": 2}})),
        Format::Json,
        FieldValidation::Strict,
    )
    .unwrap();
    assert_eq!(d.object["apiVersion"], "apps/v1");
    assert_eq!(d.object["kind"], "Deployment");
    assert_eq!(d.object["spec"]["replicas"], 2);
    assert!(d.warnings.is_empty());
}

#[test]
fn strict_rejects_an_unknown_field_with_upstreams_message() {
    let err = decode(
        deployments(),
        &body(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"foo": 1}})),
        Format::Json,
        FieldValidation::Strict,
    )
    .unwrap_err();
    assert_eq!(
        err.0,
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.foo\""
    );
}

#[test]
fn several_unknown_fields_are_listed_in_document_order() {
    let raw = br#"{"metadata":{"name":"p","bogus":1},"spec":{"containers":[{"name":"a","image":"x","foo":true}]},"zzz":1}"#;
    let err = decode(pods(), raw, Format::Json, FieldValidation::Strict).unwrap_err();
    assert_eq!(
        err.0,
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"metadata.bogus\", unknown field \"spec.containers[0].foo\", unknown field \"zzz\""
    );
}

#[test]
fn unknown_fields_deep_in_a_pod_template_are_found() {
    let raw = body(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b", "ports": [{"containerPort": 80, "hostIp": "x"}]}]}}}}),
    );
    let d = decode(deployments(), &raw, Format::Json, FieldValidation::Warn).unwrap();
    assert_eq!(
        d.warnings,
        ["unknown field \"spec.template.spec.containers[1].ports[0].hostIp\""]
    );
    assert!(
        d.object["spec"]["template"]["spec"]["containers"][1]["ports"][0]
            .get("hostIp")
            .is_none()
    );
}

#[test]
fn duplicate_fields_are_reported() {
    let raw = br#"{"metadata":{"name":"a","name":"b"},"spec":{"replicas":1,"replicas":2}}"#;
    let err = decode(deployments(), raw, Format::Json, FieldValidation::Strict).unwrap_err();
    assert!(err.0.ends_with("strict decoding error: duplicate field \"metadata.name\", duplicate field \"spec.replicas\""), "{err}");
    let ok = decode(deployments(), raw, Format::Json, FieldValidation::Warn).unwrap();
    assert_eq!(ok.object["metadata"]["name"], "b");
    assert_eq!(ok.warnings.len(), 2);
}

#[test]
fn ignore_drops_unknown_fields_silently() {
    let d = decode(
        deployments(),
        &body(json!({"spec": {"foo": 1}})),
        Format::Json,
        FieldValidation::Ignore,
    )
    .unwrap();
    assert!(d.warnings.is_empty());
    assert!(d.object["spec"].get("foo").is_none());
}

#[test]
fn labels_and_annotations_are_free_form_maps() {
    let raw = body(
        json!({"metadata": {"name": "p", "labels": {"anything": "goes"}, "annotations": {"x/y": "z"}}}),
    );
    assert!(decode(pods(), &raw, Format::Json, FieldValidation::Strict).is_ok());
}

#[test]
fn null_values_of_known_fields_are_not_unknown() {
    let raw = body(
        json!({"metadata": {"name": "p", "labels": null}, "spec": {"nodeName": null, "containers": []}}),
    );
    let d = decode(pods(), &raw, Format::Json, FieldValidation::Strict).unwrap();
    assert!(d.object["metadata"].get("labels").is_none());
}

#[test]
fn a_type_error_names_the_field() {
    let err = decode(
        deployments(),
        &body(json!({"spec": {"replicas": "three"}})),
        Format::Json,
        FieldValidation::Strict,
    )
    .unwrap_err();
    assert_eq!(
        err.0,
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
}

#[test]
fn yaml_bodies_decode_like_json() {
    let yaml = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx\n    imagePullPolicyTYPO: Always\n";
    let err = decode(pods(), yaml, Format::Yaml, FieldValidation::Strict).unwrap_err();
    assert!(
        err.0
            .ends_with("unknown field \"spec.containers[0].imagePullPolicyTYPO\""),
        "{err}"
    );
    let ok = decode(pods(), yaml, Format::Yaml, FieldValidation::Ignore).unwrap();
    assert_eq!(ok.object["spec"]["containers"][0]["image"], "nginx");
}

#[test]
fn a_mismatched_api_version_or_kind_is_rejected() {
    let err = decode(
        pods(),
        &body(json!({"apiVersion": "apps/v1", "kind": "Pod"})),
        Format::Json,
        FieldValidation::Strict,
    )
    .unwrap_err();
    assert_eq!(
        err.0,
        "the API version in the data (apps/v1) does not match the expected API version (v1)"
    );
    let err = decode(
        pods(),
        &body(json!({"apiVersion": "v1", "kind": "Service"})),
        Format::Json,
        FieldValidation::Strict,
    )
    .unwrap_err();
    assert_eq!(
        err.0,
        "the kind in the data (Service) does not match the expected kind (Pod)"
    );
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    for raw in [
        &b""[..],
        b"{",
        b"[]",
        b"42",
        b"null",
        b"{\"a\":}",
        b"\xff\xfe",
        b"{\"spec\": {\"containers\": 5}}",
    ] {
        assert!(
            decode(pods(), raw, Format::Json, FieldValidation::Strict).is_err(),
            "{raw:?}"
        );
    }
    for raw in [&b":"[..], b"- a\n- b", b"a: [", b"--- a\n--- b\n", b"\t"] {
        assert!(
            decode(pods(), raw, Format::Yaml, FieldValidation::Warn).is_err(),
            "{raw:?}"
        );
    }
}

#[test]
fn events_k8s_io_events_decode_with_their_own_schema() {
    let info = lookup("events.k8s.io", "v1", "events").unwrap();
    let raw = body(
        json!({"metadata": {"name": "e"}, "eventTime": "2024-01-01T00:00:00.000000Z", "note": "hi", "involvedObject": {}}),
    );
    let d = decode(info, &raw, Format::Json, FieldValidation::Warn).unwrap();
    assert_eq!(d.warnings, ["unknown field \"involvedObject\""]);
}

#[test]
fn field_validation_parses_query_values() {
    assert_eq!(
        FieldValidation::parse("Strict").unwrap(),
        FieldValidation::Strict
    );
    assert_eq!(FieldValidation::parse("").unwrap(), FieldValidation::Warn);
    assert!(FieldValidation::parse("strict").is_err());
}

#[test]
fn patched_objects_are_checked_like_bodies() {
    let patched = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"foo": 1}});
    let err = decode_value(deployments(), &patched, FieldValidation::Strict).unwrap_err();
    assert!(err.0.ends_with("unknown field \"spec.foo\""), "{err}");
    let warned = decode_value(deployments(), &patched, FieldValidation::Warn).unwrap();
    assert_eq!(warned.warnings, ["unknown field \"spec.foo\""]);
}

#[test]
fn timestamps_quantities_and_int_or_strings_round_trip_unchanged() {
    let raw = body(json!({
        "metadata": {"name": "p", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}},
                                 "livenessProbe": {"httpGet": {"port": "http"}}, "readinessProbe": {"tcpSocket": {"port": 8080}}}]},
        "status": {"startTime": "2024-01-01T00:00:01Z"}
    }));
    let d = decode(pods(), &raw, Format::Json, FieldValidation::Strict).unwrap();
    assert_eq!(
        d.object["metadata"]["creationTimestamp"],
        "2024-01-01T00:00:00Z"
    );
    assert_eq!(d.object["status"]["startTime"], "2024-01-01T00:00:01Z");
    let c = &d.object["spec"]["containers"][0];
    assert_eq!(
        c["resources"]["limits"],
        json!({"cpu": "500m", "memory": "1Gi"})
    );
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(c["readinessProbe"]["tcpSocket"]["port"], 8080);
}

#[test]
fn micro_times_keep_their_precision() {
    let info = lookup("events.k8s.io", "v1", "events").unwrap();
    let raw = body(json!({"metadata": {"name": "e"}, "eventTime": "2024-01-01T00:00:00.123456Z"}));
    let d = decode(info, &raw, Format::Json, FieldValidation::Strict).unwrap();
    assert_eq!(d.object["eventTime"], "2024-01-01T00:00:00.123456Z");
}

#[test]
fn numeric_quantities_are_accepted_like_upstream() {
    let yaml = b"metadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: x\n    resources:\n      limits: {cpu: 1, memory: 1024}\n      requests: {cpu: 0.5}\n";
    let d = decode(pods(), yaml, Format::Yaml, FieldValidation::Strict).unwrap();
    assert_eq!(
        d.object["spec"]["containers"][0]["resources"]["limits"],
        json!({"cpu": "1", "memory": "1024"})
    );
    assert_eq!(
        d.object["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "0.5"
    );
}

#[test]
fn type_errors_in_lists_and_maps_use_gos_field_paths() {
    let raw = body(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]}}}}),
    );
    let err = decode(deployments(), &raw, Format::Json, FieldValidation::Strict).unwrap_err();
    assert!(
        err.0.ends_with("json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"),
        "{err}"
    );
    let err = decode(
        pods(),
        &body(json!({"metadata": {"labels": {"a": 1}}})),
        Format::Json,
        FieldValidation::Strict,
    )
    .unwrap_err();
    assert!(err.0.ends_with("json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"), "{err}");
    let err = decode(
        pods(),
        &body(json!({"spec": "x"})),
        Format::Json,
        FieldValidation::Strict,
    )
    .unwrap_err();
    assert!(
        err.0.ends_with(
            "json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec"
        ),
        "{err}"
    );
}
