//! ImageLocality score: prefers nodes that already have the pod's images, scaled by how
//! widely each image is spread (k8s-behaviour.md §2).

use k8s_openapi::api::core::v1::Pod;

use crate::framework::types::normalized_image_name;
use crate::framework::{CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, ScorePlugin, Status};

/// Plugin name.
pub const NAME: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
/// Below this a node gets 0 (`minThreshold`).
pub const MIN_THRESHOLD: i64 = 23 * MB;
/// Per-container upper bound (`maxContainerThreshold`).
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// The ImageLocality plugin; `total_nodes` is read from the snapshot size at score time.
#[derive(Debug, Default)]
pub struct ImageLocality;

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

/// Key under which the driver stores the cluster's node count for this cycle.
pub const TOTAL_NODES_KEY: &str = "ImageLocalityTotalNodes";

impl ScorePlugin for ImageLocality {
    fn score(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let total = state
            .read::<usize>(TOTAL_NODES_KEY)
            .copied()
            .unwrap_or(1)
            .max(1);
        Ok(image_score(pod, node, total))
    }
}

/// `calculatePriority(sumImageScores(...), numContainers)`.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
pub fn image_score(pod: &Pod, node: &NodeInfo, total_nodes: usize) -> i64 {
    let Some(spec) = pod.spec.as_ref() else {
        return 0;
    };
    let containers = || {
        spec.init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
    };
    let mut sum: i64 = 0;
    // A node without images (most nodes, most cycles) has nothing to look up.
    if !node.image_states.is_empty() {
        for c in containers() {
            let Some(image) = c.image.as_deref() else {
                continue;
            };
            if let Some(state) = node.image_states.get(&normalized_image_name(image)) {
                sum += (state.size as f64 * state.num_nodes as f64 / total_nodes as f64) as i64;
            }
        }
    }
    let max_threshold = MAX_CONTAINER_THRESHOLD * i64::try_from(containers().count()).unwrap_or(1);
    let sum = sum.clamp(MIN_THRESHOLD, max_threshold.max(MIN_THRESHOLD));
    if max_threshold <= MIN_THRESHOLD {
        return 0;
    }
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod, snapshot};
    use serde_json::json;

    #[test]
    fn a_500mi_image_on_one_of_two_nodes_scores_23() {
        let with = node(
            "n1",
            "1",
            "1Gi",
            json!({"status": {"images": [{"names": ["nginx:1.25"], "sizeBytes": 500 * MB}]}}),
        );
        let without = node("n2", "1", "1Gi", json!({}));
        let snap = snapshot(&[with, without], &[]);
        let p = pod(
            "p",
            json!({"containers": [{"name": "c", "image": "nginx:1.25"}]}),
        );
        assert_eq!(image_score(&p, &snap.nodes[0], 2), 23);
        assert_eq!(image_score(&p, &snap.nodes[1], 2), 0);
    }

    #[test]
    fn untagged_images_match_latest() {
        let n = node(
            "n1",
            "1",
            "1Gi",
            json!({"status": {"images": [{"names": ["nginx:latest"], "sizeBytes": 2000 * MB}]}}),
        );
        let snap = snapshot(&[n], &[]);
        let p = pod(
            "p",
            json!({"containers": [{"name": "c", "image": "nginx"}]}),
        );
        assert_eq!(image_score(&p, &snap.nodes[0], 1), 100);
    }
}
