//! Runs a profile's plugins at each extension point, in registry order, as upstream's
//! `frameworkImpl` does. Entry point: [`Framework`].

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::{CycleState, NodeInfo, NodeNames, NodeScore, Plugin, Snapshot, Status};

/// A plugin with its score weight (ignored for plugins that do not score).
#[derive(Clone)]
pub struct WeightedPlugin {
    /// The plugin.
    pub plugin: Arc<dyn Plugin>,
    /// Multiplier for its normalized score.
    pub weight: i64,
}

/// The outcome of all PreFilter plugins.
#[derive(Clone, Debug)]
pub struct PreFilterOutput {
    /// Success, or the rejection (its plugin set) that ends the cycle.
    pub status: Status,
    /// Intersection of the node subsets the plugins returned (None = all nodes).
    pub node_names: Option<NodeNames>,
    /// Plugins that narrowed the node set (named in the "absent nodes" reason).
    pub narrowing_plugins: BTreeSet<&'static str>,
}

/// An ordered set of plugins: one scheduling profile.
#[derive(Clone, Default)]
pub struct Framework {
    plugins: Vec<WeightedPlugin>,
}

impl std::fmt::Debug for Framework {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self
            .plugins
            .iter()
            .map(|p| (p.plugin.name(), p.weight))
            .collect();
        f.debug_struct("Framework")
            .field("plugins", &names)
            .finish()
    }
}

impl Framework {
    /// A profile running `plugins` in this order.
    pub fn new(plugins: Vec<WeightedPlugin>) -> Self {
        Framework { plugins }
    }

    /// The plugins with their weights.
    pub fn plugins(&self) -> &[WeightedPlugin] {
        &self.plugins
    }

    /// Whether any plugin scores nodes (upstream `HasScorePlugins`): without one, the
    /// first feasible node is as good as any, so filtering stops there.
    pub fn has_score_plugins(&self) -> bool {
        self.plugins.iter().any(|p| p.plugin.as_score().is_some())
    }

    /// Runs every PreFilter; the first rejection or error stops the cycle.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
    ) -> PreFilterOutput {
        let mut node_names: Option<NodeNames> = None;
        let mut narrowing_plugins = BTreeSet::new();
        for wp in &self.plugins {
            let Some(pf) = wp.plugin.as_pre_filter() else {
                continue;
            };
            let name = wp.plugin.name();
            let (result, status) = pf.pre_filter(state, pod, snapshot);
            if status.is_skip() {
                state.skip_filter_of(name);
                continue;
            }
            if !status.is_success() {
                return PreFilterOutput {
                    status: status.with_plugin(name),
                    node_names: None,
                    narrowing_plugins,
                };
            }
            if let Some(names) = result {
                narrowing_plugins.insert(name);
                node_names = Some(match node_names {
                    None => names,
                    Some(prev) => prev.intersection(&names).cloned().collect(),
                });
            }
        }
        if let Some(names) = &node_names
            && names.is_empty()
            && narrowing_plugins.len() > 1
        {
            let list: Vec<_> = narrowing_plugins.iter().copied().collect();
            let status = Status::unresolvable(format!(
                "node(s) didn't satisfy plugin(s) [{}] simultaneously",
                list.join(" ")
            ));
            return PreFilterOutput {
                status,
                node_names,
                narrowing_plugins,
            };
        }
        PreFilterOutput {
            status: Status::success(),
            node_names,
            narrowing_plugins,
        }
    }

    /// Runs the Filters for one node; the first non-success is the node's status.
    pub fn run_filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        for wp in &self.plugins {
            let name = wp.plugin.name();
            let Some(f) = wp.plugin.as_filter() else {
                continue;
            };
            if state.skip_filter.contains(&name) {
                continue;
            }
            let status = f.filter(state, pod, node);
            if !status.is_success() {
                return status.with_plugin(name);
            }
        }
        Status::success()
    }

    /// Runs every PreScore; Skip disables that plugin's Score.
    pub fn run_pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
        feasible: &[&NodeInfo],
    ) -> Status {
        for wp in &self.plugins {
            let Some(ps) = wp.plugin.as_pre_score() else {
                continue;
            };
            let name = wp.plugin.name();
            let status = ps.pre_score(state, pod, snapshot, feasible);
            if status.is_skip() {
                state.skip_score_of(name);
            } else if !status.is_success() {
                return status.with_plugin(name);
            }
        }
        Status::success()
    }

    /// Scores, normalizes and weights each plugin, returning per-plugin normalized scores
    /// (unweighted) and the weighted totals, both in `feasible` order.
    pub fn run_score(
        &self,
        state: &CycleState,
        pod: &Pod,
        feasible: &[&NodeInfo],
    ) -> Result<ScoreOutput, Status> {
        // One buffer of node scores (one name allocation per node) reused by every
        // plugin; only the numbers are kept per plugin.
        let mut scores: Vec<NodeScore> = feasible
            .iter()
            .map(|n| NodeScore {
                name: n.name().to_string(),
                score: 0,
            })
            .collect();
        let mut totals = vec![0i64; feasible.len()];
        let mut per_plugin = Vec::new();
        for wp in &self.plugins {
            let Some(sp) = wp.plugin.as_score() else {
                continue;
            };
            let name = wp.plugin.name();
            if state.skip_score.contains(&name) {
                continue;
            }
            for (slot, node) in scores.iter_mut().zip(feasible) {
                slot.score = sp
                    .score(state, pod, node)
                    .map_err(|s| s.with_plugin(name))?;
            }
            let status = sp.normalize(state, pod, &mut scores);
            if !status.is_success() {
                return Err(status.with_plugin(name));
            }
            for (total, s) in totals.iter_mut().zip(&scores) {
                *total += s.score * wp.weight;
            }
            per_plugin.push((name, scores.iter().map(|s| s.score).collect()));
        }
        for (slot, total) in scores.iter_mut().zip(totals) {
            slot.score = total;
        }
        Ok(ScoreOutput {
            totals: scores,
            per_plugin,
        })
    }
}

/// Scores of one cycle.
#[derive(Clone, Debug, Default)]
pub struct ScoreOutput {
    /// Weighted sum per feasible node.
    pub totals: Vec<NodeScore>,
    /// Each scoring plugin's normalized (unweighted) scores, in `totals` order.
    pub per_plugin: Vec<(&'static str, Vec<i64>)>,
}
