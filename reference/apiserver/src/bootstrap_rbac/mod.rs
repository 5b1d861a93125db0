//! Upstream's bootstrap RBAC policy (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy`):
//! the ClusterRoles, ClusterRoleBindings, Roles and RoleBindings every cluster starts
//! with, reconciled at start-up like upstream's `rbac/bootstrap-roles` post-start hook.
//!
//! Entry points: [`cluster_roles`], [`cluster_role_bindings`], [`roles`],
//! [`role_bindings`] (the data, as stored JSON), [`reconcile::ensure`] (at start-up).
//! The roles of the people and components are in `roles.rs`, `aggregated.rs` and
//! `addon_roles.rs`, the `system:controller:*` ones in `controllers.rs`, the namespaced
//! ones in `namespaced.rs`. `golden_tests.rs` holds all of it to upstream's golden data.

mod addon_roles;
mod aggregated;
mod controllers;
mod namespaced;
pub mod reconcile;
mod roles;

use serde_json::{Value, json};

pub use controllers::CONTROLLER_ACCOUNTS;

pub const GROUP: &str = "rbac.authorization.k8s.io";
/// The label every bootstrap object carries.
pub const BOOTSTRAP_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");
/// Reconciliation leaves an object alone when a user set this to "false".
pub const AUTOUPDATE: &str = "rbac.authorization.kubernetes.io/autoupdate";

pub(crate) const READ: &[&str] = &["get", "list", "watch"];
pub(crate) const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
pub(crate) const READ_WRITE: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
pub(crate) const READ_UPDATE: &[&str] = &["get", "list", "watch", "update", "patch"];

/// A policy rule being built, as upstream's `PolicyRuleBuilder`: every list is sorted
/// when the rule is finished, so the stored form matches upstream's.
#[derive(Default)]
pub(crate) struct Rule {
    verbs: Vec<String>,
    groups: Vec<String>,
    resources: Vec<String>,
    names: Vec<String>,
    urls: Vec<String>,
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn rule(verbs: &[&str]) -> Rule {
    Rule {
        verbs: owned(verbs),
        ..Rule::default()
    }
}

impl Rule {
    pub fn groups(mut self, g: &[&str]) -> Self {
        self.groups = owned(g);
        self
    }
    pub fn resources(mut self, r: &[&str]) -> Self {
        self.resources = owned(r);
        self
    }
    pub fn names(mut self, n: &[&str]) -> Self {
        self.names = owned(n);
        self
    }
    pub fn urls(mut self, u: &[&str]) -> Self {
        self.urls = owned(u);
        self
    }
    pub fn done(self) -> Value {
        let mut out = serde_json::Map::new();
        for (key, mut list) in [
            ("verbs", self.verbs),
            ("apiGroups", self.groups),
            ("resources", self.resources),
            ("resourceNames", self.names),
            ("nonResourceURLs", self.urls),
        ] {
            if key == "verbs" || !list.is_empty() {
                list.sort();
                out.insert(key.into(), json!(list));
            }
        }
        Value::Object(out)
    }
}

/// Upstream's `eventsRule`: components write events through both event APIs.
pub(crate) fn events_rule() -> Value {
    rule(&["create", "update", "patch"])
        .groups(&["", "events.k8s.io"])
        .resources(&["events"])
        .done()
}

fn metadata(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut l = serde_json::Map::new();
    l.insert(BOOTSTRAP_LABEL.0.into(), json!(BOOTSTRAP_LABEL.1));
    for (k, v) in labels {
        l.insert(k.to_string(), json!(v));
    }
    json!({"name": name, "labels": l, "annotations": {AUTOUPDATE: "true"}})
}

pub(crate) fn cluster_role(name: &str, rules: Vec<Value>) -> Value {
    labelled_role(name, &[], rules)
}

pub(crate) fn labelled_role(name: &str, labels: &[(&str, &str)], rules: Vec<Value>) -> Value {
    json!({"apiVersion": format!("{GROUP}/v1"), "kind": "ClusterRole",
        "metadata": metadata(name, labels), "rules": rules})
}

/// A role whose rules the aggregation controller fills from the roles `selector_label`
/// selects.
pub(crate) fn aggregated_role(name: &str, labels: &[(&str, &str)], selector_label: &str) -> Value {
    let mut r = labelled_role(name, labels, vec![]);
    r["aggregationRule"] =
        json!({"clusterRoleSelectors": [{"matchLabels": {selector_label: "true"}}]});
    r
}

/// A subject of a bootstrap binding.
pub(crate) enum Subject<'a> {
    User(&'a str),
    Group(&'a str),
    ServiceAccount(&'a str, &'a str),
}

impl Subject<'_> {
    fn json(&self) -> Value {
        match self {
            Subject::User(n) => json!({"kind": "User", "apiGroup": GROUP, "name": n}),
            Subject::Group(n) => json!({"kind": "Group", "apiGroup": GROUP, "name": n}),
            Subject::ServiceAccount(ns, n) => {
                json!({"kind": "ServiceAccount", "name": n, "namespace": ns})
            }
        }
    }
}

/// A ClusterRoleBinding named as its role, as upstream's `NewClusterBinding` makes them.
pub(crate) fn binding(role: &str, subjects: &[Subject]) -> Value {
    let mut b = json!({"apiVersion": format!("{GROUP}/v1"), "kind": "ClusterRoleBinding",
        "metadata": metadata(role, &[]),
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role}});
    if !subjects.is_empty() {
        b["subjects"] = subjects.iter().map(Subject::json).collect();
    }
    b
}

/// Every bootstrap ClusterRole: upstream's `ClusterRoles()` then its controller roles.
pub fn cluster_roles() -> Vec<Value> {
    let mut out = roles::cluster_roles();
    out.extend(controllers::roles());
    out
}

/// Every bootstrap Role (namespaced, in `kube-system` and `kube-public`).
pub fn roles() -> Vec<Value> {
    namespaced::roles()
}

/// Every bootstrap RoleBinding.
pub fn role_bindings() -> Vec<Value> {
    namespaced::bindings()
}

/// Every bootstrap ClusterRoleBinding.
pub fn cluster_role_bindings() -> Vec<Value> {
    let mut out = roles::cluster_role_bindings();
    out.extend(controllers::bindings());
    out
}

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod tests;
