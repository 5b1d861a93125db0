//! The scheduling framework: plugin traits for each extension point, statuses, cycle state,
//! node infos, and the [`Framework`] that runs a profile's plugins in order.
//!
//! Upstream's `ScoreExtensions.NormalizeScore` is [`ScorePlugin::normalize`] here (a plugin
//! without normalisation keeps the default, which leaves scores as they are).

pub mod cycle_state;
pub mod resource;
pub mod runtime;
pub mod status;
pub mod types;

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

pub use cycle_state::CycleState;
pub use runtime::{Framework, PreFilterOutput, ScoreOutput, WeightedPlugin};
pub use status::{Code, Status};
pub use types::{NodeInfo, Snapshot};

/// Highest score a plugin may give a node (after normalisation).
pub const MAX_NODE_SCORE: i64 = 100;

/// A node and its score for one plugin (or in total).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeScore {
    /// Node name.
    pub name: String,
    /// Score.
    pub score: i64,
}

/// A PreFilter may narrow the candidate nodes (upstream `PreFilterResult.NodeNames`).
pub type NodeNames = BTreeSet<String>;

/// Every plugin has a name and says which extension points it implements.
pub trait Plugin: Send + Sync {
    /// The upstream plugin name (e.g. `NodeResourcesFit`).
    fn name(&self) -> &'static str;
    /// The PreFilter side, if any.
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    /// The Filter side, if any.
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    /// The PreScore side, if any.
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        None
    }
    /// The Score side, if any.
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
}

/// Runs once per cycle before filtering; may store state, narrow nodes, reject or Skip.
pub trait PreFilterPlugin {
    /// Returns the node subset (None = all nodes) and a status.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
    ) -> (Option<NodeNames>, Status);
}

/// Decides whether a pod fits one node.
pub trait FilterPlugin {
    /// Success, or why the node is rejected.
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status;
}

/// Runs once per cycle before scoring, over the feasible nodes.
pub trait PreScorePlugin {
    /// Success, Skip (do not score), or an error.
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
        feasible: &[&NodeInfo],
    ) -> Status;
}

/// Scores one feasible node; `normalize` then maps the raw scores onto 0..=100.
pub trait ScorePlugin {
    /// The raw score for `node`.
    fn score(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status>;
    /// Upstream NormalizeScore; the default leaves scores unchanged.
    fn normalize(&self, _state: &CycleState, _pod: &Pod, _scores: &mut [NodeScore]) -> Status {
        Status::success()
    }
}

/// Upstream `helper.DefaultNormalizeScore`: scale to `max_priority * s / max`; with
/// `reverse`, `max_priority - that`. If every score is 0: all 0, or all max when reversed.
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [NodeScore]) {
    let max = scores.iter().map(|s| s.score).max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| s.score = max_priority);
        }
        return;
    }
    for s in scores.iter_mut() {
        let scaled = max_priority * s.score / max;
        s.score = if reverse {
            max_priority - scaled
        } else {
            scaled
        };
    }
}
