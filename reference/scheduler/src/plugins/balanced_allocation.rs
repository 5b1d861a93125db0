//! NodeResourcesBalancedAllocation score: prefers nodes whose cpu and memory would be used
//! in equal proportion (k8s-behaviour.md §2). Uses actual requests, not scoring defaults.

use k8s_openapi::api::core::v1::Pod;

use crate::framework::resource::{CPU, MEMORY, Resource, pod_requests};
use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PreScorePlugin, ScorePlugin, Snapshot, Status,
};

/// Plugin name.
pub const NAME: &str = "NodeResourcesBalancedAllocation";
const STATE_KEY: &str = "PreScoreNodeResourcesBalancedAllocation";

/// The BalancedAllocation plugin (resources cpu and memory).
#[derive(Debug, Clone)]
pub struct BalancedAllocation {
    /// Resources considered (default cpu, memory).
    pub resources: Vec<String>,
}

impl Default for BalancedAllocation {
    fn default() -> Self {
        BalancedAllocation {
            resources: vec![CPU.to_string(), MEMORY.to_string()],
        }
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for BalancedAllocation {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        _s: &Snapshot,
        _f: &[&NodeInfo],
    ) -> Status {
        let req = pod_requests(pod);
        if self.resources.iter().all(|r| req.get(r) == 0) {
            return Status::skip();
        }
        // Parsed once per cycle, not once per scored node.
        state.write(STATE_KEY, req);
        Status::success()
    }
}

impl ScorePlugin for BalancedAllocation {
    fn score(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let req = state.read_or::<Resource>(STATE_KEY, || pod_requests(pod));
        let req = req.as_ref();
        let fractions: Vec<f64> = self
            .resources
            .iter()
            .filter_map(|r| {
                let alloc = node.allocatable.get(r);
                if alloc == 0 {
                    return None;
                }
                #[allow(clippy::cast_precision_loss)]
                let f = (node.requested.get(r) + req.get(r)) as f64 / alloc as f64;
                Some(f.min(1.0))
            })
            .collect();
        Ok(balanced_score(&fractions))
    }
}

/// `int64((1 - std) * 100)`; with two fractions `std = |f1 - f2| / 2`, otherwise the
/// population standard deviation.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
pub fn balanced_score(fractions: &[f64]) -> i64 {
    let std = match fractions {
        [a, b] => (a - b).abs() / 2.0,
        [] | [_] => 0.0,
        many => {
            let n = many.len() as f64;
            let mean = many.iter().sum::<f64>() / n;
            (many.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / n).sqrt()
        }
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, node_info, pod};
    use serde_json::json;

    #[test]
    fn equal_fractions_score_100_and_lopsided_ones_less() {
        // [derived] pod 500m / 1Gi on a 1 cpu / 4Gi node: 0.5 and 0.25 -> std 0.125 -> 87.
        let n = node_info(node("n1", "1", "4Gi", json!({})), &[]);
        let p = pod(
            "p",
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}),
        );
        assert_eq!(
            BalancedAllocation::default()
                .score(&CycleState::default(), &p, &n)
                .unwrap(),
            87
        );
        let p = pod(
            "p",
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}}}]}),
        );
        assert_eq!(
            BalancedAllocation::default()
                .score(&CycleState::default(), &p, &n)
                .unwrap(),
            100
        );
    }

    #[test]
    fn fractions_are_capped_at_one() {
        // cpu 2/1 is capped to 1.0, memory 4Gi/4Gi is 1.0: perfectly balanced.
        let n = node_info(node("n1", "1", "4Gi", json!({})), &[]);
        let p = pod(
            "p",
            json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "2", "memory": "4Gi"}}}]}),
        );
        assert_eq!(
            BalancedAllocation::default()
                .score(&CycleState::default(), &p, &n)
                .unwrap(),
            100
        );
        assert_eq!(balanced_score(&[0.0, 1.0]), 50);
    }

    #[test]
    fn a_pod_requesting_nothing_skips_balanced_allocation() {
        let s = BalancedAllocation::default().pre_score(
            &mut CycleState::default(),
            &pod("p", json!({})),
            &Snapshot::default(),
            &[],
        );
        assert!(s.is_skip());
    }
}
