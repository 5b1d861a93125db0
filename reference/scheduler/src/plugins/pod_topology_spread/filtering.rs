//! PodTopologySpread PreFilter/Filter for `whenUnsatisfiable: DoNotSchedule` constraints.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;

use super::{
    Constraint, PodTopologySpread, count_pods_match_selector, node_has_all_keys, pod_constraints,
};
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, NodeNames, PreFilterPlugin, Snapshot, Status,
};
use refkube_helpers::labels::labels_of;
use refkube_helpers::nodeaffinity::RequiredNodeAffinity;

/// Placing the pod here would exceed maxSkew.
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints";
/// The node lacks a constraint's topology key.
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
const STATE_KEY: &str = "PreFilterPodTopologySpread";

#[derive(Debug)]
struct FilterState {
    constraints: Vec<Constraint>,
    /// Per constraint: topology value → matching pods.
    counts: Vec<HashMap<String, i64>>,
}

impl FilterState {
    /// The global minimum for constraint `i`; 0 when there are fewer domains than
    /// minDomains; i32::MAX (upstream's initial critical path) when there are no domains.
    fn min_match_num(&self, i: usize) -> i64 {
        let counts = &self.counts[i];
        let domains = i64::try_from(counts.len()).unwrap_or(i64::MAX);
        if domains < self.constraints[i].min_domains {
            return 0;
        }
        counts
            .values()
            .copied()
            .min()
            .unwrap_or(i64::from(i32::MAX))
    }
}

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
    ) -> (Option<NodeNames>, Status) {
        let constraints = pod_constraints(pod, "DoNotSchedule");
        if constraints.is_empty() {
            return (None, Status::skip());
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let mut counts = vec![HashMap::new(); constraints.len()];
        let affinity = RequiredNodeAffinity::from_pod(pod);
        for node in &snapshot.nodes {
            if !node_has_all_keys(&node.node, &constraints) {
                continue;
            }
            let labels = node.labels();
            for (i, c) in constraints.iter().enumerate() {
                if !c.includes_node(&affinity, pod, &node.node) {
                    continue;
                }
                let Some(value) = labels.get(&c.topology_key) else {
                    continue;
                };
                *counts[i].entry(value.clone()).or_insert(0) +=
                    count_pods_match_selector(&node.pods, c, ns);
            }
        }
        state.write(
            STATE_KEY,
            FilterState {
                constraints,
                counts,
            },
        );
        (None, Status::success())
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>(STATE_KEY) else {
            return Status::error(
                "reading \"PreFilterPodTopologySpread\" from cycleState: not found",
            );
        };
        let labels = node.labels();
        let pod_labels = labels_of(&pod.metadata.labels);
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = labels.get(&c.topology_key) else {
                return Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
            };
            let self_match = i64::from(c.selects(pod_labels));
            let match_num = s.counts[i].get(value).copied().unwrap_or(0);
            let skew = match_num + self_match - s.min_match_num(i);
            if skew > c.max_skew {
                return Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::testing::{bound, node, pod_with, snapshot};
    use serde_json::json;
    use std::sync::Arc;

    fn zoned(name: &str, zone: &str) -> Arc<k8s_openapi::api::core::v1::Node> {
        node(
            name,
            "4",
            "8Gi",
            json!({"metadata": {"labels": {"zone": zone}}}),
        )
    }

    fn spread_pod(name: &str, max_skew: i32, min_domains: Option<i32>) -> Arc<Pod> {
        let mut c = json!({"maxSkew": max_skew, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}}});
        if let Some(m) = min_domains {
            c["minDomains"] = json!(m);
        }
        pod_with(
            name,
            json!({"labels": {"app": "web"}}),
            json!({"topologySpreadConstraints": [c]}),
        )
    }

    fn run(
        p: &Pod,
        nodes: &[Arc<k8s_openapi::api::core::v1::Node>],
        pods: &[Arc<Pod>],
    ) -> Vec<Status> {
        let snap = snapshot(nodes, pods);
        let mut st = CycleState::default();
        let (_, s) = PodTopologySpread::default().pre_filter(&mut st, p, &snap);
        assert!(s.is_success());
        snap.nodes
            .iter()
            .map(|n| PodTopologySpread::default().filter(&st, p, n))
            .collect()
    }

    #[test]
    fn a_domain_already_ahead_by_max_skew_is_rejected() {
        let nodes = [zoned("n1", "a"), zoned("n2", "b")];
        let existing = [bound(spread_pod("w1", 1, None), "n1")];
        let res = run(&spread_pod("w2", 1, None), &nodes, &existing);
        assert_eq!(res[0].code, Code::Unschedulable);
        assert_eq!(res[0].reasons, vec![ERR_REASON_CONSTRAINTS_NOT_MATCH]);
        assert!(res[1].is_success());
    }

    #[test]
    fn a_node_without_the_topology_label_is_unresolvable() {
        let nodes = [zoned("n1", "a"), node("n2", "4", "8Gi", json!({}))];
        let res = run(&spread_pod("w", 1, None), &nodes, &[]);
        assert!(res[0].is_success());
        assert_eq!(res[1].code, Code::UnschedulableAndUnresolvable);
        assert_eq!(res[1].reasons, vec![ERR_REASON_NODE_LABEL_NOT_MATCH]);
    }

    #[test]
    fn fewer_domains_than_min_domains_makes_the_global_minimum_zero() {
        // One zone holding one pod: with minDomains 2 the minimum is 0, so skew 2 > 1.
        let nodes = [zoned("n1", "a")];
        let existing = [bound(spread_pod("w1", 1, Some(2)), "n1")];
        let res = run(&spread_pod("w2", 1, Some(2)), &nodes, &existing);
        assert_eq!(res[0].reasons, vec![ERR_REASON_CONSTRAINTS_NOT_MATCH]);
        let res = run(&spread_pod("w2", 1, None), &nodes, &existing);
        assert!(res[0].is_success());
    }

    #[test]
    fn pods_without_hard_constraints_skip_the_filter() {
        let (_, s) = PodTopologySpread::default().pre_filter(
            &mut CycleState::default(),
            &pod_with("p", json!({}), json!({})),
            &snapshot(&[], &[]),
        );
        assert!(s.is_skip());
    }

    #[test]
    fn nodes_outside_the_pods_node_affinity_do_not_count_as_domains() {
        // Zone b only has a node the pod's nodeSelector excludes: with nodeAffinityPolicy
        // Honor (default) it is not a domain, so zone a with 1 pod is the minimum.
        let nodes = [
            node(
                "n1",
                "4",
                "8Gi",
                json!({"metadata": {"labels": {"zone": "a", "pool": "x"}}}),
            ),
            node(
                "n2",
                "4",
                "8Gi",
                json!({"metadata": {"labels": {"zone": "b", "pool": "y"}}}),
            ),
        ];
        let existing = [bound(spread_pod("w1", 1, None), "n1")];
        let mut p = (*spread_pod("w2", 1, None)).clone();
        p.spec.as_mut().unwrap().node_selector =
            Some([("pool".to_string(), "x".to_string())].into());
        let res = run(&p, &nodes, &existing);
        assert!(res[0].is_success(), "{:?}", res[0]);
    }

    #[test]
    fn match_label_keys_narrow_the_selector_to_the_pods_own_values() {
        let nodes = [zoned("n1", "a"), zoned("n2", "b")];
        let mk = |name: &str, rev: &str| {
            pod_with(
                name,
                json!({"labels": {"app": "web", "rev": rev}}),
                json!({"topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": {"app": "web"}}, "matchLabelKeys": ["rev"]}]}),
            )
        };
        // An old-revision pod in zone a does not count against the new revision.
        let existing = [bound(mk("old", "1"), "n1")];
        let res = run(&mk("new", "2"), &nodes, &existing);
        assert!(res[0].is_success() && res[1].is_success());
    }
}
