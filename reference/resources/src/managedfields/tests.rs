//! Tests of field ownership and server-side apply, after upstream's own tests where they
//! exist (`internal/conflict_test.go` TestNewConflictError, `fieldmanager_test.go`
//! TestUpdateApplyConflict / TestApplyStripsFields, `capmanagers_test.go`
//! TestCapManagersManagerMergingUpdates, structured-merge-diff's
//! `merge/multiple_appliers_test.go` for removal of fields no longer applied).

use serde_json::{Value, json};

use super::*;

fn deployments() -> &'static ResourceInfo {
    crate::registry::lookup("apps", "v1", "deployments").expect("deployments are served")
}

fn op<'a>(manager: &'a str, now: &'a str) -> Op<'a> {
    Op {
        info: deployments(),
        manager,
        subresource: "",
        now,
    }
}

fn config(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": image}]}
            }
        }
    })
}

fn entry<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["manager"] == manager))
        .unwrap_or(&Value::Null)
}

#[test]
fn fields_v1_round_trips_keys_values_and_members() {
    let v = json!({
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}},
                   "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {}}},
        "f:finalizers": {"v:\"x\"": {}}
    });
    let set = path::from_fields_v1(&v).unwrap();
    assert!(set.contains(&vec![
        PathElement::field("spec"),
        PathElement::field("containers"),
        PathElement::key(&[("name", json!("c"))]),
    ]));
    let back = path::to_fields_v1(&set);
    assert_eq!(path::from_fields_v1(&back).unwrap(), set);
    assert_eq!(
        back["f:metadata"]["f:labels"],
        json!({".": {}, "f:app": {}})
    );
    let p = vec![
        PathElement::field("spec"),
        PathElement::field("ports"),
        PathElement::key(&[("protocol", json!("TCP")), ("containerPort", json!(80))]),
    ];
    assert_eq!(
        path_string(&p),
        ".spec.ports[containerPort=80,protocol=\"TCP\"]"
    );
}

#[test]
fn conflict_messages_follow_new_conflict_error() {
    let foo = ManagerId::new("foo", false, "v1", "");
    let bar = ManagerId::new("bar", true, "", "");
    let c = |id: &ManagerId, f: &str| Conflict {
        identifier: id.identifier(),
        manager: id.describe(),
        field: f.into(),
    };
    assert_eq!(
        conflict_message(&[c(&foo, ".spec.replicas")]),
        "Apply failed with 1 conflict: conflict with \"foo\" using v1: .spec.replicas"
    );
    assert_eq!(
        conflict_message(&[c(&foo, ".spec.replicas"), c(&bar, ".metadata.labels.app")]),
        "Apply failed with 2 conflicts: conflicts with \"bar\":\n- .metadata.labels.app\n\
         conflicts with \"foo\" using v1:\n- .spec.replicas"
    );
    let scale = ManagerId::new("foo", false, "v1", "scale");
    assert_eq!(
        scale.describe(),
        "\"foo\" with subresource \"scale\" using v1"
    );
}

#[test]
fn user_agent_prefix_names_the_manager() {
    assert_eq!(
        manager_from_user_agent("kubectl/v1.33.0 (linux/amd64) kubernetes/abc"),
        "kubectl"
    );
    assert_eq!(
        manager_from_user_agent("kube-controller-manager/v1.33.0"),
        "kube-controller-manager"
    );
    assert_eq!(manager_from_user_agent(&"x".repeat(300)).len(), 128);
}

#[test]
fn apply_of_a_new_object_records_the_applied_fields_without_meta() {
    let out = apply(
        &op("kubectl", "2026-01-01T00:00:00Z"),
        None,
        &config(2, "nginx:1"),
        false,
    )
    .unwrap();
    let e = entry(&out, "kubectl");
    assert_eq!(e["operation"], "Apply");
    assert_eq!(e["apiVersion"], "apps/v1");
    assert_eq!(e["fieldsType"], "FieldsV1");
    let f = &e["fieldsV1"];
    // TestApplyStripsFields: name, namespace, apiVersion and kind are never owned.
    assert!(f.get("f:apiVersion").is_none() && f.get("f:kind").is_none());
    assert_eq!(f["f:metadata"], json!({"f:labels": {"f:app": {}}}));
    assert_eq!(f["f:spec"]["f:replicas"], json!({}));
    assert_eq!(
        f["f:spec"]["f:selector"],
        json!({}),
        "LabelSelector is atomic"
    );
    assert_eq!(
        f["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"],
        json!({".": {}, "f:image": {}, "f:name": {}})
    );
    assert_eq!(out["spec"]["replicas"], 2);
}

#[test]
fn a_second_applier_conflicts_on_a_changed_field_and_force_takes_it() {
    let first = apply(&op("a", "t1"), None, &config(2, "nginx:1"), false).unwrap();
    // The same values: shared ownership, no conflict.
    let shared = apply(&op("b", "t2"), Some(&first), &config(2, "nginx:1"), false).unwrap();
    assert!(entry(&shared, "a").is_object() && entry(&shared, "b").is_object());
    let Err(ApplyError::Conflicts(cs)) =
        apply(&op("b", "t3"), Some(&first), &config(3, "nginx:1"), false)
    else {
        panic!("expected a conflict");
    };
    assert_eq!(
        conflict_message(&cs),
        "Apply failed with 1 conflict: conflict with \"a\": .spec.replicas"
    );
    let forced = apply(&op("b", "t3"), Some(&first), &config(3, "nginx:1"), true).unwrap();
    assert_eq!(forced["spec"]["replicas"], 3);
    assert!(
        entry(&forced, "a")["fieldsV1"]["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    assert!(
        entry(&forced, "b")["fieldsV1"]["f:spec"]
            .get("f:replicas")
            .is_some()
    );
}

#[test]
fn an_update_takes_what_it_changed_and_an_apply_then_conflicts_with_it() {
    // TestUpdateApplyConflict: a PUT by one manager, an apply by another.
    let first = apply(&op("kubectl", "t1"), None, &config(2, "nginx:1"), false).unwrap();
    let mut edited = first.clone();
    edited["spec"]["replicas"] = json!(5);
    let mf = update(&op("kubectl-edit", "t2"), Some(&first), &edited);
    edited["metadata"]["managedFields"] = mf;
    let e = entry(&edited, "kubectl-edit");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["time"], "t2");
    assert_eq!(e["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    assert!(
        entry(&edited, "kubectl")["fieldsV1"]["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    let Err(ApplyError::Conflicts(cs)) = apply(
        &op("other", "t3"),
        Some(&edited),
        &config(7, "nginx:1"),
        false,
    ) else {
        panic!("expected a conflict");
    };
    assert_eq!(
        conflict_message(&cs),
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn a_field_dropped_from_the_applied_config_is_removed_unless_another_applier_owns_it() {
    let first = apply(&op("a", "t1"), None, &config(2, "nginx:1"), false).unwrap();
    let mut less = config(2, "nginx:1");
    less["metadata"]["labels"] = json!({});
    if let Some(spec) = less["spec"].as_object_mut() {
        spec.remove("replicas");
    }
    let out = apply(&op("a", "t2"), Some(&first), &less, false).unwrap();
    assert!(out["spec"].get("replicas").is_none());
    assert!(out["metadata"]["labels"].get("app").is_none());
    // Another applier owning replicas keeps it.
    let shared = apply(&op("b", "t2"), Some(&first), &config(2, "nginx:1"), false).unwrap();
    let out = apply(&op("a", "t3"), Some(&shared), &less, false).unwrap();
    assert_eq!(out["spec"]["replicas"], 2);
}

#[test]
fn status_writes_are_a_separate_manager() {
    let first = apply(&op("a", "t1"), None, &config(2, "nginx:1"), false).unwrap();
    let mut new = first.clone();
    new["status"] = json!({"replicas": 2});
    let status_op = Op {
        subresource: "status",
        ..op("kube-controller-manager", "t2")
    };
    // A label sent along with a status write is not stored, so not owned either.
    let mut sent = new.clone();
    sent["metadata"]["labels"]["extra"] = json!("x");
    let mf = update(&status_op, Some(&first), &sent);
    assert!(!mf.to_string().contains("f:extra"));
    new["metadata"]["managedFields"] = mf;
    let e = entry(&new, "kube-controller-manager");
    assert_eq!(e["subresource"], "status");
    assert_eq!(e["fieldsV1"]["f:status"]["f:replicas"], json!({}));
    // The main resource's writer never owns status (it is reset there).
    let mut main = new.clone();
    main["status"]["replicas"] = json!(3);
    let mf = update(&op("x", "t3"), Some(&new), &main);
    assert!(mf.as_array().unwrap().iter().all(|e| e["manager"] != "x"));
}

#[test]
fn update_managers_are_capped_with_ancient_changes() {
    // TestCapManagersManagerMergingUpdates: the oldest updates merge into one entry.
    let mut obj = apply(&op("a", "t00"), None, &config(1, "nginx:1"), false).unwrap();
    for i in 0..12 {
        let mut next = obj.clone();
        next["metadata"]["labels"][format!("l{i}")] = json!("v");
        let (m, t) = (format!("m{i:02}"), format!("t{:02}", i + 1));
        let mf = update(&op(&m, &t), Some(&obj), &next);
        next["metadata"]["managedFields"] = mf;
        obj = next;
    }
    let list = obj["metadata"]["managedFields"].as_array().unwrap();
    let updaters: Vec<&Value> = list.iter().filter(|e| e["operation"] == "Update").collect();
    assert_eq!(updaters.len(), MAX);
    let ancient = entry(&obj, "ancient-changes");
    assert_eq!(
        ancient["fieldsV1"]["f:metadata"]["f:labels"]
            .as_object()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(list[0]["operation"], "Apply", "appliers come first");
}

const MAX: usize = entries::MAX_UPDATE_MANAGERS;

#[test]
fn the_applied_config_may_not_carry_managed_fields() {
    let mut c = config(1, "x");
    c["metadata"]["managedFields"] = json!([]);
    assert_eq!(
        apply(&op("a", "t"), None, &c, false),
        Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".into()
        ))
    );
}

#[test]
fn a_kubectl_apply_keeps_the_client_side_annotation_in_step() {
    // lastAppliedUpdater: only for manager "kubectl", only when the annotation exists.
    let mut live = apply(&op("a", "t1"), None, &config(1, "nginx:1"), false).unwrap();
    let ann = lastapplied::ANNOTATION;
    let untouched = apply(
        &op("kubectl", "t2"),
        Some(&live),
        &config(1, "nginx:2"),
        true,
    )
    .unwrap();
    assert!(untouched["metadata"]["annotations"].get(ann).is_none());
    live["metadata"]["annotations"] = json!({ann: "{}"});
    let out = apply(
        &op("kubectl", "t2"),
        Some(&live),
        &config(1, "nginx:2"),
        true,
    )
    .unwrap();
    let text = out["metadata"]["annotations"][ann].as_str().unwrap();
    assert!(text.starts_with("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\""));
    assert!(text.ends_with("\n") && text.contains("nginx:2"));
}

#[test]
fn kubectl_upgrading_from_client_side_apply_takes_the_fields_it_last_applied() {
    // lastAppliedManager: a conflict with the client-side applier on a field whose
    // last-applied value is the live one is no conflict for manager "kubectl".
    let csa = op("kubectl-client-side-apply", "t1");
    let mut created = config(2, "nginx:1");
    let last = config(2, "nginx:1").to_string();
    created["metadata"]["annotations"] = json!({lastapplied::ANNOTATION: last});
    let mf = update(&csa, None, &created);
    created["metadata"]["managedFields"] = mf;
    let out = apply(
        &op("kubectl", "t2"),
        Some(&created),
        &config(2, "nginx:2"),
        false,
    )
    .unwrap();
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
    // Another manager gets the conflict.
    let Err(ApplyError::Conflicts(cs)) = apply(
        &op("other", "t2"),
        Some(&created),
        &config(2, "nginx:2"),
        false,
    ) else {
        panic!("expected a conflict");
    };
    assert_eq!(cs.len(), 1);
    assert_eq!(
        cs[0].field,
        ".spec.template.spec.containers[name=\"c\"].image"
    );
}

#[test]
fn a_custom_schema_names_its_own_list_types() {
    // x-kubernetes-list-type map / set and x-kubernetes-map-type atomic, as in a CRD.
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer"}}}},
        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "ref": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {"a": {"type": "string"}}}
    }}}});
    let obj =
        json!({"spec": {"ports": [{"name": "web", "n": 1}], "tags": ["x"], "ref": {"a": "b"}}});
    let mut set = Set::new();
    walk::to_set(&obj, Ty::root(Some(&schema)), &mut Vec::new(), &mut set);
    let fields = path::to_fields_v1(&set);
    assert_eq!(
        fields,
        json!({"f:spec": {
            "f:ports": {"k:{\"name\":\"web\"}": {".": {}, "f:n": {}, "f:name": {}}},
            "f:ref": {},
            "f:tags": {"v:\"x\"": {}}
        }})
    );
}

#[test]
fn reset_fields_are_the_kinds_own() {
    // Deployment's status strategy resets the spec and the labels (its PrepareForUpdate
    // keeps the stored ones); a pod's resets the spec, deletion timestamp and owners.
    let status_apply = Op {
        subresource: "status",
        ..op("ctrl", "t1")
    };
    let live = apply(&op("a", "t0"), None, &config(2, "nginx:1"), false).unwrap();
    let cfg = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "x"}},
        "status": {"replicas": 2}
    });
    let out = apply(&status_apply, Some(&live), &cfg, false).unwrap();
    let e = entry(&out, "ctrl");
    assert_eq!(e["fieldsV1"]["f:status"]["f:replicas"], json!({}), "{e}");
    assert!(
        e["fieldsV1"].pointer("/f:metadata/f:labels").is_none(),
        "{e}"
    );
    let pods = crate::registry::lookup("", "v1", "pods").expect("pods are served");
    let paths = |sub: &str| pods.strategy.reset_fields(pods, sub);
    assert_eq!(paths(""), [&["status"][..]]);
    assert_eq!(
        paths("status"),
        [
            &["spec"][..],
            &["metadata", "deletionTimestamp"],
            &["metadata", "ownerReferences"]
        ]
    );
    // A kind that states nothing resets status on the main resource, spec on /status.
    let rs = crate::registry::lookup("apps", "v1", "replicasets").expect("served");
    assert_eq!(rs.strategy.reset_fields(rs, "status"), [&["spec"][..]]);
}
