//! InterPodAffinity PreScore/Score/NormalizeScore: weights of preferred terms (both the
//! incoming pod's and existing pods'), accumulated per topology pair, min-max normalized.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;

use super::{AffinityTerm, InterPodAffinity, PodTerms};
use crate::framework::types::ClusterObjects;
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, NodeScore, PreScorePlugin, ScorePlugin, Snapshot, Status,
};
use refkube_helpers::labels::labels_of;

const STATE_KEY: &str = "PreScoreInterPodAffinity";

/// topologyKey → value → score.
type TopologyScore = HashMap<String, HashMap<String, i64>>;

fn process_term(
    scores: &mut TopologyScore,
    term: &AffinityTerm,
    weight: i64,
    pod: &Pod,
    objects: &ClusterObjects,
    node_labels: &std::collections::BTreeMap<String, String>,
) {
    if term.matches(pod, objects)
        && let Some(value) = node_labels.get(&term.topology_key)
    {
        *scores
            .entry(term.topology_key.clone())
            .or_default()
            .entry(value.clone())
            .or_insert(0) += weight;
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
        _f: &[&NodeInfo],
    ) -> Status {
        let incoming = PodTerms::of(pod);
        let objects = &snapshot.objects;
        let mut scores = TopologyScore::new();
        let has_preferred =
            !incoming.preferred_affinity.is_empty() || !incoming.preferred_anti_affinity.is_empty();
        // Without preferred terms of its own, only existing pods with terms can score:
        // visit just the nodes that hold some (upstream's havePodsWithAffinity list).
        let nodes: Box<dyn Iterator<Item = &NodeInfo>> = if has_preferred {
            Box::new(snapshot.nodes.iter().map(|n| &**n))
        } else {
            Box::new(snapshot.nodes_with_affinity_pods())
        };
        for node in nodes {
            let labels = labels_of(&node.node.metadata.labels);
            if labels.is_empty() {
                continue;
            }
            for existing in &node.pods {
                let ep = &existing.pod;
                for t in &incoming.preferred_affinity {
                    process_term(&mut scores, t, t.weight, ep, objects, labels);
                }
                for t in &incoming.preferred_anti_affinity {
                    process_term(&mut scores, t, -t.weight, ep, objects, labels);
                }
                if !existing.has_affinity() {
                    continue;
                }
                let theirs = &existing.terms;
                if self.hard_pod_affinity_weight > 0 {
                    for t in &theirs.required_affinity {
                        process_term(
                            &mut scores,
                            t,
                            self.hard_pod_affinity_weight,
                            pod,
                            objects,
                            labels,
                        );
                    }
                }
                for t in &theirs.preferred_affinity {
                    process_term(&mut scores, t, t.weight, pod, objects, labels);
                }
                for t in &theirs.preferred_anti_affinity {
                    process_term(&mut scores, t, -t.weight, pod, objects, labels);
                }
            }
        }
        if scores.is_empty() {
            return Status::skip();
        }
        state.write(STATE_KEY, scores);
        Status::success()
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let Some(scores) = state.read::<TopologyScore>(STATE_KEY) else {
            return Ok(0);
        };
        let labels = node.labels();
        Ok(scores
            .iter()
            .filter_map(|(key, values)| labels.get(key).and_then(|v| values.get(v)))
            .sum())
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    fn normalize(&self, _state: &CycleState, _pod: &Pod, scores: &mut [NodeScore]) -> Status {
        let max = scores.iter().map(|s| s.score).max().unwrap_or(0);
        let min = scores.iter().map(|s| s.score).min().unwrap_or(0);
        let diff = max - min;
        for s in scores.iter_mut() {
            s.score = if diff > 0 {
                (MAX_NODE_SCORE as f64 * ((s.score - min) as f64 / diff as f64)) as i64
            } else {
                0
            };
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{bound, node, pod_with, snapshot};
    use serde_json::json;

    #[test]
    fn preferred_affinity_and_anti_affinity_move_scores_by_their_weights() {
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
            node(
                "n3",
                "4",
                "8Gi",
                json!({"metadata": {"labels": {"zone": "c"}}}),
            ),
        ];
        let db = bound(
            pod_with("db", json!({"labels": {"app": "db"}}), json!({})),
            "n1",
        );
        let cache = bound(
            pod_with("cache", json!({"labels": {"app": "cache"}}), json!({})),
            "n2",
        );
        let web = pod_with(
            "web",
            json!({"labels": {"app": "web"}}),
            json!({"affinity": {
            "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 80, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"}}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 20, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"}}]}}}),
        );
        let snap = snapshot(&nodes, &[db, cache]);
        let plugin = InterPodAffinity::default();
        let mut st = CycleState::default();
        let feasible: Vec<&NodeInfo> = snap.nodes.iter().map(|n| &**n).collect();
        assert!(
            plugin
                .pre_score(&mut st, &web, &snap, &feasible)
                .is_success()
        );
        let mut scores: Vec<NodeScore> = snap
            .nodes
            .iter()
            .map(|n| NodeScore {
                name: n.name().into(),
                score: plugin.score(&st, &web, n).unwrap(),
            })
            .collect();
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            vec![80, -20, 0]
        );
        plugin.normalize(&st, &web, &mut scores);
        // [derived] min -20, max 80: (80+20)/100*100 = 100, 0, (0+20)/100*100 = 20.
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            vec![100, 0, 20]
        );
    }

    #[test]
    fn an_existing_pods_required_affinity_to_the_incoming_pod_adds_the_hard_weight() {
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
        ];
        let fan = bound(
            pod_with(
                "fan",
                json!({}),
                json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}]}}}),
            ),
            "n2",
        );
        let web = pod_with("web", json!({"labels": {"app": "web"}}), json!({}));
        let snap = snapshot(&nodes, &[fan]);
        let plugin = InterPodAffinity::default();
        let mut st = CycleState::default();
        assert!(plugin.pre_score(&mut st, &web, &snap, &[]).is_success());
        assert_eq!(plugin.score(&st, &web, &snap.nodes[0]).unwrap(), 0);
        assert_eq!(plugin.score(&st, &web, &snap.nodes[1]).unwrap(), 1);
    }

    #[test]
    fn nothing_to_score_skips() {
        let snap = snapshot(&[node("n1", "4", "8Gi", json!({}))], &[]);
        let web = pod_with("web", json!({}), json!({}));
        assert!(
            InterPodAffinity::default()
                .pre_score(&mut CycleState::default(), &web, &snap, &[])
                .is_skip()
        );
    }
}
