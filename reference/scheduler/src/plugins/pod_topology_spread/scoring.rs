//! PodTopologySpread PreScore/Score/NormalizeScore for ScheduleAnyway constraints and the
//! system defaults: fewer matching pods in a node's domains means a higher score.

use std::collections::{HashMap, HashSet};

use k8s_openapi::api::core::v1::Pod;

use super::{
    Constraint, LABEL_HOSTNAME, PodTopologySpread, count_pods_match_selector, default_selector,
    node_has_all_keys, pod_constraints, system_default_constraints,
};
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, NodeScore, PreScorePlugin, ScorePlugin, Snapshot, Status,
};
use refkube_helpers::nodeaffinity::RequiredNodeAffinity;

const STATE_KEY: &str = "PreScorePodTopologySpread";

#[derive(Debug)]
struct ScoreState {
    constraints: Vec<Constraint>,
    ignored_nodes: HashSet<String>,
    /// (key, value) → matching pods, for non-hostname keys.
    pair_counts: HashMap<(String, String), i64>,
    /// Per constraint: ln(domains + 2).
    weights: Vec<f64>,
    namespace: String,
}

impl PreScorePlugin for PodTopologySpread {
    #[allow(clippy::cast_precision_loss)]
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
        feasible: &[&NodeInfo],
    ) -> Status {
        let has_own = pod
            .spec
            .as_ref()
            .and_then(|s| s.topology_spread_constraints.as_ref())
            .is_some_and(|c| !c.is_empty());
        let constraints = if has_own {
            pod_constraints(pod, "ScheduleAnyway")
        } else if self.system_defaulted {
            default_selector(pod, &snapshot.objects)
                .map(system_default_constraints)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        if constraints.is_empty() || feasible.is_empty() {
            return Status::skip();
        }
        // Nodes need every key only for the pod's own constraints.
        let require_all = has_own || !self.system_defaulted;
        let mut ignored_nodes = HashSet::new();
        let mut pair_counts = HashMap::new();
        let mut domains: Vec<HashSet<String>> = vec![HashSet::new(); constraints.len()];
        for node in feasible {
            if require_all && !node_has_all_keys(&node.node, &constraints) {
                ignored_nodes.insert(node.name().to_string());
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == LABEL_HOSTNAME {
                    continue;
                }
                if let Some(v) = node.labels().get(&c.topology_key) {
                    domains[i].insert(v.clone());
                    pair_counts.insert((c.topology_key.clone(), v.clone()), 0);
                }
            }
        }
        let weights = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == LABEL_HOSTNAME {
                    feasible.len() - ignored_nodes.len()
                } else {
                    domains[i].len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let affinity = RequiredNodeAffinity::from_pod(pod);
        for node in &snapshot.nodes {
            if require_all && !node_has_all_keys(&node.node, &constraints) {
                continue;
            }
            for c in &constraints {
                if c.topology_key == LABEL_HOSTNAME || !c.includes_node(&affinity, pod, &node.node)
                {
                    continue;
                }
                let Some(v) = node.labels().get(&c.topology_key) else {
                    continue;
                };
                if let Some(count) = pair_counts.get_mut(&(c.topology_key.clone(), v.clone())) {
                    *count += count_pods_match_selector(&node.pods, c, &ns);
                }
            }
        }
        state.write(
            STATE_KEY,
            ScoreState {
                constraints,
                ignored_nodes,
                pair_counts,
                weights,
                namespace: ns,
            },
        );
        Status::success()
    }
}

/// `cnt * ln(domains + 2) + (maxSkew - 1)`.
#[allow(clippy::cast_precision_loss)]
pub fn score_for_count(count: i64, max_skew: i64, weight: f64) -> f64 {
    count as f64 * weight + (max_skew - 1) as f64
}

impl ScorePlugin for PodTopologySpread {
    #[allow(clippy::cast_possible_truncation)]
    fn score(&self, state: &CycleState, _pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<ScoreState>(STATE_KEY) else {
            return Ok(0);
        };
        if s.ignored_nodes.contains(node.name()) {
            return Ok(0);
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = node.labels().get(&c.topology_key) else {
                continue;
            };
            let count = if c.topology_key == LABEL_HOSTNAME {
                count_pods_match_selector(&node.pods, c, &s.namespace)
            } else {
                s.pair_counts
                    .get(&(c.topology_key.clone(), value.clone()))
                    .copied()
                    .unwrap_or(0)
            };
            score += score_for_count(count, c.max_skew, s.weights[i]);
        }
        Ok(score.round() as i64)
    }

    fn normalize(&self, state: &CycleState, _pod: &Pod, scores: &mut [NodeScore]) -> Status {
        let Some(s) = state.read::<ScoreState>(STATE_KEY) else {
            return Status::success();
        };
        let considered = scores.iter().filter(|n| !s.ignored_nodes.contains(&n.name));
        let min = considered
            .clone()
            .map(|n| n.score)
            .min()
            .unwrap_or(i64::MAX);
        let max = considered.map(|n| n.score).max().unwrap_or(0).max(0);
        for n in scores.iter_mut() {
            n.score = if s.ignored_nodes.contains(&n.name) {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - n.score) / max
            };
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::types::ClusterObjects;
    use crate::testing::{bound, node, pod_with};
    use serde_json::json;
    use std::sync::Arc;

    fn rs_pod(name: &str) -> Arc<Pod> {
        pod_with(
            name,
            json!({"labels": {"app": "web"}, "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-rs", "uid": "rs1", "controller": true}]}),
            json!({}),
        )
    }

    fn objects() -> ClusterObjects {
        let rs = serde_json::from_value(
            json!({"metadata": {"name": "web-rs", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {}}}),
        )
        .unwrap();
        ClusterObjects {
            replica_sets: vec![Arc::new(rs)],
            ..ClusterObjects::default()
        }
    }

    fn scores_for(p: &Pod, snap: &Snapshot) -> Vec<i64> {
        let plugin = PodTopologySpread::default();
        let mut st = CycleState::default();
        let feasible: Vec<&NodeInfo> = snap.nodes.iter().map(|n| &**n).collect();
        assert!(plugin.pre_score(&mut st, p, snap, &feasible).is_success());
        let mut scores: Vec<NodeScore> = feasible
            .iter()
            .map(|n| NodeScore {
                name: n.name().into(),
                score: plugin.score(&st, p, n).unwrap(),
            })
            .collect();
        plugin.normalize(&st, p, &mut scores);
        scores.into_iter().map(|s| s.score).collect()
    }

    #[test]
    fn system_defaults_prefer_the_node_not_running_the_pods_siblings() {
        let nodes = [
            node("n1", "4", "8Gi", json!({})),
            node("n2", "4", "8Gi", json!({})),
        ];
        let snap = Snapshot::build(&nodes, &[bound(rs_pod("w1"), "n1")], objects());
        // [derived] hostname weight ln(2+2); n1: 1*1.386+2 = 3.39 -> 3, n2: 0+2 = 2.
        // normalize: max 3, min 2: n1 100*(3+2-3)/3 = 66, n2 100*(3+2-2)/3 = 100.
        assert_eq!(scores_for(&rs_pod("w2"), &snap), vec![66, 100]);
    }

    #[test]
    fn pods_selected_by_nothing_skip_default_spreading() {
        let nodes = [node("n1", "4", "8Gi", json!({}))];
        let snap = Snapshot::build(&nodes, &[], ClusterObjects::default());
        let feasible: Vec<&NodeInfo> = snap.nodes.iter().map(|n| &**n).collect();
        let p = pod_with("p", json!({"labels": {"app": "x"}}), json!({}));
        assert!(
            PodTopologySpread::default()
                .pre_score(&mut CycleState::default(), &p, &snap, &feasible)
                .is_skip()
        );
    }

    #[test]
    fn services_selecting_the_pod_form_the_default_selector() {
        let svc = serde_json::from_value(json!({"metadata": {"name": "s", "namespace": "default"},
            "spec": {"selector": {"app": "web"}}}))
        .unwrap();
        let objects = ClusterObjects {
            services: vec![Arc::new(svc)],
            ..ClusterObjects::default()
        };
        let p = pod_with("p", json!({"labels": {"app": "web", "x": "y"}}), json!({}));
        let sel = default_selector(&p, &objects).unwrap();
        assert_eq!(
            sel.match_labels.unwrap().get("app").map(String::as_str),
            Some("web")
        );
    }

    #[test]
    fn own_schedule_anyway_constraints_ignore_nodes_missing_the_key() {
        let nodes = [
            node(
                "n1",
                "4",
                "8Gi",
                json!({"metadata": {"labels": {"zone": "a"}}}),
            ),
            node(
                "n2",
                "4",
                "8Gi",
                json!({"metadata": {"labels": {"zone": "b"}}}),
            ),
            node("n3", "4", "8Gi", json!({})),
        ];
        let mk = |name: &str| {
            pod_with(
                name,
                json!({"labels": {"app": "web"}}),
                json!({"topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "web"}}}]}),
            )
        };
        let snap = Snapshot::build(
            &nodes,
            &[bound(mk("w1"), "n1"), bound(mk("w2"), "n1")],
            ClusterObjects::default(),
        );
        // [derived] weight ln(2+2)=1.386: n1 2*1.386 = 2.77 -> 3, n2 0 -> 0; max 3 min 0:
        // n1 100*(3+0-3)/3 = 0, n2 100*(3+0-0)/3 = 100, n3 ignored -> 0.
        assert_eq!(scores_for(&mk("w3"), &snap), vec![0, 100, 0]);
    }
}
