//! The garbage collector's decision for one object (`garbagecollector.go`
//! attemptToDeleteItem, processDeletingDependentsItem, orphanDependents).
//! Entry point: [`decide`].

use super::graph::{FOREGROUND, Graph, Node, ORPHAN};

/// How an owner reference stands (`classifyReferences`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerState {
    /// The owner exists and is not waiting on its dependents.
    Solid,
    /// The owner is gone (or was replaced: a different UID under the name).
    Dangling,
    /// The owner is being deleted in the foreground.
    Waiting,
}

/// `DeletionPropagation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// Delete now; dependents are collected afterwards.
    Background,
    /// Delete dependents first.
    Foreground,
    /// Leave dependents, removing their owner references.
    Orphan,
}

/// One write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Delete the object (UID precondition).
    Delete {
        /// Target UID.
        uid: String,
        /// Propagation policy.
        propagation: Propagation,
    },
    /// Remove these owner references from the object.
    RemoveOwnerRefs {
        /// Target UID.
        uid: String,
        /// Owner UIDs to drop.
        owners: Vec<String>,
    },
    /// Remove a finalizer from the object.
    RemoveFinalizer {
        /// Target UID.
        uid: String,
        /// The finalizer.
        finalizer: &'static str,
    },
    /// Look at another object again (a dependent of a foreground deletion).
    Requeue(String),
}

/// Decides for `node`, given each of its owners' state.
pub fn decide(graph: &Graph, node: &Node, owner_state: &dyn Fn(&str) -> OwnerState) -> Vec<Action> {
    let dependents = graph.dependents_of(&node.uid);
    if node.deleting {
        if node.has_finalizer(ORPHAN) {
            // Orphan: strip our reference from every dependent, then let ourselves go.
            let mut out: Vec<Action> = dependents
                .iter()
                .map(|d| Action::RemoveOwnerRefs {
                    uid: d.uid.clone(),
                    owners: vec![node.uid.clone()],
                })
                .collect();
            out.push(Action::RemoveFinalizer {
                uid: node.uid.clone(),
                finalizer: ORPHAN,
            });
            return out;
        }
        if node.has_finalizer(FOREGROUND) {
            let blocking = dependents.iter().any(|d| {
                d.owners
                    .iter()
                    .any(|o| o.uid == node.uid && o.block_owner_deletion == Some(true))
            });
            if !blocking {
                return vec![Action::RemoveFinalizer {
                    uid: node.uid.clone(),
                    finalizer: FOREGROUND,
                }];
            }
            return dependents
                .iter()
                .filter(|d| !d.deleting_dependents())
                .map(|d| Action::Requeue(d.uid.clone()))
                .collect();
        }
        return Vec::new();
    }
    if node.owners.is_empty() {
        return Vec::new();
    }
    let mut solid = 0;
    let mut drop = Vec::new();
    let mut waiting = 0;
    for o in &node.owners {
        match owner_state(&o.uid) {
            OwnerState::Solid => solid += 1,
            OwnerState::Dangling => drop.push(o.uid.clone()),
            OwnerState::Waiting => {
                waiting += 1;
                drop.push(o.uid.clone());
            }
        }
    }
    if solid > 0 {
        // Still owned: just forget owners that are gone or waiting on us.
        return if drop.is_empty() {
            Vec::new()
        } else {
            vec![Action::RemoveOwnerRefs {
                uid: node.uid.clone(),
                owners: drop,
            }]
        };
    }
    let propagation = if waiting > 0 && !dependents.is_empty() {
        Propagation::Foreground
    } else if node.has_finalizer(ORPHAN) {
        Propagation::Orphan
    } else if node.has_finalizer(FOREGROUND) {
        Propagation::Foreground
    } else {
        Propagation::Background
    };
    vec![Action::Delete {
        uid: node.uid.clone(),
        propagation,
    }]
}

#[cfg(test)]
mod tests {
    use super::super::graph::tests::node;
    use super::*;

    fn graph(nodes: Vec<Node>) -> Graph {
        let mut g = Graph::default();
        for n in nodes {
            g.upsert(n);
        }
        g
    }

    fn states(g: &Graph) -> impl Fn(&str) -> OwnerState + '_ {
        |uid| match g.get(uid) {
            None => OwnerState::Dangling,
            Some(o) if o.deleting_dependents() => OwnerState::Waiting,
            Some(_) => OwnerState::Solid,
        }
    }

    #[test]
    fn a_dependent_whose_only_owner_is_gone_is_deleted_in_the_background() {
        let g = graph(vec![node("dep", &[("gone", true)])]);
        let d = g.get("dep").unwrap();
        assert_eq!(
            decide(&g, d, &states(&g)),
            vec![Action::Delete {
                uid: "dep".into(),
                propagation: Propagation::Background
            }]
        );
    }

    #[test]
    fn a_dependent_with_a_living_owner_only_drops_the_dangling_reference() {
        let g = graph(vec![
            node("alive", &[]),
            node("dep", &[("alive", true), ("gone", true)]),
        ]);
        let d = g.get("dep").unwrap();
        assert_eq!(
            decide(&g, d, &states(&g)),
            vec![Action::RemoveOwnerRefs {
                uid: "dep".into(),
                owners: vec!["gone".into()]
            }]
        );
        let g = graph(vec![node("alive", &[]), node("dep", &[("alive", true)])]);
        assert!(decide(&g, g.get("dep").unwrap(), &states(&g)).is_empty());
    }

    #[test]
    fn an_orphaning_owner_strips_its_references_then_drops_the_orphan_finalizer() {
        let mut owner = node("owner", &[]);
        owner.deleting = true;
        owner.finalizers = vec![ORPHAN.into()];
        let g = graph(vec![owner, node("dep", &[("owner", true)])]);
        assert_eq!(
            decide(&g, g.get("owner").unwrap(), &states(&g)),
            vec![
                Action::RemoveOwnerRefs {
                    uid: "dep".into(),
                    owners: vec!["owner".into()]
                },
                Action::RemoveFinalizer {
                    uid: "owner".into(),
                    finalizer: ORPHAN
                }
            ]
        );
    }

    #[test]
    fn a_foreground_owner_waits_for_blocking_dependents_which_are_deleted() {
        let mut owner = node("owner", &[]);
        owner.deleting = true;
        owner.finalizers = vec![FOREGROUND.into()];
        let g = graph(vec![owner.clone(), node("dep", &[("owner", true)])]);
        assert_eq!(
            decide(&g, g.get("owner").unwrap(), &states(&g)),
            vec![Action::Requeue("dep".into())]
        );
        assert_eq!(
            decide(&g, g.get("dep").unwrap(), &states(&g)),
            vec![Action::Delete {
                uid: "dep".into(),
                propagation: Propagation::Background
            }]
        );
        // Once only non-blocking dependents remain, the owner's finalizer goes.
        let g = graph(vec![owner, node("loose", &[("owner", false)])]);
        assert_eq!(
            decide(&g, g.get("owner").unwrap(), &states(&g)),
            vec![Action::RemoveFinalizer {
                uid: "owner".into(),
                finalizer: FOREGROUND
            }]
        );
    }

    #[test]
    fn a_dependent_of_a_foreground_owner_with_its_own_dependents_is_deleted_in_the_foreground() {
        let mut owner = node("owner", &[]);
        owner.deleting = true;
        owner.finalizers = vec![FOREGROUND.into()];
        let g = graph(vec![
            owner,
            node("mid", &[("owner", true)]),
            node("leaf", &[("mid", true)]),
        ]);
        assert_eq!(
            decide(&g, g.get("mid").unwrap(), &states(&g)),
            vec![Action::Delete {
                uid: "mid".into(),
                propagation: Propagation::Foreground
            }]
        );
    }

    #[test]
    fn objects_without_owners_are_left_alone() {
        let g = graph(vec![node("free", &[])]);
        assert!(decide(&g, g.get("free").unwrap(), &states(&g)).is_empty());
    }
}
