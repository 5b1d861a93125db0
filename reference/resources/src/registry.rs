//! The resource registry: every group/version/resource the reference serves.
//!
//! Entry points: [`all`], [`lookup`], [`by_kind`]. Discovery documents are generated
//! from this table. The entries themselves live with their kinds (`kinds/`); CRD-defined
//! kinds get theirs from `custom.rs`, with the same [`Strategy`] interface.

use crate::strategy::Strategy;

/// Static facts about one served resource, as discovery (`APIResource`) reports them,
/// and the [`Strategy`] that gives the kind its meaning.
#[derive(Clone)]
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
    /// The kind's behaviour: its file under `kinds/`, or the CRD's [`CustomKind`].
    ///
    /// [`CustomKind`]: crate::custom::CustomKind
    pub strategy: &'static dyn Strategy,
}

impl std::fmt::Debug for ResourceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceInfo")
            .field("group", &self.group)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .field("plural", &self.plural)
            .field("namespaced", &self.namespaced)
            .field("custom", &self.custom.map(|c| &c.crd_name))
            .finish_non_exhaustive()
    }
}

// The strategy follows from the entry (a built-in kind's file, or `custom`), so equal
// facts mean the same kind.
impl PartialEq for ResourceInfo {
    fn eq(&self, o: &Self) -> bool {
        (
            self.group,
            self.version,
            self.kind,
            self.plural,
            self.singular,
            self.namespaced,
            self.short_names,
            self.categories,
            self.subresources,
            self.verbs,
            self.custom,
        ) == (
            o.group,
            o.version,
            o.kind,
            o.plural,
            o.singular,
            o.namespaced,
            o.short_names,
            o.categories,
            o.subresources,
            o.verbs,
            o.custom,
        )
    }
}
impl Eq for ResourceInfo {}

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
pub(crate) const STD: &[&str] = &[
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
pub(crate) const NO_COLLECTION: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
/// Read-only resources (componentstatuses).
pub(crate) const READ_ONLY: &[&str] = &["get", "list"];
/// Reviews: a create computes an answer and stores nothing.
pub(crate) const CREATE_ONLY: &[&str] = &["create"];
pub(crate) const ALL: &[&str] = &["all"];
pub(crate) const NONE: &[&str] = &[];

impl ResourceInfo {
    /// A built-in kind's entry (every built-in group is served at `v1`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) const fn builtin(
        group: &'static str,
        kind: &'static str,
        plural: &'static str,
        singular: &'static str,
        namespaced: bool,
        short_names: &'static [&'static str],
        categories: &'static [&'static str],
        subresources: &'static [&'static str],
        verbs: &'static [&'static str],
        strategy: &'static dyn Strategy,
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
            strategy,
        }
    }
}

/// The single registry table, in discovery order: one entry per file under `kinds/`.
static RESOURCES: &[ResourceInfo] = crate::kinds::BUILTIN;

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
        assert!(gvs.contains(&("authorization.k8s.io", "v1")));
        assert!(gvs.contains(&("authentication.k8s.io", "v1")));
        assert_eq!(gvs.len(), 12);
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
