//! NodeAffinity: `nodeSelector` plus required node affinity as a filter, preferred node
//! affinity as a score (k8s-behaviour.md §1.5, §2).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Pod, PreferredSchedulingTerm};

use super::helper::{
    node_selector_term_matches, pod_matches_node_selector_and_affinity,
    required_node_affinity_terms,
};
use crate::framework::{
    CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, NodeNames, NodeScore, Plugin,
    PreFilterPlugin, PreScorePlugin, ScorePlugin, Snapshot, Status, default_normalize_score,
};

/// Plugin name.
pub const NAME: &str = "NodeAffinity";
/// Reason when the node does not match the selector / required affinity.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
/// Reason for a profile-level `addedAffinity` mismatch (the reference has no profile args).
pub const ERR_REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";
/// PreFilter reason when every term pins node names and they do not intersect.
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

/// The NodeAffinity plugin.
#[derive(Debug, Default)]
pub struct NodeAffinity;

impl Plugin for NodeAffinity {
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

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(
        &self,
        _state: &mut CycleState,
        pod: &Pod,
        _s: &Snapshot,
    ) -> (Option<NodeNames>, Status) {
        let has_selector = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_selector.as_ref())
            .is_some_and(|m| !m.is_empty());
        let terms = required_node_affinity_terms(pod);
        if !has_selector && terms.is_none() {
            return (None, Status::skip());
        }
        let Some(terms) = terms else {
            return (None, Status::success());
        };
        // Terms are ORed: only if every term pins metadata.name can the node set narrow.
        let mut union: Option<BTreeSet<String>> = None;
        for term in terms {
            let mut term_names: Option<BTreeSet<String>> = None;
            for r in term.match_fields.iter().flatten() {
                if r.key == "metadata.name" && r.operator == "In" {
                    let s: BTreeSet<String> = r.values.iter().flatten().cloned().collect();
                    term_names = Some(match term_names {
                        None => s,
                        Some(prev) => prev.intersection(&s).cloned().collect(),
                    });
                }
            }
            let Some(names) = term_names else {
                return (None, Status::success());
            };
            union.get_or_insert_with(BTreeSet::new).extend(names);
        }
        match union {
            Some(names) if names.is_empty() => (None, Status::unresolvable(ERR_REASON_CONFLICT)),
            other => (other, Status::success()),
        }
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        if pod_matches_node_selector_and_affinity(pod, &node.node) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_POD)
        }
    }
}

fn preferred_terms(pod: &Pod) -> &[PreferredSchedulingTerm] {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.preferred_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or(&[])
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(
        &self,
        _state: &mut CycleState,
        pod: &Pod,
        _s: &Snapshot,
        _f: &[&NodeInfo],
    ) -> Status {
        if preferred_terms(pod).is_empty() {
            Status::skip()
        } else {
            Status::success()
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        Ok(preferred_terms(pod)
            .iter()
            .filter(|t| t.weight != 0 && node_selector_term_matches(&t.preference, &node.node))
            .map(|t| i64::from(t.weight))
            .sum())
    }

    fn normalize(&self, _state: &CycleState, _pod: &Pod, scores: &mut [NodeScore]) -> Status {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::testing::{node, node_info, pod};
    use serde_json::json;

    fn zone_node(name: &str, zone: &str) -> NodeInfo {
        node_info(
            node(
                name,
                "1",
                "1Gi",
                json!({"metadata": {"labels": {"zone": zone, "disk": "ssd"}}}),
            ),
            &[],
        )
    }

    #[test]
    fn node_selector_and_required_affinity_must_both_match() {
        let p = pod(
            "p",
            json!({
            "nodeSelector": {"disk": "ssd"},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}}),
        );
        let st = CycleState::default();
        assert!(
            NodeAffinity
                .filter(&st, &p, &zone_node("n1", "a"))
                .is_success()
        );
        let s = NodeAffinity.filter(&st, &p, &zone_node("n2", "b"));
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(s.reasons, vec![ERR_REASON_POD]);
    }

    #[test]
    fn terms_are_ored_and_an_empty_term_matches_nothing() {
        let p = pod(
            "p",
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {},
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}]}}}}),
        );
        let st = CycleState::default();
        assert!(
            !NodeAffinity
                .filter(&st, &p, &zone_node("n1", "a"))
                .is_success()
        );
        assert!(
            NodeAffinity
                .filter(&st, &p, &zone_node("n2", "b"))
                .is_success()
        );
    }

    #[test]
    fn pre_filter_skips_pods_without_selector_or_affinity_and_narrows_to_named_nodes() {
        let (_, s) = NodeAffinity.pre_filter(
            &mut CycleState::default(),
            &pod("p", json!({})),
            &Snapshot::default(),
        );
        assert!(s.is_skip());
        let p = pod(
            "p",
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n3"]}]}]}}}}),
        );
        let (names, s) =
            NodeAffinity.pre_filter(&mut CycleState::default(), &p, &Snapshot::default());
        assert!(s.is_success());
        assert_eq!(
            names.unwrap().into_iter().collect::<Vec<_>>(),
            vec!["n1", "n3"]
        );
    }

    #[test]
    fn pinned_names_that_do_not_intersect_conflict() {
        let p = pod(
            "p",
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["n1"]},
                {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}}}}),
        );
        let (_, s) = NodeAffinity.pre_filter(&mut CycleState::default(), &p, &Snapshot::default());
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(s.reasons, vec![ERR_REASON_CONFLICT]);
    }

    #[test]
    fn preferred_terms_sum_weights_and_normalize_to_100() {
        let p = pod(
            "p",
            json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
            {"weight": 5, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}]}}}),
        );
        let st = CycleState::default();
        let a = NodeAffinity.score(&st, &p, &zone_node("n1", "a")).unwrap();
        let b = NodeAffinity.score(&st, &p, &zone_node("n2", "b")).unwrap();
        assert_eq!((a, b), (15, 5));
        let mut scores = vec![
            NodeScore {
                name: "n1".into(),
                score: a,
            },
            NodeScore {
                name: "n2".into(),
                score: b,
            },
        ];
        NodeAffinity.normalize(&st, &p, &mut scores);
        assert_eq!((scores[0].score, scores[1].score), (100, 33));
    }
}
