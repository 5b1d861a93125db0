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
    /// Subresources served: any of "status", "scale", "binding", "eviction", "log".
    pub subresources: &'static [&'static str],
    /// Verbs as discovery lists them ("create", "delete", "deletecollection", "get",
    /// "list", "patch", "update", "watch").
    pub verbs: &'static [&'static str],
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

/// Every served resource, in discovery order.
pub fn all() -> &'static [ResourceInfo] {
    &[]
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
