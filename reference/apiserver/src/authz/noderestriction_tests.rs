//! NodeRestriction admission tables: each upstream refusal, and what stays allowed.

use super::*;
use crate::authz::node::tests::Objects;
use serde_json::json;

fn node1() -> User {
    User {
        name: "system:node:node-1".into(),
        groups: vec!["system:nodes".into()],
        ..Default::default()
    }
}

fn req<'a>(op: Operation, resource: &'a str, name: &'a str) -> Request<'a> {
    Request {
        operation: op,
        group: "",
        resource,
        subresource: "",
        namespace: "",
        name,
        object: None,
        old: None,
    }
}

fn cluster() -> Objects {
    Objects(vec![
        (
            "nodes",
            json!({"metadata": {"name": "node-1", "uid": "n1"}}),
        ),
        (
            "pods",
            json!({"metadata": {"name": "mine", "namespace": "ns", "uid": "p1"}, "spec": {"nodeName": "node-1"}}),
        ),
        (
            "pods",
            json!({"metadata": {"name": "theirs", "namespace": "ns", "uid": "p2"}, "spec": {"nodeName": "node-2"}}),
        ),
    ])
}

#[test]
fn a_node_may_not_modify_another_node() {
    let new = json!({"metadata": {"name": "node-2"}});
    let mut r = req(Operation::Update, "nodes", "node-2");
    r.object = Some(&new);
    r.old = Some(&new);
    let e = admit(&node1(), &r, &cluster()).unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        r#"nodes "node-2" is forbidden: node "node-1" is not allowed to modify node "node-2""#
    );
    let other = User {
        name: "jane".into(),
        ..Default::default()
    };
    assert!(admit(&other, &r, &cluster()).is_ok());
}

#[test]
fn a_node_may_not_change_its_taints_or_foreign_labels() {
    let old =
        json!({"metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}}});
    let tainted = json!({"metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
                         "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}});
    let mut r = req(Operation::Update, "nodes", "node-1");
    r.old = Some(&old);
    r.object = Some(&tainted);
    assert_eq!(
        admit(&node1(), &r, &cluster()).unwrap_err().message,
        r#"nodes "node-1" is forbidden: node "node-1" is not allowed to modify taints"#
    );
    let relabeled = json!({"metadata": {"name": "node-1", "labels": {
        "kubernetes.io/hostname": "node-1", "node-role.kubernetes.io/control-plane": "",
        "topology.kubernetes.io/zone": "a", "disktype": "ssd"}}});
    r.object = Some(&relabeled);
    assert_eq!(
        admit(&node1(), &r, &cluster()).unwrap_err().message,
        r#"nodes "node-1" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/control-plane"#
    );
    let fine = json!({"metadata": {"name": "node-1", "labels": {
        "kubernetes.io/hostname": "node-1", "topology.kubernetes.io/zone": "a"}}, "status": {"x": 1}});
    r.object = Some(&fine);
    assert!(admit(&node1(), &r, &cluster()).is_ok());
}

#[test]
fn pods_of_other_nodes_are_out_of_reach() {
    let c = cluster();
    let theirs = c.list("pods", Some("ns"))[1].clone();
    let mut r = req(Operation::Delete, "pods", "theirs");
    r.namespace = "ns";
    r.old = Some(&theirs);
    assert_eq!(
        admit(&node1(), &r, &c).unwrap_err().message,
        r#"pods "theirs" is forbidden: node "node-1" can only delete pods with spec.nodeName set to itself"#
    );
    let mut status = req(Operation::Update, "pods", "theirs");
    status.subresource = "status";
    status.old = Some(&theirs);
    status.object = Some(&theirs);
    assert_eq!(
        admit(&node1(), &status, &c).unwrap_err().message,
        r#"pods "theirs" is forbidden: node "node-1" can only update pod status for pods with spec.nodeName set to itself"#
    );
    let plain =
        json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "node-1"}});
    let mut create = req(Operation::Create, "pods", "p");
    create.object = Some(&plain);
    assert_eq!(
        admit(&node1(), &create, &c).unwrap_err().message,
        r#"pods "p" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "node-1" can only create mirror pods"#
    );
    let mirror = json!({"metadata": {"name": "p", "namespace": "ns",
        "annotations": {"kubernetes.io/config.mirror": "h"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n1", "controller": true}]},
        "spec": {"nodeName": "node-1"}});
    create.object = Some(&mirror);
    assert!(admit(&node1(), &create, &c).is_ok());
}

#[test]
fn only_the_nodes_own_lease_in_kube_node_lease() {
    let mut r = req(Operation::Create, "leases", "node-2");
    r.group = "coordination.k8s.io";
    r.namespace = "kube-node-lease";
    assert_eq!(
        admit(&node1(), &r, &cluster()).unwrap_err().message,
        r#"leases.coordination.k8s.io "node-2" is forbidden: can only access node lease with the same name as the requesting node"#
    );
    r.name = "node-1";
    assert!(admit(&node1(), &r, &cluster()).is_ok());
}

#[test]
fn a_node_evicts_only_its_own_pods() {
    let c = cluster();
    let eviction = json!({"metadata": {"name": "theirs", "namespace": "ns"}});
    let mut r = req(Operation::Create, "pods", "theirs");
    r.subresource = "eviction";
    r.namespace = "ns";
    r.object = Some(&eviction);
    assert_eq!(
        admit(&node1(), &r, &c).unwrap_err().message,
        r#"pods "theirs" is forbidden: node node-1 can only evict pods with spec.nodeName set to itself"#
    );
    r.name = "ghost";
    let e = admit(&node1(), &r, &c).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, r#"pods "ghost" not found"#)
    );
    // Without a name in the URL, the Eviction's own name picks the pod.
    r.name = "";
    assert_eq!(admit(&node1(), &r, &c).unwrap_err().code, 403);
    let unnamed = json!({"metadata": {}});
    r.object = Some(&unnamed);
    assert_eq!(
        admit(&node1(), &r, &c).unwrap_err().message,
        "pods is forbidden: could not determine pod from request data"
    );
    r.name = "mine";
    assert!(admit(&node1(), &r, &c).is_ok());
}

#[test]
fn a_node_requests_tokens_only_bound_to_its_own_pods() {
    let c = cluster();
    let ask = |bound: Value| json!({"spec": {"audiences": ["a"], "boundObjectRef": bound}});
    let check = |body: &Value| {
        let mut r = req(Operation::Create, "serviceaccounts", "default");
        r.subresource = "token";
        r.namespace = "ns";
        r.object = Some(body);
        admit(&node1(), &r, &c)
    };
    let why = |body: Value| check(&body).unwrap_err().message;
    let prefix = r#"serviceaccounts "default" is forbidden: "#;
    assert_eq!(
        why(json!({"spec": {"audiences": ["a"]}})),
        format!("{prefix}node requested token not bound to a pod")
    );
    assert_eq!(
        why(ask(
            json!({"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "x"})
        )),
        format!("{prefix}node requested token not bound to a pod")
    );
    assert_eq!(
        why(ask(
            json!({"apiVersion": "v1", "kind": "Pod", "name": "mine"})
        )),
        format!("{prefix}node requested token with a pod binding without a uid")
    );
    assert_eq!(
        why(ask(
            json!({"apiVersion": "v1", "kind": "Pod", "name": "mine", "uid": "old"})
        )),
        format!(
            "{prefix}the UID in the bound object reference (old) does not match the UID in record. The object might have been deleted and then recreated"
        )
    );
    assert_eq!(
        why(ask(
            json!({"apiVersion": "v1", "kind": "Pod", "name": "theirs", "uid": ""})
        )),
        format!("{prefix}node requested token with a pod binding without a uid")
    );
    assert_eq!(
        why(ask(
            json!({"apiVersion": "v1", "kind": "Pod", "name": "theirs", "uid": "p2"})
        )),
        format!("{prefix}node requested token bound to a pod scheduled on a different node")
    );
    let gone = ask(json!({"apiVersion": "v1", "kind": "Pod", "name": "gone", "uid": "g"}));
    assert_eq!(check(&gone).unwrap_err().code, 404);
    assert!(
        check(&ask(
            json!({"apiVersion": "v1", "kind": "Pod", "name": "mine", "uid": "p1"})
        ))
        .is_ok()
    );
}
