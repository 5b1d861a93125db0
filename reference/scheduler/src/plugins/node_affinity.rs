//! NodeAffinity: `nodeSelector` plus required node affinity as a filter, preferred node
//! affinity as a score (k8s-behaviour.md §1.5, §2).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;
use refkube_helpers::nodeaffinity::{
    PreferredSchedulingTerms, RequiredNodeAffinity, preferred_terms, required_terms,
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
        let terms = required_terms(pod);
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
        if RequiredNodeAffinity::from_pod(pod).matches(&node.node) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_POD)
        }
    }
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
        PreferredSchedulingTerms::new(preferred_terms(pod))
            .map(|terms| terms.score(&node.node))
            .map_err(|errs| Status::error(errs.join(", ")))
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

    /// A pod whose single required term is one `metadata.name` matchFields requirement.
    fn by_name(op: &str, values: &[&str]) -> Pod {
        let term =
            json!({"matchFields": [{"key": "metadata.name", "operator": op, "values": values}]});
        pod_by_terms(json!([term]))
    }

    fn pod_by_terms(terms: serde_json::Value) -> Pod {
        let affinity = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}});
        (*pod("p", json!({ "affinity": affinity }))).clone()
    }

    fn pre_filter_names(p: &Pod) -> (Option<Vec<String>>, Status) {
        let (names, s) =
            NodeAffinity.pre_filter(&mut CycleState::default(), p, &Snapshot::default());
        (names.map(|n| n.into_iter().collect()), s)
    }

    /// Names of the nodes n1..n3 the pod passes Filter on.
    fn filter_passes(p: &Pod) -> Vec<&'static str> {
        let st = CycleState::default();
        ["n1", "n2", "n3"]
            .into_iter()
            .filter(|n| {
                let s = NodeAffinity.filter(&st, p, &zone_node(n, "a"));
                assert!(s.is_success() || s.reasons == vec![ERR_REASON_POD], "{s:?}");
                s.is_success()
            })
            .collect()
    }

    #[test]
    fn match_fields_in_with_one_value_narrows_pre_filter_and_filter_to_that_node() {
        let p = by_name("In", &["n2"]);
        let (names, s) = pre_filter_names(&p);
        assert!(s.is_success());
        assert_eq!(names, Some(vec!["n2".to_string()]));
        assert_eq!(filter_passes(&p), vec!["n2"]);
    }

    #[test]
    fn match_fields_not_in_with_one_value_does_not_narrow_and_filters_out_that_node() {
        let p = by_name("NotIn", &["n2"]);
        let (names, s) = pre_filter_names(&p);
        assert!(s.is_success());
        assert_eq!(names, None);
        assert_eq!(filter_passes(&p), vec!["n1", "n3"]);
    }

    // Upstream's PreFilter builds the set from every value without checking the count,
    // but `nodeSelectorRequirementsAsFieldSelector` rejects In/NotIn unless there is
    // exactly one value, so the term never matches and Filter rejects every node (the API
    // server would have refused such a pod at validation).
    #[test]
    fn match_fields_in_with_several_values_narrows_pre_filter_but_matches_no_node() {
        let p = by_name("In", &["n1", "n2"]);
        let (names, s) = pre_filter_names(&p);
        assert!(s.is_success());
        assert_eq!(names, Some(vec!["n1".to_string(), "n2".to_string()]));
        assert!(filter_passes(&p).is_empty());
    }

    #[test]
    fn match_fields_not_in_with_several_values_matches_no_node() {
        let p = by_name("NotIn", &["n1", "n2"]);
        let (names, s) = pre_filter_names(&p);
        assert!(s.is_success());
        assert_eq!(names, None);
        assert!(filter_passes(&p).is_empty());
    }

    #[test]
    fn one_single_value_term_per_node_is_how_several_names_are_allowed() {
        let one = |n: &str| json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}]});
        let p = pod_by_terms(json!([one("n1"), one("n3")]));
        let (names, _) = pre_filter_names(&p);
        assert_eq!(names, Some(vec!["n1".to_string(), "n3".to_string()]));
        assert_eq!(filter_passes(&p), vec!["n1", "n3"]);
        // A malformed term does not poison the others: terms are ORed.
        let bad = json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1", "n2"]}]});
        let p = pod_by_terms(json!([bad, one("n2")]));
        assert_eq!(filter_passes(&p), vec!["n2"]);
    }

    /// The conformance scenario's four nodes, through the whole default framework.
    #[test]
    fn the_default_framework_never_places_a_pod_whose_only_field_term_lists_two_names() {
        use crate::{registry::default_framework, schedule_one::Algorithm, testing::snapshot};
        use rand::{SeedableRng, rngs::StdRng};
        let labels = |disk: &str| json!({"metadata": {"labels": {"disk": disk}}});
        let nodes = [
            node("small", "1", "2Gi", labels("hdd")),
            node("big", "8", "32Gi", labels("ssd")),
            node(
                "tainted",
                "8",
                "32Gi",
                json!({"metadata": {"labels": {"disk": "ssd"}},
                "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}}),
            ),
            node(
                "cordon",
                "8",
                "32Gi",
                json!({"metadata": {"labels": {"disk": "ssd"}},
                "spec": {"unschedulable": true}}),
            ),
        ];
        let snap = snapshot(&nodes, &[]);
        let mut algo = Algorithm::new(default_framework(), None);
        let mut rng = StdRng::seed_from_u64(1);
        let err = algo
            .schedule_pod(&by_name("In", &["cordon", "small"]), &snap, &mut rng)
            .unwrap_err();
        // What upstream reports too, had the pod got past API validation: PreFilter keeps
        // cordon and small, NodeUnschedulable rejects cordon, the unparsable term small.
        let msg = err.message();
        assert!(
            msg.starts_with(
                "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, \
                 1 node(s) were unschedulable, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
            ),
            "{msg}"
        );
        let one = |n: &str| json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}]});
        let p = pod_by_terms(json!([one("cordon"), one("small")]));
        assert_eq!(
            algo.schedule_pod(&p, &snap, &mut rng).unwrap().node,
            "small"
        );
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
