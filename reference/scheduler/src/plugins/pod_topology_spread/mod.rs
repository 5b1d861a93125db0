//! PodTopologySpread: DoNotSchedule constraints as a filter (skew, minDomains, missing
//! label), ScheduleAnyway constraints — or the system defaults (hostname maxSkew 3, zone
//! maxSkew 5, selector from the pod's Services / RC / RS / StatefulSet) — as a score.
//! Filtering is in `filtering.rs`, scoring in `scoring.rs`; constraints are built here.

mod filtering;
mod scoring;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::framework::types::{ClusterObjects, PodInfo};
use crate::framework::{FilterPlugin, Plugin, PreFilterPlugin, PreScorePlugin, ScorePlugin};
use refkube_helpers::labels::{
    Selector, SelectorExt, from_label_selector, labels_of, map_selector_matches,
};
use refkube_helpers::nodeaffinity::RequiredNodeAffinity;
use refkube_helpers::taints::{node_taints, pod_tolerations, tolerations_tolerate};

pub use filtering::{ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH};

/// Plugin name.
pub const NAME: &str = "PodTopologySpread";
/// `kubernetes.io/hostname`: counted per node rather than per pair.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// `topology.kubernetes.io/zone`.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";

/// The PodTopologySpread plugin with `defaultingType: System`.
#[derive(Debug, Clone)]
pub struct PodTopologySpread {
    /// Use the system default constraints for pods without constraints.
    pub system_defaulted: bool,
}

impl Default for PodTopologySpread {
    fn default() -> Self {
        PodTopologySpread {
            system_defaulted: true,
        }
    }
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// One constraint, with matchLabelKeys merged into its selector.
#[derive(Clone, Debug)]
pub struct Constraint {
    /// maxSkew.
    pub max_skew: i64,
    /// topologyKey.
    pub topology_key: String,
    /// Selector of the pods counted, converted once when the constraint is built (it is
    /// matched against many pods per cycle); `None` if it cannot be converted, which
    /// selects nothing.
    pub selector: Option<Selector>,
    /// minDomains (1 when unset).
    pub min_domains: i64,
    /// nodeAffinityPolicy Honor (default) / Ignore.
    pub honor_node_affinity: bool,
    /// nodeTaintsPolicy Honor / Ignore (default).
    pub honor_node_taints: bool,
}

impl Constraint {
    /// Whether `node` takes part in this constraint's counting for `pod`, whose required
    /// node affinity the caller parses once per cycle (`affinity`), not once per node.
    pub fn includes_node(&self, affinity: &RequiredNodeAffinity, pod: &Pod, node: &Node) -> bool {
        if self.honor_node_affinity && !affinity.matches(node) {
            return false;
        }
        if self.honor_node_taints {
            let tolerations = pod_tolerations(pod);
            let blocked = node_taints(node).iter().any(|t| {
                (t.effect == "NoSchedule" || t.effect == "NoExecute")
                    && !tolerations_tolerate(tolerations, t)
            });
            if blocked {
                return false;
            }
        }
        true
    }

    /// Whether the constraint's selector matches these labels.
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }
}

/// The pod's own constraints with `whenUnsatisfiable == when`.
pub fn pod_constraints(pod: &Pod, when: &str) -> Vec<Constraint> {
    let pod_labels = labels_of(&pod.metadata.labels);
    pod.spec
        .iter()
        .flat_map(|s| s.topology_spread_constraints.iter().flatten())
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| {
            let mut selector = c.label_selector.clone().unwrap_or_default();
            for key in c.match_label_keys.iter().flatten() {
                if let Some(value) = pod_labels.get(key) {
                    selector
                        .match_expressions
                        .get_or_insert_with(Vec::new)
                        .push(LabelSelectorRequirement {
                            key: key.clone(),
                            operator: "In".into(),
                            values: Some(vec![value.clone()]),
                        });
                }
            }
            Constraint {
                max_skew: i64::from(c.max_skew),
                topology_key: c.topology_key.clone(),
                selector: compiled(&selector),
                min_domains: i64::from(c.min_domains.unwrap_or(1)),
                honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
            }
        })
        .collect()
}

/// Upstream `helper.DefaultSelector`: the Services selecting the pod, plus the selector of
/// its controlling RC / ReplicaSet / StatefulSet. `None` when nothing selects the pod.
pub fn default_selector(pod: &Pod, objects: &ClusterObjects) -> Option<LabelSelector> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let labels = labels_of(&pod.metadata.labels);
    let mut match_labels = BTreeMap::new();
    let mut expressions = Vec::new();
    for svc in objects
        .services
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == Some(ns))
    {
        if let Some(sel) = svc.spec.as_ref().and_then(|s| s.selector.as_ref())
            && map_selector_matches(sel, labels)
        {
            match_labels.extend(sel.clone());
        }
    }
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    if let Some(owner) = owner {
        let same = |name: Option<&String>, owner_ns: Option<&String>| {
            name == Some(&owner.name) && owner_ns.map(String::as_str) == Some(ns)
        };
        let merge_selector = |sel: &LabelSelector,
                              ml: &mut BTreeMap<String, String>,
                              ex: &mut Vec<LabelSelectorRequirement>| {
            ml.extend(sel.match_labels.clone().unwrap_or_default());
            ex.extend(sel.match_expressions.clone().unwrap_or_default());
        };
        match (owner.api_version.as_str(), owner.kind.as_str()) {
            ("v1", "ReplicationController") => {
                if let Some(rc) = objects
                    .replication_controllers
                    .iter()
                    .find(|r| same(r.metadata.name.as_ref(), r.metadata.namespace.as_ref()))
                {
                    match_labels.extend(
                        rc.spec
                            .as_ref()
                            .and_then(|s| s.selector.clone())
                            .unwrap_or_default(),
                    );
                }
            }
            ("apps/v1", "ReplicaSet") => {
                if let Some(rs) = objects
                    .replica_sets
                    .iter()
                    .find(|r| same(r.metadata.name.as_ref(), r.metadata.namespace.as_ref()))
                    && let Some(spec) = rs.spec.as_ref()
                {
                    merge_selector(&spec.selector, &mut match_labels, &mut expressions);
                }
            }
            ("apps/v1", "StatefulSet") => {
                if let Some(ss) = objects
                    .stateful_sets
                    .iter()
                    .find(|r| same(r.metadata.name.as_ref(), r.metadata.namespace.as_ref()))
                    && let Some(spec) = ss.spec.as_ref()
                {
                    merge_selector(&spec.selector, &mut match_labels, &mut expressions);
                }
            }
            _ => {}
        }
    }
    if match_labels.is_empty() && expressions.is_empty() {
        return None;
    }
    Some(LabelSelector {
        match_labels: (!match_labels.is_empty()).then_some(match_labels),
        match_expressions: (!expressions.is_empty()).then_some(expressions),
    })
}

/// The system default constraints (`defaultingType: System`) with `selector`.
pub fn system_default_constraints(selector: LabelSelector) -> Vec<Constraint> {
    let selector = compiled(&selector);
    [(LABEL_HOSTNAME, 3), (LABEL_ZONE, 5)]
        .into_iter()
        .map(|(key, skew)| Constraint {
            max_skew: skew,
            topology_key: key.to_string(),
            selector: selector.clone(),
            min_domains: 1,
            honor_node_affinity: true,
            honor_node_taints: false,
        })
        .collect()
}

fn compiled(selector: &LabelSelector) -> Option<Selector> {
    from_label_selector(Some(selector)).ok().flatten()
}

/// Upstream `countPodsMatchSelector`: pods in `ns`, not being deleted, selected.
pub fn count_pods_match_selector(pods: &[PodInfo], selector: &Constraint, ns: &str) -> i64 {
    let n = pods
        .iter()
        .filter(|p| {
            p.pod.metadata.deletion_timestamp.is_none()
                && p.pod.metadata.namespace.as_deref() == Some(ns)
                && selector.selects(labels_of(&p.pod.metadata.labels))
        })
        .count();
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// True when the node has every constraint's topology key.
pub fn node_has_all_keys(node: &Node, constraints: &[Constraint]) -> bool {
    let labels = labels_of(&node.metadata.labels);
    constraints
        .iter()
        .all(|c| labels.contains_key(&c.topology_key))
}
