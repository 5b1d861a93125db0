//! NodeRestriction admission (upstream's `plugin/pkg/admission/noderestriction`): a
//! kubelet may create only mirror pods bound to itself, update only the status of pods
//! bound to itself, delete and evict only those pods, request service account tokens
//! only bound to those pods, change only its own Node (not its taints, not labels
//! outside the kubelet's set) and only its own Lease.
//!
//! Entry point: [`admit`], a pure check over the request and a [`Lister`] of the
//! current pods and nodes; errors are upstream's 403s word for word.

use serde_json::Value;

use super::forbidden;
use super::node::{Lister, NODE_LEASE_NAMESPACE, node_identity, str_at};
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
        ("", "serviceaccounts") => admit_service_account(node, r, lister, &deny),
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
        .named("pods", Some(namespace), name)
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
                        .named("nodes", None, node)
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

/// upstream's answer when the object a check needs is gone: the getter's NotFound.
fn pod_not_found(name: &str) -> ApiError {
    let mut e = ApiError::new(404, "NotFound", format!("pods {name:?} not found"));
    e.details = Some(serde_json::json!({"name": name, "kind": "pods"}));
    e
}

/// A node may evict only pods bound to itself; the pod is named by the URL, else by
/// the Eviction's own name.
fn admit_eviction(
    node: &str,
    r: &Request,
    lister: &dyn Lister,
    deny: &Deny,
) -> Result<(), ApiError> {
    if r.operation != Operation::Create {
        return deny(format!("unexpected operation {}", r.operation.as_str()));
    }
    let body_name = r.object.map(|o| str_at(o, &["metadata", "name"]));
    let name = match (r.name, body_name) {
        ("", Some("") | None) => {
            return deny("could not determine pod from request data".into());
        }
        ("", Some(n)) => n,
        (n, _) => n,
    };
    let Some(pod) = pod_of(lister, r.namespace, name) else {
        return Err(pod_not_found(name));
    };
    if str_at(&pod, &["spec", "nodeName"]) != node {
        return deny(format!(
            "node {node} can only evict pods with spec.nodeName set to itself"
        ));
    }
    Ok(())
}

/// A node may request a token only bound to a pod (by name and uid) scheduled on it.
fn admit_service_account(
    node: &str,
    r: &Request,
    lister: &dyn Lister,
    deny: &Deny,
) -> Result<(), ApiError> {
    if r.operation != Operation::Create || r.subresource != "token" {
        return Ok(());
    }
    let bound = r
        .object
        .and_then(|o| o.pointer("/spec/boundObjectRef"))
        .filter(|b| b.is_object());
    let field = |f: &str| bound.map(|b| str_at(b, &[f])).unwrap_or_default();
    if bound.is_none()
        || field("apiVersion") != "v1"
        || field("kind") != "Pod"
        || field("name").is_empty()
    {
        return deny("node requested token not bound to a pod".into());
    }
    let uid = field("uid");
    if uid.is_empty() {
        return deny("node requested token with a pod binding without a uid".into());
    }
    let Some(pod) = pod_of(lister, r.namespace, field("name")) else {
        return Err(pod_not_found(field("name")));
    };
    if str_at(&pod, &["metadata", "uid"]) != uid {
        return deny(format!(
            "the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated"
        ));
    }
    if str_at(&pod, &["spec", "nodeName"]) != node {
        return deny("node requested token bound to a pod scheduled on a different node".into());
    }
    Ok(())
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
#[path = "noderestriction_tests.rs"]
mod tests;
