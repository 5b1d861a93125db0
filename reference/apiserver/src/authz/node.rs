//! The Node authorizer (upstream's `plugin/pkg/auth/authorizer/node`, with the
//! `AuthorizeNodeWithSelectors` behaviour of 1.33): a kubelet, user `system:node:NAME`
//! in `system:nodes`, reads only the Secrets, ConfigMaps, PVCs, PVs and service account
//! tokens of pods bound to its node, only its own Node and Lease, and pods by
//! `spec.nodeName`; everything else is judged by upstream's static node rules.
//!
//! Entry points: [`authorize`], [`node_identity`]. The relationships are read from the
//! watch caches through a [`Lister`], so tests give in-memory objects.

use std::sync::Arc;

use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::Value;

use super::attributes::Attributes;
use super::rules::{rule, rules_allow};
use super::{Decision, Verdict};
use crate::auth::User;
use crate::watchcache::WatchCaches;

pub const NODES_GROUP: &str = "system:nodes";
pub const NODE_USER_PREFIX: &str = "system:node:";
/// Upstream's `api.NamespaceNodeLease`.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// Upstream's `NodeIdentity`: the node name of a kubelet's user (empty when the name
/// has no node part), None for anyone else.
pub fn node_identity(user: &User) -> Option<&str> {
    let name = user.name.strip_prefix(NODE_USER_PREFIX)?;
    user.groups.iter().any(|g| g == NODES_GROUP).then_some(name)
}

/// Objects of a core/v1 resource (in one namespace, when given).
pub trait Lister {
    fn list(&self, plural: &str, namespace: Option<&str>) -> Vec<Arc<Value>>;

    /// The object named `name` (in `namespace`, when given).
    fn named(&self, plural: &str, namespace: Option<&str>, name: &str) -> Option<Arc<Value>> {
        self.list(plural, namespace)
            .into_iter()
            .find(|o| str_at(o, &["metadata", "name"]) == name)
    }

    /// The pods bound to `node` (in one namespace, when given).
    fn bound_pods(&self, node: &str, namespace: Option<&str>) -> Vec<Arc<Value>> {
        self.list("pods", namespace)
            .into_iter()
            .filter(|p| str_at(p, &["spec", "nodeName"]) == node)
            .collect()
    }
}

/// The cached objects of a core/v1 resource that `keep` accepts, decoded.
fn cached(
    caches: &WatchCaches,
    plural: &str,
    namespace: Option<&str>,
    keep: impl Fn(&'static refkube_resources::ResourceInfo, &crate::cached::CachedObject) -> bool,
) -> Vec<Arc<Value>> {
    let Some((info, cache)) = refkube_resources::registry::lookup("", "v1", plural)
        .and_then(|info| Some((info, caches.get(info)?)))
    else {
        return Vec::new();
    };
    cache
        .snapshot(namespace)
        .0
        .iter()
        .filter(|o| keep(info, o))
        .filter_map(|o| o.value().ok().map(Arc::new))
        .collect()
}

impl Lister for WatchCaches {
    fn list(&self, plural: &str, namespace: Option<&str>) -> Vec<Arc<Value>> {
        cached(self, plural, namespace, |_, _| true)
    }

    fn named(&self, plural: &str, namespace: Option<&str>, name: &str) -> Option<Arc<Value>> {
        cached(self, plural, namespace, |_, o| o.name() == name).pop()
    }

    /// Decodes only the bound pods: the cache keeps `spec.nodeName` (a selectable
    /// field of pods), so the rest of a namespace's pods are never decoded.
    fn bound_pods(&self, node: &str, namespace: Option<&str>) -> Vec<Arc<Value>> {
        cached(self, "pods", namespace, |info, p| {
            p.field(info, "spec.nodeName").unwrap_or_default() == node
        })
    }
}

/// Upstream's `NodeRules()` as 1.33 applies them with selector authorization (node
/// and pod reads are judged by [`authorize`] itself).
pub fn static_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["create"], &["authentication.k8s.io"], &["tokenreviews"]),
        rule(
            &["create"],
            &["authorization.k8s.io"],
            &["subjectaccessreviews", "localsubjectaccessreviews"],
        ),
        rule(&["get", "list", "watch"], &[""], &["services"]),
        rule(&["create"], &[""], &["nodes"]),
        rule(&["update", "patch"], &[""], &["nodes/status"]),
        rule(&["update", "patch"], &[""], &["nodes"]),
        rule(&["create", "update", "patch"], &[""], &["events"]),
        rule(
            &["create", "update", "patch"],
            &["events.k8s.io"],
            &["events"],
        ),
        rule(&["create", "delete"], &[""], &["pods"]),
        rule(&["update", "patch"], &[""], &["pods/status"]),
        rule(&["create"], &[""], &["pods/eviction"]),
        rule(&["get", "list", "watch"], &[""], &["secrets", "configmaps"]),
        rule(
            &["get"],
            &[""],
            &["persistentvolumeclaims", "persistentvolumes"],
        ),
        rule(&["get"], &[""], &["endpoints"]),
        rule(
            &["create", "get", "list", "watch"],
            &["certificates.k8s.io"],
            &["certificatesigningrequests"],
        ),
        rule(
            &["get", "create", "update", "patch", "delete"],
            &["coordination.k8s.io"],
            &["leases"],
        ),
        rule(&["get"], &["storage.k8s.io"], &["volumeattachments"]),
        rule(&["create"], &[""], &["serviceaccounts/token"]),
        rule(
            &["get", "update", "patch"],
            &[""],
            &["persistentvolumeclaims/status"],
        ),
        rule(
            &["get", "watch", "list"],
            &["storage.k8s.io"],
            &["csidrivers"],
        ),
        rule(
            &["get", "create", "update", "patch", "delete"],
            &["storage.k8s.io"],
            &["csinodes"],
        ),
        rule(
            &["get", "list", "watch"],
            &["node.k8s.io"],
            &["runtimeclasses"],
        ),
    ]
}

fn no(reason: impl Into<String>) -> Decision {
    Decision::new(Verdict::NoOpinion, reason)
}

fn yes() -> Decision {
    Decision::new(Verdict::Allow, "")
}

/// Judges a request of a node; no opinion for anyone else.
pub fn authorize(lister: &dyn Lister, a: &Attributes) -> Decision {
    let Some(node) = node_identity(&a.user) else {
        return no("");
    };
    if node.is_empty() {
        return no(format!("unknown node for user {:?}", a.user.name));
    }
    if a.resource_request {
        match (a.api_group.as_str(), a.resource.as_str()) {
            ("", "secrets") => return read_namespaced(lister, node, Kind::Secret, a),
            ("", "configmaps") => return read_namespaced(lister, node, Kind::ConfigMap, a),
            ("", "persistentvolumeclaims") if a.subresource == "status" => {
                return status_update(lister, node, a);
            }
            ("", "persistentvolumeclaims") => return get_only(lister, node, Kind::Pvc, a),
            ("", "persistentvolumes") => return get_only(lister, node, Kind::Pv, a),
            ("resource.k8s.io", "resourceclaims") | ("storage.k8s.io", "volumeattachments") => {
                return get_only(lister, node, Kind::Unrelated, a);
            }
            ("", "serviceaccounts") => return create_token(lister, node, a),
            ("coordination.k8s.io", "leases") => return lease(node, a),
            ("storage.k8s.io", "csinodes") => return csi_node(node, a),
            ("", "nodes") => return node_object(node, a),
            ("", "pods") => return pod(lister, node, a),
            _ => {}
        }
    }
    if rules_allow(a, &static_rules()) {
        yes()
    } else {
        no("")
    }
}

/// What a request's object is, for the relationship check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Secret,
    ConfigMap,
    Pvc,
    Pv,
    ServiceAccount,
    Pod,
    /// Kinds whose relationships refkube does not track: never related.
    Unrelated,
}

fn status_update(lister: &dyn Lister, node: &str, a: &Attributes) -> Decision {
    if !matches!(a.verb.as_str(), "update" | "patch") {
        return no("can only get/update/patch this type");
    }
    related(lister, node, Kind::Pvc, a)
}

fn get_only(lister: &dyn Lister, node: &str, kind: Kind, a: &Attributes) -> Decision {
    if a.verb != "get" {
        return no("can only get individual resources of this type");
    }
    if !a.subresource.is_empty() {
        return no("cannot get subresource");
    }
    related(lister, node, kind, a)
}

fn read_namespaced(lister: &dyn Lister, node: &str, kind: Kind, a: &Attributes) -> Decision {
    if !matches!(a.verb.as_str(), "get" | "list" | "watch") {
        return no("can only read resources of this type");
    }
    if !a.subresource.is_empty() {
        return no("cannot read subresource");
    }
    if a.namespace.is_empty() {
        return no("can only read namespaced object of this type");
    }
    related(lister, node, kind, a)
}

fn related(lister: &dyn Lister, node: &str, kind: Kind, a: &Attributes) -> Decision {
    if a.name.is_empty() {
        return no("No Object name found");
    }
    if has_path(lister, node, kind, &a.namespace, &a.name) {
        yes()
    } else {
        no(format!(
            "no relationship found between node '{node}' and this object"
        ))
    }
}

fn create_token(lister: &dyn Lister, node: &str, a: &Attributes) -> Decision {
    if a.verb != "create" || a.name.is_empty() {
        return no("can only create tokens for individual service accounts");
    }
    if a.subresource != "token" {
        return no("can only create token subresource of serviceaccount");
    }
    if has_path(lister, node, Kind::ServiceAccount, &a.namespace, &a.name) {
        yes()
    } else {
        no(format!(
            "no relationship found between node '{node}' and this object"
        ))
    }
}

fn lease(node: &str, a: &Attributes) -> Decision {
    if !matches!(
        a.verb.as_str(),
        "get" | "create" | "update" | "patch" | "delete"
    ) {
        return no("can only get, create, update, patch, or delete a node lease");
    }
    if a.namespace != NODE_LEASE_NAMESPACE {
        return no(format!(
            "can only access leases in the {NODE_LEASE_NAMESPACE:?} system namespace"
        ));
    }
    // A create names no object; NodeRestriction checks the name in the body.
    if a.verb != "create" && a.name != node {
        return no("can only access node lease with the same name as the requesting node");
    }
    yes()
}

fn csi_node(node: &str, a: &Attributes) -> Decision {
    if !matches!(
        a.verb.as_str(),
        "get" | "create" | "update" | "patch" | "delete"
    ) {
        return no("can only get, create, update, patch, or delete a CSINode");
    }
    if !a.subresource.is_empty() {
        return no("cannot authorize CSINode subresources");
    }
    if a.verb != "create" && a.name != node {
        return no("can only access CSINode with the same name as the requesting node");
    }
    yes()
}

fn node_object(node: &str, a: &Attributes) -> Decision {
    match (a.subresource.as_str(), a.verb.as_str()) {
        // NodeRestriction keeps these to the node's own object.
        ("", "create" | "update" | "patch") | ("status", "update" | "patch") => yes(),
        ("", "get" | "list" | "watch") => {
            let by_selector = a
                .field_selector
                .iter()
                .any(|(k, v)| k == "metadata.name" && v == node);
            if a.name == node || by_selector {
                yes()
            } else if a.name.is_empty() {
                no(format!(
                    "node '{node}' cannot read all nodes, only its own Node object"
                ))
            } else {
                no(format!(
                    "node '{node}' cannot read '{}', only its own Node object",
                    a.name
                ))
            }
        }
        _ => no(""),
    }
}

fn pod(lister: &dyn Lister, node: &str, a: &Attributes) -> Decision {
    match (a.subresource.as_str(), a.verb.as_str()) {
        ("", "get") => get_only(lister, node, Kind::Pod, a),
        ("", "list" | "watch") => {
            let scoped = a
                .field_selector
                .iter()
                .any(|(k, v)| k == "spec.nodeName" && v == node);
            if scoped {
                yes()
            } else if !a.name.is_empty() {
                related(lister, node, Kind::Pod, a)
            } else {
                no("can only list/watch pods with spec.nodeName field selector")
            }
        }
        // NodeRestriction keeps these to mirror pods and pods bound to the node.
        ("", "create" | "delete") | ("status", "update" | "patch") | ("eviction", "create") => {
            yes()
        }
        _ => no(""),
    }
}

/// The string at `path`, `""` when absent or not a string.
pub(super) fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn array<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Every container of a pod (init, regular and ephemeral).
fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |k| array(pod, &["spec", k]))
}

/// The Secrets a pod references (upstream's `VisitPodSecretNames`).
pub fn pod_secrets(pod: &Value) -> Vec<String> {
    let mut out: Vec<String> = array(pod, &["spec", "imagePullSecrets"])
        .iter()
        .map(|s| str_at(s, &["name"]).to_string())
        .collect();
    for c in containers(pod) {
        for e in array(c, &["envFrom"]) {
            out.push(str_at(e, &["secretRef", "name"]).to_string());
        }
        for e in array(c, &["env"]) {
            out.push(str_at(e, &["valueFrom", "secretKeyRef", "name"]).to_string());
        }
    }
    for v in array(pod, &["spec", "volumes"]) {
        out.push(str_at(v, &["secret", "secretName"]).to_string());
        for s in array(v, &["projected", "sources"]) {
            out.push(str_at(s, &["secret", "name"]).to_string());
        }
        // Volume plugins that take a secret reference (azureFile, cephfs, cinder,
        // flexVolume, iscsi, rbd, scaleIO, storageos, csi).
        out.push(str_at(v, &["azureFile", "secretName"]).to_string());
        for plugin in [
            "cephfs",
            "cinder",
            "flexVolume",
            "iscsi",
            "rbd",
            "scaleIO",
            "storageos",
        ] {
            out.push(str_at(v, &[plugin, "secretRef", "name"]).to_string());
        }
        out.push(str_at(v, &["csi", "nodePublishSecretRef", "name"]).to_string());
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The ConfigMaps a pod references (upstream's `VisitPodConfigmapNames`).
pub fn pod_config_maps(pod: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for c in containers(pod) {
        for e in array(c, &["envFrom"]) {
            out.push(str_at(e, &["configMapRef", "name"]).to_string());
        }
        for e in array(c, &["env"]) {
            out.push(str_at(e, &["valueFrom", "configMapKeyRef", "name"]).to_string());
        }
    }
    for v in array(pod, &["spec", "volumes"]) {
        out.push(str_at(v, &["configMap", "name"]).to_string());
        for s in array(v, &["projected", "sources"]) {
            out.push(str_at(s, &["configMap", "name"]).to_string());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The PVCs a pod uses (its own claims and the ones its ephemeral volumes make).
pub fn pod_claims(pod: &Value) -> Vec<String> {
    let pod_name = str_at(pod, &["metadata", "name"]);
    array(pod, &["spec", "volumes"])
        .iter()
        .filter_map(|v| {
            let claim = str_at(v, &["persistentVolumeClaim", "claimName"]);
            if !claim.is_empty() {
                Some(claim.to_string())
            } else if v.get("ephemeral").is_some() {
                Some(format!("{pod_name}-{}", str_at(v, &["name"])))
            } else {
                None
            }
        })
        .collect()
}

/// Whether `namespace/name` of `kind` leads to `node` through a pod bound to it.
fn has_path(lister: &dyn Lister, node: &str, kind: Kind, namespace: &str, name: &str) -> bool {
    let bound = |ns: Option<&str>| lister.bound_pods(node, ns);
    let uses = |names: Vec<String>| names.iter().any(|n| n == name);
    match kind {
        Kind::Pod => bound(Some(namespace))
            .iter()
            .any(|p| str_at(p, &["metadata", "name"]) == name),
        Kind::Secret => bound(Some(namespace)).iter().any(|p| uses(pod_secrets(p))),
        Kind::ConfigMap => {
            let node_source = lister.named("nodes", None, node).is_some_and(|n| {
                str_at(&n, &["spec", "configSource", "configMap", "namespace"]) == namespace
                    && str_at(&n, &["spec", "configSource", "configMap", "name"]) == name
            });
            node_source
                || bound(Some(namespace))
                    .iter()
                    .any(|p| uses(pod_config_maps(p)))
        }
        Kind::Pvc => bound(Some(namespace)).iter().any(|p| uses(pod_claims(p))),
        Kind::ServiceAccount => bound(Some(namespace)).iter().any(|p| {
            let sa = str_at(p, &["spec", "serviceAccountName"]);
            (if sa.is_empty() { "default" } else { sa }) == name
        }),
        Kind::Pv => bound(None).iter().any(|p| {
            let ns = str_at(p, &["metadata", "namespace"]);
            let claims = pod_claims(p);
            lister
                .list("persistentvolumeclaims", Some(ns))
                .iter()
                .any(|c| {
                    claims.iter().any(|n| n == str_at(c, &["metadata", "name"]))
                        && str_at(c, &["spec", "volumeName"]) == name
                })
        }),
        Kind::Unrelated => false,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    /// A fixed set of `(plural, object)` pairs; NodeRestriction's tests list from it too.
    #[derive(Default)]
    pub(in crate::authz) struct Objects(pub(in crate::authz) Vec<(&'static str, Value)>);

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

    fn node_user(name: &str) -> User {
        User {
            name: format!("system:node:{name}"),
            groups: vec![NODES_GROUP.into(), "system:authenticated".into()],
            ..Default::default()
        }
    }

    fn cluster() -> Objects {
        Objects(vec![
            (
                "pods",
                json!({"metadata": {"name": "web", "namespace": "ns"}, "spec": {
                    "nodeName": "node-1", "serviceAccountName": "builder",
                    "imagePullSecrets": [{"name": "pull"}],
                    "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "env"}}],
                        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "key", "key": "k"}}}]}],
                    "volumes": [{"name": "v", "secret": {"secretName": "vol"}},
                                {"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}),
            ),
            (
                "pods",
                json!({"metadata": {"name": "other", "namespace": "ns"}, "spec": {
                    "nodeName": "node-2", "volumes": [{"name": "v", "secret": {"secretName": "theirs"}}]}}),
            ),
            (
                "persistentvolumeclaims",
                json!({"metadata": {"name": "data", "namespace": "ns"}, "spec": {"volumeName": "pv-1"}}),
            ),
        ])
    }

    fn get(user: &User, resource: &str, ns: &str, name: &str) -> Attributes {
        Attributes::resource(user, "get", "", resource).named(ns, name)
    }

    #[test]
    fn a_node_reads_only_what_its_pods_reference() {
        let c = cluster();
        let n1 = node_user("node-1");
        for (res, name) in [
            ("secrets", "pull"),
            ("secrets", "key"),
            ("secrets", "vol"),
            ("configmaps", "env"),
            ("persistentvolumeclaims", "data"),
            ("pods", "web"),
        ] {
            assert!(
                authorize(&c, &get(&n1, res, "ns", name)).allowed(),
                "{res}/{name}"
            );
        }
        assert!(authorize(&c, &get(&n1, "persistentvolumes", "", "pv-1")).allowed());
        let d = authorize(&c, &get(&n1, "secrets", "ns", "theirs"));
        assert_eq!(d.verdict, Verdict::NoOpinion);
        assert_eq!(
            d.reason,
            "no relationship found between node 'node-1' and this object"
        );
        let list = Attributes::resource(&n1, "list", "", "secrets").named("ns", "");
        assert_eq!(authorize(&c, &list).reason, "No Object name found");
        let delete = Attributes::resource(&n1, "delete", "", "secrets").named("ns", "vol");
        assert_eq!(
            authorize(&c, &delete).reason,
            "can only read resources of this type"
        );
        let token = Attributes::resource(&n1, "create", "", "serviceaccounts")
            .named("ns", "builder")
            .subresource("token");
        assert!(authorize(&c, &token).allowed());
        let token = Attributes::resource(&n1, "create", "", "serviceaccounts")
            .named("ns", "default")
            .subresource("token");
        assert!(!authorize(&c, &token).allowed());
    }

    #[test]
    fn a_node_touches_only_its_own_node_and_lease() {
        let c = Objects::default();
        let n1 = node_user("node-1");
        assert!(authorize(&c, &get(&n1, "nodes", "", "node-1")).allowed());
        assert_eq!(
            authorize(&c, &get(&n1, "nodes", "", "node-2")).reason,
            "node 'node-1' cannot read 'node-2', only its own Node object"
        );
        let all = Attributes::resource(&n1, "list", "", "nodes");
        assert_eq!(
            authorize(&c, &all).reason,
            "node 'node-1' cannot read all nodes, only its own Node object"
        );
        let delete = Attributes::resource(&n1, "delete", "", "nodes").named("", "node-2");
        assert_eq!(authorize(&c, &delete), no(""));
        let lease = |verb: &str, ns: &str, name: &str| {
            Attributes::resource(&n1, verb, "coordination.k8s.io", "leases").named(ns, name)
        };
        assert!(authorize(&c, &lease("update", "kube-node-lease", "node-1")).allowed());
        assert!(authorize(&c, &lease("create", "kube-node-lease", "")).allowed());
        assert_eq!(
            authorize(&c, &lease("update", "kube-node-lease", "node-2")).reason,
            "can only access node lease with the same name as the requesting node"
        );
        assert_eq!(
            authorize(&c, &lease("get", "default", "node-1")).reason,
            r#"can only access leases in the "kube-node-lease" system namespace"#
        );
    }

    #[test]
    fn pods_are_listed_by_node_and_others_fall_to_the_static_rules() {
        let c = cluster();
        let n1 = node_user("node-1");
        let mut list = Attributes::resource(&n1, "watch", "", "pods");
        assert_eq!(
            authorize(&c, &list).reason,
            "can only list/watch pods with spec.nodeName field selector"
        );
        list.field_selector = vec![("spec.nodeName".into(), "node-1".into())];
        assert!(authorize(&c, &list).allowed());
        let svc = Attributes::resource(&n1, "list", "", "services");
        assert!(authorize(&c, &svc).allowed());
        let deploy = Attributes::resource(&n1, "create", "apps", "deployments").named("ns", "");
        assert_eq!(authorize(&c, &deploy), no(""));
        let not_a_node = User {
            name: "system:node:node-1".into(),
            ..Default::default()
        };
        assert_eq!(
            authorize(&c, &get(&not_a_node, "secrets", "ns", "vol")),
            no("")
        );
    }
}
