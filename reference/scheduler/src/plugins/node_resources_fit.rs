//! NodeResourcesFit: filters nodes without room for the pod's requests (k8s-behaviour.md
//! §1.1) and scores with the default LeastAllocated strategy over cpu and memory (§2).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

use crate::framework::resource::{CPU, MEMORY, Resource, pod_non_zero_requests, pod_requests};
use crate::framework::{
    CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, NodeNames, Plugin, PreFilterPlugin,
    PreScorePlugin, ScorePlugin, Snapshot, Status,
};

/// Plugin name.
pub const NAME: &str = "NodeResourcesFit";
/// Reason when the node is at its pod limit.
pub const ERR_REASON_TOO_MANY_PODS: &str = "Too many pods";
const STATE_KEY: &str = "PreFilterNodeResourcesFit";
const PRE_SCORE_KEY: &str = "PreScoreNodeResourcesFit";

/// `"Insufficient <resource>"`.
pub fn insufficient(resource: &str) -> String {
    format!("Insufficient {resource}")
}

/// The NodeResourcesFit plugin.
#[derive(Debug, Clone)]
pub struct NodeResourcesFit {
    /// Resources never checked (`ignoredResources`).
    pub ignored_resources: BTreeSet<String>,
    /// Resource groups (prefix before `/`) never checked (`ignoredResourceGroups`).
    pub ignored_resource_groups: BTreeSet<String>,
    /// Scored resources with weights (default cpu:1, memory:1).
    pub score_resources: Vec<(String, i64)>,
}

impl Default for NodeResourcesFit {
    fn default() -> Self {
        NodeResourcesFit {
            ignored_resources: BTreeSet::new(),
            ignored_resource_groups: BTreeSet::new(),
            score_resources: vec![(CPU.to_string(), 1), (MEMORY.to_string(), 1)],
        }
    }
}

impl Plugin for NodeResourcesFit {
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

impl PreFilterPlugin for NodeResourcesFit {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        _s: &Snapshot,
    ) -> (Option<NodeNames>, Status) {
        state.write(STATE_KEY, pod_requests(pod));
        (None, Status::success())
    }
}

impl FilterPlugin for NodeResourcesFit {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let computed;
        let request = match state.read::<Resource>(STATE_KEY) {
            Some(r) => r,
            None => {
                computed = pod_requests(pod);
                &computed
            }
        };
        let reasons = self.fits_request(request, node);
        if reasons.is_empty() {
            Status::success()
        } else {
            Status::new(crate::framework::Code::Unschedulable, reasons)
        }
    }
}

impl NodeResourcesFit {
    /// Upstream `fitsRequest`: every reason that applies, in upstream's order.
    pub fn fits_request(&self, req: &Resource, node: &NodeInfo) -> Vec<String> {
        let mut reasons = Vec::new();
        let alloc = &node.allocatable;
        let used = &node.requested;
        if i64::try_from(node.pods.len()).unwrap_or(i64::MAX) + 1 > alloc.allowed_pod_number {
            reasons.push(ERR_REASON_TOO_MANY_PODS.to_string());
        }
        if req.is_zero() {
            return reasons;
        }
        let checks = [
            ("cpu", req.milli_cpu, alloc.milli_cpu - used.milli_cpu),
            ("memory", req.memory, alloc.memory - used.memory),
            (
                "ephemeral-storage",
                req.ephemeral_storage,
                alloc.ephemeral_storage - used.ephemeral_storage,
            ),
        ];
        for (name, want, free) in checks {
            if want > 0 && want > free {
                reasons.push(insufficient(name));
            }
        }
        for (name, want) in &req.scalar {
            if *want == 0 || self.is_ignored(name) {
                continue;
            }
            if *want > alloc.get(name) - used.get(name) {
                reasons.push(insufficient(name));
            }
        }
        reasons
    }

    fn is_ignored(&self, name: &str) -> bool {
        self.ignored_resources.contains(name)
            || name
                .split_once('/')
                .is_some_and(|(group, _)| self.ignored_resource_groups.contains(group))
    }
}

/// Upstream `leastRequestedScore`: free fraction × 100, 0 when over capacity or no capacity.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// Upstream's PreScore: the pod's scoring request is computed (its quantities parsed)
/// once per cycle, not once per scored node.
impl PreScorePlugin for NodeResourcesFit {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        _s: &Snapshot,
        _f: &[&NodeInfo],
    ) -> Status {
        state.write(PRE_SCORE_KEY, pod_non_zero_requests(pod));
        Status::success()
    }
}

impl ScorePlugin for NodeResourcesFit {
    fn score(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let pod_req = state.read_or::<Resource>(PRE_SCORE_KEY, || pod_non_zero_requests(pod));
        let pod_req = pod_req.as_ref();
        let (mut total, mut weights) = (0i64, 0i64);
        for (name, weight) in &self.score_resources {
            let alloc = node.allocatable.get(name);
            if alloc == 0 {
                continue;
            }
            let requested = node.non_zero_requested.get(name) + pod_req.get(name);
            total += least_requested_score(requested, alloc) * weight;
            weights += weight;
        }
        Ok(if weights == 0 { 0 } else { total / weights })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::testing::{node, node_info, pod};
    use serde_json::json;

    fn req_pod(cpu: &str, mem: &str) -> std::sync::Arc<Pod> {
        pod(
            "p",
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}]}),
        )
    }

    fn filter(p: &Pod, n: &NodeInfo) -> Status {
        NodeResourcesFit::default().filter(&CycleState::default(), p, n)
    }

    #[test]
    fn insufficient_cpu_and_memory_are_both_reported_in_order() {
        let n = node_info(
            node("n1", "1", "1Gi", json!({})),
            &[req_pod("600m", "600Mi")],
        );
        let s = filter(&req_pod("500m", "500Mi"), &n);
        assert_eq!(s.code, Code::Unschedulable);
        assert_eq!(s.reasons, vec!["Insufficient cpu", "Insufficient memory"]);
    }

    #[test]
    fn node_requested_is_the_plain_sum_not_the_nonzero_defaults() {
        // An existing pod with no requests leaves the full 1 cpu free for filtering.
        let n = node_info(node("n1", "1", "1Gi", json!({})), &[pod("e", json!({}))]);
        assert!(filter(&req_pod("1", "1Gi"), &n).is_success());
    }

    #[test]
    fn too_many_pods_applies_even_to_pods_requesting_nothing() {
        let n = node_info(
            node(
                "n1",
                "1",
                "1Gi",
                json!({"status": {"allocatable": {"pods": "1"}}}),
            ),
            &[pod("e", json!({}))],
        );
        let s = filter(&pod("p", json!({})), &n);
        assert_eq!(s.reasons, vec!["Too many pods"]);
    }

    #[test]
    fn extended_resources_missing_from_the_node_are_insufficient_unless_ignored() {
        let n = node_info(node("n1", "1", "1Gi", json!({})), &[]);
        let p = pod(
            "p",
            json!({"containers": [{"name": "c", "resources": {"requests": {"example.com/aaa": "1"}}}]}),
        );
        assert_eq!(filter(&p, &n).reasons, vec!["Insufficient example.com/aaa"]);
        let mut plugin = NodeResourcesFit::default();
        plugin.ignored_resource_groups.insert("example.com".into());
        assert!(plugin.filter(&CycleState::default(), &p, &n).is_success());
    }

    #[test]
    fn ephemeral_storage_and_hugepages_are_checked() {
        let n = node_info(
            node(
                "n1",
                "1",
                "1Gi",
                json!({"status": {"allocatable": {"ephemeral-storage": "1Gi", "hugepages-2Mi": "2Mi"}}}),
            ),
            &[],
        );
        let p = pod(
            "p",
            json!({"containers": [{"name": "c", "resources": {"requests": {
            "ephemeral-storage": "2Gi", "hugepages-2Mi": "4Mi"}}}]}),
        );
        assert_eq!(
            filter(&p, &n).reasons,
            vec![
                "Insufficient ephemeral-storage",
                "Insufficient hugepages-2Mi"
            ]
        );
    }

    #[test]
    fn least_allocated_counts_missing_requests_as_100m_and_200mi() {
        // [derived] node 1000m / 2000Mi, empty; pod without requests: cpu (1000-100)*100/1000
        // = 90, memory (2000-200)*100/2000 = 90 -> 90.
        let n = node_info(node("n1", "1", "2000Mi", json!({})), &[]);
        let s = NodeResourcesFit::default().score(&CycleState::default(), &pod("p", json!({})), &n);
        assert_eq!(s.unwrap(), 90);
        // Pod asking 500m / 500Mi on a node already holding a default pod:
        // cpu (1000-600)*100/1000 = 40, memory (2000-700)*100/2000 = 65 -> (40+65)/2 = 52.
        let n = node_info(node("n1", "1", "2000Mi", json!({})), &[pod("e", json!({}))]);
        let s = NodeResourcesFit::default().score(
            &CycleState::default(),
            &req_pod("500m", "500Mi"),
            &n,
        );
        assert_eq!(s.unwrap(), 52);
    }

    #[test]
    fn an_overcommitted_resource_scores_zero() {
        assert_eq!(least_requested_score(2000, 1000), 0);
        assert_eq!(least_requested_score(1, 0), 0);
        assert_eq!(least_requested_score(250, 1000), 75);
    }
}
