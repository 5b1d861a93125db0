//! The wire form of what the server writes, checked against upstream's Go encoder: every
//! served kind, created through the API, round-trips through its typed k8s-openapi
//! struct with nothing missing and nothing extra, comes back in Go's field order, and
//! every body ends in a newline.

#![allow(clippy::unwrap_used)]

mod common;

use refkube_resources::ResourceInfo;
use refkube_resources::types::{self, go};
use serde_json::{Value, json};

/// The fixture's name: events.k8s.io Events share storage with core Events.
fn name(info: &ResourceInfo) -> &'static str {
    if info.group == "events.k8s.io" {
        "wire-ev"
    } else if info.group == "apiextensions.k8s.io" {
        // A CRD's name is its plural and group.
        "wires.wire.example.com"
    } else {
        "wire"
    }
}

/// A minimal valid object of each served kind (componentstatuses are read-only).
fn fixture(info: &ResourceInfo) -> Option<Value> {
    let meta = json!({"name": name(info)});
    let template = json!({
        "metadata": {"labels": {"app": "wire"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    });
    let selector = json!({"matchLabels": {"app": "wire"}});
    let spec = match (info.group, info.plural) {
        ("", "componentstatuses") => return None,
        ("", "configmaps") => json!({"data": {"k": "v"}}),
        ("", "endpoints") => json!({"subsets": [{"addresses": [{"ip": "10.1.0.1"}],
                                                 "ports": [{"port": 80}]}]}),
        ("", "events") => json!({"involvedObject": {"kind": "Pod", "name": "p",
            "namespace": "default"}, "reason": "Started", "message": "m", "type": "Normal",
            "source": {"component": "kubelet"}}),
        ("", "namespaces") | ("", "serviceaccounts") => json!({}),
        ("", "nodes") => json!({"spec": {}}),
        ("", "persistentvolumeclaims") => json!({"spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}}),
        ("", "persistentvolumes") => json!({"spec": {"accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/tmp/wire"}}}),
        ("", "pods") => json!({"spec": template["spec"]}),
        ("", "replicationcontrollers") => json!({"spec": {"replicas": 1,
            "selector": {"app": "wire"}, "template": template}}),
        ("", "secrets") => json!({"data": {"k": "dg=="}}),
        ("", "services") => json!({"spec": {"selector": {"app": "wire"},
            "ports": [{"port": 80}]}}),
        ("apps", "controllerrevisions") => json!({"revision": 1, "data": {"a": 1}}),
        ("apps", "daemonsets") => json!({"spec": {"selector": selector, "template": template}}),
        ("apps", "deployments") | ("apps", "replicasets") => {
            json!({"spec": {"replicas": 1, "selector": selector, "template": template}})
        }
        ("apps", "statefulsets") => json!({"spec": {"serviceName": "wire",
            "selector": selector, "template": template}}),
        ("batch", "jobs") => json!({"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}}}),
        ("batch", "cronjobs") => json!({"spec": {"schedule": "*/5 * * * *", "jobTemplate": {
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}],
            "restartPolicy": "Never"}}}}}}),
        ("coordination.k8s.io", "leases") => json!({"spec": {"holderIdentity": "me"}}),
        ("policy", "poddisruptionbudgets") => json!({"spec": {"minAvailable": 1,
            "selector": selector}}),
        ("discovery.k8s.io", "endpointslices") => json!({"addressType": "IPv4",
            "endpoints": [{"addresses": ["10.1.0.1"]}], "ports": [{"port": 80}]}),
        ("events.k8s.io", "events") => json!({"eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "wire/c", "reportingInstance": "i", "action": "Test",
            "reason": "Started", "type": "Normal",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}}),
        ("rbac.authorization.k8s.io", "roles" | "clusterroles") => json!({"rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]}),
        ("certificates.k8s.io", "certificatesigningrequests") => {
            use base64::Engine;
            let key = rcgen::KeyPair::generate().unwrap();
            let params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            let pem = params.serialize_request(&key).unwrap().pem().unwrap();
            let request = base64::engine::general_purpose::STANDARD.encode(pem);
            json!({"spec": {"request": request, "signerName": "example.com/wire",
                            "usages": ["client auth"]}})
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => json!({"spec": {
            "group": "wire.example.com", "scope": "Namespaced",
            "names": {"plural": "wires", "kind": "Wire"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object",
                              "properties": {"spec": {"type": "object", "default": {"a": 1},
                                  "properties": {"a": {"type": "integer"}}}}}}}],
        }}),
        _ => panic!("no fixture for {}", info.plural),
    };
    let mut obj = json!({"apiVersion": info.api_version(), "kind": info.kind, "metadata": meta});
    for (k, v) in spec.as_object().unwrap() {
        obj[k] = v.clone();
    }
    Some(obj)
}

fn collection(info: &ResourceInfo) -> String {
    let root = if info.group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/{}", info.group, info.version)
    };
    if info.namespaced {
        format!("{root}/namespaces/default/{}", info.plural)
    } else {
        format!("{root}/{}", info.plural)
    }
}

/// `got` and `want` hold the same data; a field Go writes as `null` and one left out
/// (Rust's `None`) are the same. Returns where they differ.
fn differs(path: &str, got: &Value, want: &Value) -> Option<String> {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => g
            .keys()
            .chain(w.keys())
            .filter_map(|k| {
                let (a, b) = (
                    g.get(k).unwrap_or(&Value::Null),
                    w.get(k).unwrap_or(&Value::Null),
                );
                differs(&format!("{path}.{k}"), a, b)
            })
            .next(),
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => g
            .iter()
            .zip(w)
            .enumerate()
            .find_map(|(i, (a, b))| differs(&format!("{path}[{i}]"), a, b)),
        _ if got == want => None,
        _ => Some(format!(
            "{path}: server wrote {got}, the typed struct {want}"
        )),
    }
}

/// Checks one body the server wrote for `info`: newline framing, Go's order, and the
/// typed round trip.
fn check_body(info: &ResourceInfo, what: &str, text: &str) {
    assert!(text.ends_with("}\n"), "{what}: no trailing newline: {text}");
    let body: Value = serde_json::from_str(text).unwrap();
    let mut go_form = body.clone();
    go::normalize(info, &mut go_form);
    assert_eq!(
        text.trim_end(),
        serde_json::to_string(&go_form).unwrap(),
        "{what}: not in Go's form"
    );
    let typed = (types::type_fns(info).unwrap().round_trip)(body.clone(), None);
    let typed = typed.unwrap_or_else(|e| panic!("{what}: does not decode: {e}"));
    if let Some(d) = differs("", &body, &typed) {
        panic!("{what}: {d}\n{text}");
    }
}

#[tokio::test]
async fn every_served_kind_round_trips_through_its_typed_struct() {
    let s = common::start().await;
    for info in refkube_resources::registry::all() {
        if !info.verbs.contains(&"list") {
            // Reviews: create-only, answered by their own handlers and never stored.
            continue;
        }
        let coll = collection(info);
        if let Some(obj) = fixture(info) {
            let resp = s.http.post(s.at(&coll)).json(&obj).send().await.unwrap();
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            assert_eq!(code, 201, "create {}: {text}", info.plural);
            check_body(info, &format!("create {}", info.plural), &text);
            let keys: Vec<String> = serde_json::from_str::<Value>(&text)
                .unwrap()
                .as_object()
                .unwrap()
                .keys()
                .take(3)
                .cloned()
                .collect();
            assert_eq!(keys, ["kind", "apiVersion", "metadata"], "{}", info.plural);
            let text = s
                .http
                .get(s.at(&format!("{coll}/{}", name(info))))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            check_body(info, &format!("get {}", info.plural), &text);
        }
        let text = s
            .http
            .get(s.at(&coll))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.ends_with("}\n"), "list {}: {text}", info.plural);
        let list: Value = serde_json::from_str(&text).unwrap();
        for item in list["items"].as_array().unwrap() {
            // Go leaves a typed list's items without their TypeMeta; put it back in
            // front, where a single object has it, to check the rest of the order.
            assert!(item.get("kind").is_none(), "list {}: {item}", info.plural);
            let mut typed = serde_json::Map::new();
            typed.insert("kind".into(), json!(info.kind));
            typed.insert("apiVersion".into(), json!(info.api_version()));
            typed.extend(item.as_object().unwrap().clone());
            let item = Value::Object(typed);
            check_body(
                info,
                &format!("list {}", info.plural),
                &format!("{}\n", serde_json::to_string(&item).unwrap()),
            );
        }
    }
}

#[tokio::test]
async fn status_writes_keep_the_counts_go_always_writes() {
    let s = common::start().await;
    let info = refkube_resources::registry::lookup("apps", "v1", "daemonsets").unwrap();
    let coll = collection(info);
    let (code, created) = s.post_json(&coll, fixture(info).unwrap()).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(
        created["status"],
        json!({"currentNumberScheduled": 0, "numberMisscheduled": 0,
               "desiredNumberScheduled": 0, "numberReady": 0})
    );
    // A status write that sends only one count still stores all four.
    let mut sent = created.clone();
    sent["status"] = json!({"numberReady": 2});
    let resp = s
        .http
        .put(s.at(&format!("{coll}/wire/status")))
        .json(&sent)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    check_body(info, "status update", &resp.text().await.unwrap());
    let (_, got) = s.get(&format!("{coll}/wire")).await;
    assert_eq!(
        got["status"],
        json!({"currentNumberScheduled": 0, "numberMisscheduled": 0,
               "desiredNumberScheduled": 0, "numberReady": 2})
    );
}

#[tokio::test]
async fn status_errors_are_written_in_go_order_with_a_newline() {
    let s = common::start().await;
    let resp = s
        .http
        .get(s.at("/api/v1/namespaces/default/configmaps/missing"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(
        resp.text().await.unwrap(),
        concat!(
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","#,
            r#""message":"configmaps \"missing\" not found","reason":"NotFound","#,
            r#""details":{"name":"missing","kind":"configmaps"},"code":404}"#,
            "\n"
        )
    );
    let resp = s
        .http
        .get(s.at("/apis/apps/v1/namespaces/default/deployments/missing"))
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(
        text.contains(
            r#""details":{"name":"missing","group":"apps","kind":"deployments"},"code":404}"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn yaml_bodies_have_sorted_keys_as_upstreams_yaml_serializer_writes() {
    let s = common::start().await;
    let resp = s
        .http
        .get(s.at("/api/v1/namespaces/default"))
        .header("Accept", "application/yaml")
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(
        text.starts_with("apiVersion: v1\nkind: Namespace\nmetadata:\n"),
        "{text}"
    );
}
