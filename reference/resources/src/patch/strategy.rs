//! The strategic-merge-patch table: upstream's `patchStrategy` / `patchMergeKey` Go
//! struct tags for the fields of the served kinds, in one place. Both the patcher and
//! the OpenAPI documents (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`)
//! read it.
//!
//! Entry points: [`lookup`], [`TABLE`].

/// How a field merges under a strategic merge patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldStrategy {
    /// The `patchStrategy` tag: "merge", "retainKeys" or "merge,retainKeys".
    pub strategy: &'static str,
    /// The `patchMergeKey` tag (lists of objects); `None` for primitive lists and maps.
    pub merge_key: Option<&'static str>,
}

impl FieldStrategy {
    pub fn merges(&self) -> bool {
        self.strategy.split(',').any(|s| s == "merge")
    }
    pub fn retains_keys(&self) -> bool {
        self.strategy.split(',').any(|s| s == "retainKeys")
    }
}

const fn merge(key: &'static str) -> FieldStrategy {
    FieldStrategy {
        strategy: "merge",
        merge_key: Some(key),
    }
}
const fn merge_retain(key: &'static str) -> FieldStrategy {
    FieldStrategy {
        strategy: "merge,retainKeys",
        merge_key: Some(key),
    }
}
const MERGE_PRIMITIVES: FieldStrategy = FieldStrategy {
    strategy: "merge",
    merge_key: None,
};
const RETAIN_KEYS: FieldStrategy = FieldStrategy {
    strategy: "retainKeys",
    merge_key: None,
};

/// (OpenAPI definition short name, field) → strategy. Fields absent here (tolerations,
/// taints, args, command...) are replaced wholesale, as upstream's untagged lists are.
pub const TABLE: &[(&str, &str, FieldStrategy)] = &[
    ("ObjectMeta", "finalizers", MERGE_PRIMITIVES),
    ("ObjectMeta", "ownerReferences", merge("uid")),
    ("PodSpec", "containers", merge("name")),
    ("PodSpec", "initContainers", merge("name")),
    ("PodSpec", "ephemeralContainers", merge("name")),
    ("PodSpec", "volumes", merge_retain("name")),
    ("PodSpec", "imagePullSecrets", merge("name")),
    ("PodSpec", "hostAliases", merge("ip")),
    ("PodSpec", "topologySpreadConstraints", merge("topologyKey")),
    ("PodSpec", "resourceClaims", merge_retain("name")),
    ("PodSpec", "schedulingGates", merge("name")),
    ("Container", "ports", merge("containerPort")),
    ("Container", "env", merge("name")),
    ("Container", "volumeMounts", merge("mountPath")),
    ("Container", "volumeDevices", merge("devicePath")),
    ("EphemeralContainer", "ports", merge("containerPort")),
    ("EphemeralContainer", "env", merge("name")),
    ("EphemeralContainer", "volumeMounts", merge("mountPath")),
    ("EphemeralContainer", "volumeDevices", merge("devicePath")),
    ("PodStatus", "conditions", merge("type")),
    ("PodStatus", "podIPs", merge("ip")),
    ("PodStatus", "hostIPs", merge("ip")),
    ("PodStatus", "resourceClaimStatuses", merge_retain("name")),
    ("ServiceSpec", "ports", merge("port")),
    ("ServiceStatus", "conditions", merge("type")),
    ("NodeStatus", "conditions", merge("type")),
    ("NodeStatus", "addresses", merge("type")),
    ("NamespaceStatus", "conditions", merge("type")),
    ("PersistentVolumeClaimStatus", "conditions", merge("type")),
    ("ReplicationControllerStatus", "conditions", merge("type")),
    ("DeploymentSpec", "strategy", RETAIN_KEYS),
    ("DeploymentStatus", "conditions", merge("type")),
    ("ReplicaSetStatus", "conditions", merge("type")),
    ("DaemonSetStatus", "conditions", merge("type")),
    ("StatefulSetStatus", "conditions", merge("type")),
    ("JobStatus", "conditions", merge("type")),
];

/// The strategy of `field` in the definition `type_name` (full OpenAPI name such as
/// `io.k8s.api.core.v1.PodSpec`, or its short name).
pub fn lookup(type_name: &str, field: &str) -> Option<FieldStrategy> {
    let short = type_name.rsplit('.').next().unwrap_or(type_name);
    TABLE
        .iter()
        .find(|(t, f, _)| *t == short && *f == field)
        .map(|(_, _, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_merge_by_name_and_tolerations_replace() {
        assert_eq!(
            lookup("io.k8s.api.core.v1.PodSpec", "containers")
                .unwrap()
                .merge_key,
            Some("name")
        );
        assert!(lookup("io.k8s.api.core.v1.PodSpec", "tolerations").is_none());
        assert!(lookup("io.k8s.api.core.v1.NodeSpec", "taints").is_none());
    }

    #[test]
    fn volumes_merge_and_retain_keys() {
        let v = lookup("PodSpec", "volumes").unwrap();
        assert!(v.merges() && v.retains_keys());
        assert_eq!(
            lookup("ServiceSpec", "ports").unwrap().merge_key,
            Some("port")
        );
        assert_eq!(
            lookup("Container", "ports").unwrap().merge_key,
            Some("containerPort")
        );
    }
}
