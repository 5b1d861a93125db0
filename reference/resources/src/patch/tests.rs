//! Tests for the three patch types and the apply approximation.

use super::*;
use crate::registry::lookup;
use serde_json::json;

fn pods() -> &'static ResourceInfo {
    lookup("", "v1", "pods").unwrap()
}

fn deployments() -> &'static ResourceInfo {
    lookup("apps", "v1", "deployments").unwrap()
}

fn smp(info: &ResourceInfo, orig: Value, patch: Value) -> Result<Value, PatchError> {
    apply_patch(
        info,
        PatchKind::StrategicMerge,
        &orig,
        &serde_json::to_vec(&patch).unwrap(),
    )
}

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
           "spec": {"containers": [
               {"name": "app", "image": "nginx:1", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]},
               {"name": "side", "image": "busybox"}],
            "tolerations": [{"key": "k", "operator": "Exists"}]}})
}

#[test]
fn json_patch_applies_operations() {
    let patch = br#"[{"op":"replace","path":"/metadata/labels/a","value":"9"},{"op":"add","path":"/spec/nodeName","value":"n"}]"#;
    let out = apply_patch(pods(), PatchKind::Json, &pod(), patch).unwrap();
    assert_eq!(out["metadata"]["labels"]["a"], "9");
    assert_eq!(out["spec"]["nodeName"], "n");
}

#[test]
fn a_failing_json_patch_test_is_unprocessable_and_garbage_is_a_bad_request() {
    let err = apply_patch(
        pods(),
        PatchKind::Json,
        &pod(),
        br#"[{"op":"test","path":"/metadata/name","value":"q"}]"#,
    )
    .unwrap_err();
    assert_eq!(err.code, 422);
    assert_eq!(
        apply_patch(pods(), PatchKind::Json, &pod(), b"{")
            .unwrap_err()
            .code,
        400
    );
}

#[test]
fn merge_patch_replaces_lists_and_null_deletes() {
    let out = apply_patch(
        pods(),
        PatchKind::Merge,
        &pod(),
        br#"{"metadata":{"labels":{"a":null}},"spec":{"containers":[{"name":"only"}]}}"#,
    )
    .unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
    assert_eq!(out["spec"]["containers"], json!([{"name": "only"}]));
}

#[test]
fn strategic_merge_merges_containers_by_name() {
    let out = smp(
        pods(),
        pod(),
        json!({"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}),
    )
    .unwrap();
    let containers = out["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0]["image"], "nginx:2");
    assert_eq!(containers[0]["env"][0]["name"], "A");
    assert_eq!(containers[1]["name"], "side");
}

#[test]
fn nested_env_and_ports_merge_by_their_keys() {
    let patch = json!({"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 80, "name": "http"}]}]}});
    let out = smp(pods(), pod(), patch).unwrap();
    assert_eq!(
        out["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    );
    assert_eq!(
        out["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80, "name": "http"}])
    );
}

#[test]
fn tolerations_have_no_merge_key_and_are_replaced() {
    let out = smp(
        pods(),
        pod(),
        json!({"spec": {"tolerations": [{"key": "other", "operator": "Exists"}]}}),
    )
    .unwrap();
    assert_eq!(
        out["spec"]["tolerations"],
        json!([{"key": "other", "operator": "Exists"}])
    );
}

#[test]
fn patch_delete_removes_a_list_element() {
    let out = smp(
        pods(),
        pod(),
        json!({"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}),
    )
    .unwrap();
    assert_eq!(out["spec"]["containers"].as_array().unwrap().len(), 1);
}

#[test]
fn patch_replace_replaces_a_map_or_a_list() {
    let out = smp(
        pods(),
        pod(),
        json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}),
    )
    .unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"c": "3"}));
    let out = smp(
        pods(),
        pod(),
        json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "new", "image": "x"}]}}),
    )
    .unwrap();
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "new", "image": "x"}])
    );
}

#[test]
fn null_deletes_a_map_key() {
    let out = smp(pods(), pod(), json!({"metadata": {"labels": {"a": null}}})).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
}

#[test]
fn finalizers_merge_as_a_primitive_set_and_can_be_deleted() {
    let out = smp(
        pods(),
        pod(),
        json!({"metadata": {"finalizers": ["y", "x"]}}),
    )
    .unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["x", "y"]));
    let out = smp(
        pods(),
        pod(),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}}),
    )
    .unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!([]));
}

#[test]
fn set_element_order_orders_the_merged_list() {
    let patch = json!({"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "app"}], "containers": [{"name": "app", "image": "nginx:3"}]}});
    let out = smp(pods(), pod(), patch).unwrap();
    assert_eq!(out["spec"]["containers"][0]["name"], "side");
    assert_eq!(out["spec"]["containers"][1]["image"], "nginx:3");
}

#[test]
fn retain_keys_drops_keys_not_listed() {
    let d =
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let out = smp(
        deployments(),
        d,
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    )
    .unwrap();
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn deployment_template_containers_merge_deep_in_the_template() {
    let d = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}}});
    let out = smp(
        deployments(),
        d,
        json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}}),
    )
    .unwrap();
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}])
    );
}

#[test]
fn a_missing_merge_key_is_unprocessable() {
    let err = smp(
        pods(),
        pod(),
        json!({"spec": {"containers": [{"image": "x"}]}}),
    )
    .unwrap_err();
    assert_eq!(err.code, 422);
    assert_eq!(
        err.message,
        "map: map[image:x] does not contain declared merge key: name"
    );
}

#[test]
fn an_unknown_patch_directive_is_a_bad_request() {
    let err = smp(pods(), pod(), json!({"metadata": {"$patch": "explode"}})).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (400, "Unknown patch type: explode")
    );
}

#[test]
fn service_ports_merge_by_port() {
    let svc = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
    let info = lookup("", "v1", "services").unwrap();
    let out = smp(
        info,
        svc,
        json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
    )
    .unwrap();
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 80, "targetPort": 9090}, {"port": 443}])
    );
}

#[test]
fn node_conditions_and_addresses_merge_by_type() {
    let node = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "DiskPressure", "status": "False"}],
                                 "addresses": [{"type": "InternalIP", "address": "1.1.1.1"}]}});
    let info = lookup("", "v1", "nodes").unwrap();
    let out = smp(info, node, json!({"status": {"conditions": [{"type": "Ready", "status": "True"}], "addresses": [{"type": "Hostname", "address": "n"}]}})).unwrap();
    assert_eq!(out["status"]["conditions"][0]["status"], "True");
    assert_eq!(out["status"]["conditions"].as_array().unwrap().len(), 2);
    assert_eq!(out["status"]["addresses"].as_array().unwrap().len(), 2);
}

#[test]
fn apply_merges_the_applied_configuration() {
    let yaml = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    c: \"3\"\nspec:\n  containers:\n  - name: app\n    image: nginx:4\n";
    let out = apply_patch(pods(), PatchKind::Apply, &pod(), yaml).unwrap();
    assert_eq!(
        out["metadata"]["labels"],
        json!({"a": "1", "b": "2", "c": "3"})
    );
    assert_eq!(out["spec"]["containers"][0]["image"], "nginx:4");
    let err = apply_patch(pods(), PatchKind::Apply, &pod(), b"metadata: {}\n").unwrap_err();
    assert_eq!(err.code, 400);
}

#[test]
fn content_types_map_to_patch_kinds() {
    assert_eq!(
        PatchKind::from_content_type("application/strategic-merge-patch+json"),
        Some(PatchKind::StrategicMerge)
    );
    assert_eq!(
        PatchKind::from_content_type("application/merge-patch+json; charset=utf-8"),
        Some(PatchKind::Merge)
    );
    assert_eq!(PatchKind::from_content_type("text/plain"), None);
}

#[test]
fn malformed_patches_never_panic() {
    for body in [
        &b"[]"[..],
        b"1",
        b"\"x\"",
        b"{\"spec\":[1]}",
        b"{\"spec\":{\"containers\":{}}}",
        b"{\"metadata\":{\"$retainKeys\":5}}",
    ] {
        let _ = apply_patch(pods(), PatchKind::StrategicMerge, &pod(), body);
        let _ = apply_patch(pods(), PatchKind::Merge, &pod(), body);
        let _ = apply_patch(pods(), PatchKind::Json, &pod(), body);
    }
}

#[test]
fn set_element_order_keeps_server_only_items_in_their_live_place() {
    // The live list has a server-added sidecar between the two applied containers.
    let live = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "sidecar", "image": "s"}, {"name": "b", "image": "1"}]}});
    let patch = json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "b", "image": "2"}]}});
    let out = smp(pods(), live, patch).unwrap();
    let names: Vec<&str> = out["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "sidecar", "b"]);
    assert_eq!(out["spec"]["containers"][2]["image"], "2");
}
