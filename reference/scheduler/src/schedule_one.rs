//! One scheduling decision, as a pure function of a pod and a snapshot: PreFilter →
//! Filter (round-robin over a share of the nodes) → PreScore → Score → select (ties broken
//! at random). Entry point: [`Algorithm::schedule_pod`]. Assume and bind are the driver's.

use k8s_openapi::api::core::v1::Pod;
use rand::Rng;

use crate::fit_error::{ERR_NO_NODES_AVAILABLE, FitError};
use crate::framework::{CycleState, Framework, NodeInfo, NodeScore, Snapshot, Status};
use crate::plugins::image_locality::TOTAL_NODES_KEY;

/// Below this many nodes, every node is evaluated (`minFeasibleNodesToFind`).
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never goes below this (`minFeasibleNodesPercentageToFind`).
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

/// Why a pod could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The cluster has no nodes.
    #[error("no nodes available to schedule pods")]
    NoNodes,
    /// No node fits; the message is upstream's FitError text.
    #[error("{0}")]
    Fit(Box<FitError>),
    /// A plugin failed internally.
    #[error("running {plugin}: {message}")]
    Internal {
        /// The plugin.
        plugin: &'static str,
        /// Its message.
        message: String,
    },
}

impl ScheduleError {
    fn internal(s: &Status) -> ScheduleError {
        ScheduleError::Internal {
            plugin: s.plugin,
            message: s.message(),
        }
    }

    /// The message written to the pod condition / event.
    pub fn message(&self) -> String {
        match self {
            ScheduleError::NoNodes => ERR_NO_NODES_AVAILABLE.to_string(),
            other => other.to_string(),
        }
    }
}

/// A successful decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleResult {
    /// The chosen node.
    pub node: String,
    /// Nodes run through the filters.
    pub evaluated_nodes: usize,
    /// Nodes that passed them.
    pub feasible_nodes: usize,
    /// Weighted total per feasible node (empty when only one node was feasible).
    pub scores: Vec<NodeScore>,
}

/// Upstream `numFeasibleNodesToFind`: all nodes below 100; otherwise the configured
/// percentage, or adaptively `50 - nodes/125` (at least 5%), and never fewer than 100.
pub fn num_feasible_nodes_to_find(percentage: Option<u32>, num_all_nodes: usize) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let mut pct = percentage.map_or(0, |p| p as usize);
    if pct == 0 {
        pct = 50usize
            .saturating_sub(num_all_nodes / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    if pct >= 100 {
        return num_all_nodes;
    }
    (num_all_nodes * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// The scheduling algorithm with its round-robin position.
#[derive(Debug)]
pub struct Algorithm {
    framework: Framework,
    percentage_of_nodes_to_score: Option<u32>,
    next_start_node_index: usize,
}

impl Algorithm {
    /// An algorithm running `framework`; `percentage` None means adaptive.
    pub fn new(framework: Framework, percentage: Option<u32>) -> Self {
        Algorithm {
            framework,
            percentage_of_nodes_to_score: percentage,
            next_start_node_index: 0,
        }
    }

    /// Picks a node for `pod` or says why none fits.
    pub fn schedule_pod(
        &mut self,
        pod: &Pod,
        snapshot: &Snapshot,
        rng: &mut impl Rng,
    ) -> Result<ScheduleResult, ScheduleError> {
        let num_all = snapshot.nodes.len();
        if num_all == 0 {
            return Err(ScheduleError::NoNodes);
        }
        let mut state = CycleState::default();
        state.write(TOTAL_NODES_KEY, num_all);
        let preemption_never = pod
            .spec
            .as_ref()
            .and_then(|s| s.preemption_policy.as_deref())
            == Some("Never");

        let pre = self.framework.run_pre_filter(&mut state, pod, snapshot);
        if !pre.status.is_success() {
            if !pre.status.is_rejected() {
                return Err(ScheduleError::internal(&pre.status));
            }
            let node_statuses = snapshot
                .nodes
                .iter()
                .map(|n| (n.name().to_string(), pre.status.clone()))
                .collect();
            return Err(ScheduleError::Fit(Box::new(FitError {
                num_all_nodes: num_all,
                pre_filter_msg: Some(pre.status.message()),
                node_statuses,
                absent_status: None,
                preemption_never,
            })));
        }
        let (candidates, absent_status): (Vec<&NodeInfo>, _) = match &pre.node_names {
            None => (snapshot.nodes.iter().map(|n| &**n).collect(), None),
            Some(names) => {
                let plugins: Vec<_> = pre.narrowing_plugins.iter().copied().collect();
                (
                    snapshot
                        .nodes
                        .iter()
                        .filter(|n| names.contains(n.name()))
                        .map(|n| &**n)
                        .collect(),
                    Some(Status::unresolvable(format!(
                        "node(s) didn't satisfy plugin(s) [{}]",
                        plugins.join(" ")
                    ))),
                )
            }
        };

        // Upstream `findNodesThatPassFilters`: a profile that scores nothing takes the
        // first node that fits.
        let to_find = if self.framework.has_score_plugins() {
            num_feasible_nodes_to_find(self.percentage_of_nodes_to_score, candidates.len())
        } else {
            1
        };
        let mut feasible: Vec<&NodeInfo> = Vec::new();
        let mut node_statuses = std::collections::HashMap::new();
        let mut processed = 0;
        let len = candidates.len();
        for i in 0..len {
            if feasible.len() >= to_find {
                break;
            }
            let node = candidates[(self.next_start_node_index + i) % len];
            processed += 1;
            let status = self.framework.run_filter(&state, pod, node);
            if status.is_success() {
                feasible.push(node);
            } else if status.is_rejected() {
                node_statuses.insert(node.name().to_string(), status);
            } else {
                return Err(ScheduleError::internal(&status));
            }
        }
        // Modulo all nodes, not the pre-filtered candidates, as upstream
        // `findNodesThatFitPod` does, so the start index means the same whatever the pod.
        self.next_start_node_index = (self.next_start_node_index + processed) % num_all;
        if feasible.is_empty() {
            return Err(ScheduleError::Fit(Box::new(FitError {
                num_all_nodes: num_all,
                pre_filter_msg: None,
                node_statuses,
                absent_status,
                preemption_never,
            })));
        }
        if let [only] = feasible.as_slice() {
            return Ok(ScheduleResult {
                node: only.name().to_string(),
                evaluated_nodes: processed,
                feasible_nodes: 1,
                scores: Vec::new(),
            });
        }

        let status = self
            .framework
            .run_pre_score(&mut state, pod, snapshot, &feasible);
        if !status.is_success() {
            return Err(ScheduleError::internal(&status));
        }
        let scores = self
            .framework
            .run_score(&state, pod, &feasible)
            .map_err(|s| ScheduleError::internal(&s))?;
        let node = select_host(&scores.totals, rng).to_string();
        Ok(ScheduleResult {
            node,
            evaluated_nodes: processed,
            feasible_nodes: feasible.len(),
            scores: scores.totals,
        })
    }
}

/// The highest total wins; ties are broken uniformly at random (reservoir sampling, as
/// upstream `selectHost`). `scores` must not be empty.
pub fn select_host<'a>(scores: &'a [NodeScore], rng: &mut impl Rng) -> &'a str {
    let mut selected = "";
    let mut best = i64::MIN;
    let mut ties = 0u32;
    for s in scores {
        if s.score > best {
            best = s.score;
            selected = &s.name;
            ties = 1;
        } else if s.score == best {
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                selected = &s.name;
            }
        }
    }
    selected
}

#[cfg(test)]
#[path = "schedule_one_sampling_tests.rs"]
mod sampling_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::default_framework;
    use crate::testing::{bound, node, pod, snapshot};
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    fn algo() -> Algorithm {
        Algorithm::new(default_framework(), None)
    }

    #[test]
    fn an_empty_cluster_has_no_nodes_available() {
        let err = algo()
            .schedule_pod(
                &pod("p", json!({})),
                &Snapshot::default(),
                &mut StdRng::seed_from_u64(1),
            )
            .unwrap_err();
        assert_eq!(err.message(), "no nodes available to schedule pods");
    }

    #[test]
    fn an_empty_node_is_preferred_over_a_busy_one() {
        let nodes = [
            node("busy", "2", "4Gi", json!({})),
            node("empty", "2", "4Gi", json!({})),
        ];
        let busy_pod = pod(
            "e",
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}]}),
        );
        let snap = snapshot(&nodes, &[bound(busy_pod, "busy")]);
        let p = pod(
            "p",
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}),
        );
        for seed in 0..5 {
            let r = algo()
                .schedule_pod(&p, &snap, &mut StdRng::seed_from_u64(seed))
                .unwrap();
            assert_eq!(r.node, "empty");
        }
    }

    #[test]
    fn ties_are_broken_randomly_between_equal_nodes() {
        let nodes = [
            node("a", "2", "4Gi", json!({})),
            node("b", "2", "4Gi", json!({})),
        ];
        let snap = snapshot(&nodes, &[]);
        let mut seen = std::collections::BTreeSet::new();
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..40 {
            seen.insert(
                algo()
                    .schedule_pod(&pod("p", json!({})), &snap, &mut rng)
                    .unwrap()
                    .node,
            );
        }
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn when_nothing_fits_the_fit_error_lists_every_nodes_reason() {
        let nodes = [
            node("n1", "1", "1Gi", json!({"spec": {"unschedulable": true}})),
            node("n2", "1", "1Gi", json!({})),
            node(
                "n3",
                "1",
                "1Gi",
                json!({"metadata": {"labels": {"disk": "hdd"}}}),
            ),
        ];
        let p = pod(
            "p",
            json!({"nodeSelector": {"disk": "hdd"},
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "2"}}}]}),
        );
        let err = algo()
            .schedule_pod(&p, &snapshot(&nodes, &[]), &mut StdRng::seed_from_u64(1))
            .unwrap_err();
        assert_eq!(
            err.message(),
            "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, \
             1 node(s) were unschedulable. preemption: 0/3 nodes are available: \
             1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn nodes_excluded_by_a_pre_filter_node_set_are_reported_as_absent() {
        let nodes = [
            node("n1", "1", "1Gi", json!({})),
            node("n2", "1", "1Gi", json!({})),
            node("n3", "1", "1Gi", json!({})),
        ];
        let p = pod(
            "p",
            json!({
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}},
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "2"}}}]}),
        );
        let err = algo()
            .schedule_pod(&p, &snapshot(&nodes, &[]), &mut StdRng::seed_from_u64(1))
            .unwrap_err();
        assert_eq!(
            err.message(),
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. \
             preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, \
             2 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn select_host_picks_the_highest_total() {
        let scores = vec![
            NodeScore {
                name: "a".into(),
                score: 10,
            },
            NodeScore {
                name: "b".into(),
                score: 30,
            },
            NodeScore {
                name: "c".into(),
                score: 20,
            },
        ];
        assert_eq!(select_host(&scores, &mut StdRng::seed_from_u64(0)), "b");
    }
}
