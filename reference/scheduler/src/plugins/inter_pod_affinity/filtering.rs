//! InterPodAffinity PreFilter/Filter: counts, per topology pair, the existing pods that
//! satisfy the incoming pod's terms and those whose anti-affinity the incoming pod violates.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Node, Pod};

use super::{AffinityTerm, InterPodAffinity, PodTerms};
use crate::framework::types::ClusterObjects;
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, NodeNames, PreFilterPlugin, Snapshot, Status,
};
use refkube_helpers::labels::labels_of;

/// The incoming pod's required affinity is not satisfied on this node.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// The incoming pod's required anti-affinity is violated on this node.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't match pod anti-affinity rules";
/// An existing pod's required anti-affinity forbids the incoming pod here.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
const STATE_KEY: &str = "PreFilterInterPodAffinity";

type TopologyCounts = HashMap<(String, String), i64>;

#[derive(Debug)]
struct FilterState {
    terms: PodTerms,
    self_matches_all_affinity: bool,
    existing_anti_affinity_counts: TopologyCounts,
    affinity_counts: TopologyCounts,
    anti_affinity_counts: TopologyCounts,
}

fn bump(counts: &mut TopologyCounts, node: &Node, key: &str) {
    if let Some(value) = labels_of(&node.metadata.labels).get(key) {
        *counts.entry((key.to_string(), value.clone())).or_insert(0) += 1;
    }
}

fn matches_all(terms: &[AffinityTerm], pod: &Pod, objects: &ClusterObjects) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, objects))
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
    ) -> (Option<NodeNames>, Status) {
        let terms = PodTerms::of(pod);
        let objects = &snapshot.objects;
        let mut existing_anti_affinity_counts = TopologyCounts::new();
        let mut affinity_counts = TopologyCounts::new();
        let mut anti_affinity_counts = TopologyCounts::new();
        // Existing pods' anti-affinity: only nodes holding such pods are visited, and
        // their terms were parsed once, when the pod entered the cache.
        for node in snapshot.nodes_with_required_anti_affinity_pods() {
            for existing in node.pods.iter().filter(|p| p.has_required_anti_affinity()) {
                for t in &existing.terms.required_anti_affinity {
                    if t.matches(pod, objects) {
                        bump(
                            &mut existing_anti_affinity_counts,
                            &node.node,
                            &t.topology_key,
                        );
                    }
                }
            }
        }
        let has_own_terms =
            !terms.required_affinity.is_empty() || !terms.required_anti_affinity.is_empty();
        if !has_own_terms {
            if snapshot.have_pods_with_required_anti_affinity.is_empty() {
                return (None, Status::skip());
            }
        } else {
            for node in &snapshot.nodes {
                for existing in &node.pods {
                    // Affinity counts only when the existing pod matches *all* terms.
                    if matches_all(&terms.required_affinity, &existing.pod, objects) {
                        for t in &terms.required_affinity {
                            bump(&mut affinity_counts, &node.node, &t.topology_key);
                        }
                    }
                    for t in &terms.required_anti_affinity {
                        if t.matches(&existing.pod, objects) {
                            bump(&mut anti_affinity_counts, &node.node, &t.topology_key);
                        }
                    }
                }
            }
        }
        let self_matches_all_affinity = matches_all(&terms.required_affinity, pod, objects);
        state.write(
            STATE_KEY,
            FilterState {
                terms,
                self_matches_all_affinity,
                existing_anti_affinity_counts,
                affinity_counts,
                anti_affinity_counts,
            },
        );
        (None, Status::success())
    }
}

fn count(counts: &TopologyCounts, key: &str, value: &str) -> i64 {
    counts
        .get(&(key.to_string(), value.to_string()))
        .copied()
        .unwrap_or(0)
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, _pod: &Pod, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>(STATE_KEY) else {
            return Status::error(
                "reading \"PreFilterInterPodAffinity\" from cycleState: not found",
            );
        };
        let labels = node.labels();

        // Required affinity: every term's topology label must exist; and some pod in that
        // domain must match, unless no pod anywhere matches and the pod matches itself (the
        // first pod of a group with affinity to itself).
        let mut pods_exist = true;
        for t in &s.terms.required_affinity {
            let Some(value) = labels.get(&t.topology_key) else {
                return Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
            };
            if count(&s.affinity_counts, &t.topology_key, value) <= 0 {
                pods_exist = false;
            }
        }
        let first_of_group = s.affinity_counts.is_empty() && s.self_matches_all_affinity;
        if !pods_exist && !first_of_group {
            return Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
        }

        for t in &s.terms.required_anti_affinity {
            if let Some(value) = labels.get(&t.topology_key)
                && count(&s.anti_affinity_counts, &t.topology_key, value) > 0
            {
                return Status::unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
            }
        }

        if labels
            .iter()
            .any(|(k, v)| count(&s.existing_anti_affinity_counts, k, v) > 0)
        {
            return Status::unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::testing::{bound, node, pod_with, snapshot};
    use serde_json::{Value, json};
    use std::sync::Arc;

    fn zoned(name: &str, zone: &str) -> Arc<Node> {
        node(
            name,
            "4",
            "8Gi",
            json!({"metadata": {"labels": {"zone": zone}}}),
        )
    }

    fn labelled(name: &str, app: &str, affinity: Value) -> Arc<Pod> {
        pod_with(
            name,
            json!({"labels": {"app": app}}),
            json!({"affinity": affinity}),
        )
    }

    fn term(kind: &str, app: &str, key: &str) -> Value {
        json!({kind: {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}})
    }

    fn run(pod: &Pod, nodes: &[Arc<Node>], pods: &[Arc<Pod>]) -> Vec<Status> {
        let snap = snapshot(nodes, pods);
        let mut st = CycleState::default();
        let (_, s) = InterPodAffinity::default().pre_filter(&mut st, pod, &snap);
        assert!(s.is_success(), "{s:?}");
        snap.nodes
            .iter()
            .map(|n| InterPodAffinity::default().filter(&st, pod, n))
            .collect()
    }

    #[test]
    fn required_affinity_needs_a_matching_pod_in_the_same_topology_domain() {
        let nodes = [zoned("n1", "a"), zoned("n2", "a"), zoned("n3", "b")];
        let db = bound(labelled("db", "db", json!({})), "n1");
        let web = labelled("web", "web", term("podAffinity", "db", "zone"));
        let res = run(&web, &nodes, &[db]);
        assert!(res[0].is_success() && res[1].is_success());
        assert_eq!(res[2].code, Code::UnschedulableAndUnresolvable);
        assert_eq!(res[2].reasons, vec![ERR_REASON_AFFINITY_RULES_NOT_MATCH]);
    }

    #[test]
    fn the_first_pod_of_a_self_affine_group_may_go_anywhere_with_the_topology_label() {
        let nodes = [zoned("n1", "a"), node("n2", "4", "8Gi", json!({}))];
        let web = labelled("web", "web", term("podAffinity", "web", "zone"));
        let res = run(&web, &nodes, &[]);
        assert!(res[0].is_success());
        assert_eq!(res[1].reasons, vec![ERR_REASON_AFFINITY_RULES_NOT_MATCH]);
    }

    #[test]
    fn required_anti_affinity_keeps_the_pod_out_of_domains_with_matching_pods() {
        let nodes = [zoned("n1", "a"), zoned("n2", "b")];
        let other = bound(labelled("w1", "web", json!({})), "n1");
        let web = labelled("web", "web", term("podAntiAffinity", "web", "zone"));
        let res = run(&web, &nodes, &[other]);
        assert_eq!(res[0].code, Code::Unschedulable);
        assert_eq!(
            res[0].reasons,
            vec![ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH]
        );
        assert!(res[1].is_success());
    }

    #[test]
    fn an_existing_pods_anti_affinity_repels_the_incoming_pod() {
        let nodes = [zoned("n1", "a"), zoned("n2", "b")];
        let loner = bound(
            labelled("loner", "loner", term("podAntiAffinity", "web", "zone")),
            "n2",
        );
        let web = labelled("web", "web", json!({}));
        let res = run(&web, &nodes, &[loner]);
        assert!(res[0].is_success());
        assert_eq!(
            res[1].reasons,
            vec![ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH]
        );
    }

    #[test]
    fn terms_apply_to_the_owners_namespace_by_default() {
        let nodes = [zoned("n1", "a")];
        let other_ns = bound(
            pod_with(
                "w1",
                json!({"namespace": "other", "labels": {"app": "web"}}),
                json!({}),
            ),
            "n1",
        );
        let web = labelled("web", "web", term("podAntiAffinity", "web", "zone"));
        assert!(run(&web, &nodes, &[other_ns])[0].is_success());
    }

    #[test]
    fn a_pod_without_terms_and_no_anti_affine_pods_skips() {
        let snap = snapshot(&[zoned("n1", "a")], &[]);
        let (_, s) = InterPodAffinity::default().pre_filter(
            &mut CycleState::default(),
            &labelled("p", "x", json!({})),
            &snap,
        );
        assert!(s.is_skip());
    }

    #[test]
    fn a_namespace_selector_reaches_pods_in_selected_namespaces() {
        let nodes = [zoned("n1", "a"), zoned("n2", "b")];
        let other = bound(
            pod_with(
                "w1",
                json!({"namespace": "prod", "labels": {"app": "web"}}),
                json!({}),
            ),
            "n1",
        );
        let web = labelled(
            "web",
            "web",
            json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone",
             "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prod"}}}]}}),
        );
        let res = run(&web, &nodes, &[other]);
        assert_eq!(
            res[0].reasons,
            vec![ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH]
        );
        assert!(res[1].is_success());
    }

    #[test]
    fn affinity_requires_one_pod_matching_all_terms() {
        let nodes = [zoned("n1", "a")];
        let db = bound(labelled("db", "db", json!({})), "n1");
        let two_terms = json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"},
            {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"}]}});
        let res = run(&labelled("web", "web", two_terms), &nodes, &[db]);
        assert_eq!(res[0].reasons, vec![ERR_REASON_AFFINITY_RULES_NOT_MATCH]);
    }
}
