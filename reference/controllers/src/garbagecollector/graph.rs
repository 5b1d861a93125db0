//! The ownership graph (`graph.go` / `graph_builder.go`): every object of every deletable
//! resource, by UID, with its owner references and an index of dependents.
//! Entry points: [`Graph::upsert`], [`Graph::remove`].

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// Finalizer: delete dependents before the owner goes.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer: orphan dependents before the owner goes.
pub const ORPHAN: &str = "orphan";

/// Where an object lives: enough to address it through the API.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    /// `group/version` or `v1`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (`None` when cluster-scoped).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// One object in the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// UID.
    pub uid: String,
    /// Address.
    pub identity: Identity,
    /// Owner references.
    pub owners: Vec<OwnerReference>,
    /// Has a deletionTimestamp.
    pub deleting: bool,
    /// metadata.finalizers.
    pub finalizers: Vec<String>,
    /// metadata.resourceVersion (a precondition for patches).
    pub resource_version: Option<String>,
}

impl Node {
    /// Builds a node from an object's metadata.
    pub fn from_meta(api_version: &str, kind: &str, meta: &ObjectMeta) -> Option<Self> {
        Some(Self {
            uid: meta.uid.clone()?,
            identity: Identity {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: meta.namespace.clone(),
                name: meta.name.clone()?,
            },
            owners: meta.owner_references.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
            resource_version: meta.resource_version.clone(),
        })
    }

    /// Has this finalizer.
    pub fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }

    /// Deleting and waiting for its dependents (`isDeletingDependents`).
    pub fn deleting_dependents(&self) -> bool {
        self.deleting && self.has_finalizer(FOREGROUND)
    }
}

/// All nodes and the reverse (owner → dependents) index.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, BTreeSet<String>>,
}

impl Graph {
    /// The node with this UID.
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    /// Nodes listing `uid` as an owner.
    pub fn dependents_of(&self, uid: &str) -> Vec<&Node> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|d| self.nodes.get(d))
            .collect()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Inserts or replaces a node; returns the UIDs whose decisions may have changed
    /// (the node, its old and new owners, its dependents).
    pub fn upsert(&mut self, node: Node) -> Vec<String> {
        let mut affected = self.remove_edges(&node.uid);
        for o in &node.owners {
            self.dependents
                .entry(o.uid.clone())
                .or_default()
                .insert(node.uid.clone());
            affected.push(o.uid.clone());
        }
        affected.push(node.uid.clone());
        affected.extend(
            self.dependents
                .get(&node.uid)
                .into_iter()
                .flatten()
                .cloned(),
        );
        self.nodes.insert(node.uid.clone(), node);
        affected.sort();
        affected.dedup();
        affected
    }

    /// Removes a node; returns the UIDs whose decisions may have changed.
    pub fn remove(&mut self, uid: &str) -> Vec<String> {
        let mut affected = self.remove_edges(uid);
        self.nodes.remove(uid);
        affected.extend(self.dependents.get(uid).into_iter().flatten().cloned());
        affected.sort();
        affected.dedup();
        affected
    }

    fn remove_edges(&mut self, uid: &str) -> Vec<String> {
        let Some(old) = self.nodes.get(uid) else {
            return Vec::new();
        };
        let owners: Vec<String> = old.owners.iter().map(|o| o.uid.clone()).collect();
        for o in &owners {
            if let Some(set) = self.dependents.get_mut(o) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(o);
                }
            }
        }
        owners
    }

    /// UIDs of every node (for a full resync).
    pub fn uids(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    /// UIDs of the nodes of one kind (what a stopped monitor had observed).
    pub fn uids_of_kind(&self, api_version: &str, kind: &str) -> Vec<String> {
        self.nodes
            .values()
            .filter(|n| n.identity.api_version == api_version && n.identity.kind == kind)
            .map(|n| n.uid.clone())
            .collect()
    }

    /// UIDs of the nodes naming an owner the graph has not observed: upstream keeps a
    /// "virtual" node for such an owner and verifies it with a live read; looking at
    /// these dependents again after new monitors synced does the same.
    pub fn with_absent_owners(&self) -> Vec<String> {
        self.nodes
            .values()
            .filter(|n| n.owners.iter().any(|o| !self.nodes.contains_key(&o.uid)))
            .map(|n| n.uid.clone())
            .collect()
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A node for tests; `owners` are (uid, blockOwnerDeletion).
    pub fn node(uid: &str, owners: &[(&str, bool)]) -> Node {
        Node {
            uid: uid.into(),
            identity: Identity {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("default".into()),
                name: uid.into(),
            },
            owners: owners
                .iter()
                .map(|(o, block)| OwnerReference {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    name: (*o).into(),
                    uid: (*o).into(),
                    block_owner_deletion: Some(*block),
                    controller: None,
                })
                .collect(),
            deleting: false,
            finalizers: Vec::new(),
            resource_version: Some("1".into()),
        }
    }

    #[test]
    fn dependents_are_indexed_and_unindexed_as_owner_references_change() {
        let mut g = Graph::default();
        g.upsert(node("owner", &[]));
        let affected = g.upsert(node("dep", &[("owner", true)]));
        assert!(affected.contains(&"owner".to_string()));
        assert_eq!(g.dependents_of("owner").len(), 1);
        g.upsert(node("dep", &[]));
        assert!(g.dependents_of("owner").is_empty());
        g.upsert(node("dep", &[("owner", true)]));
        let affected = g.remove("owner");
        assert_eq!(affected, vec!["dep".to_string()]);
    }

    #[test]
    fn dependents_of_unobserved_owners_and_nodes_of_a_kind_are_found() {
        let mut g = Graph::default();
        g.upsert(node("owner", &[]));
        g.upsert(node("kept", &[("owner", true)]));
        g.upsert(node("orphaned", &[("owner", true), ("unseen", true)]));
        let mut widget = node("widget", &[]);
        widget.identity.api_version = "ns.kubeproof.test/v1".into();
        widget.identity.kind = "Widget".into();
        g.upsert(widget);
        assert_eq!(g.with_absent_owners(), vec!["orphaned".to_string()]);
        assert_eq!(
            g.uids_of_kind("ns.kubeproof.test/v1", "Widget"),
            vec!["widget".to_string()]
        );
        g.remove("owner");
        let mut absent = g.with_absent_owners();
        absent.sort();
        assert_eq!(absent, vec!["kept".to_string(), "orphaned".to_string()]);
    }
}
