//! The resource registry: every group/version/resource the reference serves.
//!
//! Entry points: [`all`], [`lookup`], [`by_kind`]. Discovery documents are generated
//! from this table, so adding a resource here is all discovery needs.

/// Static facts about one served resource, as discovery (`APIResource`) reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The URL segment: "pods", "deployments".
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Subresources served: any of "status", "scale", "binding", "eviction", "log", "proxy",
    /// "exec", "portforward", "token".
    pub subresources: &'static [&'static str],
    /// Verbs as discovery lists them ("create", "delete", "deletecollection", "get",
    /// "list", "patch", "update", "watch").
    pub verbs: &'static [&'static str],
    /// What a CustomResourceDefinition says about the kind; `None` for built-in kinds.
    pub custom: Option<&'static crate::custom::CustomKind>,
}

impl ResourceInfo {
    /// "v1" for core, "apps/v1" otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// "PodList", "DeploymentList".
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The kind as upstream qualifies it in error messages: "Pod", "Deployment.apps".
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// The resource as upstream qualifies it in error messages: "pods",
    /// "deployments.apps".
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.contains(&name)
    }
}

/// The verbs upstream discovery lists for an ordinary resource.
const STD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Namespaces cannot be deleted as a collection upstream.
const NO_COLLECTION: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
/// Read-only resources (componentstatuses).
const READ_ONLY: &[&str] = &["get", "list"];
const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

#[allow(clippy::too_many_arguments)]
const fn res(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [&'static str],
    verbs: &'static [&'static str],
) -> ResourceInfo {
    ResourceInfo {
        group,
        version: "v1",
        kind,
        plural,
        singular,
        namespaced,
        short_names,
        categories,
        subresources,
        verbs,
        custom: None,
    }
}

/// The single registry table (every served group is at `v1`).
static RESOURCES: &[ResourceInfo] = &[
    // core/v1, in upstream's discovery order.
    res(
        "",
        "ComponentStatus",
        "componentstatuses",
        "componentstatus",
        false,
        &["cs"],
        NONE,
        NONE,
        READ_ONLY,
    ),
    res(
        "",
        "ConfigMap",
        "configmaps",
        "configmap",
        true,
        &["cm"],
        NONE,
        NONE,
        STD,
    ),
    res(
        "",
        "Endpoints",
        "endpoints",
        "endpoints",
        true,
        &["ep"],
        NONE,
        NONE,
        STD,
    ),
    res(
        "",
        "Event",
        "events",
        "event",
        true,
        &["ev"],
        NONE,
        NONE,
        STD,
    ),
    res(
        "",
        "Namespace",
        "namespaces",
        "namespace",
        false,
        &["ns"],
        NONE,
        &["status"],
        NO_COLLECTION,
    ),
    res(
        "",
        "Node",
        "nodes",
        "node",
        false,
        &["no"],
        NONE,
        &["status", "proxy"],
        STD,
    ),
    res(
        "",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        true,
        &["pvc"],
        NONE,
        &["status"],
        STD,
    ),
    res(
        "",
        "PersistentVolume",
        "persistentvolumes",
        "persistentvolume",
        false,
        &["pv"],
        NONE,
        &["status"],
        STD,
    ),
    res(
        "",
        "Pod",
        "pods",
        "pod",
        true,
        &["po"],
        ALL,
        &[
            "status",
            "binding",
            "eviction",
            "log",
            "proxy",
            "exec",
            "portforward",
            "attach",
            "ephemeralcontainers",
        ],
        STD,
    ),
    res(
        "",
        "ReplicationController",
        "replicationcontrollers",
        "replicationcontroller",
        true,
        &["rc"],
        ALL,
        &["status", "scale"],
        STD,
    ),
    res(
        "", "Secret", "secrets", "secret", true, NONE, NONE, NONE, STD,
    ),
    res(
        "",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
        NONE,
        &["token"],
        STD,
    ),
    res(
        "",
        "Service",
        "services",
        "service",
        true,
        &["svc"],
        ALL,
        &["status", "proxy"],
        STD,
    ),
    // apps/v1
    res(
        "apps",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        true,
        NONE,
        NONE,
        NONE,
        STD,
    ),
    res(
        "apps",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        true,
        &["ds"],
        ALL,
        &["status"],
        STD,
    ),
    res(
        "apps",
        "Deployment",
        "deployments",
        "deployment",
        true,
        &["deploy"],
        ALL,
        &["status", "scale"],
        STD,
    ),
    res(
        "apps",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        true,
        &["rs"],
        ALL,
        &["status", "scale"],
        STD,
    ),
    res(
        "apps",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        true,
        &["sts"],
        ALL,
        &["status", "scale"],
        STD,
    ),
    // batch/v1
    res(
        "batch",
        "Job",
        "jobs",
        "job",
        true,
        NONE,
        ALL,
        &["status"],
        STD,
    ),
    res(
        "batch",
        "CronJob",
        "cronjobs",
        "cronjob",
        true,
        &["cj"],
        ALL,
        &["status"],
        STD,
    ),
    // coordination.k8s.io/v1
    res(
        "coordination.k8s.io",
        "Lease",
        "leases",
        "lease",
        true,
        NONE,
        NONE,
        NONE,
        STD,
    ),
    // discovery.k8s.io/v1
    res(
        "discovery.k8s.io",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        true,
        NONE,
        NONE,
        NONE,
        STD,
    ),
    // policy/v1
    res(
        "policy",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        true,
        &["pdb"],
        NONE,
        &["status"],
        STD,
    ),
    // events.k8s.io/v1
    res(
        "events.k8s.io",
        "Event",
        "events",
        "event",
        true,
        &["ev"],
        NONE,
        NONE,
        STD,
    ),
    // rbac.authorization.k8s.io/v1
    res(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        false,
        NONE,
        NONE,
        NONE,
        STD,
    ),
    res(
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        false,
        NONE,
        NONE,
        NONE,
        STD,
    ),
    res(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        true,
        NONE,
        NONE,
        NONE,
        STD,
    ),
    res(
        "rbac.authorization.k8s.io",
        "Role",
        "roles",
        "role",
        true,
        NONE,
        NONE,
        NONE,
        STD,
    ),
    // apiextensions.k8s.io/v1
    res(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        false,
        &["crd", "crds"],
        &["api-extensions"],
        &["status"],
        STD,
    ),
    // certificates.k8s.io/v1
    res(
        "certificates.k8s.io",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        "certificatesigningrequest",
        false,
        &["csr"],
        NONE,
        &["approval", "status"],
        STD,
    ),
];

/// Every served resource, in discovery order.
pub fn all() -> &'static [ResourceInfo] {
    RESOURCES
}

/// The group-versions served, in discovery order (core first): ("", "v1"), ("apps", "v1")...
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// Resolves what a user typed (`po`, `pod`, `pods`, `deploy`, `deployments.apps`) the
/// way kubectl's RESTMapper does, preferring the core group for ambiguous names (`ev`).
pub fn resolve(name: &str) -> Option<&'static ResourceInfo> {
    let (name, group) = match name.split_once('.') {
        Some((n, g)) => (n, Some(g)),
        None => (name, None),
    };
    let name = name.to_ascii_lowercase();
    RESOURCES.iter().find(|r| {
        group.is_none_or(|g| g == r.group)
            && (r.plural == name
                || r.singular == name
                || r.kind.eq_ignore_ascii_case(&name)
                || r.short_names.contains(&name.as_str()))
    })
}

/// The resource served at `/api[s]/{group}/{version}/{plural}`.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    all()
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource for an apiVersion's group/version and a kind.
pub fn by_kind(group: &str, version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    all()
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_found_by_group_version_and_plural() {
        let pods = lookup("", "v1", "pods").unwrap();
        assert_eq!(pods.kind, "Pod");
        assert_eq!(pods.short_names, &["po"]);
        assert!(pods.has_subresource("binding") && pods.has_subresource("log"));
        assert_eq!(pods.api_version(), "v1");
        assert_eq!(pods.list_kind(), "PodList");
    }

    #[test]
    fn deployments_are_qualified_with_their_group() {
        let d = by_kind("apps", "v1", "Deployment").unwrap();
        assert_eq!(d.api_version(), "apps/v1");
        assert_eq!(d.qualified_kind(), "Deployment.apps");
        assert_eq!(d.qualified_resource(), "deployments.apps");
        assert!(d.has_subresource("scale"));
    }

    #[test]
    fn the_all_category_matches_upstream() {
        let mut in_all: Vec<&str> = all()
            .iter()
            .filter(|r| r.categories.contains(&"all"))
            .map(|r| r.plural)
            .collect();
        in_all.sort_unstable();
        assert_eq!(
            in_all,
            [
                "cronjobs",
                "daemonsets",
                "deployments",
                "jobs",
                "pods",
                "replicasets",
                "replicationcontrollers",
                "services",
                "statefulsets"
            ]
        );
    }

    #[test]
    fn componentstatuses_are_read_only_and_namespaces_lack_deletecollection() {
        assert_eq!(
            lookup("", "v1", "componentstatuses").unwrap().verbs,
            &["get", "list"]
        );
        assert!(
            !lookup("", "v1", "namespaces")
                .unwrap()
                .verbs
                .contains(&"deletecollection")
        );
        assert!(
            lookup("", "v1", "pods")
                .unwrap()
                .verbs
                .contains(&"deletecollection")
        );
    }

    #[test]
    fn every_plural_is_unique_within_its_group_version() {
        let mut seen = std::collections::HashSet::new();
        for r in all() {
            assert!(
                seen.insert((r.group, r.version, r.plural)),
                "duplicate {}",
                r.plural
            );
        }
    }

    #[test]
    fn group_versions_list_core_first() {
        let gvs = group_versions();
        assert_eq!(gvs[0], ("", "v1"));
        assert!(gvs.contains(&("events.k8s.io", "v1")));
        assert!(gvs.contains(&("rbac.authorization.k8s.io", "v1")));
        assert!(gvs.contains(&("apiextensions.k8s.io", "v1")));
        assert!(gvs.contains(&("certificates.k8s.io", "v1")));
        assert_eq!(gvs.len(), 10);
    }

    #[test]
    fn short_names_resolve_like_kubectl() {
        assert_eq!(resolve("deploy").unwrap().kind, "Deployment");
        assert_eq!(resolve("ev").unwrap().group, "");
        assert_eq!(
            resolve("events.events.k8s.io").unwrap().group,
            "events.k8s.io"
        );
        assert_eq!(resolve("Pod").unwrap().plural, "pods");
        assert!(resolve("frobs").is_none());
    }
}
