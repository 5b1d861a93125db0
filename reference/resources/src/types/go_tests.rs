//! Tests for Go's JSON form: field order, zero values and omitempty, checked against
//! what a real API server writes.

use super::*;

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn lookup(group: &str, plural: &str) -> &'static ResourceInfo {
    crate::registry::lookup(group, "v1", plural).unwrap()
}

#[test]
fn every_struct_the_table_names_is_in_the_table() {
    let t = table();
    for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
        for f in line.split_whitespace().skip(1) {
            let ty = f.split_once('=').unwrap().1.trim_end_matches('?');
            // Struct names are the dotted words between `*`, `[]`, `map[..]` and `(A|B)`.
            for base in ty.split(['*', '[', ']', '(', ')', '|']) {
                if base.contains('.') {
                    assert!(t.by_name.contains_key(base), "{line}: {base} is missing");
                }
            }
        }
    }
}

#[test]
fn every_served_kind_has_its_go_type() {
    // Create-only reviews are never stored or written by the generic paths; their
    // handlers write their answers themselves.
    for r in crate::registry::all()
        .iter()
        .filter(|r| r.verbs.contains(&"get"))
    {
        assert!(
            table().by_name.contains_key(go_type(r).as_str()),
            "{} has no Go type",
            go_type(r)
        );
    }
    assert_eq!(go_type(lookup("", "pods")), "core/v1.Pod");
    assert_eq!(
        go_type(lookup("discovery.k8s.io", "endpointslices")),
        "discovery/v1.EndpointSlice"
    );
}

#[test]
fn a_new_daemon_sets_status_carries_the_counts_go_always_writes() {
    let mut ds = json!({"status": {}, "spec": {}, "metadata": {"name": "d"},
                        "apiVersion": "apps/v1", "kind": "DaemonSet"});
    normalize(lookup("apps", "daemonsets"), &mut ds);
    assert_eq!(
        keys(&ds),
        ["kind", "apiVersion", "metadata", "spec", "status"]
    );
    assert_eq!(
        ds["status"],
        json!({"currentNumberScheduled": 0, "numberMisscheduled": 0,
               "desiredNumberScheduled": 0, "numberReady": 0})
    );
    assert_eq!(
        keys(&ds["status"]),
        [
            "currentNumberScheduled",
            "numberMisscheduled",
            "desiredNumberScheduled",
            "numberReady"
        ]
    );
}

#[test]
fn replica_counts_without_omitempty_are_written() {
    for (group, plural) in [
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("", "replicationcontrollers"),
    ] {
        let mut o = json!({"status": {}});
        normalize(lookup(group, plural), &mut o);
        assert_eq!(o["status"]["replicas"], 0, "{plural}");
    }
    let mut sts = json!({"status": {"readyReplicas": 0}});
    normalize(lookup("apps", "statefulsets"), &mut sts);
    assert_eq!(
        sts["status"],
        json!({"replicas": 0, "availableReplicas": 0})
    );
}

#[test]
fn metadata_comes_in_object_meta_order_with_unknown_fields_last() {
    let mut cm = json!({"metadata": {"labels": {"a": "b"}, "x-unknown": 1,
        "creationTimestamp": "2024-01-01T00:00:00Z", "uid": "u", "namespace": "n", "name": "c"}});
    normalize(lookup("", "configmaps"), &mut cm);
    assert_eq!(
        keys(&cm["metadata"]),
        [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "labels",
            "x-unknown"
        ]
    );
}

#[test]
fn empty_omitempty_fields_go_and_required_ones_are_filled() {
    let mut pod = json!({"spec": {"nodeName": "", "hostNetwork": false, "nodeSelector": {},
        "containers": [{"image": "x", "command": []}]},
        "metadata": {"name": "p", "finalizers": []}});
    normalize(lookup("", "pods"), &mut pod);
    assert_eq!(
        pod["spec"],
        json!({"containers": [{"name": "", "image": "x", "resources": {}}]})
    );
    assert_eq!(
        pod["metadata"],
        json!({"name": "p", "creationTimestamp": null})
    );
    // PodStatus is a struct, not a pointer: Go writes it even when empty.
    assert_eq!(pod["status"], json!({}));
}

#[test]
fn zero_times_are_null_and_present_ones_stay() {
    let mut d = json!({"spec": {"template": {"metadata": {"labels": {"a": "b"}}}}});
    normalize(lookup("apps", "deployments"), &mut d);
    assert_eq!(
        d["spec"]["template"]["metadata"],
        json!({"labels": {"a": "b"}, "creationTimestamp": null})
    );
    assert_eq!(
        keys(&d["spec"]["template"]["metadata"]),
        ["creationTimestamp", "labels"]
    );
    let mut pod = json!({"status": {"conditions": [{"type": "Ready", "status": "True",
        "lastTransitionTime": "2024-01-01T00:00:00Z"}]}});
    normalize(lookup("", "pods"), &mut pod);
    assert_eq!(
        pod["status"]["conditions"][0],
        json!({"type": "Ready", "status": "True", "lastProbeTime": null,
               "lastTransitionTime": "2024-01-01T00:00:00Z"})
    );
}

#[test]
fn empty_lists_without_omitempty_are_null_as_after_protobuf_storage() {
    let mut s = json!({"addressType": "IPv4", "endpoints": [], "metadata": {"name": "s"}});
    normalize(lookup("discovery.k8s.io", "endpointslices"), &mut s);
    assert_eq!(s["endpoints"], Value::Null);
    assert_eq!(s["ports"], Value::Null);
    assert_eq!(keys(&s), ["metadata", "addressType", "endpoints", "ports"]);
}

#[test]
fn pointers_keep_zero_values_and_special_types_get_their_zero() {
    let mut d = json!({"spec": {"replicas": 0, "paused": false,
        "template": {"spec": {"containers": [{"name": "c",
            "env": [{"name": "L", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}]}}}});
    normalize(lookup("apps", "deployments"), &mut d);
    assert_eq!(d["spec"]["replicas"], 0);
    assert!(d["spec"].get("paused").is_none());
    let env = &d["spec"]["template"]["spec"]["containers"][0]["env"][0];
    assert_eq!(env["valueFrom"]["resourceFieldRef"]["divisor"], "0");
    let mut svc = json!({"spec": {"ports": [{"port": 80}]}});
    normalize(lookup("", "services"), &mut svc);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 0);
    assert_eq!(svc["status"], json!({"loadBalancer": {}}));
}

#[test]
fn status_bodies_put_details_before_code() {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "m", "reason": "NotFound", "code": 404,
        "details": {"kind": "pods", "name": "x", "group": ""}});
    assert!(normalize_as("meta/v1.Status", &mut s));
    assert_eq!(
        keys(&s),
        [
            "kind",
            "apiVersion",
            "metadata",
            "status",
            "message",
            "reason",
            "details",
            "code"
        ]
    );
    assert_eq!(s["details"], json!({"name": "x", "kind": "pods"}));
    assert_eq!(keys(&s["details"]), ["name", "kind"]);
    assert!(!normalize_as("meta/v1.Nope", &mut s));
}

#[test]
fn a_metadata_field_is_set_at_its_place() {
    let mut o = json!({"metadata": {"name": "a", "namespace": "n", "uid": "u",
                                    "creationTimestamp": "t", "labels": {}}});
    set_meta_field(&mut o, "resourceVersion", json!("7"));
    assert_eq!(
        keys(&o["metadata"]),
        [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "labels"
        ]
    );
    set_meta_field(&mut o, "resourceVersion", json!("8"));
    assert_eq!(o["metadata"]["resourceVersion"], "8");
    assert_eq!(keys(&o["metadata"])[3], "resourceVersion");
    let mut bare = json!({});
    set_meta_field(&mut bare, "resourceVersion", json!("1"));
    assert_eq!(bare, json!({"metadata": {"resourceVersion": "1"}}));
}

#[test]
fn normalising_twice_changes_nothing() {
    let mut pod = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "Pending"}});
    normalize(lookup("", "pods"), &mut pod);
    let once = serde_json::to_string(&pod).unwrap();
    normalize(lookup("", "pods"), &mut pod);
    assert_eq!(serde_json::to_string(&pod).unwrap(), once);
}

fn crd(schema: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"plural": "widgets", "kind": "Widget"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": schema}}]}})
}

fn crd_schema(crd: &Value) -> String {
    serde_json::to_string(&crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]).unwrap()
}

#[test]
fn a_crd_keeps_its_schema_and_gains_the_status_go_always_writes() {
    // Written in JSONSchemaProps' field order, as Go would: nothing may move or change.
    // The default and example look like schemas with zero fields: only writing them as
    // given keeps `nullable: false` and `type: ""`, and keeps `z` before `a`.
    let schema = json!({"type": "object",
        "properties": {"spec": {"type": "object", "default": {"a": 1, "nullable": false},
            "properties": {"color": {"type": "string", "enum": ["x"],
                                     "example": {"z": 0, "type": "", "a": null}}},
            "x-kubernetes-preserve-unknown-fields": true}}});
    let sent = serde_json::to_string(&schema).unwrap();
    let mut c = crd(schema);
    normalize(
        lookup("apiextensions.k8s.io", "customresourcedefinitions"),
        &mut c,
    );
    assert_eq!(crd_schema(&c), sent);
    assert_eq!(
        c["status"],
        json!({"conditions": null, "acceptedNames": {"plural": "", "kind": ""},
               "storedVersions": null})
    );
    assert_eq!(
        keys(&c["status"]),
        ["conditions", "acceptedNames", "storedVersions"]
    );
    assert_eq!(keys(&c["status"]["acceptedNames"]), ["plural", "kind"]);
    assert_eq!(
        keys(&c),
        ["kind", "apiVersion", "metadata", "spec", "status"]
    );
    assert_eq!(
        keys(&c["spec"]["versions"][0]),
        ["name", "served", "storage", "schema"]
    );
}

#[test]
fn a_crd_schema_comes_in_go_order_without_empty_fields_through_its_unions() {
    let schema = json!({"properties": {
        "list": {"items": {"type": "string", "description": "d", "nullable": false},
                 "type": "array"},
        "tuple": {"items": [{"format": "f", "type": "string"}], "type": "array"},
        "open": {"additionalProperties": false, "type": "object"},
        "dict": {"additionalProperties": {"x-kubernetes-int-or-string": false,
                                          "type": "integer", "minimum": 0}},
        "deps": {"dependencies": {"a": ["b"], "c": {"required": ["d"], "type": "object"}}}},
        "type": "object", "x-kubernetes-preserve-unknown-fields": false});
    let mut c = crd(schema);
    normalize(
        lookup("apiextensions.k8s.io", "customresourcedefinitions"),
        &mut c,
    );
    let want = json!({"type": "object", "properties": {
        "list": {"type": "array", "items": {"description": "d", "type": "string"}},
        "tuple": {"type": "array", "items": [{"type": "string", "format": "f"}]},
        "open": {"type": "object", "additionalProperties": false},
        "dict": {"additionalProperties": {"type": "integer", "minimum": 0}},
        "deps": {"dependencies": {"a": ["b"], "c": {"type": "object", "required": ["d"]}}}},
        "x-kubernetes-preserve-unknown-fields": false});
    assert_eq!(crd_schema(&c), serde_json::to_string(&want).unwrap());
}
