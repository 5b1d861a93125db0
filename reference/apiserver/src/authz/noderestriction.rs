//! NodeRestriction admission (upstream's `plugin/pkg/admission/noderestriction`): a
//! kubelet may create only mirror pods bound to itself, update only the status of pods
//! bound to itself, delete only those pods, change only its own Node (not its taints,
//! not labels outside the kubelet's set) and only its own Lease.
//!
//! Entry point: [`admit`], a pure check over the request and a [`Lister`] of the
//! current pods and nodes; errors are upstream's 403s word for word.

use serde_json::Value;

use super::forbidden;
use super::node::{Lister, NODE_LEASE_NAMESPACE, node_identity};
use crate::auth::User;
use crate::status::ApiError;

/// What a write does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }
}

/// One write as admission sees it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub operation: Operation,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    /// The object's name (for a create, the name in the body).
    pub name: &'a str,
    /// The new object (create, update).
    pub object: Option<&'a Value>,
    /// The stored object (update, delete).
    pub old: Option<&'a Value>,
}

const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Labels a kubelet may set on its Node (upstream's `kubeletapis.IsKubeletLabel`).
fn is_kubelet_label(key: &str) -> bool {
    const LABELS: &[&str] = &[
        "kubernetes.io/hostname",
        "kubernetes.io/arch",
        "kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "failure-domain.beta.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
    ];
    if LABELS.contains(&key) {
        return true;
    }
    let ns = label_namespace(key);
    ["kubelet.kubernetes.io", "node.kubernetes.io"]
        .iter()
        .any(|allowed| ns == *allowed || ns.ends_with(&format!(".{allowed}")))
}

fn label_namespace(key: &str) -> &str {
    key.split_once('/').map(|(ns, _)| ns).unwrap_or_default()
}

fn is_kubernetes_label(key: &str) -> bool {
    let ns = label_namespace(key);
    ["kubernetes.io", "k8s.io"]
        .iter()
        .any(|d| ns == *d || ns.ends_with(&format!(".{d}")))
}

/// The label keys a node may not add, change or remove, sorted.
fn forbidden_labels(new: &Value, old: Option<&Value>) -> Vec<String> {
    let labels = |o: Option<&Value>| {
        o.and_then(|o| o["metadata"]["labels"].as_object())
            .cloned()
            .unwrap_or_default()
    };
    let (a, b) = (labels(Some(new)), labels(old));
    let mut keys: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .chain(b.iter().filter(|(k, v)| a.get(*k) != Some(v)))
        .map(|(k, _)| k.clone())
        .filter(|k| {
            let ns = label_namespace(k);
            let restricted = ns == "node-restriction.kubernetes.io"
                || ns.ends_with(".node-restriction.kubernetes.io");
            restricted || (is_kubernetes_label(k) && !is_kubelet_label(k))
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Checks a write of a node's user; anyone else passes.
pub fn admit(user: &User, r: &Request, lister: &dyn Lister) -> Result<(), ApiError> {
    let Some(node) = node_identity(user) else {
        return Ok(());
    };
    let deny = |why: String| Err(forbidden::status(r.group, r.resource, r.name, &why));
    if node.is_empty() {
        return deny(format!(
            "could not determine node from user {:?}",
            user.name
        ));
    }
    match (r.group, r.resource) {
        ("", "pods") => match r.subresource {
            "" => admit_pod(node, r, lister, &deny),
            "status" => admit_pod_status(node, r, &deny),
            "eviction" => admit_eviction(node, r, lister, &deny),
            other => deny(format!(
                "unexpected pod subresource {other:?}, only 'status' and 'eviction' are allowed"
            )),
        },
        ("", "nodes") => admit_node(node, r, &deny),
        ("", "persistentvolumeclaims") if r.subresource != "status" => {
            deny("may only update PVC status".into())
        }
        ("coordination.k8s.io", "leases") => {
            if r.namespace != NODE_LEASE_NAMESPACE {
                return deny(format!(
                    "can only access leases in the {NODE_LEASE_NAMESPACE:?} system namespace"
                ));
            }
            if r.name != node {
                return deny(
                    "can only access node lease with the same name as the requesting node".into(),
                );
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

type Deny<'a> = dyn Fn(String) -> Result<(), ApiError> + 'a;

fn pod_of(lister: &dyn Lister, namespace: &str, name: &str) -> Option<Value> {
    lister
        .list("pods", Some(namespace))
        .into_iter()
        .find(|p| str_at(p, &["metadata", "name"]) == name)
        .map(|p| (*p).clone())
}

fn admit_pod(node: &str, r: &Request, lister: &dyn Lister, deny: &Deny) -> Result<(), ApiError> {
    match r.operation {
        Operation::Create => {
            let pod = r.object.cloned().unwrap_or_default();
            if pod["metadata"]["annotations"]
                .get(MIRROR_ANNOTATION)
                .is_none()
            {
                return deny(format!(
                    "pod does not have {MIRROR_ANNOTATION:?} annotation, node {node:?} can only create mirror pods"
                ));
            }
            if str_at(&pod, &["spec", "nodeName"]) != node {
                return deny(format!(
                    "node {node:?} can only create pods with spec.nodeName set to itself"
                ));
            }
            let owners = pod["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            match owners.as_slice() {
                [] => deny(format!(
                    "node {node:?} can only create pods with an owner reference set to itself"
                )),
                [owner] => {
                    if owner["apiVersion"] != "v1"
                        || owner["kind"] != "Node"
                        || owner["name"] != node
                    {
                        return deny(format!(
                            "node {node:?} can only create pods with an owner reference set to itself"
                        ));
                    }
                    if owner["controller"] != true {
                        return deny(format!(
                            "node {node:?} can only create pods with a controller owner reference set to itself"
                        ));
                    }
                    if owner["blockOwnerDeletion"] == true {
                        return deny(format!(
                            "node {node:?} must not set blockOwnerDeletion on an owner reference"
                        ));
                    }
                    let node_uid = lister
                        .list("nodes", None)
                        .into_iter()
                        .find(|n| str_at(n, &["metadata", "name"]) == node)
                        .map(|n| str_at(&n, &["metadata", "uid"]).to_string());
                    let owner_uid = owner["uid"].as_str().unwrap_or_default();
                    match node_uid {
                        None => Err(ApiError::new(
                            404,
                            "NotFound",
                            format!("nodes {node:?} not found"),
                        )),
                        Some(uid) if uid != owner_uid => deny(format!(
                            "node {node} UID mismatch: expected {owner_uid} got {uid}"
                        )),
                        Some(_) => admit_mirror_references(node, &pod, deny),
                    }
                }
                _ => deny(format!(
                    "node {node:?} can only create pods with a single owner reference set to itself"
                )),
            }
        }
        Operation::Delete => {
            let Some(pod) = r
                .old
                .cloned()
                .or_else(|| pod_of(lister, r.namespace, r.name))
            else {
                return Ok(());
            };
            if str_at(&pod, &["spec", "nodeName"]) != node {
                return deny(format!(
                    "node {node:?} can only delete pods with spec.nodeName set to itself"
                ));
            }
            Ok(())
        }
        Operation::Update => deny(format!(
            "unexpected operation {:?}, node {node:?} can only create and delete mirror pods",
            r.operation.as_str()
        )),
    }
}

/// A mirror pod may reference no other API object.
fn admit_mirror_references(node: &str, pod: &Value, deny: &Deny) -> Result<(), ApiError> {
    if !str_at(pod, &["spec", "serviceAccountName"]).is_empty() {
        return deny(format!(
            "node {node:?} can not create pods that reference a service account"
        ));
    }
    if !super::node::pod_secrets(pod).is_empty() {
        return deny(format!(
            "node {node:?} can not create pods that reference secrets"
        ));
    }
    if !super::node::pod_config_maps(pod).is_empty() {
        return deny(format!(
            "node {node:?} can not create pods that reference configmaps"
        ));
    }
    let volumes = pod["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let bundles = volumes.iter().any(|v| {
        v["projected"]["sources"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s.get("clusterTrustBundle").is_some()))
    });
    if bundles {
        return deny(format!(
            "node {node:?} can not create pods that reference clustertrustbundles"
        ));
    }
    if volumes
        .iter()
        .any(|v| v.get("persistentVolumeClaim").is_some())
    {
        return deny(format!(
            "node {node:?} can not create pods that reference persistentvolumeclaims"
        ));
    }
    Ok(())
}

fn admit_pod_status(node: &str, r: &Request, deny: &Deny) -> Result<(), ApiError> {
    if r.operation != Operation::Update {
        return deny(format!("unexpected operation {:?}", r.operation.as_str()));
    }
    let (Some(old), Some(new)) = (r.old, r.object) else {
        return Ok(());
    };
    if str_at(old, &["spec", "nodeName"]) != node {
        return deny(format!(
            "node {node:?} can only update pod status for pods with spec.nodeName set to itself"
        ));
    }
    let labels = |o: &Value| {
        o["metadata"]["labels"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    if labels(old) != labels(new) {
        return deny(format!(
            "node {node:?} cannot update labels through pod status"
        ));
    }
    Ok(())
}

fn admit_eviction(
    node: &str,
    r: &Request,
    lister: &dyn Lister,
    deny: &Deny,
) -> Result<(), ApiError> {
    if r.operation != Operation::Create {
        return deny(format!("unexpected operation {}", r.operation.as_str()));
    }
    match pod_of(lister, r.namespace, r.name) {
        Some(pod) if str_at(&pod, &["spec", "nodeName"]) != node => deny(format!(
            "node {node} can only evict pods with spec.nodeName set to itself"
        )),
        _ => Ok(()),
    }
}

fn admit_node(node: &str, r: &Request, deny: &Deny) -> Result<(), ApiError> {
    if r.name != node {
        return deny(format!(
            "node {node:?} is not allowed to modify node {:?}",
            r.name
        ));
    }
    let Some(new) = r.object else {
        return Ok(());
    };
    match r.operation {
        Operation::Create => {
            if !new["spec"]["configSource"].is_null() {
                return deny(format!(
                    "node {node:?} is not allowed to create pods with a non-nil configSource"
                ));
            }
            let bad = forbidden_labels(new, None);
            if !bad.is_empty() {
                return deny(format!(
                    "node {node:?} is not allowed to set the following labels: {}",
                    bad.join(", ")
                ));
            }
        }
        Operation::Update => {
            let old = r.old.cloned().unwrap_or_default();
            let source = &new["spec"]["configSource"];
            if !source.is_null() && *source != old["spec"]["configSource"] {
                return deny(format!(
                    "node {node:?} is not allowed to update configSource to a new non-nil configSource"
                ));
            }
            let taints = |o: &Value| o["spec"]["taints"].as_array().cloned().unwrap_or_default();
            if taints(new) != taints(&old) {
                return deny(format!("node {node:?} is not allowed to modify taints"));
            }
            let bad = forbidden_labels(new, Some(&old));
            if !bad.is_empty() {
                return deny(format!(
                    "is not allowed to modify labels: {}",
                    bad.join(", ")
                ));
            }
        }
        Operation::Delete => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    struct Objects(Vec<(&'static str, Value)>);

    impl Lister for Objects {
        fn list(&self, plural: &str, namespace: Option<&str>) -> Vec<Arc<Value>> {
            self.0
                .iter()
                .filter(|(p, o)| {
                    *p == plural
                        && namespace.is_none_or(|ns| str_at(o, &["metadata", "namespace"]) == ns)
                })
                .map(|(_, o)| Arc::new(o.clone()))
                .collect()
        }
    }

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
                json!({"metadata": {"name": "mine", "namespace": "ns"}, "spec": {"nodeName": "node-1"}}),
            ),
            (
                "pods",
                json!({"metadata": {"name": "theirs", "namespace": "ns"}, "spec": {"nodeName": "node-2"}}),
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
}
